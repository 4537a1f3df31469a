"""``al retrain``: a new model version on every training label so far."""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from al_cli import __version__
from al_cli.commands.snapshot import Snapshot
from al_cli.errors import ProjectError
from al_cli.models.fitting import fit
from al_cli.report import info
from al_cli.store import Project, now_iso


@dataclass
class RetrainResult:
    model_version: int
    n_labeled: int
    class_counts: dict[str, int]
    model: str
    seconds: float
    path: str
    excluded_audit: int
    refitted: bool = True  # False: the latest model was already fitted on exactly these labels


def is_current(snap: Snapshot, man: dict, eff) -> bool:
    """Whether a model's manifest says it was fitted on exactly these training labels,
    with this model configuration, on features of this pool and feature settings."""
    cfg = snap.cfg
    used = man.get("labels_used")
    if not isinstance(used, list):
        return False
    try:
        before = {(str(d["id"]), str(d["label"])) for d in used}
    except (KeyError, TypeError):
        return False
    model = {"name": cfg.model.name, "class_weight": cfg.model.class_weight, "params": cfg.model.params}
    return (before == set(zip(eff["id"].astype(str), eff["label"].astype(str))) and len(before) == len(eff)
            and man.get("model") == model and man.get("random_state") == cfg.random_state
            and man.get("feature_key") == snap.pool_key)


def fit_bundle(snap: Snapshot, pos: np.ndarray, y: np.ndarray) -> dict:
    """The configured model fitted on pool rows ``pos`` with labels ``y``, with the pool's
    feature transform: what models/NNNN.* hold."""
    cfg, pf = snap.cfg, snap.features
    transformer = pf.transformer  # first: loading it may rebuild the cache (then X and key are new)
    est = fit(cfg.model, pf.X[pos], y, cfg.random_state)
    return {"estimator": est, "transformer": transformer, "feature_key": pf.key,
            "model_name": cfg.model.name, "classes": [str(c) for c in est.classes_]}


def head_bytes(bundle: dict, X_probe) -> bytes | None:
    """models/NNNN.head.npz of a linear model (its probabilities without scikit-learn, with
    the feature names 'al explain' gives); None for any other model, or when the head does
    not give the estimator's own probabilities on ``X_probe`` (a few training rows)."""
    import warnings

    from al_cli.models.apply import normalised, prepare_X
    from al_cli.models.head import of_estimator
    from al_cli.reports.drivers import feature_info

    est, n_features = bundle["estimator"], X_probe.shape[1]
    head = of_estimator(est, bundle["model_name"], bundle["feature_key"])
    if head is None or (head.kind != "constant" and head.n_features != n_features):
        return None
    Xp = prepare_X(bundle["model_name"], X_probe)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        own = normalised(np.asarray(est.predict_proba(Xp), dtype=np.float64))
    if not np.allclose(normalised(head.predict_proba(Xp)), own, rtol=0, atol=1e-5):
        return None
    head.names, head.numeric = feature_info(bundle["transformer"], n_features)
    return head.to_bytes()


def refit_legacy(snap: Snapshot, version: int) -> tuple[dict, dict]:
    """Model ``version`` saved by al 0.1.0 (a pickle, which al does not load): fitted again
    on the labels its manifest records, saved as its skops twin; the pickle stays as it was."""
    proj = snap.proj
    man = proj.load_manifest(version)
    used = man.get("labels_used") or []
    ids = [str(d.get("id", "")) for d in used if isinstance(d, dict)]
    labels = np.asarray([str(d.get("label", "")) for d in used if isinstance(d, dict)], dtype=object)
    pos, found = snap.positions_of(ids)
    if not len(pos) or len(set(labels[found])) < 2:
        raise ProjectError(f"model {version:04d} was saved by al 0.1.0 as a pickle, which al does not "
                           "load, and its labels cannot be found in the pool to fit it again: run 'al retrain'")
    info(f"model {version:04d} was saved by al 0.1.0 as a pickle; al does not load pickles, so it is "
         f"fitted again on the {int(found.sum())} labels it was trained on (the pickle stays)")
    bundle = fit_bundle(snap, pos, labels[found])
    with proj.lock():
        man = proj.models.add_twin(version, bundle, man, {"refit_from_labels": int(found.sum())})
    return {"format": 1, **bundle}, man


def retrain(proj: Project, *, force: bool = False) -> RetrainResult:
    """A new model version on every training label; none when the latest model was fitted
    on exactly these labels and settings (a scripted loop that retrains after a failed
    labeling step must not add a version per turn), unless ``force``."""
    import joblib
    import scipy
    import sklearn

    snap = Snapshot(proj)
    cfg = snap.cfg
    pf = snap.features
    pos, y, eff, n_audit = snap.training
    if len(y) == 0:
        raise ProjectError("nothing labeled yet: run 'al seed' and 'al label' first")
    classes = sorted(set(y), key=cfg.labels.index)
    if len(classes) < 2:
        raise ProjectError(
            f"only one class labeled so far ({classes[0]!r}, {len(y)} label(s)); a model needs at "
            "least two: label more rows ('al query --strategy random' helps find other classes)"
        )
    latest = snap.latest_version
    if not force and latest is not None and is_current(snap, man := proj.load_manifest(latest), eff):
        if man.get("labels_key") != snap.labels_key:  # labels that do not train (validation ids) changed
            with proj.lock():
                proj.models.write_manifest(latest, {**man, "labels_key": snap.labels_key})
        counts = {c: int((y == c).sum()) for c in classes}
        return RetrainResult(latest, len(y), counts, cfg.model.name, 0.0, str(proj.model_paths(latest)[0]),
                             n_audit, refitted=False)
    t0 = time.perf_counter()
    bundle = fit_bundle(snap, pos, y)
    est = bundle["estimator"]
    secs = time.perf_counter() - t0
    counts = {c: int((y == c).sum()) for c in classes}
    manifest = {
        "created": now_iso(),
        "al_version": __version__,
        "model": {"name": cfg.model.name, "class_weight": cfg.model.class_weight, "params": cfg.model.params},
        "classes": [str(c) for c in est.classes_],
        "class_counts": counts,
        "n_labeled": int(len(y)),
        "labels_key": snap.labels_key,
        "labels_used": [{"id": i, "label": lab} for i, lab in zip(eff["id"], eff["label"])],
        "audit_labels_held_out": n_audit,
        "feature_key": pf.key,
        "n_features": int(pf.X.shape[1]),
        "pool_rows": pf.n_rows,
        "pool": cfg.data.path,
        "fit_seconds": round(secs, 3),
        "random_state": cfg.random_state,
        "library_versions": {
            "python": platform.python_version(), "scikit-learn": sklearn.__version__,
            "numpy": np.__version__, "scipy": scipy.__version__, "pandas": pd.__version__,
            "joblib": joblib.__version__,
        },
        "metrics": None,
    }
    version = proj.save_model(bundle, manifest, head_bytes(bundle, pf.X[pos[:16]]))
    proj.append_history({"event": "retrain", "model_version": version, "round": version,
                         "n_labeled": len(y)})
    return RetrainResult(version, len(y), counts, cfg.model.name, secs,
                         str(proj.model_paths(version)[0]), n_audit)
