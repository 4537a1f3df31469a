"""``al report``: one self-contained file (HTML, or Markdown) that says where a project
stands: the learning curve against labels and labeling time, per-class scores, the
confusion matrix, what each point of improvement cost, the annotators, the explain
section and where each stopping rule stands. Reads the project; changes nothing in it
(the latest model is measured again on the held-out labels, without a history row)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from al_cli import stopping
from al_cli.commands.evaluate import held_out_predictions, learning_curve
from al_cli.commands.explain import explain
from al_cli.commands.export import labeled_set
from al_cli.commands.labels_io import per_class
from al_cli.commands.snapshot import Snapshot
from al_cli.commands.stability import minutes_behind
from al_cli.errors import AlError, DataError
from al_cli.reports import plots
from al_cli.reports.metrics import bootstrap_ci, metrics
from al_cli.reports.render import render_html, render_markdown
from al_cli.store import Project, atomic_write_text, now_iso
from al_cli.store.consensus import current_answers as answers
from al_cli.store.atomic import check_writable_target

PATIENCE = 3


@dataclass
class ReportResult:
    path: str
    format: str
    sections: list[str] = field(default_factory=list)
    images: int = 0
    model_version: int | None = None
    text: str | None = None  # the file's text, when the output is '-' (the CLI writes it to stdout)


def _annotators(snap: Snapshot) -> list[dict[str, Any]]:
    log = snap.log.frame
    if log.empty:
        return []
    cur = answers(log)
    secs = pd.to_numeric(log["seconds"], errors="coerce")
    out = []
    for who, g in log.groupby("annotator", sort=True):
        mine = cur[cur["annotator"] == who]
        timed = secs[g.index][(g["status"] == "labeled") & secs[g.index].notna() & (secs[g.index] > 0)]
        out.append({"annotator": str(who), "answers": int(len(mine)),
                    "skips": int((g["status"] == "skipped").sum()),
                    "minutes": round(float(secs[g.index].fillna(0).sum()) / 60, 2),
                    "median_seconds": None if timed.empty else round(float(timed.median()), 1)})
    return out


def _agreement(snap: Snapshot) -> dict[str, Any]:
    """Items answered by more than one annotator, and how often they agree."""
    cur = answers(snap.log.frame)
    multi = cur.groupby("id")["annotator"].nunique()
    shared = multi[multi > 1].index
    if len(shared) == 0:
        return {"shared_items": 0, "agreeing": 0, "rate": None}
    agree = cur[cur["id"].isin(shared)].groupby("id")["label"].nunique() == 1
    return {"shared_items": int(len(shared)), "agreeing": int(agree.sum()), "rate": round(float(agree.mean()), 4)}


def _cost(curve: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    out = []
    for a, b in zip(curve, curve[1:]):
        pts = 100 * (b[metric] - a[metric])
        dm = b["labeling_minutes"] - a["labeling_minutes"]
        dl = b["n_labeled"] - a["n_labeled"]
        out.append({"from": a["model_version"], "to": b["model_version"], "labels": dl, "minutes": round(dm, 2),
                    "points": round(pts, 2),
                    "labels_per_point": round(dl / pts, 2) if pts > 0 else None,
                    "minutes_per_point": round(dm / pts, 2) if pts > 0 and dm > 0 else None})
    return out


def _stopping(curve: list[dict[str, Any]], metric: str, history: pd.DataFrame) -> list[dict[str, Any]]:
    """Where each built-in rule stands at its usual setting (evaluate's rules are given per
    call, so the report shows the measures they read)."""
    if not curve:
        return []
    state = stopping.CurveState(metric, curve[-1][metric], curve, [p["labeling_minutes"] for p in curve],
                                [p.get("stability_kappa") for p in curve])
    rows = [{"rule": "target (--stop-at)", "measure": f"{metric} {curve[-1][metric]:.4f}",
             "note": "stops once the metric reaches the target you set"}]
    if len(curve) > PATIENCE:
        a, b = curve[-1 - PATIENCE], curve[-1]
        dn = b["n_labeled"] - a["n_labeled"]
        gain = (b[metric] - a[metric]) / dn * 100 if dn > 0 else None
        rows.append({"rule": "min_gain (--min-gain)", "measure": "n/a" if gain is None else
                     f"{gain:+.4f} per 100 labels over the last {PATIENCE} evaluations",
                     "note": "stops when the gain falls below your threshold"})
    else:
        rows.append({"rule": "min_gain (--min-gain)", "measure": f"needs {PATIENCE + 1} evaluations", "note": ""})
    mpp = stopping.minutes_per_point(state, PATIENCE)
    rows.append({"rule": "max_minutes_per_point (--max-minutes-per-point)",
                 "measure": "no timed answers yet" if mpp is None else "no gain lately" if mpp == float("inf")
                 else f"{mpp:.1f} minutes per point over the last {PATIENCE} evaluations",
                 "note": "stops when a point of the metric costs more minutes than you set"})
    kappas = [k for k in state.kappas[-PATIENCE:] if k is not None]
    rows.append({"rule": "stable_predictions (--stable-kappa)",
                 "measure": "no two successive models yet" if not kappas else
                 "kappa " + ", ".join(f"{k:.3f}" for k in kappas) + f" (last {len(kappas)})",
                 "note": "stops when successive models agree on the stop set (0.99 in the paper)"})
    ev = history[history["event"] == "evaluate"]
    if len(ev):
        last = ev.iloc[-1].get("stop_reason")
        if isinstance(last, str) and last.strip():
            rows.append({"rule": "last al evaluate", "measure": "said stop", "note": last.strip()})
    return rows


def gather(snap: Snapshot, metric: str = "accuracy") -> dict[str, Any]:
    """Everything the report shows, as plain data, and its pictures as PNG bytes."""
    cfg, proj = snap.cfg, snap.proj
    eff = snap.known_labels
    data: dict[str, Any] = {
        "project": proj.root.name, "created": now_iso(), "pool_rows": int(snap.n_rows),
        "n_labeled": int(len(eff)), "labels_per_class": per_class(eff, cfg.labels), "metric": metric,
        "model": cfg.model.name, "strategy": cfg.strategy.name, "images": {},
    }
    history = proj.read_history()
    version = snap.latest_version
    data["model_version"] = version
    data["evaluation"] = None
    curve: list[dict[str, Any]] = []
    if version is not None:
        _, bundle, man = snap.model
        try:
            held = held_out_predictions(snap, bundle)
        except AlError as exc:
            data["evaluation_error"] = exc.message
            held = None
        if held is not None:
            acc, macro, pc, cm = metrics(held.y_true, held.y_pred, cfg.labels)
            ci = bootstrap_ci(held.y_true, held.y_pred, cfg.labels, snap.stream("ci", version))
            data["evaluation"] = {"model_version": version, "n_labeled": int(man.get("n_labeled", 0)),
                                  "source": held.source, "n_eval": int(len(held.y_true)), "accuracy": acc,
                                  "macro_f1": macro, "accuracy_ci": ci["accuracy"], "macro_f1_ci": ci["macro_f1"],
                                  "per_class": pc, "confusion": cm}
            curve = learning_curve(proj, held.eval_set)
            data["images"]["confusion"] = plots.confusion_png(cm["labels"], cm["matrix"],
                                                              f"model {version:04d} on {held.source}")
            if pc:
                data["images"]["per_class"] = plots.per_class_png(pc, f"model {version:04d} on {held.source}")
    minutes = minutes_behind(snap, [p["model_version"] for p in curve])
    for p, m in zip(curve, minutes):
        p["labeling_minutes"] = m
    data["curve"] = curve
    if curve:
        source = data["evaluation"]["source"] if data["evaluation"] else ""
        data["images"]["learning_curve"] = plots.learning_curve_png(
            curve, title=f"al: {proj.root.name}", source=source, metric=metric,
            minutes=minutes if any(minutes) else None)
    data["cost"] = _cost(curve, metric)
    data["annotators"] = _annotators(snap)
    data["agreement"] = _agreement(snap)
    ls = labeled_set(snap)
    data["disagreements"] = int(ls["disagree"].sum()) if len(ls) else 0
    data["explain"] = explain(proj).__dict__
    data["stopping"] = _stopping(curve, metric, history)
    return data


def report(proj: Project, output: Path | str | None = None, *, markdown: bool = False,
           metric: str = "accuracy") -> ReportResult:
    if metric not in ("accuracy", "macro_f1"):
        raise DataError("--metric must be accuracy or macro_f1")
    snap = Snapshot(proj)
    fmt = "markdown" if markdown else "html"
    if output is not None and str(output) == "-":
        data = gather(snap, metric)
        text, sections = (render_markdown if markdown else render_html)(data)
        return ReportResult("-", fmt, sections, len(data["images"]), data["model_version"], text)
    out = Path(output) if output is not None else proj.root / ("report.md" if markdown else "report.html")
    if not out.parent.exists():
        raise DataError(f"{out}: folder {out.parent} does not exist")
    check_writable_target(out)
    data = gather(snap, metric)
    text, sections = (render_markdown if markdown else render_html)(data)
    atomic_write_text(out, text)
    return ReportResult(str(out), fmt, sections, len(data["images"]), data["model_version"])

