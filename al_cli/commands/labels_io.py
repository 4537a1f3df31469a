"""``al label --import`` and ``al label --export``: labels through CSV files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from al_cli import data as data_mod
from al_cli import settings
from al_cli.annotation.views import display_columns
from al_cli.commands.snapshot import Snapshot
from al_cli.errors import DataError
from al_cli.store import Project, atomic_write_csv, now_iso
from al_cli.store.pool import read_pool


@dataclass
class ImportResult:
    path: str
    imported: int
    ignored: int
    annotator: str
    n_labeled: int
    labels_per_class: dict[str, int]
    queue_remaining: int


def per_class(eff: pd.DataFrame, labels: list[str]) -> dict[str, int]:
    counts = eff["label"].value_counts()
    return {lab: int(counts.get(lab, 0)) for lab in labels}


def match_ids(ids: pd.Series, pool_ids: set[str]) -> pd.Series:
    """Ids of an outside file matched to the pool's: as written, else an integral number
    written as a float ('7.0' -> '7', a spreadsheet's doing)."""
    mapping = {}
    for v in pd.unique(ids):
        if v and v not in pool_ids:
            try:
                f = float(v)
            except ValueError:
                continue
            if f.is_integer() and str(int(f)) in pool_ids:
                mapping[v] = str(int(f))
    return ids.replace(mapping) if mapping else ids


def label_import(proj: Project, file: Path, *, annotator: str | None = None,
                 queued_only: bool = False) -> ImportResult:
    snap = Snapshot(proj)
    cfg = snap.cfg
    file = Path(file)
    df = data_mod.read_table(file, "label file", str_columns=["id", "label", "annotator", "note"])
    data_mod.check_columns(df, ["id", "label"], file, "required")
    annotator = annotator or settings.default_annotator()
    pool_ids = set(snap.features.ids.tolist())
    ids = match_ids(data_mod.normalise_ids(df["id"]), pool_ids)
    lab_s = data_mod.canonical_labels(df["label"], cfg.labels)
    keep = np.ones(len(df), dtype=bool)
    if queued_only:
        keep = ids.isin(set(snap.pending["id"])).to_numpy()
    allowed = set(cfg.labels)
    problems: list[str] = []
    seen: dict[str, str] = {}
    for i in np.flatnonzero(keep):
        rid, lab = ids.iloc[i], lab_s.iloc[i]
        row = i + 2
        if not rid:
            problems.append(f"row {row}: empty id")
        elif rid not in pool_ids:
            problems.append(f"row {row}: unknown id {rid!r}")
        elif lab == "":
            problems.append(f"row {row}: empty label for id {rid!r}")
        elif lab not in allowed:
            problems.append(f"row {row}: label {lab!r} not in the label set ({', '.join(cfg.labels)})")
        elif rid in seen and seen[rid] != lab:
            problems.append(f"row {row}: id {rid!r} given two labels ({seen[rid]!r}, {lab!r})")
        else:
            seen[rid] = lab
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise DataError(f"{file}: {len(problems)} bad row(s), nothing imported: {shown}")
    rnd = snap.round
    t = now_iso()
    ann_col = df["annotator"] if "annotator" in df.columns else None
    note_col = df["note"] if "note" in df.columns else None
    rows = []
    for i in np.flatnonzero(keep):
        a = annotator
        if ann_col is not None and pd.notna(ann_col.iloc[i]) and str(ann_col.iloc[i]).strip():
            a = str(ann_col.iloc[i]).strip()
        note = "" if note_col is None or pd.isna(note_col.iloc[i]) else str(note_col.iloc[i])
        rows.append({"id": ids.iloc[i], "label": lab_s.iloc[i], "annotator": a, "time": t,
                     "round": rnd, "seconds": "", "note": note, "status": "labeled"})
    n = proj.append_labels(rows)
    snap.add_label_rows(rows)
    eff = snap.known_labels
    return ImportResult(str(file), n, int((~keep).sum()), annotator, len(eff),
                        per_class(eff, cfg.labels), len(snap.pending))


@dataclass
class ExportResult:
    path: str
    n_rows: int


def label_export(proj: Project, file: Path) -> ExportResult:
    snap = Snapshot(proj)
    cfg = snap.cfg
    q = snap.pending
    df, ids = read_pool(proj)
    show = [c for c in display_columns(cfg) if c != cfg.data.id_column]
    missing = [c for c in show if c not in df.columns]
    if missing:
        raise DataError(f"{proj.pool_path}: column '{missing[0]}' (labeling.display_columns in al.yaml) "
                        "not found in the pool")
    pos = pd.Series(np.arange(len(ids)), index=ids.to_numpy())
    rows = df.iloc[pos.reindex(q["id"]).dropna().astype(int).to_numpy()][show].reset_index(drop=True)
    out = pd.concat([q[["id"]].reset_index(drop=True), rows], axis=1)
    out["label"] = ""
    out["annotator"] = ""
    out["note"] = ""
    file = Path(file)
    if file.parent and not file.parent.exists():
        raise DataError(f"{file}: folder {file.parent} does not exist")
    atomic_write_csv(file, out)
    return ExportResult(str(file), len(out))
