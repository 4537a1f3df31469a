"""Input checks and tie-safe ranking shared by every strategy.

Everything here is pure: no I/O, and randomness only through an explicit
:class:`numpy.random.Generator`.
"""

from __future__ import annotations

import numpy as np

from al_cli.errors import StrategyError
from al_cli.sparse import issparse

#: Tolerance on each probability being inside [0, 1].
PROBA_RANGE_TOL = 1e-6
#: Tolerance on each row of probabilities summing to one.
PROBA_SUM_TOL = 1e-4


#: the last read-only float arrays check_proba passed (weak references): the same array
#: again, unchanged since it cannot be written, is not checked again (al score computes
#: three scores from one matrix of a million rows)
_PASSED: list = []


def _passed(arr: np.ndarray) -> bool:
    return any(ref() is arr for ref in _PASSED)


def check_proba(proba) -> np.ndarray:
    """Validate a class-probability matrix and return it as a 2-D float array.

    ``proba`` must be ``n x k`` with ``k >= 1`` (``k == 1`` means a single known
    class), finite, with values in [0, 1] (within 1e-6) and rows summing to 1
    (within 1e-4). A :class:`StrategyError` names the first bad row otherwise.
    A read-only float64 array that passed is remembered and passes again at once.
    """
    if isinstance(proba, np.ndarray) and _passed(proba):
        return proba
    arr = _checked(proba)
    if arr is proba and arr.dtype == np.float64 and arr.ndim == 2 and not arr.flags.writeable \
            and arr.flags.owndata:
        import weakref

        _PASSED[:] = [r for r in _PASSED[-3:] if r() is not None] + [weakref.ref(arr)]
    return arr


def _checked(proba) -> np.ndarray:
    try:
        arr = np.asarray(proba, dtype=float)
    except (TypeError, ValueError) as exc:
        raise StrategyError(f"probabilities are not numeric: {exc}") from None
    if arr.ndim != 2:
        raise StrategyError(
            f"probabilities must be a 2-D (rows x classes) array, got {arr.ndim}-D"
        )
    if arr.shape[1] < 1:
        raise StrategyError("probabilities have no class columns")
    if arr.shape[0] == 0:
        return arr
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise StrategyError(f"probabilities contain NaN or infinity (row {i})")
    bad = ((arr < -PROBA_RANGE_TOL) | (arr > 1 + PROBA_RANGE_TOL)).any(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise StrategyError(
            f"probabilities must lie in [0, 1] (row {i}: {_fmt_row(arr[i])})"
        )
    sums = arr.sum(axis=1)
    bad = np.abs(sums - 1.0) > PROBA_SUM_TOL
    if bad.any():
        i = int(np.argmax(bad))
        raise StrategyError(
            f"probabilities must sum to 1 in each row (row {i} sums to {sums[i]:.6g})"
        )
    return arr


def _fmt_row(row: np.ndarray, limit: int = 6) -> str:
    vals = ", ".join(f"{v:.4g}" for v in row[:limit])
    return f"[{vals}{', ...' if row.size > limit else ''}]"


def check_scores(scores, n_rows: int | None = None, name: str = "scores") -> np.ndarray:
    """Validate a 1-D finite score vector (optionally of length ``n_rows``)."""
    try:
        arr = np.asarray(scores, dtype=float)
    except (TypeError, ValueError) as exc:
        raise StrategyError(f"{name} are not numeric: {exc}") from None
    if arr.ndim != 1:
        raise StrategyError(f"{name} must be a 1-D array, got {arr.ndim}-D")
    if n_rows is not None and arr.shape[0] != n_rows:
        raise StrategyError(f"{name} have {arr.shape[0]} rows, expected {n_rows}")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise StrategyError(f"{name} contain NaN or infinity (row {int(np.argmax(bad))})")
    return arr


def check_rng(rng) -> np.random.Generator:
    """Insist on an explicit :class:`numpy.random.Generator`."""
    if not isinstance(rng, np.random.Generator):
        raise StrategyError(
            "strategies need an explicit numpy.random.Generator "
            "(e.g. numpy.random.default_rng(seed))"
        )
    return rng


def check_features(X, n_rows: int | None = None, name: str = "features"):
    """Validate a dense or sparse 2-D feature matrix; returns an array or CSR matrix."""
    if X is None:
        raise StrategyError(f"this strategy needs {name} but none were given")
    if issparse(X):
        import scipy.sparse as sp

        X = sp.csr_matrix(X) if not sp.isspmatrix_csr(X) else X
        data = X.data
    else:
        try:
            X = np.asarray(X)
            if not np.issubdtype(X.dtype, np.floating):
                X = X.astype(float)  # float32 stays float32: no copy of a big pool
        except (TypeError, ValueError) as exc:
            raise StrategyError(f"{name} are not numeric: {exc}") from None
        if X.ndim == 1:
            X = X.reshape(-1, 1)
        if X.ndim != 2:
            raise StrategyError(f"{name} must be a 2-D array, got {X.ndim}-D")
        data = X
    if n_rows is not None and X.shape[0] != n_rows:
        raise StrategyError(f"{name} have {X.shape[0]} rows, expected {n_rows}")
    if data.size and not _all_finite(data):
        raise StrategyError(f"{name} contain NaN or infinity")
    return X


def _all_finite(a: np.ndarray, cells: int = 1 << 24) -> bool:
    """np.isfinite(a).all(), a block of rows at a time: no boolean copy of a big pool."""
    if a.ndim < 2 or a.size <= cells:
        return bool(np.isfinite(a).all())
    step = max(1, cells // max(1, a.shape[1]))
    return all(bool(np.isfinite(a[i:i + step]).all()) for i in range(0, a.shape[0], step))


def random_state_from(rng: np.random.Generator) -> int:
    """Draw a reproducible integer seed for scikit-learn's ``random_state``."""
    return int(rng.integers(0, 2**31 - 1))


def ranked(scores, rng: np.random.Generator) -> np.ndarray:
    """Positions sorted by descending score; ties broken by a seeded permutation.

    ``perm = rng.permutation(n); order = perm[argsort(-scores[perm], stable)]``,
    so equal scores come out in a random but reproducible order.
    """
    scores = np.asarray(scores, dtype=float)
    perm = rng.permutation(scores.shape[0])
    return perm[np.argsort(-scores[perm], kind="stable")]


def top_k(scores, k: int, rng: np.random.Generator) -> np.ndarray:
    """The ``k`` best positions in :func:`ranked` order, via ``argpartition``.

    Equivalent to ``ranked(scores, rng)[:k]``, but only the rows that can make
    the top ``k`` (score >= the k-th best) are sorted, so it is O(n) on a large pool.
    """
    scores = np.asarray(scores, dtype=float)
    n = scores.shape[0]
    if k >= n or n <= 4 * k + 1024:
        return ranked(scores, rng)[:k]
    if k <= 0:
        rng.permutation(n)  # keep the random stream identical to ranked()
        return np.empty(0, dtype=np.intp)
    perm = rng.permutation(n)
    s = scores[perm]
    kth = -np.partition(-s, k - 1)[k - 1]
    keep = np.flatnonzero(s >= kth)  # increasing permuted index: stable order kept
    order = keep[np.argsort(-s[keep], kind="stable")][:k]
    return perm[order]
