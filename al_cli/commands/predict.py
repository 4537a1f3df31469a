"""``al predict``: a saved model applied to new data, or to the whole pool.

The model's own feature transform turns the rows into features (the bundle's
``transformer``), so new data needs the columns the model was trained on, nothing else.
Output: ``id``, ``predicted``, ``confidence`` (top probability), ``p_LABEL`` per class
in the bundle's class order, and for the pool ``label`` (the current human label, empty
when unlabeled) and ``purpose`` (``train``, ``audit``, ``validation`` or empty).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from al_cli import data as data_mod
from al_cli.commands.modeling import model_matrix, predict_proba_chunked
from al_cli.commands.snapshot import Snapshot
from al_cli.errors import DataError, ProjectError
from al_cli.features.transform import transform
from al_cli.commands.tables import STDIO, write_table
from al_cli.store import Project


@dataclass
class PredictResult:
    path: str
    n_rows: int
    model_version: int
    source: str  # "pool" or the data file
    predicted_counts: dict[str, int] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    text: str | None = None  # the CSV, when the path is '-' (the CLI writes it to stdout)


def load_version(snap: Snapshot, version: int | None) -> tuple[int, dict[str, Any]]:
    """(version, bundle) of the latest model or of ``version``."""
    if version is None:
        v, bundle, _ = snap.model
        return v, bundle
    latest = snap.latest_version
    if latest is None:
        raise ProjectError("no model yet: run 'al retrain' first")
    if not 1 <= version <= latest or not snap.proj.model_paths(version)[1].exists():
        raise ProjectError(f"--model {version}: no such model version (the versions are 1..{latest})")
    from al_cli.store.modelstore import LegacyModelError

    try:
        bundle, _ = snap.proj.load_model(version, snap.trusted)
    except LegacyModelError:
        from al_cli.commands.retrain import refit_legacy

        bundle, _ = refit_legacy(snap, version)
    return version, bundle


def needed_columns(bundle: dict[str, Any]) -> list[str]:
    tr = bundle["transformer"]
    cols: list[str] = []
    for name, est, c in getattr(tr, "transformers", []):
        if name == "embedfile":  # vectors matched by id: the id column is what the file needs
            cols.append(str(est.steps[0][1].id_column))
        elif name != "remainder" and isinstance(c, (list, tuple)):
            cols.extend(str(x) for x in c)
    return list(dict.fromkeys(cols))


def _frame(ids, proba: np.ndarray, classes: list[str]) -> pd.DataFrame:
    cls = np.asarray(classes, dtype=object)
    top = proba.argmax(axis=1) if len(proba) else np.zeros(0, dtype=int)
    out = pd.DataFrame({"id": np.asarray(ids, dtype=object), "predicted": cls[top],
                        "confidence": np.round(proba.max(axis=1) if len(proba) else np.zeros(0), 6)})
    for j, c in enumerate(classes):
        out[f"p_{c}"] = np.round(proba[:, j], 6)
    return out


def predict(proj: Project, *, data: Path | str | None = None, model: int | None = None,
            output: Path | str = STDIO, ranked: bool = False) -> PredictResult:
    """Per-class probabilities of the pool or of ``data``. ``ranked`` (discovery): the review
    list, the documents not read yet (of the pool, or every row of ``data``) from the
    likeliest relevant down, with their ``rank``."""
    snap = Snapshot(proj)
    cfg = snap.cfg
    if ranked and cfg.task != "discovery":
        raise DataError("--ranked lists documents by their probability of the relevant label: it is for "
                        "discovery projects (al init --task discovery --relevant LABEL)")
    version, bundle = load_version(snap, model)
    classes = [str(c) for c in bundle["classes"]]
    if data is None:
        X = model_matrix(snap, bundle)
        out = _frame(snap.features.ids, predict_proba_chunked(bundle, X), classes)
        lab = snap.labels.set_index("id")["label"]
        out["label"] = lab.reindex(out["id"]).fillna("").to_numpy(object)
        purpose = np.where(out["label"] != "", "train", "")
        purpose = np.where(out["id"].isin(snap.audit_set), "audit", purpose)
        purpose = np.where(out["id"].isin(snap.validation_ids), "validation", purpose)
        out["purpose"] = purpose
        source = "pool"
    else:
        where = "standard input" if str(data) == STDIO else str(data)
        id_col = cfg.data.id_column
        df = data_mod.read_table(data, "data file", str_columns=[id_col])
        if len(df) == 0:
            raise DataError(f"{where}: no rows to predict")
        need = needed_columns(bundle)
        missing = [c for c in need if c not in df.columns]
        if missing:
            shown = ", ".join(map(str, list(df.columns)[:12]))
            raise DataError(f"{where}: column '{missing[0]}' not found: model {version:04d} was trained on "
                            f"{', '.join(need)} (the file has: {shown})")
        ids = data_mod.ids_for(df, id_col if id_col in df.columns else None, Path(where))
        X = transform(bundle["transformer"], df, cfg, where)
        out = _frame(ids.to_numpy(object), predict_proba_chunked(bundle, X), classes)
        source = where
    if ranked:
        if data is None:
            out = out[(out["label"] == "") & (out["purpose"] == "")].drop(columns=["label", "purpose"])
        col = f"p_{cfg.relevant}"
        out = out.sort_values(col, ascending=False, kind="stable").reset_index(drop=True)
        out.insert(0, "rank", np.arange(1, len(out) + 1))
    counts = {c: int((out["predicted"] == c).sum()) for c in classes}
    path, text = write_table(out, output)
    return PredictResult(path, len(out), version, source, counts, [str(c) for c in out.columns], text)
