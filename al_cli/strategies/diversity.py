"""Batch diversity among the top candidates: k-means and greedy k-centre.

Both functions take ``candidates`` (integer positions into the rows of ``X``),
``scores`` and ``X`` (dense array or scipy sparse matrix; only ``X[candidates]``
is touched) and return positions drawn from ``candidates``.

``scores`` may be indexed like the pool (length ``X.shape[0]``) or aligned with
``candidates`` (length ``len(candidates)``); when both lengths are equal it is
read as pool-indexed.

Memory is O(len(candidates) * n) at most; no candidates x candidates matrix is built.
"""

from __future__ import annotations

import warnings

import numpy as np

from al_cli.errors import StrategyError
from al_cli.sparse import issparse
from al_cli.strategies.base import (
    check_features,
    check_rng,
    check_scores,
    random_state_from,
    ranked,
)

#: Above this many candidates, kmeans_diverse uses MiniBatchKMeans instead of KMeans.
FULL_KMEANS_MAX = 5000


def _prepare(candidates, scores, X, n, rng):
    check_rng(rng)
    X = check_features(X)
    cand = np.asarray(candidates)
    if cand.ndim != 1:
        raise StrategyError("candidates must be a 1-D array of row positions")
    if cand.size and not np.issubdtype(cand.dtype, np.integer):
        raise StrategyError("candidates must be integer row positions")
    cand = cand.astype(np.intp, copy=False)
    if cand.size and (cand.min() < 0 or cand.max() >= X.shape[0]):
        raise StrategyError(
            f"candidate positions must lie in [0, {X.shape[0]}) (the rows of the features)"
        )
    if np.unique(cand).shape[0] != cand.shape[0]:
        raise StrategyError("candidates contain the same row twice")
    s = check_scores(scores)
    if s.shape[0] == X.shape[0]:
        cs = s[cand]
    elif s.shape[0] == cand.shape[0]:
        cs = s
    else:
        raise StrategyError(
            f"scores have {s.shape[0]} rows; expected {X.shape[0]} (pool) "
            f"or {cand.shape[0]} (candidates)"
        )
    n = int(n)
    if n < 0:
        raise StrategyError(f"batch size must be >= 0, got {n}")
    return cand, cs, X, n


def _sq_norms(Xc) -> np.ndarray:
    if issparse(Xc):
        return np.asarray(Xc.multiply(Xc).sum(axis=1)).ravel()
    return np.einsum("ij,ij->i", Xc, Xc)


def _dist2_to(Xc, sq: np.ndarray, rows) -> np.ndarray:
    """Squared distances from every row of ``Xc`` to each row of ``rows``: (len(Xc), len(rows))."""
    if issparse(rows):
        cross = np.asarray((Xc @ rows.T).todense()) if issparse(Xc) else np.asarray(rows @ Xc.T).T
        r_sq = np.asarray(rows.multiply(rows).sum(axis=1)).ravel()
    else:
        rows = np.atleast_2d(np.asarray(rows, dtype=float))
        cross = Xc @ rows.T
        cross = np.asarray(cross)
        r_sq = np.einsum("ij,ij->i", rows, rows)
    scale = sq[:, None] + r_sq[None, :]
    d2 = scale - 2.0 * cross
    # Rounding makes exact duplicates come out ~1e-16 apart (differently for dense
    # and sparse); call those 0 so ties fall back to the score order.
    tol = 64 * np.finfo(np.result_type(d2.dtype, np.float32)).eps
    d2[d2 <= tol * scale] = 0.0
    return d2


def kmeans_diverse(candidates, scores, X, n: int, rng: np.random.Generator):
    """Cluster the candidates into ``n`` groups; take the best-scoring row of each.

    Returns ``(chosen_positions, cluster_ids)``: positions from ``candidates`` in
    pick order (clusters by their best score, descending) and the k-means cluster
    of each pick. When k-means yields fewer than ``n`` non-empty clusters (e.g.
    duplicate rows), the batch is filled with the remaining candidates by score.
    """
    cand, cs, X, n = _prepare(candidates, scores, X, n, rng)
    m = cand.shape[0]
    if n == 0 or m == 0:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
    if n >= m:
        order = ranked(cs, rng)
        return cand[order], np.arange(m, dtype=np.intp)
    from sklearn.cluster import KMeans, MiniBatchKMeans

    Xc = X[cand]
    seed = random_state_from(rng)
    if m > FULL_KMEANS_MAX:
        km = MiniBatchKMeans(n_clusters=n, n_init=3, random_state=seed, batch_size=4096)
    else:
        km = KMeans(n_clusters=n, n_init=1, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fewer distinct points than clusters
        labels = np.asarray(km.fit_predict(Xc), dtype=np.intp)
    order = ranked(cs, rng)  # candidate indices, best first, seeded ties
    lab_sorted = labels[order]
    _, first = np.unique(lab_sorted, return_index=True)  # best row of each cluster
    heads = order[np.sort(first)]  # in descending score order
    if heads.shape[0] < n:
        taken = np.zeros(m, dtype=bool)
        taken[heads] = True
        rest = order[~taken[order]][: n - heads.shape[0]]
        heads = np.concatenate([heads, rest])
    heads = heads[:n]
    return cand[heads], labels[heads]


def kcenter_greedy(
    candidates,
    scores,
    X,
    n: int,
    rng: np.random.Generator,
    reference=None,
) -> np.ndarray:
    """Greedy k-centre (farthest-first) over the candidate rows.

    Keeps ``d[c] = min distance from candidate c to anything chosen so far``
    (Euclidean). Without ``reference`` the first pick is the best-scoring
    candidate; with ``reference`` (positions of rows already covered, e.g. the
    labeled rows) ``d`` starts as the distance to the nearest reference row and
    the first pick is the farthest candidate. Each next pick is ``argmax d``;
    ties go to the higher score, then to a seeded random order.
    Memory O(len(candidates)) plus a chunk of reference rows.
    """
    cand, cs, X, n = _prepare(candidates, scores, X, n, rng)
    m = cand.shape[0]
    n = min(n, m)
    if n == 0:
        return np.empty(0, dtype=np.intp)
    order = ranked(cs, rng)  # work in "best score first" order so argmax breaks ties
    cand_o = cand[order]
    Xc = X[cand_o]
    sq = _sq_norms(Xc)
    mind = np.full(m, np.inf)
    chosen: list[int] = []
    if reference is not None:
        ref = np.asarray(reference)
        if ref.ndim != 1 or (ref.size and not np.issubdtype(ref.dtype, np.integer)):
            raise StrategyError("reference must be a 1-D array of row positions")
        if ref.size and (ref.min() < 0 or ref.max() >= X.shape[0]):
            raise StrategyError(f"reference positions must lie in [0, {X.shape[0]})")
        chunk = max(1, min(ref.size, 2_000_000 // max(m, 1)))
        for start in range(0, ref.size, chunk):
            d2 = _dist2_to(Xc, sq, X[ref[start : start + chunk]])
            np.minimum(mind, d2.min(axis=1), out=mind)
    if not np.isfinite(mind).any():
        first = 0  # no reference: best score
    else:
        first = int(np.argmax(mind))
    current = first
    for _ in range(n):
        chosen.append(current)
        mind[current] = -np.inf
        if len(chosen) == n:
            break
        d2 = _dist2_to(Xc, sq, Xc[current : current + 1])[:, 0]
        np.minimum(mind, d2, out=mind)
        current = int(np.argmax(mind))
    return cand_o[np.asarray(chosen, dtype=np.intp)]
