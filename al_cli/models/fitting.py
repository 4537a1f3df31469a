"""Construction from the config, input adaptation, fitting with class weighting, and
probabilities, for any registered model (see :mod:`al_cli.models.registry`)."""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
from sklearn.base import clone
from sklearn.utils.class_weight import compute_sample_weight

from al_cli.config import ModelConfig
from al_cli.errors import ConfigError, DataError
from al_cli.models.apply import normalised, predict_proba, prepare_X, spec_of  # noqa: F401 - re-exported
from al_cli.registry import resolve


def make_estimator(mc: ModelConfig, random_state: int):
    spec = spec_of(mc.name)
    try:
        return spec.build(dict(mc.params), mc.class_weight, random_state)
    except TypeError as exc:
        raise ConfigError(f"al.yaml: field 'model.params': {exc}") from None


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


def factory(mc: ModelConfig, random_state: int) -> Callable[[], Any]:
    """A zero-argument factory for committees; members get their own random_state."""
    base = make_estimator(mc, random_state)
    return lambda: clone(base)
