"""Expected gradient length (EGL) for logistic regression with log-loss.

For one row with features ``x`` and predicted probabilities ``p`` (k classes),
let ``x~ = [x, 1]`` when the model fits an intercept, else ``x~ = x``.

* Multinomial model (one weight row per class): the log-loss gradient w.r.t.
  the ``k x d`` weight matrix for a hypothetical label ``y`` is
  ``(p - e_y) (outer) x~``, whose Frobenius norm is ``||p - e_y|| * ||x~||``, so::

      EGL = sum_y p_y * ||p - e_y||_2 * ||x~||_2

  with ``||p - e_y||^2 = ||p||^2 - 2 p_y + 1``.

* Binary model stored as a single weight vector (scikit-learn's
  ``LogisticRegression`` with 2 classes): the gradient for label ``y in {0,1}``
  is ``(p1 - y) x~``. Its length is ``p1 ||x~||`` for ``y=0`` (weight ``p0``) and
  ``p0 ||x~||`` for ``y=1`` (weight ``p1``), so::

      EGL = 2 * p0 * p1 * ||x~||_2

Row norms of sparse ``X`` are computed from the stored values, without densifying.
"""

from __future__ import annotations

import numpy as np

from al_cli.errors import StrategyError
from al_cli.sparse import issparse
from al_cli.strategies.base import check_features, check_proba

#: Model names (as in al.yaml) for which :func:`expected_gradient_length` is exact.
EGL_SUPPORTED_MODELS = ("logistic_regression",)


def row_norms(X, add_one: bool = False) -> np.ndarray:
    """Euclidean norm of each row of dense or sparse ``X`` (``[x, 1]`` if ``add_one``)."""
    if issparse(X):
        sq = np.asarray(X.multiply(X).sum(axis=1)).ravel()
    else:
        sq = np.einsum("ij,ij->i", X, X)
    if add_one:
        sq = sq + 1.0
    return np.sqrt(sq)


def expected_gradient_length(
    proba,
    X,
    fit_intercept: bool = True,
    binary_single_vector: bool | None = None,
) -> np.ndarray:
    """EGL score per row (see the module docstring for the formulas).

    ``binary_single_vector`` defaults to ``k == 2`` (scikit-learn's binary
    logistic regression keeps one weight vector). Higher = more informative.
    """
    p = check_proba(proba)
    n, k = p.shape
    X = check_features(X, name="features for EGL")
    if X.shape[0] != n:
        raise StrategyError(
            f"EGL got probabilities for {n} rows but features for {X.shape[0]} rows"
        )
    if binary_single_vector is None:
        binary_single_vector = k == 2
    if binary_single_vector and k != 2:
        raise StrategyError(
            f"a single-weight-vector binary model needs 2 classes, got {k}"
        )
    norms = row_norms(X, add_one=fit_intercept)
    if n == 0:
        return np.zeros(0)
    if binary_single_vector:
        return 2.0 * p[:, 0] * p[:, 1] * norms
    # ||p - e_y||^2 = ||p||^2 - 2 p_y + 1, for every y at once: (n, k)
    sq = np.einsum("ij,ij->i", p, p)[:, None] - 2.0 * p + 1.0
    dist = np.sqrt(np.maximum(sq, 0.0))
    return (p * dist).sum(axis=1) * norms
