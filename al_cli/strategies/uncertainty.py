"""Uncertainty scores: pure functions of an ``n x k`` probability matrix.

Every score is "higher = more informative" and is validated with
:func:`~al_cli.strategies.base.check_proba` first.
"""

from __future__ import annotations

import numpy as np

from al_cli.strategies.base import check_proba


def least_confidence(proba) -> np.ndarray:
    """``1 - max_c p_c``: how unsure the model is of its own top guess."""
    p = check_proba(proba)
    if p.shape[0] == 0:
        return np.zeros(0)
    return np.clip(1.0 - p.max(axis=1), 0.0, 1.0)


def margin(proba) -> np.ndarray:
    """``1 - (p_top1 - p_top2)``: a small gap between the two best classes scores high.

    With a single class (``k == 1``) there is no runner-up and the score is 0.
    """
    p = check_proba(proba)
    n, k = p.shape
    if k == 1 or n == 0:
        return np.zeros(n)
    if k == 2:
        gap = np.abs(p[:, 0] - p[:, 1])
    else:
        top2 = np.partition(p, k - 2, axis=1)[:, -2:]
        gap = top2[:, 1] - top2[:, 0]
    return np.clip(1.0 - gap, 0.0, 1.0)


def entropy(proba) -> np.ndarray:
    """Shannon entropy ``-sum_c p_c ln p_c`` in nats, with ``0 ln 0 = 0``."""
    p = np.clip(check_proba(proba), 0.0, 1.0)
    terms = np.log(p, out=np.zeros_like(p), where=p > 0)  # 0 ln 0 = 0
    terms *= p
    return np.maximum(-terms.sum(axis=1), 0.0)
