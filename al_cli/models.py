"""Estimator registry: construction from the config, fitting with class weighting."""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.class_weight import compute_sample_weight

from al_cli.config import ModelConfig
from al_cli.errors import ConfigError, DataError

DENSE_LIMIT = 2_000  # columns up to which a sparse matrix may be densified for dense-only models


def _logreg(p: dict, cw, rs):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(**{"max_iter": 2000, "C": 1.0, "class_weight": cw, "random_state": rs, **p})


def _linear_svm(p: dict, cw, rs):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    cv = p.pop("cv", 3)
    return CalibratedClassifierCV(LinearSVC(**{"C": 1.0, "class_weight": cw, "random_state": rs, **p}),
                                  method="sigmoid", cv=cv)


def _naive_bayes(p: dict, cw, rs):
    from sklearn.naive_bayes import ComplementNB

    return ComplementNB(**{"alpha": 0.1, **p})


class EncodedLabels(ClassifierMixin, BaseEstimator):
    """Fits ``estimator`` on integer-coded labels; ``classes_`` are the original labels.

    Some scikit-learn estimators mishandle string labels that look like numbers ('0', '1')
    together with ``class_weight='balanced'`` (RandomForestClassifier in 1.9); coding the
    labels avoids that without changing what the model learns.
    """

    def __init__(self, estimator=None):
        self.estimator = estimator

    def fit(self, X, y, **fit_params):
        from sklearn.preprocessing import LabelEncoder

        self.encoder_ = LabelEncoder()
        codes = self.encoder_.fit_transform(np.asarray(y, dtype=object))
        self.classes_ = self.encoder_.classes_
        self.estimator_ = clone(self.estimator).fit(X, codes, **fit_params)
        return self

    def predict_proba(self, X):
        P = self.estimator_.predict_proba(X)
        out = np.zeros((P.shape[0], len(self.classes_)))
        out[:, np.asarray(self.estimator_.classes_, dtype=int)] = P
        return out

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def _random_forest(p: dict, cw, rs):
    from sklearn.ensemble import RandomForestClassifier

    return EncodedLabels(RandomForestClassifier(**{"n_estimators": 200, "class_weight": cw,
                                                   "random_state": rs, "n_jobs": 1, **p}))


def _hgb(p: dict, cw, rs):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(**{"class_weight": cw, "random_state": rs, **p})


REGISTRY: dict[str, Callable[[dict, Any, int], Any]] = {
    "logistic_regression": _logreg,
    "linear_svm": _linear_svm,
    "naive_bayes": _naive_bayes,
    "random_forest": _random_forest,
    "hist_gradient_boosting": _hgb,
}


def make_estimator(mc: ModelConfig, random_state: int):
    try:
        factory = REGISTRY[mc.name]
    except KeyError:
        raise ConfigError(f"al.yaml: field 'model.name': unknown model {mc.name!r}") from None
    try:
        return factory(dict(mc.params), mc.class_weight, random_state)
    except TypeError as exc:
        raise ConfigError(f"al.yaml: field 'model.params': {exc}") from None


def prepare_X(name: str, X):
    """Adapt the feature matrix to what the model accepts."""
    if name == "hist_gradient_boosting" and sp.issparse(X):
        if X.shape[1] > DENSE_LIMIT:
            raise ConfigError(
                f"al.yaml: field 'model.name': hist_gradient_boosting needs dense features, but "
                f"there are {X.shape[1]} (text?); use logistic_regression or linear_svm"
            )
        return X.toarray()
    if name == "naive_bayes":
        if (X.min() if not sp.issparse(X) else (X.data.min() if X.nnz else 0)) < 0:
            raise ConfigError(
                "al.yaml: field 'model.name': naive_bayes needs non-negative features "
                "(text columns); scaled numeric columns can be negative"
            )
    return X


def fit(mc: ModelConfig, X, y: np.ndarray, random_state: int):
    """Fit the configured model; class weighting for the models without class_weight."""
    est = make_estimator(mc, random_state)
    Xp = prepare_X(mc.name, X)
    classes, counts = np.unique(y, return_counts=True)
    if mc.name == "linear_svm":
        cv = min(int(est.cv), int(counts.min()))
        if cv < 2:
            raise DataError(
                "linear_svm calibrates its probabilities by cross-validation and needs at least "
                f"2 labels of every class (class {classes[counts.argmin()]!r} has 1)"
            )
        est.set_params(cv=cv)
    kwargs = {}
    if mc.name == "naive_bayes" and mc.class_weight == "balanced":
        kwargs["sample_weight"] = compute_sample_weight("balanced", y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            est.fit(Xp, y, **kwargs)
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
