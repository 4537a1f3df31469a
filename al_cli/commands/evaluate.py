"""``al evaluate``: the latest model on held-out labels, the learning curve, stopping."""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from al_cli import data as data_mod
from al_cli import stopping
from al_cli.commands.modeling import model_matrix, predict_proba_chunked
from al_cli.commands.snapshot import Snapshot
from al_cli.errors import ConfigError, DataError, ProjectError
from al_cli.features.transform import transform
from al_cli.models.fitting import adapt, make_estimator, prepare_X
from al_cli.report import warn
from al_cli.commands.stability import minutes_behind, stability_kappa
from al_cli.reports.metrics import CI_WARN, bootstrap_ci, metrics, wilson_half
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
    plot: str | None = None  # learning_curve.png in the project, when it could be drawn
    errors: list[dict[str, Any]] | None = None  # with errors=True: the rows the model gets wrong
    accuracy_ci: list[float] | None = None  # 95% bootstrap interval over the held-out rows
    macro_f1_ci: list[float] | None = None
    labeling_minutes: float = 0.0  # minutes of timed labeling behind this model
    minutes_per_point: float | None = None  # over the last --patience evaluations
    stability_kappa: float | None = None  # agreement with the previous model on the stop set
    points_gained: float | None = None  # points of --metric over the last --patience evaluations
    recall: dict[str, Any] | None = None  # with --stop-at-recall: read, found, estimate, recall sample test


def evaluate(proj: Project, *, stop_at: float | None = None, metric: str = "accuracy",
             min_gain: float | None = None, patience: int = 3, errors: bool = False,
             max_minutes_per_point: float | None = None, stable_kappa: float | None = None,
             stop_at_recall: float | None = None, confidence: float = 0.95) -> EvalResult:
    snap = Snapshot(proj)
    recall = None
    if stop_at_recall is not None:
        if snap.cfg.task != "discovery":
            raise ConfigError("--stop-at-recall is for discovery projects (al init --task discovery --relevant LABEL)")
        if not 0 < stop_at_recall < 1 or not 0 < confidence < 1:
            raise ConfigError("--stop-at-recall and --confidence must be numbers between 0 and 1")
        recall = recall_now(snap, stop_at_recall, confidence)
    if metric not in ("accuracy", "macro_f1"):
        raise ConfigError("--metric must be accuracy or macro_f1")
    if stop_at is not None and not 0 <= stop_at <= 1:
        raise ConfigError("--stop-at must be a number between 0 and 1")
    if stable_kappa is not None and not -1 <= stable_kappa <= 1:
        raise ConfigError("--stable-kappa must be a number between -1 and 1")
    if max_minutes_per_point is not None and not max_minutes_per_point > 0:
        raise ConfigError("--max-minutes-per-point must be a positive number")
    version, bundle, man = snap.model
    held = held_out_predictions(snap, bundle)
    y_true, y_pred, source, eval_set = held.y_true, held.y_pred, held.source, held.eval_set
    acc, macro, per_class, cm = metrics(y_true, y_pred, snap.cfg.labels)
    ci = bootstrap_ci(y_true, y_pred, snap.cfg.labels, snap.stream("ci", version))
    n_labeled = int(man.get("n_labeled", 0))
    kappa = stability_kappa(snap, version, bundle)
    row = {"event": "evaluate", "model_version": version, "round": version, "n_labeled": n_labeled,
           "source": source, "n_eval": len(y_true), "accuracy": round(acc, 6), "macro_f1": round(macro, 6),
           "eval_set": eval_set, "stability_kappa": "" if kappa is None else kappa}
    curve = [p for p in learning_curve(proj, eval_set) if p["model_version"] != version]
    curve.append({"model_version": version, "n_labeled": n_labeled, "accuracy": row["accuracy"],
                  "macro_f1": row["macro_f1"], "stability_kappa": kappa})
    minutes = minutes_behind(snap, [p["model_version"] for p in curve])
    for p, m in zip(curve, minutes):
        p["labeling_minutes"] = m
    options = {"stop_at": stop_at, "min_gain": min_gain, "patience": patience,
               "max_minutes_per_point": max_minutes_per_point, "stable_kappa": stable_kappa,
               "stop_at_recall": stop_at_recall}
    state = stopping.CurveState(metric, acc if metric == "accuracy" else macro, curve, minutes,
                                [p.get("stability_kappa") for p in curve], recall)
    stop, reason, given = stopping.decide(state, options)
    proj.append_history({**row, "stop_reason": reason if stop else ""})
    # record the metrics in the manifest (atomic rewrite of the JSON, sha unchanged)
    man["metrics"] = {"source": source, "n_eval": len(y_true), "accuracy": acc, "macro_f1": macro,
                      "accuracy_ci": ci["accuracy"], "macro_f1_ci": ci["macro_f1"]}
    with proj.lock():
        proj.models.write_manifest(version, man)
    # the bootstrap's width, but never less than the Wilson interval of the accuracy: a
    # bootstrap of a few rows, all right, has width 0
    half = max((ci[metric][1] - ci[metric][0]) / 2, wilson_half(round(acc * len(y_true)), len(y_true)))
    if half > CI_WARN:
        more = ("add labeled rows to the validation file" if source == "validation" else
                "'al seed --validation-size 200' adds rows to the audit sample to label")
        warn(f"{source}: {len(y_true)} held-out rows give {metric} {state.value:.3f} +/- {half:.3f} "
             f"(95% interval): too few to tell two rounds apart by less than that; {more}")
    plot = _draw(proj, curve, source, stop_at, metric)
    return EvalResult(version, n_labeled, acc, macro, per_class, cm, source, len(y_true), stop, reason,
                      given, curve, plot, errors_of(held) if errors else None, ci["accuracy"], ci["macro_f1"],
                      minutes[-1], _finite(stopping.minutes_per_point(state, patience)), kappa,
                      _gained(curve, metric, patience), recall)


