"""Query by committee: disagreement among bootstrap-trained models.

* :func:`vote_entropy` – entropy of the members' hard votes per row.
* :func:`kl_disagreement` – mean KL divergence of each member from the consensus.
* :func:`fit_committee` – train the members on bootstrap resamples of the labels.
"""

from __future__ import annotations

import inspect
from typing import Callable, Sequence

import numpy as np

from al_cli.errors import StrategyError
from al_cli.strategies.base import check_proba, check_rng, random_state_from

#: Probabilities are clipped to this before taking logs in :func:`kl_disagreement`.
KL_EPS = 1e-12
#: Plain bootstrap draws tried before falling back to a stratified bootstrap.
MAX_BOOTSTRAP_TRIES = 20


def vote_entropy(votes, n_classes: int) -> np.ndarray:
    """Entropy (nats) of the vote distribution of each row.

    ``votes`` is ``(n_members, n)`` of integer class indices in ``[0, n_classes)``.
    For row ``i``, ``q_c = #{members voting c} / n_members`` and the score is
    ``-sum_c q_c ln q_c``. Unanimous rows score 0.
    """
    v = np.asarray(votes)
    if v.ndim != 2:
        raise StrategyError(f"votes must be 2-D (members x rows), got {v.ndim}-D")
    if v.shape[0] < 1:
        raise StrategyError("a committee needs at least one member")
    if not np.issubdtype(v.dtype, np.integer):
        try:
            f = v.astype(float)
        except (TypeError, ValueError):
            raise StrategyError("votes must be integer class indices") from None
        if v.dtype == bool or not np.isfinite(f).all() or (f != np.round(f)).any():
            raise StrategyError("votes must be integer class indices")
        v = f.astype(np.int64)
    if int(n_classes) < 1:
        raise StrategyError("n_classes must be at least 1")
    if v.size and (v.min() < 0 or v.max() >= n_classes):
        bad = np.argwhere((v < 0) | (v >= n_classes))[0]
        raise StrategyError(
            f"vote {int(v[bad[0], bad[1]])} of member {int(bad[0])} (row {int(bad[1])}) "
            f"is not a class index in [0, {n_classes})"
        )
    m, n = v.shape
    counts = np.zeros((n, int(n_classes)), dtype=float)
    rows = np.broadcast_to(np.arange(n), (m, n))
    np.add.at(counts, (rows.ravel(), v.ravel()), 1.0)
    q = counts / m
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(q > 0, q * np.log(np.where(q > 0, q, 1.0)), 0.0)
    return np.maximum(-terms.sum(axis=1), 0.0)


def kl_disagreement(member_probas) -> np.ndarray:
    """Mean KL divergence of each member from the committee consensus.

    ``member_probas`` is ``(m, n, k)``. With consensus ``P_c = mean_j p_jc``,
    the score of a row is ``(1/m) sum_j sum_c p_jc ln(p_jc / P_c)`` (nats),
    probabilities clipped to ``KL_EPS`` inside the logs (``0 ln 0`` counts as 0).
    """
    P = np.asarray(member_probas, dtype=float)
    if P.ndim != 3:
        raise StrategyError(
            f"member probabilities must be 3-D (members x rows x classes), got {P.ndim}-D"
        )
    m, n, k = P.shape
    if m < 1:
        raise StrategyError("a committee needs at least one member")
    for j in range(m):
        try:
            check_proba(P[j])
        except StrategyError as exc:
            raise StrategyError(f"committee member {j}: {exc.message}") from None
    consensus = P.mean(axis=0)
    pj = np.clip(P, KL_EPS, 1.0)
    pc = np.clip(consensus, KL_EPS, 1.0)
    terms = np.where(P > 0, P * (np.log(pj) - np.log(pc)[None]), 0.0)
    return np.maximum(terms.sum(axis=2).mean(axis=0), 0.0)


