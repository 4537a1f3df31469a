"""Classification metrics as ``al evaluate`` reports them."""

from __future__ import annotations

import numpy as np


def metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: list[str]) -> tuple[float, float, dict, dict]:
    """Accuracy, macro-F1 (scikit-learn's: over the labels present in truth or prediction,
    unrounded), per-class precision/recall/F1/support and the confusion matrix."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    present = [lab for lab in labels if lab in set(y_true) | set(y_pred)]
    acc = float(accuracy_score(y_true, y_pred))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=present, zero_division=0)
    per_class = {lab: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4),
                       "f1": round(float(f[i]), 4), "support": int(s[i])} for i, lab in enumerate(present)}
    macro = float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0))
    cm = confusion_matrix(y_true, y_pred, labels=present)
    return acc, macro, per_class, {"labels": present, "matrix": cm.tolist()}