def recall_now(snap: Snapshot, target: float, confidence: float) -> dict[str, Any]:
    """Discovery: read, found, the Quant estimate and the recall sample's test at ``target``."""
    from al_cli.commands.status import discovery_state

    return discovery_state(snap, snap.known_labels, target, confidence)


def _finite(v: float | None) -> float | None:
    return None if v is None or v == float("inf") else round(v, 3)


def _gained(curve: list[dict[str, Any]], metric: str, patience: int) -> float | None:
    """Points (0.01) of ``metric`` gained over the last ``patience`` evaluations."""
    if len(curve) <= patience:
        return None
    return round(100 * (curve[-1][metric] - curve[-1 - patience][metric]), 3)


PLOT_FILE = "learning_curve.png"


def _draw(proj: Project, curve, source: str, target: float | None, metric: str) -> str | None:
    """learning_curve.png in the project; a picture that cannot be drawn is a warning."""
    from al_cli.reports.plots import learning_curve_png
    from al_cli.store import atomic_write_bytes

    path = proj.root / PLOT_FILE
    try:
        png = learning_curve_png(curve, title=f"al: {proj.root.name}", source=source, target=target,
                                 metric=metric)
        atomic_write_bytes(path, png)
    except (OSError, ImportError, ValueError, RuntimeError) as exc:
        warn(f"{path}: cannot draw the learning curve ({exc})")
        return None
    return str(path)


def learning_curve(proj: Project, eval_set: str) -> list[dict[str, Any]]:
    """One point per model version evaluated on ``eval_set`` (like with like: the same
    validation file content, or the same audit sample)."""
    hist = proj.read_history()
    ev = hist[(hist["event"] == "evaluate") & (hist["eval_set"] == eval_set)]
    return [{"model_version": int(r.model_version), "n_labeled": int(r.n_labeled),
             "accuracy": float(r.accuracy), "macro_f1": float(r.macro_f1),
             "stability_kappa": _num_or_none(r.stability_kappa)}
            for r in ev.drop_duplicates("model_version", keep="last").itertuples()]


