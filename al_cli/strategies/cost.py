"""Annotation cost: learned from timed labels, or read from a pool column.

Cost-aware selection divides informativeness by ``cost ** lambda``
(see :func:`al_cli.strategies.select.select_batch`).
"""

from __future__ import annotations

import numpy as np

from al_cli.errors import StrategyError
from al_cli.strategies.base import check_features

#: Smallest cost ever predicted or accepted after clipping (seconds).
MIN_COST = 1e-3
#: Predictions are kept within [min seen / CLIP_FACTOR, max seen * CLIP_FACTOR].
CLIP_FACTOR = 10.0


def learned_cost(X_labeled, seconds, X_pool, min_rows: int = 10) -> tuple[np.ndarray, bool]:
    """Predict the labeling time of each pool row from the timed labels.

    Fits ``Ridge(alpha=1.0)`` on ``log(seconds)`` (dense or sparse features) and
    returns ``(cost, fitted)``: ``cost = exp(prediction)`` clipped to
    ``[max(MIN_COST, min_seen / 10), max_seen * 10]`` and ``fitted=True``.
    Rows whose ``seconds`` are NaN are untimed and ignored; with fewer than
    ``min_rows`` timed rows the cost is all ones and ``fitted=False``.
    Negative or infinite seconds raise :class:`StrategyError`.
    """
    Xl = check_features(X_labeled, name="labeled features")
    Xp = check_features(X_pool, name="pool features")
    if Xl.shape[1] != Xp.shape[1]:
        raise StrategyError(
            f"labeled features have {Xl.shape[1]} columns but pool features have {Xp.shape[1]}"
        )
    try:
        s = np.asarray(seconds, dtype=float)
    except (TypeError, ValueError):
        raise StrategyError("seconds spent must be numbers") from None
    if s.ndim != 1 or s.shape[0] != Xl.shape[0]:
        raise StrategyError(
            f"got {s.size} timings for {Xl.shape[0]} labeled rows"
        )
    bad = np.isinf(s) | (s < 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise StrategyError(f"seconds spent must be >= 0 and finite (row {i}: {s[i]})")
    timed = np.flatnonzero(~np.isnan(s))
    n_pool = Xp.shape[0]
    if timed.shape[0] < max(int(min_rows), 2):
        return np.ones(n_pool), False
    y = np.log(np.maximum(s[timed], MIN_COST))
    from sklearn.linear_model import Ridge

    model = Ridge(alpha=1.0)
    model.fit(Xl[timed], y)
    lo = max(MIN_COST, float(np.exp(y.min())) / CLIP_FACTOR)
    hi = max(lo, float(np.exp(y.max())) * CLIP_FACTOR)
    if n_pool == 0:
        return np.zeros(0), True
    pred = np.asarray(model.predict(Xp), dtype=float)
    cost = np.exp(np.clip(pred, np.log(lo), np.log(hi)))
    return cost, True


def column_cost(values, ids=None) -> np.ndarray:
    """Validate a per-row cost column: numeric, finite and > 0.

    The error names the first bad row by position, or by ``ids[i]`` when given.
    """
    raw = np.asarray(values.to_numpy() if hasattr(values, "to_numpy") else values)
    if raw.dtype == bool:
        raise StrategyError("cost column must be numeric, not true/false")
    raw = raw.ravel()
    n = raw.shape[0]
    if ids is not None and len(ids) != n:
        raise StrategyError(f"got {len(ids)} ids for {n} cost values")

    def where(i: int) -> str:
        return f"id {ids[i]!r}" if ids is not None else f"row {i}"

    try:
        arr = raw.astype(float)
    except (TypeError, ValueError):
        arr = np.empty(n)
        for i, v in enumerate(raw):
            try:
                arr[i] = float(v)
            except (TypeError, ValueError):
                shown = v.item() if isinstance(v, np.generic) else v
                raise StrategyError(f"cost column must be numeric ({where(i)}: {shown!r})") from None
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.argmax(bad))
        raise StrategyError(f"cost column has a missing or infinite value ({where(i)})")
    bad = arr <= 0
    if bad.any():
        i = int(np.argmax(bad))
        raise StrategyError(f"cost must be positive ({where(i)}: {arr[i]:g})")
    return arr
