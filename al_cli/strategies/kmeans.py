"""k-means and nearest-neighbour distances in numpy (float32, one matrix product a pass).

``auto`` clusters a sample of at most 20,000 rows into up to 500 clusters at each query.
scikit-learn's MiniBatchKMeans does that in 0.5 to 4 s on two cores (its float64 path and
thread pools) after a 0.5 to 1 s import; these few lines do full Lloyd iterations in a
fraction of that, with the same k-means++ start (Arthur & Vassilvitskii 2007, greedy with
``2 + log k`` trials a centre, as scikit-learn), so a query with ``auto`` stays within a
small factor of a plain margin query (issue 13) and imports no scikit-learn on dense
features.

Squared distances are ``|x|^2 - 2 x.c + |c|^2``, a chunk of rows at a time. Same input and
generator: same labels (on one machine; BLAS may round differently elsewhere).
"""

from __future__ import annotations

import numpy as np

#: rows a chunk when distances are computed (a chunk's distance block stays small)
CHUNK = 8192
#: rows the k-means++ start is drawn from (a uniform sample past this, as MiniBatchKMeans)
INIT_ROWS = 6144


def _sq(Z: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", Z, Z)


def _assign(Z: np.ndarray, zz: np.ndarray, C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(nearest centre, squared distance to it) of each row."""
    cc = _sq(C)
    labels = np.empty(Z.shape[0], dtype=np.intp)
    dist = np.empty(Z.shape[0], dtype=np.float32)
    for a in range(0, Z.shape[0], CHUNK):
        d = Z[a:a + CHUNK] @ C.T
        d *= -2.0
        d += cc
        d += zz[a:a + CHUNK, None]
        j = d.argmin(axis=1)
        labels[a:a + CHUNK] = j
        dist[a:a + CHUNK] = np.maximum(d[np.arange(d.shape[0]), j], 0.0)
    return labels, dist


def _plusplus(Z: np.ndarray, zz: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ centres (greedy: the best of 2 + log k candidates each step)."""
    n = Z.shape[0]
    trials = 2 + int(np.log(k))
    first = int(rng.integers(n))
    centres = np.empty((k, Z.shape[1]), dtype=np.float32)
    centres[0] = Z[first]
    closest = np.maximum(zz - 2.0 * (Z @ Z[first]) + zz[first], 0.0)
    for c in range(1, k):
        total = float(closest.sum())
        if total <= 0.0:  # every row sits on a centre (duplicates): any rows will do
            cand = rng.integers(n, size=trials)
        else:
            cand = np.searchsorted(np.cumsum(closest, dtype=np.float64), rng.random(trials) * total)
            cand = np.minimum(cand, n - 1)
        d = np.maximum(zz[cand, None] - 2.0 * (Z[cand] @ Z.T) + zz[None, :], 0.0)
        d = np.minimum(d, closest[None, :])
        best = int(np.argmin(d.sum(axis=1)))
        centres[c] = Z[cand[best]]
        closest = d[best]
    return centres


def kmeans(Z, k: int, rng: np.random.Generator, *, n_init: int = 1, max_iter: int = 50,
           tol: float = 1e-4) -> np.ndarray:
    """Cluster label of each row of ``Z``: Lloyd's iterations from a k-means++ start, the
    best of ``n_init`` starts by inertia; stops when no label changes or the centres move
    less than ``tol`` times the data's mean variance. A centre that loses every row stays
    where it was (that cluster is empty)."""
    Z = np.ascontiguousarray(Z, dtype=np.float32)
    n = Z.shape[0]
    k = max(1, min(int(k), n))
    zz = _sq(Z)
    eps = tol * float(np.mean(np.var(Z, axis=0))) if n else 0.0
    best, best_inertia = None, np.inf
    for _ in range(max(1, n_init)):
        init_rows = np.sort(rng.choice(n, size=INIT_ROWS, replace=False)) if n > INIT_ROWS else np.arange(n)
        C = _plusplus(Z[init_rows], zz[init_rows], k, rng)
        labels = None
        for _ in range(max_iter):
            new, dist = _assign(Z, zz, C)
            if labels is not None and np.array_equal(new, labels):
                break
            labels = new
            counts = np.bincount(labels, minlength=k)
            filled = counts > 0
            newC = C.copy()
            for j in range(Z.shape[1]):
                newC[filled, j] = np.bincount(labels, weights=Z[:, j], minlength=k)[filled] / counts[filled]
            moved = float(((newC - C) ** 2).sum())
            C = newC
            if moved <= eps:
                labels, dist = _assign(Z, zz, C)
                break
        inertia = float(dist.sum())
        if inertia < best_inertia:
            best, best_inertia = labels, inertia
    return best


def knn_mean_distance(Z, k: int) -> np.ndarray:
    """Each row's mean (Euclidean) distance to its ``k`` nearest other rows."""
    Z = np.ascontiguousarray(Z, dtype=np.float32)
    n = Z.shape[0]
    k = min(int(k), n - 1)
    if k < 1:
        return np.zeros(n)
    zz = _sq(Z)
    out = np.empty(n)
    step = max(1, min(CHUNK, (1 << 24) // max(n, 1)))  # a block of at most 16M distances
    for a in range(0, n, step):
        d = Z[a:a + step] @ Z.T
        d *= -2.0
        d += zz[None, :]
        d += zz[a:a + step, None]
        np.maximum(d, 0.0, out=d)
        d[np.arange(d.shape[0]), np.arange(a, a + d.shape[0])] = np.inf  # not itself
        near = np.partition(d, k - 1, axis=1)[:, :k]
        out[a:a + step] = np.sqrt(near.astype(np.float64)).mean(axis=1)
    return out