def _num_or_none(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


@dataclass
class HeldOut:
    """The held-out rows and what the model said of them."""

    y_true: np.ndarray
    y_pred: np.ndarray
    confidence: np.ndarray  # the model's top probability per row
    ids: np.ndarray  # pool ids (audit, cross-validation), or the validation file's ids / row numbers
    source: str
    eval_set: str
    fields: Any = None  # fn(positions) -> list of {column: value} for those rows


def _top(bundle: dict[str, Any], X) -> tuple[np.ndarray, np.ndarray]:
    proba = predict_proba_chunked(bundle, X)
    cls = np.asarray(bundle["classes"], dtype=object)
    return cls[proba.argmax(axis=1)], proba.max(axis=1)


def _frame_fields(df, cols: list[str]):
    cols = [c for c in cols if c in df.columns]

    def get(rows) -> list[dict[str, Any]]:
        return [{c: _plain(v) for c, v in zip(cols, vals)}
                for vals in df.iloc[np.asarray(rows, dtype=int)][cols].itertuples(index=False, name=None)]
    return get


def _pool_fields(snap: Snapshot, ids: np.ndarray):
    def get(rows) -> list[dict[str, Any]]:
        from al_cli.annotation.views import load_views

        wanted = [str(ids[i]) for i in rows]
        views = load_views(snap.proj, wanted)
        return [{c: v for c, v, _ in views[i].fields} if i in views else {} for i in wanted]
    return get


def _plain(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if v != v else float(v)
    return v if v is None or isinstance(v, (str, bool, int)) else str(v)


def held_out_predictions(snap: Snapshot, bundle: dict[str, Any]) -> HeldOut:
    """The validation file, else the labeled audit sample, else cross-validation on the
    training labels."""
    from al_cli.annotation.views import display_columns

    cfg, proj = snap.cfg, snap.proj
    if cfg.validation.path:
        vpath = proj.resolve(cfg.validation.path)
        vdf = data_mod.read_labels_file(vpath, cfg.validation.label_column, cfg.labels, None)
        data_mod.check_columns(vdf, [*cfg.data.text_columns, *cfg.data.feature_columns], vpath, "feature")
        Xv = transform(bundle["transformer"], vdf, cfg, str(vpath))
        y_true = vdf[cfg.validation.label_column].to_numpy(dtype=object)
        id_col = cfg.data.id_column
        if id_col and id_col in vdf.columns:
            ids = data_mod.normalise_ids(vdf[id_col]).to_numpy(dtype=object)
        else:
            ids = np.asarray([f"row{i + 1}" for i in range(len(vdf))], dtype=object)
        pred, conf = _top(bundle, Xv)
        return HeldOut(y_true, pred, conf, ids, "validation", "validation:" + sha256_file(vpath)[:12],
                       _frame_fields(vdf, display_columns(cfg)))
    audit = snap.known_labels[snap.known_labels["id"].isin(snap.audit_set)]
    if len(audit):
        pos, found = snap.positions_of(audit["id"].to_numpy())
        X = model_matrix(snap, bundle)
        y_true = audit["label"].to_numpy(dtype=object)[found]
        ids = audit["id"].to_numpy(dtype=object)[found]
        key = hashlib.sha256("\n".join(sorted(audit["id"])).encode()).hexdigest()[:12]
        pred, conf = _top(bundle, X[pos])
        return HeldOut(y_true, pred, conf, ids, "audit", "audit:" + key, _pool_fields(snap, ids))
    y_true, y_pred, conf, ids = _cv_predictions(snap)
    warn("no validation file and no labeled audit sample: cross-validating on the "
         "actively chosen labels, which biases the estimate (usually downwards); "
         "for an unbiased one, hold out a random sample and label it: 'al seed --validation-size 100' "
         "(or set validation.path in al.yaml)")
    return HeldOut(y_true, y_pred, conf, ids, "cross_validation", "cross_validation", _pool_fields(snap, ids))


def errors_of(held: HeldOut) -> list[dict[str, Any]]:
    """The held-out rows the model gets wrong, most confident first (ties: file order)."""
    wrong = np.flatnonzero(held.y_true != held.y_pred)
    wrong = wrong[np.argsort(-held.confidence[wrong], kind="stable")]
    fields = held.fields(wrong) if held.fields is not None and len(wrong) else [{} for _ in wrong]
    return [{"id": str(held.ids[i]), "true": str(held.y_true[i]), "predicted": str(held.y_pred[i]),
             "confidence": round(float(held.confidence[i]), 6), "fields": f}
            for i, f in zip(wrong, fields)]


def _cv_predictions(snap: Snapshot) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    advice = "hold out a random sample to label with 'al seed --validation-size 100', or set validation.path in al.yaml"
    y, proba, classes, ids = out_of_fold(snap, "cannot evaluate: no validation file, no audit sample, and",
                                         advice)
    return y, classes[proba.argmax(axis=1)], proba.max(axis=1), ids


def out_of_fold(snap: Snapshot, what: str, advice: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(labels, out-of-fold probabilities, their classes, ids) of the training labels:
    stratified k-fold of the configured model, k = min(5, rarest class count)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    cfg = snap.cfg
    pos, y, eff, _ = snap.training
    if len(y) == 0:
        raise ProjectError(f"{what} nothing labeled yet; {advice}")
    names, counts = np.unique(y, return_counts=True)
    k = int(min(5, counts.min())) if len(counts) > 1 else 0
    if k < 2:
        why = (f"label {names[counts.argmin()]!r} has a single one; every labeled class needs two"
               if len(counts) > 1 else "two classes with at least two labels each are needed")
        raise ProjectError(f"{what} too few labels per class to cross-validate ({why}); {advice}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            est = adapt(cfg.model, make_estimator(cfg.model, cfg.random_state), y, folds=k)
            cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=cfg.random_state)
            proba = cross_val_predict(est, prepare_X(cfg.model.name, snap.features.X[pos]), y, cv=cv,
                                      method="predict_proba")
        except (ValueError, DataError) as exc:
            msg = exc.message if isinstance(exc, DataError) else str(exc)
            raise ProjectError(f"{what} too few labels per class to cross-validate {cfg.model.name} ({msg}); "
                               f"{advice}") from None
    classes = np.unique(y)  # cross_val_predict's column order (sorted, as the estimator's classes_)
    return y, proba, classes, eff["id"].to_numpy(dtype=object)
