"""``al evaluate``: the latest model on held-out labels, the learning curve, stopping."""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from al_cli import data as data_mod
from al_cli import stopping
from al_cli.commands.modeling import model_matrix, predict_labels
from al_cli.commands.snapshot import Snapshot
from al_cli.errors import ConfigError, DataError, ProjectError
from al_cli.features.transform import transform
from al_cli.models.fitting import adapt, make_estimator, prepare_X
from al_cli.report import warn
from al_cli.reports.metrics import metrics
from al_cli.store import Project, sha256_file


@dataclass
class EvalResult:
    model_version: int
    n_labeled: int
    accuracy: float
    macro_f1: float
    per_class: dict[str, dict[str, float]]
    confusion: dict[str, Any]
    source: str
    n_eval: int
    stop: bool
    stop_reason: str | None
    rule_given: bool
    curve: list[dict[str, Any]]


def evaluate(proj: Project, *, stop_at: float | None = None, metric: str = "accuracy",
             min_gain: float | None = None, patience: int = 3) -> EvalResult:
    snap = Snapshot(proj)
    if metric not in ("accuracy", "macro_f1"):
        raise ConfigError("--metric must be accuracy or macro_f1")
    if stop_at is not None and not 0 <= stop_at <= 1:
        raise ConfigError("--stop-at must be a number between 0 and 1")
    version, bundle, man = snap.model
    y_true, y_pred, source, eval_set = held_out_predictions(snap, bundle)
    acc, macro, per_class, cm = metrics(y_true, y_pred, snap.cfg.labels)
    n_labeled = int(man.get("n_labeled", 0))
    row = {"event": "evaluate", "model_version": version, "round": version, "n_labeled": n_labeled,
           "source": source, "n_eval": len(y_true), "accuracy": round(acc, 6), "macro_f1": round(macro, 6),
           "eval_set": eval_set}
    curve = [p for p in learning_curve(proj, eval_set) if p["model_version"] != version]
    curve.append({"model_version": version, "n_labeled": n_labeled, "accuracy": row["accuracy"],
                  "macro_f1": row["macro_f1"]})
    options = {"stop_at": stop_at, "min_gain": min_gain, "patience": patience}
    state = stopping.CurveState(metric, acc if metric == "accuracy" else macro, curve)
    stop, reason, given = stopping.decide(state, options)
    proj.append_history({**row, "stop_reason": reason if stop else ""})
    # record the metrics in the manifest (atomic rewrite of the JSON, sha unchanged)
    man["metrics"] = {"source": source, "n_eval": len(y_true), "accuracy": acc, "macro_f1": macro}
    with proj.lock():
        proj.models.write_manifest(version, man)
    return EvalResult(version, n_labeled, acc, macro, per_class, cm, source, len(y_true), stop, reason,
                      given, curve)


def learning_curve(proj: Project, eval_set: str) -> list[dict[str, Any]]:
    """One point per model version evaluated on ``eval_set`` (like with like: the same
    validation file content, or the same audit sample)."""
    hist = proj.read_history()
    ev = hist[(hist["event"] == "evaluate") & (hist["eval_set"] == eval_set)]
    return [{"model_version": int(r.model_version), "n_labeled": int(r.n_labeled),
             "accuracy": float(r.accuracy), "macro_f1": float(r.macro_f1)}
            for r in ev.drop_duplicates("model_version", keep="last").itertuples()]


def held_out_predictions(snap: Snapshot, bundle: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, str, str]:
    """(truth, prediction, source, evaluation-set key): the validation file, else the
    labeled audit sample, else cross-validation on the training labels."""
    cfg, proj = snap.cfg, snap.proj
    if cfg.validation.path:
        vpath = proj.resolve(cfg.validation.path)
        vdf = data_mod.read_labels_file(vpath, cfg.validation.label_column, cfg.labels, None)
        data_mod.check_columns(vdf, [*cfg.data.text_columns, *cfg.data.feature_columns], vpath, "feature")
        Xv = transform(bundle["transformer"], vdf, cfg, str(vpath))
        y_true = vdf[cfg.validation.label_column].to_numpy(dtype=object)
        return y_true, predict_labels(bundle, Xv), "validation", "validation:" + sha256_file(vpath)[:12]
    audit = snap.known_labels[snap.known_labels["id"].isin(snap.audit_set)]
    if len(audit):
        pos, found = snap.positions_of(audit["id"].to_numpy())
        X = model_matrix(snap, bundle)
        y_true = audit["label"].to_numpy(dtype=object)[found]
        key = hashlib.sha256("\n".join(sorted(audit["id"])).encode()).hexdigest()[:12]
        return y_true, predict_labels(bundle, X[pos]), "audit", "audit:" + key
    y_true, y_pred = _cv_predictions(snap)
    warn("no validation file and no labeled audit sample: cross-validating on the "
         "actively chosen labels, which biases the estimate (usually downwards); "
         "for an unbiased one, hold out a random sample and label it: 'al seed --validation-size 100' "
         "(or set validation.path in al.yaml)")
    return y_true, y_pred, "cross_validation", "cross_validation"


def _cv_predictions(snap: Snapshot) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    cfg = snap.cfg
    pos, y, _, _ = snap.training
    _, counts = np.unique(y, return_counts=True)
    k = int(min(5, counts.min()))
    advice = "hold out a random sample to label with 'al seed --validation-size 100', or set validation.path in al.yaml"
    if k < 2:
        raise ProjectError("cannot evaluate: no validation file, no audit sample, and too few labels "
                           f"per class to cross-validate; {advice}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            est = adapt(cfg.model, make_estimator(cfg.model, cfg.random_state), y, folds=k)
            cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=cfg.random_state)
            pred = cross_val_predict(est, prepare_X(cfg.model.name, snap.features.X[pos]), y, cv=cv)
        except (ValueError, DataError) as exc:
            msg = exc.message if isinstance(exc, DataError) else str(exc)
            raise ProjectError(
                "cannot evaluate: no validation file, no audit sample, and too few labels per "
                f"class to cross-validate {cfg.model.name} ({msg}); {advice}"
            ) from None
    return y, pred
