"""What ``al simulate`` reports: per-strategy summaries (AULC, final values, labels to
reach a share of the full-data model), the result object, curves.csv, summary.json and
the PNG of the learning curves."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from al_cli.errors import DataError
from al_cli.store import atomic_write_csv, atomic_write_json

TARGETS = (0.95, 0.99)


def aulc(values: Iterable[float]) -> float:
    """Area under the learning curve: the mean over its points (equal spacing)."""
    v = list(values)
    return float(np.mean(v)) if v else math.nan


def labels_to_reach(curve: pd.DataFrame, target: float) -> int | None:
    """First n_labeled whose mean accuracy reaches ``target``; None when never."""
    hit = curve[curve["accuracy"] >= target - 1e-12]
    return int(hit["n_labeled"].iloc[0]) if len(hit) else None


@dataclass
class StrategySummary:
    aulc_accuracy: float
    aulc_macro_f1: float
    final_accuracy: float
    final_macro_f1: float
    labels_to_95: int | None
    labels_to_99: int | None
    curve: list[dict[str, float]]
    aulc_accuracy_sd: float = 0.0
    aulc_macro_f1_sd: float = 0.0


@dataclass
class SimResult:
    default_strategy: str
    strategies: dict[str, StrategySummary]
    full_data: dict[str, float]
    curves: pd.DataFrame
    protocol: dict[str, Any]
    n_rows: int
    n_train: int
    n_test: int
    labels: list[str]
    seconds: float
    files: dict[str, str] = field(default_factory=dict)
    initial_ids: dict[int, list[str]] = field(default_factory=dict)
    test_ids: dict[int, list[str]] = field(default_factory=dict)
    labeled_ids: dict[tuple[int, str], list[str]] = field(default_factory=dict)
    projects: str | None = None
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "default_strategy": self.default_strategy,
            "strategies": {k: {
                "aulc_accuracy": _r(s.aulc_accuracy), "aulc_macro_f1": _r(s.aulc_macro_f1),
                "final_accuracy": _r(s.final_accuracy), "final_macro_f1": _r(s.final_macro_f1),
                "labels_to_95": s.labels_to_95, "labels_to_99": s.labels_to_99,
                "aulc_accuracy_sd": _r(s.aulc_accuracy_sd), "aulc_macro_f1_sd": _r(s.aulc_macro_f1_sd),
                "curve": [{k2: (_r(v) if isinstance(v, float) else v) for k2, v in p.items()} for p in s.curve],
            } for k, s in self.strategies.items()},
            "full_data": {k: _r(v) if isinstance(v, float) else v for k, v in self.full_data.items()},
            "protocol": self.protocol,
            "n_rows": self.n_rows, "n_train": self.n_train, "n_test": self.n_test,
            "labels": self.labels, "seconds": round(self.seconds, 2), "files": self.files,
        }


def _r(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), 6)


def summarise(curves: pd.DataFrame, full: pd.DataFrame, order: list[str]) -> tuple[dict[str, StrategySummary], dict[str, float]]:
    full_acc = float(full["accuracy"].mean())
    full_d = {"accuracy": full_acc, "macro_f1": float(full["macro_f1"].mean()),
              "n_labeled": int(round(full["n_labeled"].mean()))}
    out: dict[str, StrategySummary] = {}
    for name in order:
        c = curves[curves["strategy"] == name]
        mean = c.groupby("n_labeled", sort=True)[["accuracy", "macro_f1"]].mean().reset_index()
        per_rep = c.groupby("repeat")[["accuracy", "macro_f1"]].mean()
        last = c.groupby("repeat").tail(1)
        out[name] = StrategySummary(
            aulc_accuracy=aulc(mean["accuracy"]), aulc_macro_f1=aulc(mean["macro_f1"]),
            final_accuracy=float(last["accuracy"].mean()), final_macro_f1=float(last["macro_f1"].mean()),
            labels_to_95=labels_to_reach(mean, TARGETS[0] * full_acc),
            labels_to_99=labels_to_reach(mean, TARGETS[1] * full_acc),
            curve=[{"n_labeled": int(r.n_labeled), "accuracy": float(r.accuracy), "macro_f1": float(r.macro_f1)}
                   for r in mean.itertuples()],
            aulc_accuracy_sd=float(per_rep["accuracy"].std(ddof=0)) if len(per_rep) > 1 else 0.0,
            aulc_macro_f1_sd=float(per_rep["macro_f1"].std(ddof=0)) if len(per_rep) > 1 else 0.0,
        )
    return out, full_d




def write_outputs(res: SimResult, out: Path, plot: bool = True) -> None:
    if out.exists() and not out.is_dir():
        raise DataError(f"{out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    c = res.curves.copy()
    for col in ("accuracy", "macro_f1"):
        c[col] = c[col].round(6)
    atomic_write_csv(out / "curves.csv", c)
    res.files = {"curves": str(out / "curves.csv"), "summary": str(out / "summary.json")}
    if plot:
        res.files["plot"] = str(out / "learning_curves.png")
        plot_curves(res, out / "learning_curves.png")
    atomic_write_json(out / "summary.json", res.to_json())


def plot_curves(res: SimResult, path: Path) -> None:
    """Mean learning curve per strategy with a band from the lowest to the highest repeat."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for ax, metric, title in zip(axes, ("accuracy", "macro_f1"), ("accuracy", "macro-F1")):
        for name in res.strategies:
            c = res.curves[res.curves["strategy"] == name]
            g = c.groupby("n_labeled")[metric]
            mean, lo, hi = g.mean(), g.min(), g.max()
            sd = g.std(ddof=0).fillna(0)
            label = name + (" (default)" if name == res.default_strategy else "")
            line, = ax.plot(mean.index, mean.values, marker=".", label=label,
                            linewidth=2.2 if name == res.default_strategy else 1.4)
            ax.fill_between(mean.index, np.maximum(lo.values, mean.values - sd.values),
                            np.minimum(hi.values, mean.values + sd.values), color=line.get_color(), alpha=0.18)
        ref = res.full_data[metric]
        ax.axhline(ref, color="black", linestyle="--", linewidth=1, label=f"full data ({res.n_train} labels)")
        if metric == "accuracy":
            ax.axhline(0.95 * ref, color="grey", linestyle=":", linewidth=1, label="95% of full data")
        ax.set_xlabel("labels")
        ax.set_ylabel(title)
        ax.set_title(f"{title} on the test part (mean ± sd over {res.protocol['repeats']} repeats)", fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"al simulate: {Path(str(res.protocol['data']).split(', ')[0]).name}", fontsize=11)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)
