"""Construction from the config, input adaptation, fitting with class weighting, and
probabilities, for any registered model (see :mod:`al_cli.models.registry`)."""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.utils.class_weight import compute_sample_weight

from al_cli.config import ModelConfig
from al_cli.errors import ConfigError, DataError
from al_cli.models.registry import MODELS, ModelSpec
from al_cli.registry import resolve


def spec_of(name: str) -> ModelSpec:
    if name not in MODELS:
        raise ConfigError(f"al.yaml: field 'model.name': unknown model {name!r} "
                          f"(choose from {', '.join(MODELS.names())})")
    return MODELS.get(name)


def make_estimator(mc: ModelConfig, random_state: int):
    spec = spec_of(mc.name)
    try:
        return spec.build(dict(mc.params), mc.class_weight, random_state)
    except TypeError as exc:
        raise ConfigError(f"al.yaml: field 'model.params': {exc}") from None


def prepare_X(name: str, X):
    """Adapt the feature matrix to what the model accepts."""
    spec = spec_of(name)
    if not spec.sparse and sp.issparse(X):
        limit = spec.dense_limit or 0
        if X.shape[1] > limit:
            raise ConfigError(
                f"al.yaml: field 'model.name': {name} needs dense features, but "
                f"there are {X.shape[1]} (text?); use logistic_regression or linear_svm"
            )
        return X.toarray()
    if spec.nonnegative:
        if (X.min() if not sp.issparse(X) else (X.data.min() if X.nnz else 0)) < 0:
            raise ConfigError(
                f"al.yaml: field 'model.name': {name} needs non-negative features "
                "(text columns); scaled numeric columns can be negative"
            )
    return X


def adapt(mc: ModelConfig, est, y, folds: int | None = None):
    """The estimator adjusted to these labels (``folds``: cross-validated in that many)."""
    spec = spec_of(mc.name)
    _, counts = np.unique(np.asarray(y, dtype=object), return_counts=True)
    if spec.min_per_class > 1 and counts.min() < spec.min_per_class and not folds:
        raise DataError(f"{mc.name} needs at least {spec.min_per_class} labels of every class "
                        f"(the rarest has {int(counts.min())})")
    if spec.adapt is not None:
        est = resolve(spec.adapt)(est, y, folds)
    return est


def fit_kwargs(mc: ModelConfig, y) -> dict[str, Any]:
    spec = spec_of(mc.name)
    if spec.balance_by_sample_weight and mc.class_weight == "balanced":
        return {"sample_weight": compute_sample_weight("balanced", y)}
    return {}


def fit(mc: ModelConfig, X, y: np.ndarray, random_state: int):
    """Fit the configured model; class weighting for the models without class_weight."""
    est = adapt(mc, make_estimator(mc, random_state), y)
    Xp = prepare_X(mc.name, X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            est.fit(Xp, y, **fit_kwargs(mc, y))
        except ValueError as exc:
            if type(exc).__name__ == "InvalidParameterError":
                raise ConfigError(f"al.yaml: field 'model.params': {exc}") from None
            raise
    return est


def predict_proba(name: str, est, X) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        P = np.asarray(est.predict_proba(prepare_X(name, X)), dtype=np.float64)
    P = np.clip(P, 0.0, 1.0)
    s = P.sum(axis=1, keepdims=True)
    s[s == 0] = 1.0
    return P / s


def factory(mc: ModelConfig, random_state: int) -> Callable[[], Any]:
    """A zero-argument factory for committees; members get their own random_state."""
    base = make_estimator(mc, random_state)
    return lambda: clone(base)
