"""The strategy registry: base scores as objects that declare what they need.

A :class:`BaseScore` scores the rows of the pool that may be queried (higher = more
informative) from a :class:`ScoreContext`. ``needs`` tells the caller what to compute:

- ``"proba"``      the current model's class probabilities of the rows (a score that
                   needs nothing, like ``random``, runs before any model exists);
- ``"committee"``  a bootstrap committee of the configured model, fitted on the
                   training labels (``ctx.committee()`` fits it on first use);
- ``"features"``   the rows' feature matrix as the model sees it (``ctx.X``).

``model_families`` restricts the score to models of those families (``ModelSpec.family``);
``binary_only`` to two-class projects. Selection steps (diversity, density, the random
share, cost) apply to every base score alike: see :mod:`al_cli.strategies.select`.

This module imports no numpy: the CLI lists names and help from it at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from al_cli.errors import ConfigError
from al_cli.registry import Registry, resolve

DIVERSITY = ("none", "kmeans", "kcenter")
SEED_STRATEGIES = ("kmeans", "random")
NEEDS = ("proba", "committee", "features")


@dataclass
class ScoreContext:
    """What a base score may use. Arrays are aligned with the rows being scored."""

    proba: Any                       # (n, k) float array: the model's probabilities
    classes: list[str]               # the model's classes, in proba's column order
    X: Any                           # (n, d) features of the rows, as the model sees them
    rng: Any                         # numpy Generator: this score's own random stream
    model_name: str
    estimator: Any                   # the fitted model
    committee: Callable[[], list] | None = None  # fitted bootstrap committee (lazy)
    n_classes: int = 0
    # precomputed committee outputs (the pure API, strategies.base_scores, passes these)
    member_probas: Any = None        # (members, n, k)
    member_votes: Any = None         # (members, n) class indices
    fit_intercept: bool | None = None
    rows: Any = None                 # pool positions of the rows scored
    relevant: str | None = None      # discovery: the label sought (al.yaml 'relevant')

    def __post_init__(self) -> None:
        if not self.n_classes and self.classes:
            self.n_classes = len(self.classes)

    @property
    def n_rows(self) -> int:
        for a in (self.proba, self.member_probas, self.member_votes):
            if a is not None:
                import numpy as np

                return int(np.shape(a)[0 if a is self.proba else 1])
        if self.X is not None:
            return int(self.X.shape[0])
        if self.rows is not None:
            return len(self.rows)
        from al_cli.errors import StrategyError

        raise StrategyError("random scores need the pool size: pass proba or X")


@dataclass(frozen=True)
class BaseScore:
    name: str
    description: str
    score: Callable[[ScoreContext], Any] | str   # fn(ctx) -> (n,) scores, or "module:function"
    needs: tuple[str, ...] = ("proba",)
    model_families: tuple[str, ...] | None = None
    binary_only: bool = False
    sparse: bool = True                          # works on sparse features
    shown_as: str = ""                           # what a person reads (higher = more worth labeling)

    def __post_init__(self) -> None:
        bad = [n for n in self.needs if n not in NEEDS]
        if bad:
            raise ConfigError(f"strategy {self.name!r}: unknown need {bad[0]!r} (known: {', '.join(NEEDS)})")

    @property
    def title(self) -> str:
        """The score's name for people: one that reads "more is more worth labeling"
        ('margin' 0.998 reads as confident; 'closeness of the top two' 0.998 does not)."""
        return self.shown_as or self.name.replace("_", " ")

    def run(self, ctx: ScoreContext):
        return resolve(self.score)(ctx)

    def check_model(self, model_name: str, family: str | None, n_classes: int) -> None:
        """Refuse a model or label set this score does not support."""
        if self.model_families is not None and family not in self.model_families:
            raise ConfigError(
                f"strategy {self.name!r} ({self.description}) needs a model of the "
                f"{' or '.join(self.model_families)} family; the model is {model_name!r}: use "
                "margin, entropy or qbc_kl, or set model.name: logistic_regression"
            )
        if self.binary_only and n_classes != 2:
            raise ConfigError(f"strategy {self.name!r} works on two-class projects only "
                              f"(this one has {n_classes} labels)")


_B = "al_cli.strategies.builtin:"


def _builtins() -> dict[str, BaseScore]:
    items = [
        BaseScore("least_confidence", "1 - top probability", _B + "least_confidence",
                  shown_as="uncertainty"),
        BaseScore("margin", "1 - (top1 - top2 probability)", _B + "margin",
                  shown_as="closeness of the top two"),
        BaseScore("auto", "adaptive: typical rows of uncovered clusters while the model still changes, "
                  "then margin", _B + "margin", shown_as="closeness of the top two"),
        BaseScore("entropy", "Shannon entropy of the probabilities (nats)", _B + "entropy"),
        BaseScore("random", "uniform random score (baseline)", _B + "random", needs=(),
                  shown_as="random score"),
        BaseScore("qbc_vote_entropy", "entropy of a bootstrap committee's votes", _B + "qbc_vote_entropy",
                  needs=("proba", "committee"), shown_as="committee vote split"),
        BaseScore("qbc_kl", "mean KL divergence of committee members from their consensus",
                  _B + "qbc_kl", needs=("proba", "committee"), shown_as="committee disagreement"),
        BaseScore("relevance", "probability of the relevant label (discovery: likeliest relevant first)",
                  _B + "relevance", shown_as="probability of relevant"),
        BaseScore("egl", "expected gradient length of the log-loss (logistic regression)", _B + "egl",
                  needs=("proba", "features"), model_families=("logistic",),
                  shown_as="expected model change"),
    ]
    return {s.name: s for s in items}


STRATEGIES: Registry[BaseScore] = Registry("strategy", "al_cli.strategies", BaseScore, _builtins)
#: scores.csv always holds these (cheap, from the probabilities alone)
UNCERTAINTY_COLUMNS = ("least_confidence", "margin", "entropy")


def names() -> list[str]:
    return STRATEGIES.names()


def get(name: str) -> BaseScore:
    return STRATEGIES.get(name)
