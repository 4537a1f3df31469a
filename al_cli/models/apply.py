"""A fitted model applied to features, with no scikit-learn import of its own: the input
adaptation each model needs, and the probabilities (a linear model's through its
:mod:`head <al_cli.models.head>`, the one way al computes them)."""

from __future__ import annotations

import warnings

import numpy as np

from al_cli.errors import ConfigError
from al_cli.models.registry import MODELS, ModelSpec
from al_cli.sparse import issparse


def spec_of(name: str) -> ModelSpec:
    if name not in MODELS:
        raise ConfigError(f"al.yaml: field 'model.name': unknown model {name!r} "
                          f"(choose from {', '.join(MODELS.names())})")
    return MODELS.get(name)


def prepare_X(name: str, X):
    """Adapt the feature matrix to what the model accepts."""
    spec = spec_of(name)
    if not spec.sparse and issparse(X):
        limit = spec.dense_limit or 0
        if X.shape[1] > limit:
            raise ConfigError(
                f"al.yaml: field 'model.name': {name} needs dense features, but "
                f"there are {X.shape[1]} (text?); use logistic_regression or linear_svm"
            )
        return X.toarray()
    if spec.nonnegative:
        if (X.min() if not issparse(X) else (X.data.min() if X.nnz else 0)) < 0:
            raise ConfigError(
                f"al.yaml: field 'model.name': {name} needs non-negative features "
                "(text columns); scaled numeric columns can be negative"
            )
    return X


def predict_proba(name: str, est, X) -> np.ndarray:
    """Probabilities of ``X`` under the fitted ``est`` (or a :class:`~al_cli.models.head.Head`),
    clipped and normalised; a linear model's computed by its head, whichever was given."""
    from al_cli.models.head import Head, of_estimator

    head = est if isinstance(est, Head) else of_estimator(est)
    if head is not None:
        return normalised(head.predict_proba(prepare_X(name, X)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        P = np.asarray(est.predict_proba(prepare_X(name, X)), dtype=np.float64)
    return normalised(P)


def normalised(P: np.ndarray) -> np.ndarray:
    """Probabilities clipped to [0, 1], each row summing to 1."""
    P = np.clip(np.asarray(P, dtype=np.float64), 0.0, 1.0)
    s = P.sum(axis=1, keepdims=True)
    s[s == 0] = 1.0
    return P / s
