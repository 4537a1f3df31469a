"""What drove a prediction: for linear models the features (terms, columns, categories)
that pushed a row toward the predicted class rather than the runner-up; for other models
the nearest labeled rows. Computed for the few rows of a batch when it is queued, so the
model that made the prediction is the one explained."""

from __future__ import annotations

from typing import Any

import numpy as np

from al_cli.sparse import issparse

TOP = 3


def feature_names(transformer, n_features: int) -> list[str]:
    """A readable name per feature column: the term of a text column, the numeric column,
    ``column=value`` of a one-hot category; ``f<i>`` where the transform does not say."""
    return feature_info(transformer, n_features)[0]


def feature_info(transformer, n_features: int) -> tuple[list[str], np.ndarray]:
    """(names, numeric mask): see :func:`feature_names`; numeric features are the scaled
    columns, whose sign says whether a row's value is high or low."""
    names: list[str] = []
    numeric: list[bool] = []
    for name, trans, cols in getattr(transformer, "transformers_", []):
        if name == "remainder" or trans == "drop":
            continue
        last = trans.steps[-1][1] if hasattr(trans, "steps") else trans
        got = None
        try:
            if name == "text" or hasattr(last, "vocabulary_"):
                got = [str(t) for t in last.get_feature_names_out()]
            elif hasattr(last, "categories_"):
                got = [f"{c}={v}" for c, cats in zip(cols, last.categories_) for v in cats]
            elif ":" in name or name in ("embed", "embedfile"):  # vectors: image PCA, embeddings
                got = [f"{cols[0] if len(cols) == 1 and name != 'embedfile' else name}:{t}"
                       for t in last.get_feature_names_out()]
            else:
                got = [str(c) for c in cols]
        except (AttributeError, ValueError, TypeError):
            got = None
        names.extend(got or [])
        numeric.extend([name == "num"] * len(got or []))
    if len(names) != n_features:
        return [f"f{i}" for i in range(n_features)], np.zeros(n_features, dtype=bool)
    return names, np.asarray(numeric, dtype=bool)


def linear_weights(est) -> np.ndarray | None:
    """(n_classes, n_features) scores whose row differences are the linear push from one
    class to another, in ``est.classes_`` order; None for a model that is not linear."""
    coef = None
    if hasattr(est, "coef_"):
        coef = np.asarray(est.coef_, dtype=float)
    elif hasattr(est, "feature_log_prob_"):
        return np.asarray(est.feature_log_prob_, dtype=float)
    elif hasattr(est, "calibrated_classifiers_"):
        inner = [getattr(c, "estimator", None) for c in est.calibrated_classifiers_]
        coefs = [np.asarray(i.coef_, dtype=float) for i in inner if i is not None and hasattr(i, "coef_")]
        if coefs:
            coef = np.mean(coefs, axis=0)
    if coef is None:
        return None
    if coef.shape[0] == 1:  # binary: the one row scores class 1 against class 0
        return np.vstack([np.zeros_like(coef[0]), coef[0]])
    return coef


def _rows(X, rows) -> Any:
    sub = X[np.asarray(rows, dtype=int)]
    return sub.tocsr() if issparse(sub) else np.asarray(sub, dtype=float)


def linear_drivers(W: np.ndarray, X, rows, pred: np.ndarray, other: np.ndarray,
                   names: list[str], numeric=None) -> list[list[tuple[str, float]]]:
    """Per row: the top features by ``x_j * (W[pred, j] - W[other, j])`` (> 0 only); a
    numeric feature is named with ``(high)`` or ``(low)``: the row's value against the pool's."""
    sub = _rows(X, rows)
    out = []
    for i in range(sub.shape[0]):
        diff = W[pred[i]] - W[other[i]]
        if issparse(sub):
            r = sub.getrow(i)
            idx, vals = r.indices, r.data * diff[r.indices]
        else:
            idx = np.arange(sub.shape[1])
            vals = sub[i] * diff
        keep = vals > 1e-12
        idx, vals = idx[keep], vals[keep]
        top = np.argsort(-vals, kind="stable")[:TOP]
        row = sub.getrow(i).toarray()[0] if issparse(sub) else sub[i]
        out.append([(_named(names, numeric, idx[j], row[idx[j]]), round(float(vals[j]), 4)) for j in top])
    return out


def nearest_labeled(X, rows, train_pos: np.ndarray, train_labels: np.ndarray,
                    train_ids: np.ndarray) -> list[list[tuple[str, str, float]]]:
    """Per row: the nearest labeled rows (euclidean on the features) as (id, label, distance)."""
    from sklearn.metrics import pairwise_distances

    if len(train_pos) == 0:
        return [[] for _ in rows]
    d = pairwise_distances(_rows(X, rows), _rows(X, train_pos))
    out = []
    for i in range(d.shape[0]):
        top = np.argsort(d[i], kind="stable")[:TOP]
        out.append([(str(train_ids[j]), str(train_labels[j]), round(float(d[i, j]), 4)) for j in top])
    return out


def encode(drivers: list[tuple]) -> str:
    """One cell of queried.csv: ``term +0.42; other +0.1`` or ``near id (label) 0.31; ...``."""
    parts = []
    for d in drivers:
        if len(d) == 2:
            parts.append(f"{_clean(d[0])} +{d[1]:.3g}")
        else:
            parts.append(f"near {_clean(d[0])} ({_clean(d[1])}) {d[2]:.3g}")
    return "; ".join(parts)


def decode(cell: Any) -> list[str]:
    """The feature names of a ``drivers`` cell (linear drivers only; nearest rows are skipped)."""
    if not isinstance(cell, str) or not cell.strip():
        return []
    out = []
    for part in cell.split("; "):
        if part.startswith("near "):
            continue
        name, _, _ = part.rpartition(" +")
        if name:
            out.append(name)
    return out


def _named(names: list[str], numeric, j: int, x: float) -> str:
    if numeric is not None and numeric[j]:
        return f"{names[j]} ({'high' if x > 0 else 'low'})"
    return names[j]


def _clean(s: str) -> str:
    return str(s).replace(";", ",").replace("\n", " ").replace("\r", " ")
