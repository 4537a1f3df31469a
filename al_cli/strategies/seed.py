"""The first batch, before any model exists: k-means spread or uniform random."""

from __future__ import annotations

import numpy as np

from al_cli.errors import StrategyError
from al_cli.strategies.base import check_features, check_rng
from al_cli.strategies.density import _fit_kmeans, nearest_centre


def _available_positions(n_rows: int, available) -> np.ndarray:
    if available is None:
        return np.arange(n_rows)
    mask = np.asarray(available)
    if mask.ndim != 1 or mask.shape[0] != n_rows:
        raise StrategyError(f"available mask has {mask.size} entries, expected {n_rows}")
    if mask.dtype != bool:
        if not np.isin(mask, (0, 1)).all():
            raise StrategyError("available must be a boolean mask")
        mask = mask.astype(bool)
    return np.flatnonzero(mask)


def _check_n(n) -> int:
    try:
        n = int(n)
    except (TypeError, ValueError):
        raise StrategyError(f"batch size must be an integer, got {n!r}") from None
    if n < 1:
        raise StrategyError(f"batch size must be at least 1, got {n}")
    return n


def random_seed(n_rows: int, n: int, rng: np.random.Generator, available=None) -> np.ndarray:
    """``n`` distinct positions drawn uniformly from the available rows."""
    check_rng(rng)
    n = _check_n(n)
    pos = _available_positions(int(n_rows), available)
    take = min(n, pos.shape[0])
    return pos[rng.choice(pos.shape[0], size=take, replace=False)] if take else pos[:0]


def kmeans_seed(X, n: int, rng: np.random.Generator, available=None) -> np.ndarray:
    """A diverse first batch: the row nearest each of ``n`` MiniBatchKMeans centres.

    Clusters only the available rows (centres fitted on at most 100,000 of them),
    assigns every available row to its nearest centre and picks, per cluster, the
    member closest to the centre – so picks are distinct. Clusters come out
    largest first; empty clusters are made up with random available rows.
    """
    check_rng(rng)
    n = _check_n(n)
    X = check_features(X)
    pos = _available_positions(X.shape[0], available)
    m = pos.shape[0]
    if n >= m:
        return pos[rng.permutation(m)]
    rows = None if m == X.shape[0] else pos
    from al_cli.report import busy

    with busy(f"k-means: {n:,} centres over {m:,} rows", m >= 50_000):
        km, _ = _fit_kmeans(X, n, rng, rows=rows)
        labels, d2 = nearest_centre(X, km.cluster_centers_, rows=rows)
    # Nearest member of each cluster: sort by (label, distance), first of each label.
    order = np.lexsort((d2, labels))
    lab_sorted = labels[order]
    uniq, first = np.unique(lab_sorted, return_index=True)
    sizes = np.diff(np.append(first, lab_sorted.shape[0]))
    by_size = np.argsort(-sizes, kind="stable")
    picks = order[first[by_size]]
    if picks.shape[0] < n:
        taken = np.zeros(m, dtype=bool)
        taken[picks] = True
        rest = np.flatnonzero(~taken)
        extra = rng.choice(rest, size=n - picks.shape[0], replace=False)
        picks = np.concatenate([picks, extra])
    return pos[picks]
