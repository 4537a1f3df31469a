"""Representativeness (information density) without an n x n matrix.

The pool is summarised by MiniBatchKMeans centres; a row is representative
when it lies close to its nearest centre, relative to a typical distance.

* Dense ``X``: Euclidean distance ``d`` to the nearest centre and
  ``similarity = 1 / (1 + d / median(d))`` – in (0, 1], 1 exactly on a centre,
  0.5 at the median distance.
* Sparse ``X`` (e.g. TF-IDF): rows and centres are L2-normalised and the score
  is the cosine similarity to the nearest centre, mapped to (0, 1] as
  ``(1 + cos) / 2`` clipped below at a tiny positive value (TF-IDF cosines are
  >= 0, so in practice this is in [0.5, 1]).

Cost: O(n * n_clusters * d) time and O(n + n_clusters * d) extra memory.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import MiniBatchKMeans
from sklearn.preprocessing import normalize

from al_cli.errors import StrategyError
from al_cli.strategies.base import check_features, check_rng, check_scores, random_state_from

#: Smallest representativeness returned (keeps density weighting strictly positive).
MIN_REPRESENTATIVENESS = 1e-6
#: Rows used to fit the centres on a very large pool (assignment uses every row).
FIT_SAMPLE = 100_000


def _fit_kmeans(X, n_clusters: int, rng: np.random.Generator, batch_size: int) -> MiniBatchKMeans:
    n = X.shape[0]
    seed = random_state_from(rng)
    if n > FIT_SAMPLE:
        sample = np.sort(rng.choice(n, size=FIT_SAMPLE, replace=False))
        X_fit = X[sample]
    else:
        X_fit = X
    km = MiniBatchKMeans(
        n_clusters=n_clusters,
        n_init=3,
        batch_size=batch_size,
        random_state=seed,
        max_iter=100,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning / duplicate points
        km.fit(X_fit)
    return km


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
        if sp.issparse(block):
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
    if sp.issparse(X):
        Xn = normalize(X, norm="l2", copy=True)
        km = _fit_kmeans(Xn, n_clusters, rng, batch_size)
        centres = normalize(km.cluster_centers_, norm="l2")
        cos = np.empty(n)
        for start in range(0, n, 65536):
            block = np.asarray((Xn[start : start + 65536] @ centres.T))
            cos[start : start + 65536] = block.max(axis=1)
        # Empty rows (all-zero TF-IDF) have cosine 0 with everything.
        sim = (1.0 + np.clip(cos, -1.0, 1.0)) / 2.0
    else:
        km = _fit_kmeans(X, n_clusters, rng, batch_size)
        _, d2 = nearest_centre(X, km.cluster_centers_)
        d = np.sqrt(d2)
        med = float(np.median(d))
        if med <= 0.0:
            positive = d[d > 0]
            med = float(np.median(positive)) if positive.size else 1.0
        sim = 1.0 / (1.0 + d / med)
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
