"""Representativeness (information density) without an n x n matrix.

Information density is a row's average similarity to the rest of the pool.
Instead of the n x n similarity matrix, the pool is summarised by k
MiniBatchKMeans centres with weights ``w_c`` = share of the (sampled) pool in
cluster c, and

    density(x) = sum_c w_c * sim(x, centre_c),   then divided by its maximum,

so the score is in (0, 1], 1 for the most typical row. A lone outlier that
captures a centre of its own still scores low, because that centre's weight is tiny.

* Dense ``X``: ``sim = 1 / (1 + ||x - centre|| / m)`` with ``m`` the median
  distance of the fitted rows to their nearest centre.
* Sparse ``X`` (e.g. TF-IDF): rows and centres are L2-normalised and
  ``sim = max(cos(x, centre), 0)``; an all-zero row gets the floor value 1e-6.

Cost: O(n * k * d) time in chunks, O(n + k * d) extra memory.
"""

from __future__ import annotations

import warnings

import numpy as np

from al_cli.errors import StrategyError
from al_cli.sparse import issparse
from al_cli.strategies.base import check_features, check_rng, check_scores, random_state_from

#: Smallest representativeness returned (keeps density weighting strictly positive).
MIN_REPRESENTATIVENESS = 1e-6
#: Rows used to fit the centres on a very large pool (assignment uses every row).
FIT_SAMPLE = 100_000
#: Up to this many fitted rows k-means is restarted 3 times (n_init=3), above it once.
SMALL_FIT = 20_000


def _fit_kmeans(
    X, n_clusters: int, rng: np.random.Generator, batch_size: int = 4096, rows=None
) -> tuple[object, object]:
    """MiniBatchKMeans on ``X[rows]`` (all rows if None), subsampled to FIT_SAMPLE rows.

    Returns the fitted model and the rows it was fitted on.
    """
    n = X.shape[0] if rows is None else len(rows)
    seed = random_state_from(rng)
    if n > FIT_SAMPLE:
        sample = np.sort(rng.choice(n, size=FIT_SAMPLE, replace=False))
        X_fit = X[sample if rows is None else rows[sample]]
    else:
        X_fit = X if rows is None else X[rows]
    from sklearn.cluster import MiniBatchKMeans

    km = MiniBatchKMeans(
        n_clusters=n_clusters,
        n_init=3 if X_fit.shape[0] <= SMALL_FIT else 1,
        batch_size=batch_size,
        random_state=seed,
        max_iter=30,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning / duplicate points
        km.fit(X_fit)
    return km, X_fit


def nearest_centre(
    X, centres: np.ndarray, rows=None, chunk: int = 65536
) -> tuple[np.ndarray, np.ndarray]:
    """(index, squared Euclidean distance) of each row's nearest centre, chunked.

    ``rows`` restricts the computation to those positions of ``X`` (results are
    aligned with ``rows``) without copying the whole subset at once.
    """
    n = X.shape[0] if rows is None else len(rows)
    c_sq = np.einsum("ij,ij->i", centres, centres)
    labels = np.empty(n, dtype=np.intp)
    d2 = np.empty(n, dtype=float)
    for start in range(0, n, chunk):
        block = X[start : start + chunk] if rows is None else X[rows[start : start + chunk]]
        if issparse(block):
            x_sq = np.asarray(block.multiply(block).sum(axis=1)).ravel()
            cross = np.asarray(block @ centres.T)
        else:
            x_sq = np.einsum("ij,ij->i", block, block)
            cross = block @ centres.T
        dist = x_sq[:, None] - 2.0 * cross + c_sq[None, :]
        lab = dist.argmin(axis=1)
        labels[start : start + chunk] = lab
        d2[start : start + chunk] = np.maximum(dist[np.arange(lab.shape[0]), lab], 0.0)
    return labels, d2


def representativeness(
    X,
    rng: np.random.Generator,
    n_clusters: int | None = None,
    batch_size: int = 4096,
) -> np.ndarray:
    """Score in (0, 1] per row: how typical the row is of the pool (see module doc).

    ``n_clusters`` defaults to ``min(50, max(2, n // 20))`` (capped at ``n``).
    """
    check_rng(rng)
    X = check_features(X)
    n = X.shape[0]
    if n == 0:
        return np.zeros(0)
    if n <= 2:
        return np.ones(n)
    if n_clusters is None:
        n_clusters = min(50, max(2, n // 20))
    n_clusters = int(n_clusters)
    if n_clusters < 1:
        raise StrategyError(f"n_clusters must be at least 1, got {n_clusters}")
    n_clusters = min(n_clusters, n)
    chunk = 65536
    dens = np.empty(n)
    if issparse(X):
        from sklearn.preprocessing import normalize

        Xn = normalize(X, norm="l2", copy=True)
        km, X_fit = _fit_kmeans(Xn, n_clusters, rng, batch_size)
        centres = normalize(km.cluster_centers_, norm="l2")
        fit_lab = np.asarray(X_fit @ centres.T).argmax(axis=1)
        w = np.bincount(fit_lab, minlength=centres.shape[0]) / fit_lab.shape[0]
        for start in range(0, n, chunk):
            cos = np.asarray(Xn[start : start + chunk] @ centres.T)
            dens[start : start + chunk] = np.clip(cos, 0.0, 1.0) @ w
    else:
        km, X_fit = _fit_kmeans(X, n_clusters, rng, batch_size)
        centres = km.cluster_centers_
        fit_lab, fit_d2 = nearest_centre(X_fit, centres)
        w = np.bincount(fit_lab, minlength=centres.shape[0]) / fit_lab.shape[0]
        d = np.sqrt(fit_d2)
        med = float(np.median(d))
        if med <= 0.0:
            positive = d[d > 0]
            med = float(np.median(positive)) if positive.size else 1.0
        c_sq = np.einsum("ij,ij->i", centres, centres)
        for start in range(0, n, chunk):
            block = X[start : start + chunk]
            x_sq = np.einsum("ij,ij->i", block, block)
            dist = np.sqrt(np.maximum(x_sq[:, None] - 2.0 * (block @ centres.T) + c_sq[None, :], 0.0))
            dens[start : start + chunk] = (1.0 / (1.0 + dist / med)) @ w
    top = dens.max()
    sim = dens / top if top > 0 else np.ones(n)
    return np.clip(sim, MIN_REPRESENTATIVENESS, 1.0)


def density_weighted(scores, representativeness, weight: float = 1.0) -> np.ndarray:
    """``scores * representativeness ** weight`` (information-density weighting)."""
    s = check_scores(scores)
    r = check_scores(representativeness, n_rows=s.shape[0], name="representativeness")
    if (r <= 0).any() or (r > 1 + 1e-9).any():
        i = int(np.argmax((r <= 0) | (r > 1 + 1e-9)))
        raise StrategyError(f"representativeness must lie in (0, 1] (row {i}: {r[i]:.4g})")
    weight = float(weight)
    if not np.isfinite(weight) or weight < 0:
        raise StrategyError(f"density weight must be a finite number >= 0, got {weight}")
    return s * r**weight
