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


BOOTSTRAP = 1000
CI_LEVEL = 0.95
#: a half-width above this (3 points of the metric) makes rounds hard to tell apart
CI_WARN = 0.03


def wilson_half(correct: int, n: int, z: float = 1.959964) -> float:
    """Half the width of the 95% Wilson score interval of a proportion ``correct``/``n``: it
    does not collapse when every held-out row is right (a bootstrap of 3 rows, all correct,
    gives [1, 1])."""
    if n <= 0:
        return 0.5
    p = correct / n
    return float(z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n))


def bootstrap_ci(y_true: np.ndarray, y_pred: np.ndarray, labels: list[str], rng: np.random.Generator,
                 n_boot: int = BOOTSTRAP) -> dict[str, list[float]]:
    """95% percentile-bootstrap intervals of accuracy and macro-F1 (the same definition as
    :func:`metrics`: over the labels present in the whole held-out set's truth or prediction),
    resampling the held-out rows with replacement. Both metrics depend on the rows only
    through the confusion matrix, so a resample is one multinomial draw of its cells: the
    same distribution as resampling rows, in memory independent of the number of rows."""
    y_true = np.asarray(y_true, dtype=object)
    y_pred = np.asarray(y_pred, dtype=object)
    n = len(y_true)
    present = [lab for lab in labels if lab in set(y_true) | set(y_pred)]
    if n == 0 or not present:
        return {"accuracy": [0.0, 0.0], "macro_f1": [0.0, 0.0]}
    k = len(present)
    code = {lab: i for i, lab in enumerate(present)}
    t = np.array([code.get(v, k) for v in y_true])  # k: a value outside the label set
    p = np.array([code.get(v, k) for v in y_pred])
    cells = np.bincount(t * (k + 1) + p, minlength=(k + 1) ** 2)
    draws = rng.multinomial(n, cells / n, size=n_boot).reshape(n_boot, k + 1, k + 1)
    correct = np.einsum("bii->b", draws[:, :k, :k])
    acc = correct / n
    tp = np.einsum("bii->bi", draws[:, :k, :k]).astype(float)
    denom = draws[:, :k, :].sum(axis=2) + draws[:, :, :k].sum(axis=1)  # true + predicted counts
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(denom > 0, 2 * tp / denom, 0.0)
    f1 = f.mean(axis=1)
    q = [(1 - CI_LEVEL) / 2 * 100, (1 + CI_LEVEL) / 2 * 100]
    return {"accuracy": [round(float(v), 4) for v in np.percentile(acc, q)],
            "macro_f1": [round(float(v), 4) for v in np.percentile(f1, q)]}