def _bootstrap_indices(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A bootstrap resample of ``range(len(y))`` containing every class of ``y``."""
    n = y.shape[0]
    classes = np.unique(y)
    for _ in range(MAX_BOOTSTRAP_TRIES):
        idx = rng.integers(0, n, size=n)
        if np.unique(y[idx]).shape[0] == classes.shape[0]:
            return idx
    # Stratified bootstrap: resample each class within itself, keeping its count.
    parts = []
    for c in classes:
        members = np.flatnonzero(y == c)
        parts.append(rng.choice(members, size=members.shape[0], replace=True))
    idx = np.concatenate(parts)
    return idx[rng.permutation(idx.shape[0])]


def _accepts_random_state(est) -> bool:
    try:
        return "random_state" in est.get_params(deep=False)
    except Exception:
        try:
            return "random_state" in inspect.signature(type(est)).parameters
        except (TypeError, ValueError):
            return False


def fit_committee(
    make_estimator: Callable[[], object],
    X,
    y,
    size: int,
    rng: np.random.Generator,
) -> list:
    """Fit ``size`` estimators, each on a bootstrap resample of the labeled rows.

    Every resample contains every class present in ``y`` (resampled up to
    ``MAX_BOOTSTRAP_TRIES`` times, then a per-class stratified bootstrap).
    ``make_estimator`` is a zero-argument factory for an unfitted classifier;
    its ``random_state`` is drawn from ``rng`` when it has one.
    """
    check_rng(rng)
    size = int(size)
    if size < 1:
        raise StrategyError(f"committee size must be at least 1, got {size}")
    y = np.asarray(y)
    if y.ndim != 1:
        raise StrategyError("labels for the committee must be 1-D")
    if X.shape[0] != y.shape[0]:
        raise StrategyError(f"committee features have {X.shape[0]} rows but there are {y.shape[0]} labels")
    if y.shape[0] == 0:
        raise StrategyError("a committee needs at least one labeled row")
    members = []
    for _ in range(size):
        idx = _bootstrap_indices(y, rng)
        est = make_estimator()
        if _accepts_random_state(est):
            est.set_params(random_state=random_state_from(rng))
        rows = X.iloc[idx] if hasattr(X, "iloc") else X[idx]  # DataFrame or array/sparse
        est.fit(rows, y[idx])
        members.append(est)
    return members


def committee_probas(members: Sequence, X, classes) -> np.ndarray:
    """``(m, n, k)`` probabilities with each member's ``classes_`` aligned to ``classes``.

    A class a member never saw gets probability 0 in that member's columns.
    """
    classes = list(classes)
    if not members:
        raise StrategyError("a committee needs at least one member")
    index = {c: i for i, c in enumerate(classes)}
    n = X.shape[0]
    out = np.zeros((len(members), n, len(classes)), dtype=float)
    for j, est in enumerate(members):
        p = np.asarray(est.predict_proba(X), dtype=float)
        for col, c in enumerate(est.classes_):
            if c not in index:
                raise StrategyError(f"committee member {j} knows class {c!r}, which is not in {classes!r}")
            out[j, :, index[c]] = p[:, col]
    return out


def committee_votes(members: Sequence, X, classes) -> np.ndarray:
    """``(m, n)`` integer indices into ``classes`` of each member's prediction."""
    classes = list(classes)
    if not members:
        raise StrategyError("a committee needs at least one member")
    index = {c: i for i, c in enumerate(classes)}
    out = np.empty((len(members), X.shape[0]), dtype=np.int64)
    for j, est in enumerate(members):
        uniq, inverse = np.unique(np.asarray(est.predict(X)), return_inverse=True)
        try:
            lookup = np.array([index[c] for c in uniq.tolist()], dtype=np.int64)
        except KeyError as exc:
            raise StrategyError(
                f"committee member {j} predicted class {exc.args[0]!r}, which is not in {classes!r}"
            ) from None
        out[j] = lookup[inverse.ravel()] if uniq.size else lookup[:0]
    return out
