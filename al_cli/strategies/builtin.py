"""al's own base scores, as functions of a :class:`ScoreContext` (see ``registry.py``).

Each takes what the context holds: precomputed committee outputs when given (the pure
API, :func:`al_cli.strategies.base_scores`), else it fits the committee through
``ctx.committee()``.
"""

from __future__ import annotations

import numpy as np

from al_cli.errors import StrategyError
from al_cli.strategies import uncertainty
from al_cli.strategies.base import check_proba
from al_cli.strategies.committee import committee_probas, committee_votes, kl_disagreement, vote_entropy
from al_cli.strategies.egl import expected_gradient_length
from al_cli.strategies.registry import ScoreContext


def _need(value, what: str, name: str):
    if value is None:
        raise StrategyError(f"strategy {name!r} needs {what}")
    return value


def least_confidence(ctx: ScoreContext) -> np.ndarray:
    return uncertainty.least_confidence(_need(ctx.proba, "probabilities (proba)", "least_confidence"))


def margin(ctx: ScoreContext) -> np.ndarray:
    return uncertainty.margin(_need(ctx.proba, "probabilities (proba)", "margin"))


def entropy(ctx: ScoreContext) -> np.ndarray:
    return uncertainty.entropy(_need(ctx.proba, "probabilities (proba)", "entropy"))


def random(ctx: ScoreContext) -> np.ndarray:
    if ctx.proba is not None:
        check_proba(ctx.proba)  # bad probabilities are a bug upstream even if unused
    return ctx.rng.random(ctx.n_rows)


def qbc_vote_entropy(ctx: ScoreContext) -> np.ndarray:
    votes = ctx.member_votes
    if votes is None and ctx.committee is not None:
        votes = committee_votes(ctx.committee(), ctx.X, ctx.classes)
    votes = _need(votes, "committee votes (member_votes)", "qbc_vote_entropy")
    n_classes = ctx.n_classes
    if not n_classes:
        if ctx.member_probas is not None:
            n_classes = np.shape(ctx.member_probas)[2]
        elif ctx.proba is not None:
            n_classes = np.shape(ctx.proba)[1]
        else:
            v = np.asarray(votes)
            n_classes = int(v.max()) + 1 if v.size else 1
    return vote_entropy(votes, n_classes)


def qbc_kl(ctx: ScoreContext) -> np.ndarray:
    mp = ctx.member_probas
    if mp is None and ctx.committee is not None:
        mp = committee_probas(ctx.committee(), ctx.X, ctx.classes)
    return kl_disagreement(_need(mp, "committee probabilities (member_probas)", "qbc_kl"))


def egl(ctx: ScoreContext) -> np.ndarray:
    fit_intercept = ctx.fit_intercept
    if fit_intercept is None:
        fit_intercept = bool(getattr(ctx.estimator, "fit_intercept", True))
    return expected_gradient_length(_need(ctx.proba, "probabilities (proba)", "egl"),
                                    _need(ctx.X, "the feature matrix (X)", "egl"),
                                    fit_intercept=fit_intercept)


def relevance(ctx: ScoreContext) -> np.ndarray:
    """P(relevant): continuous active learning ranks the likeliest relevant documents first."""
    from al_cli.errors import StrategyError

    proba = check_proba(_need(ctx.proba, "probabilities (proba)", "relevance"))
    if not ctx.relevant:
        raise StrategyError("strategy 'relevance' is for discovery projects: set task: discovery and "
                            "relevant: LABEL in al.yaml (al init --task discovery --relevant LABEL)")
    if ctx.relevant not in list(ctx.classes):
        raise StrategyError(f"the model has no class {ctx.relevant!r} yet: label some relevant documents first")
    return proba[:, list(ctx.classes).index(ctx.relevant)]
