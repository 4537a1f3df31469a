"""al's own models (see :mod:`al_cli.models.registry`)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from al_cli.errors import DataError


def logistic_regression(p: dict, cw, rs):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(**{"max_iter": 2000, "C": 1.0, "class_weight": cw, "random_state": rs, **p})


def linear_svm(p: dict, cw, rs):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    cv = p.pop("cv", 3)
    return CalibratedClassifierCV(LinearSVC(**{"C": 1.0, "class_weight": cw, "random_state": rs, **p}),
                                  method="sigmoid", cv=cv)


def adapt_linear_svm(est, y, folds: int | None):
    """The calibration CV may not exceed the rarest class (in each training fold when
    the model itself is cross-validated in ``folds`` folds)."""
    _, counts = np.unique(np.asarray(y, dtype=object), return_counts=True)
    rarest = int(counts.min())
    if folds:
        rarest = rarest * (folds - 1) // folds
    cv = min(int(est.cv), rarest)
    if cv < 2:
        raise DataError(
            "linear_svm calibrates its probabilities by cross-validation and needs at least "
            f"2 labels of every class{' in each training fold' if folds else ''} "
            f"(the rarest class has {int(counts.min())})"
        )
    return est.set_params(cv=cv)


def naive_bayes(p: dict, cw, rs):
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


def random_forest(p: dict, cw, rs):
    from sklearn.ensemble import RandomForestClassifier

    return EncodedLabels(RandomForestClassifier(**{"n_estimators": 200, "class_weight": cw,
                                                   "random_state": rs, "n_jobs": 1, **p}))


def hist_gradient_boosting(p: dict, cw, rs):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(**{"class_weight": cw, "random_state": rs, **p})
