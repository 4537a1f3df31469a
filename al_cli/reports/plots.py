"""Pictures of a project: the learning curve (against labels, and against labeling time).
PNG bytes, written by the caller atomically; matplotlib with the Agg backend, no display."""

from __future__ import annotations

import io
from typing import Any, Sequence


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def learning_curve_png(curve: Sequence[dict[str, Any]], *, title: str, source: str,
                       target: float | None = None, metric: str = "accuracy",
                       minutes: Sequence[float] | None = None) -> bytes:
    """Accuracy and macro-F1 of each evaluated model against the labels it was trained on
    (and, with ``minutes``, against the minutes of labeling behind it, one per point)."""
    plt = _plt()
    panels = 2 if minutes is not None else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.6 * panels, 3.8), constrained_layout=True, squeeze=False)
    xs = [("labels", [p["n_labeled"] for p in curve])]
    if minutes is not None:
        xs.append(("minutes of labeling", list(minutes)))
    for ax, (xlabel, x) in zip(axes[0], xs):
        for key, name in (("accuracy", "accuracy"), ("macro_f1", "macro-F1")):
            ax.plot(x, [p[key] for p in curve], marker="o", markersize=4, label=name,
                    linewidth=2.2 if key == metric else 1.3)
        if target is not None:
            ax.axhline(target, color="grey", linestyle="--", linewidth=1,
                       label=f"target {target:g} ({'macro-F1' if metric == 'macro_f1' else metric})")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"on {source}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(title, fontsize=11)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def confusion_png(labels: Sequence[str], matrix: Sequence[Sequence[int]], title: str) -> bytes:
    """The confusion matrix as a heat map (rows: true, columns: predicted), counts written in."""
    import numpy as np

    plt = _plt()
    m = np.asarray(matrix, dtype=float)
    k = len(labels)
    size = max(3.2, 0.7 * k + 2)
    fig, ax = plt.subplots(figsize=(size, size * 0.85), constrained_layout=True)
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(k), labels=[str(x) for x in labels], rotation=45 if k > 4 else 0, ha="right" if k > 4 else "center")
    ax.set_yticks(range(k), labels=[str(x) for x in labels])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = m.max() if m.size else 0
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(int(m[i, j])), ha="center", va="center",
                    color="white" if top and m[i, j] > top / 2 else "black", fontsize=9)
    ax.set_title(title, fontsize=10)
    return _png(fig, plt)


def per_class_png(per_class: dict[str, dict[str, float]], title: str) -> bytes:
    """Precision, recall and F1 per class as grouped bars."""
    import numpy as np

    plt = _plt()
    names = list(per_class)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(4.5, 1.1 * len(names) + 2), 3.4), constrained_layout=True)
    for i, key in enumerate(("precision", "recall", "f1")):
        ax.bar(x + (i - 1) * 0.26, [per_class[n][key] for n in names], width=0.26, label=key)
    ax.set_xticks(x, labels=names, rotation=30 if len(names) > 5 else 0)
    ax.set_ylim(0, 1.2)
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", ncol=3, frameon=False)
    ax.set_title(title, fontsize=10)
    return _png(fig, plt)


def _png(fig, plt) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def recall_curve_png(curves: Sequence[Sequence[int]], relevant: int, *, title: str,
                     target: float | None = None, stops: dict[str, float] | None = None) -> bytes:
    """Recall against the share of the collection read, one faint line per repeat and their
    mean; reading at random as the diagonal; ``stops``: mean share read when each rule
    said stop."""
    import numpy as np

    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), constrained_layout=True)
    n = max(len(c) for c in curves)
    x = np.arange(1, n + 1) / n
    mean = np.zeros(n)
    for c in curves:
        full = np.full(n, relevant, dtype=float)
        full[:len(c)] = c
        mean += full / relevant
        ax.plot(x, full / relevant, color="tab:blue", alpha=0.18, linewidth=0.8)
    ax.plot(x, mean / len(curves), color="tab:blue", linewidth=2.0, label="recall (mean of repeats)")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="reading at random")
    if target is not None:
        ax.axhline(target, color="grey", linestyle="--", linewidth=1, label=f"target {target:g}")
    for i, (name, share) in enumerate((stops or {}).items()):
        ax.axvline(share, color=f"C{i + 1}", linewidth=1, label=f"{name} stops ({share:.0%} read)")
    ax.set_xlabel("share of the collection read")
    ax.set_ylabel("recall (relevant found / all relevant)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(title, fontsize=10)
    return _png(fig, plt)
