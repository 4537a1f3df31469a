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
