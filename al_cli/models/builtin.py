"""al's own models (see :mod:`al_cli.models.registry`)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from al_cli.errors import ConfigError, DataError


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


class RelevanceLogistic(ClassifierMixin, BaseEstimator):
    """Logistic regression for discovery: the relevant class is weighted so that its
    labels carry ``ratio`` times the total weight of the others' (ASReview's balancer,
    ratio 9.8 in its default), which pulls the few relevant documents found early to the
    top of the ranking. C=3, ratio=30 were chosen on the two screening sets of
    benchmarks/README.md (the tuning table there): a weaker pull of the irrelevant
    documents (C / (1 + ratio) small) helped one set and hurt the other. This setting was
    above ASReview's default on both over 20 random starts; from ASReview's own starting
    documents it is above on Kitchenham and level on Nagtegaal. The probabilities are
    corrected back for the weighting (the intercept shift of King & Zeng 2001: minus the
    log of the per-document weight ratio) before they are summed over the unread
    documents into the Quant estimate of ``al status``; the read set's enrichment in
    relevant documents still makes that sum overstate what is left. Fitted in liblinear's dual, which is fast
    when there are far more features (terms) than labeled documents.

    ``relevant``: the label sought (``al init --task discovery`` writes it); one that is not
    a label is refused. Without it, or when the labels come coded as 0/1 (scikit-learn's
    cross-validation codes them), the rarer class is weighted. Multiclass labels are refused.
    """

    def __init__(self, C: float = 3.0, ratio: float = 30.0, relevant: str | None = None,
                 tol: float = 1e-3, max_iter: int = 1000, random_state: int | None = None):
        self.C = C
        self.ratio = ratio
        self.relevant = relevant
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None):
        from sklearn.linear_model import LogisticRegression

        try:
            ok = float(self.ratio) > 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ConfigError(f"al.yaml: field 'model.params': ratio must be a positive number, got {self.ratio!r}")
        y = np.asarray(y, dtype=object)
        self.classes_ = np.unique(y)
        if len(self.classes_) > 2:
            raise DataError(f"relevance_lr takes two labels (relevant and the rest), got {len(self.classes_)}")
        if len(self.classes_) < 2:
            self.lr_, self.offset_, self.pos_ = None, 0.0, 0
            return self
        coded = all(isinstance(c, (int, np.integer)) for c in self.classes_)  # cross_val_predict codes labels
        if self.relevant is not None and self.relevant not in set(self.classes_) and not coded:
            raise ConfigError(f"al.yaml: field 'model.params': relevant {self.relevant!r} is not one of the labels "
                              f"({', '.join(map(str, self.classes_))}); it should be the top-level 'relevant'")
        pos = self.relevant if self.relevant in set(self.classes_) else None
        if pos is None:
            counts = [(y == c).sum() for c in self.classes_]
            pos = self.classes_[int(np.argmin(counts))]
        is_pos = y == pos
        n1, n0 = int(is_pos.sum()), int((~is_pos).sum())
        w0 = n1 / (float(self.ratio) * n0)          # per-document weight of the others; relevant: 1
        w = np.where(is_pos, 1.0, w0)
        w *= len(w) / w.sum()
        self.pos_ = int(np.flatnonzero(self.classes_ == pos)[0])
        self.offset_ = float(np.log(1.0 / w0))      # log odds added by the weighting
        self.lr_ = LogisticRegression(C=self.C, solver="liblinear", dual=True, tol=self.tol,
                                      max_iter=self.max_iter, random_state=self.random_state)
        self.lr_.fit(X, is_pos.astype(int), sample_weight=w)
        return self

    def decision_function(self, X):
        """Log odds of relevance, corrected for the weighting (higher: likelier relevant)."""
        if self.lr_ is None:
            return np.zeros(X.shape[0])
        return self.lr_.decision_function(X) - self.offset_

    def predict_proba(self, X):
        out = np.zeros((X.shape[0], len(self.classes_)))
        if self.lr_ is None:
            out[:, 0] = 1.0
            return out
        p = 1.0 / (1.0 + np.exp(-np.clip(self.decision_function(X), -500, 500)))
        out[:, self.pos_] = p
        out[:, 1 - self.pos_] = 1.0 - p
        return out

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def relevance_lr(p: dict, cw, rs):
    return RelevanceLogistic(**{"random_state": rs, **p})
