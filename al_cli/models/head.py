"""A linear model's probabilities in numpy alone: the *head* of a model version.

For ``logistic_regression`` and ``relevance_lr`` the probabilities are a closed form of
the features (the softmax, or the logistic function, of ``X @ coef.T + intercept``). al
computes them this one way, whether the fitted estimator is in memory or only its head
was read from ``models/NNNN.head.npz``: so 'al score' and 'al query' need neither
scikit-learn nor the skops twin to score the pool, and every path gives the same numbers.

The file is a plain .npz (loaded with ``allow_pickle=False``), its SHA-256 recorded in the
version's manifest; a missing or damaged head only means the twin is loaded instead.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np

HEAD_FORMAT = 1
KINDS = ("softmax", "binary", "relevance", "constant")


class Head:
    """What scoring needs of a fitted linear model: its probabilities, classes, name,
    feature key, linear weights and (for explanations) feature names."""

    def __init__(self, kind: str, coef: np.ndarray, intercept: np.ndarray, classes, *,
                 offset: float = 0.0, pos: int = 1, model_name: str = "", feature_key: str = "",
                 names: list[str] | None = None, numeric: np.ndarray | None = None):
        if kind not in KINDS:
            raise ValueError(f"unknown head kind {kind!r}")
        self.kind = kind
        # the estimator's own dtype (float32 when fitted on float32 features), as it computes
        self.coef = np.asarray(coef, dtype=np.float32 if np.asarray(coef).dtype == np.float32 else np.float64)
        self.intercept = np.asarray(intercept, dtype=self.coef.dtype)
        self.classes = np.asarray([str(c) for c in classes], dtype=object)
        self.offset = float(offset)
        self.pos = int(pos)
        self.model_name = model_name
        self.feature_key = feature_key
        self.names = names
        self.numeric = numeric

    @property
    def n_features(self) -> int:
        return int(self.coef.shape[1])

    def _decision(self, X) -> np.ndarray:
        # as scikit-learn's LinearClassifierMixin.decision_function computes it
        scores = np.asarray(X @ self.coef.T) + self.intercept
        return scores.reshape(-1) if scores.ndim > 1 and scores.shape[1] == 1 else scores

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities of the rows of ``X`` (dense or CSR), in :attr:`classes` order."""
        n = X.shape[0]
        if self.kind == "constant":  # one class seen: relevance_lr before its first relevant
            out = np.zeros((n, len(self.classes)))
            out[:, 0] = 1.0
            return out
        d = self._decision(X)
        if self.kind == "softmax":  # scikit-learn's softmax(decision, copy=False)
            d = d - d.max(axis=1).reshape((-1, 1))
            np.exp(d, out=d)
            d /= d.sum(axis=1).reshape((-1, 1))
            return d
        if self.kind == "binary":  # LogisticRegression with two classes: expit of one score
            p = _expit(d)
            return np.stack([1 - p, p], axis=1)
        p = 1.0 / (1.0 + np.exp(-np.clip(d - self.offset, -500, 500)))  # RelevanceLogistic
        out = np.zeros((n, len(self.classes)))
        out[:, self.pos] = p
        out[:, 1 - self.pos] = 1.0 - p
        return out

    def weights(self) -> np.ndarray | None:
        """(n_classes, n_features): row differences are the linear push from one class to
        another (see :func:`al_cli.reports.drivers.linear_weights`); None for a constant."""
        if self.kind == "constant":
            return None
        if self.coef.shape[0] == 1:  # one score: of class 1 (relevance: of the relevant class)
            W = np.zeros((2, self.coef.shape[1]))
            W[self.pos if self.kind == "relevance" else 1] = self.coef[0]
            return W
        return self.coef

    # -- the file ------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        meta = {"format": HEAD_FORMAT, "kind": self.kind, "offset": self.offset, "pos": self.pos,
                "model_name": self.model_name, "feature_key": self.feature_key,
                "classes": [str(c) for c in self.classes], "names": self.names}
        arrays = {"coef": self.coef, "intercept": self.intercept,
                  "meta": np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)}
        if self.numeric is not None:
            arrays["numeric"] = np.asarray(self.numeric, dtype=bool)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Head:
        """The head in ``data``; ValueError when it is not one this al reads."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                meta = json.loads(bytes(z["meta"]).decode("utf-8"))
                coef, intercept = z["coef"], z["intercept"]
                numeric = z["numeric"] if "numeric" in z.files else None
        except (OSError, KeyError, UnicodeDecodeError, json.JSONDecodeError, EOFError) as exc:
            raise ValueError(f"not a model head ({type(exc).__name__})") from None
        if not isinstance(meta, dict) or meta.get("format") != HEAD_FORMAT or meta.get("kind") not in KINDS:
            raise ValueError("not a model head of a format this al reads")
        if coef.ndim != 2 or intercept.shape != (coef.shape[0],) or coef.dtype.kind != "f":
            raise ValueError("model head arrays of the wrong shape")
        names = meta.get("names")
        return cls(meta["kind"], coef, intercept, meta["classes"], offset=meta["offset"], pos=meta["pos"],
                   model_name=str(meta["model_name"]), feature_key=str(meta["feature_key"]),
                   names=[str(x) for x in names] if isinstance(names, list) else None, numeric=numeric)


def _expit(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), without overflow for large negative x."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _one_vs_rest(est: Any) -> bool:
    """Whether a multiclass LogisticRegression gives one-vs-rest probabilities: scikit-learn
    before 1.8 did for ``multi_class='ovr'``, and for 'auto' with the liblinear solver."""
    mc = getattr(est, "multi_class", "deprecated")
    return mc == "ovr" or (mc in ("auto", "warn") and getattr(est, "solver", "") == "liblinear")


def _is(est: Any, module: str, name: str) -> bool:
    t = type(est)
    return t.__name__ == name and t.__module__.startswith(module)


def of_estimator(est: Any, model_name: str = "", feature_key: str = "") -> Head | None:
    """The head of a fitted ``LogisticRegression`` (exactly that class) or al's
    ``RelevanceLogistic``; None for any other model (or one not fitted)."""
    if _is(est, "sklearn.linear_model", "LogisticRegression"):
        coef, intercept = getattr(est, "coef_", None), getattr(est, "intercept_", None)
        classes = getattr(est, "classes_", None)
        if coef is None or intercept is None or classes is None:
            return None
        if len(classes) > 2 and _one_vs_rest(est):
            return None  # one-vs-rest probabilities (older scikit-learn): the estimator's own
        kind = "binary" if len(classes) <= 2 else "softmax"
        return Head(kind, coef, np.ravel(intercept), classes, model_name=model_name, feature_key=feature_key)
    if _is(est, "al_cli.models", "RelevanceLogistic"):
        classes = getattr(est, "classes_", None)
        if classes is None or not hasattr(est, "lr_"):
            return None
        if est.lr_ is None:
            return Head("constant", np.zeros((1, 0)), np.zeros(1), classes, model_name=model_name,
                        feature_key=feature_key)
        return Head("relevance", est.lr_.coef_, np.ravel(est.lr_.intercept_), classes, offset=est.offset_,
                    pos=est.pos_, model_name=model_name, feature_key=feature_key)
    return None
