"""``al label --import`` and ``al label --export``: labels through CSV files.

An import is all or nothing: every row is checked first, and the accepted rows go into
labels.csv in one append (cut back if the disk fills). Answers already recorded (same
annotator, same label, same note as their current answer) are not added again, so
re-importing a file is a no-op. Exports are spreadsheet-safe (see al_cli.spreadsheet)
and imports undo that escaping. ``-`` is standard input / output.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from al_cli import data as data_mod
from al_cli import settings
from al_cli.annotation.views import display_columns
from al_cli.commands.snapshot import Snapshot
from al_cli.commands.tables import unclashed
from al_cli.errors import ColumnNotFoundError, DataError
from al_cli.spreadsheet import escape_frame, unescape_series
from al_cli.store import LABEL_COLUMNS, Project, atomic_write_text, labellog, now_iso
from al_cli.store.atomic import check_writable_target, csv_text
from al_cli.store.consensus import current_answers, standing_adjudications
from al_cli.store.pool import read_pool

STDIO = "-"


@dataclass
class ImportResult:
    path: str
    imported: int
    ignored: int
    annotator: str
    n_labeled: int
    labels_per_class: dict[str, int]
    queue_remaining: int
    unchanged: int = 0
    unanswered: int = 0  # rows with an id but a blank label: left unanswered, not an error
    conflicts: int = 0  # imported items whose annotators' current answers now disagree
    unresolved: int = 0  # of those, items the consensus rule leaves without a label


class PoolIds:
    """Membership in the pool, from one hash index built once (a set of a million ids
    passed to ``isin`` is re-hashed on every call)."""

    def __init__(self, ids):
        self.index = pd.Index(np.asarray(ids, dtype=object))

    def __contains__(self, item) -> bool:
        return item in self.index

    def mask(self, values: pd.Series) -> np.ndarray:
        return self.index.get_indexer(values.to_numpy(dtype=object)) >= 0


def per_class(eff: pd.DataFrame, labels: list[str]) -> dict[str, int]:
    counts = eff["label"].value_counts()
    return {lab: int(counts.get(lab, 0)) for lab in labels}


def match_ids(ids: pd.Series, pool_ids: PoolIds) -> pd.Series:
    """Ids of an outside file matched to the pool's: as written, else an integral number
    written as a float ('7.0' -> '7', a spreadsheet's doing)."""
    mapping = {}
    for v in pd.unique(ids[~pool_ids.mask(ids)]):
        if v:
            try:
                f = float(v)
            except (ValueError, OverflowError):
                continue
            if f.is_integer() and str(int(f)) in pool_ids:
                mapping[v] = str(int(f))
    return ids.replace(mapping) if mapping else ids


def _text(df: pd.DataFrame, col: str, n: int) -> pd.Series:
    if col not in df.columns:
        return pd.Series([""] * n, index=df.index, dtype=object)
    return df[col].astype(object).where(df[col].notna(), "")


def _unescaped_ids(ids: pd.Series, pool_ids: PoolIds) -> pd.Series:
    """Ids as al's export wrote them ("'=1" for the id "=1") back to the pool's: the
    apostrophe goes only when that names a pool id and the id as written does not (only
    the id column of an export is escaped; labels and notes are typed by the annotator)."""
    raw_missing = ~pool_ids.mask(ids)
    if not raw_missing.any():
        return ids
    un = unescape_series(ids[raw_missing])
    hit = pool_ids.mask(un)
    out = ids.copy()
    out[un[hit].index] = un[hit]
    return out


def _problems(ids: pd.Series, labels: pd.Series, keep: np.ndarray, pool_ids: PoolIds,
              allowed: list[str]) -> list[str]:
    """Every bad row of the import (1-based file rows, header = row 1)."""
    rows = np.arange(len(ids)) + 2
    empty_id = (ids == "").to_numpy()
    unknown = ~pool_ids.mask(ids) & ~empty_id
    empty_lab = (labels == "").to_numpy()  # unanswered rows: not an error, not imported
    bad_lab = ~labels.isin(allowed).to_numpy() & ~empty_id & ~unknown & ~empty_lab
    ok = keep & ~(empty_id | unknown | empty_lab | bad_lab)
    sub = pd.DataFrame({"id": ids[ok], "label": labels[ok], "row": rows[ok]})
    first = sub.drop_duplicates("id").set_index("id")["label"]
    clash = sub[sub["label"].to_numpy() != first.reindex(sub["id"]).to_numpy()]
    out: list[tuple[int, str]] = []
    allowed_txt = ", ".join(allowed)
    describe = (
        (empty_id, lambda p: f"row {rows[p]}: empty id"),
        (unknown, lambda p: f"row {rows[p]}: unknown id {ids.iloc[p]!r}"),
        (bad_lab, lambda p: f"row {rows[p]}: label {labels.iloc[p]!r} not in the label set ({allowed_txt})"),
    )
    for mask, say in describe:
        where = np.flatnonzero(keep & mask)
        out += [(p, say(p)) for p in where[:6]] + [(p, "") for p in where[6:]]
    for r in clash.itertuples():
        out.append((r.row - 2, f"row {r.row}: id {r.id!r} given two labels ({first[r.id]!r}, {r.label!r})"))
    out.sort()
    return [m or "(more)" for _, m in out]


def _open_ids(snap: Snapshot, adjudicate: bool) -> set[str]:
    """Ids of the batch still open to answers: the rows queued for adjudication (with
    ``adjudicate``), else the other unanswered rows and the overlap items short of their
    annotators."""
    q = snap.pending
    adj = (q["purpose"] == "adjudicate").to_numpy() if "purpose" in q else np.zeros(len(q), bool)
    if adjudicate:
        return set(q["id"][adj])
    return set(q["id"][~adj]) | set(snap.overlap_short())


def label_import(proj: Project, file: Path | str, *, annotator: str | None = None,
                 queued_only: bool = False, adjudicate: bool = False) -> ImportResult:
    """Answers from a file, all or nothing. With ``adjudicate`` they are adjudications:
    decisions that settle items whose annotators disagree, under any consensus rule."""
    snap = Snapshot(proj)
    cfg = snap.cfg
    where = "standard input" if str(file) == STDIO else str(file)
    df = data_mod.read_table(file, "label file", str_columns=["id", "label", "annotator", "note"])
    data_mod.check_columns(df, ["id", "label"], Path(where), "required")
    annotator = annotator or settings.default_annotator()
    n = len(df)
    pool_ids = PoolIds(snap.id_column_ids)
    # object dtype: isin() against a set of a million ids is slow on arrow strings
    raw_ids = data_mod.normalise_ids(df["id"]).astype(object)
    ids = match_ids(_unescaped_ids(raw_ids, pool_ids), pool_ids)
    # what al's exports escaped for spreadsheets ('-1 -> -1) comes back as written
    un = unescape_series(df["label"])
    raw_labels = df["label"].where(df["label"].isin(cfg.labels) | ~un.isin(cfg.labels), un)
    labels = data_mod.canonical_labels(raw_labels, cfg.labels).astype(object)
    keep = ids.isin(_open_ids(snap, adjudicate)).to_numpy() if queued_only else np.ones(n, dtype=bool)
    problems = _problems(ids, labels, keep, pool_ids, cfg.labels)
    blank = keep & (labels == "").to_numpy() & (ids != "").to_numpy()
    if problems:
        shown = "; ".join(p for p in problems[:5])
        more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise DataError(f"{where}: {len(problems)} bad row(s), nothing imported: {shown}{more}")
    who = unescape_series(_text(df, "annotator", n).astype(str)).str.strip()
    who = who.where(who != "", annotator)
    notes = unescape_series(_text(df, "note", n).astype(str))
    new = pd.DataFrame({"id": ids, "label": labels, "annotator": who, "note": notes})[keep & ~blank]
    new = new.drop_duplicates(subset=["id", "annotator"], keep="last")
    # answers already recorded (the annotator's current answer, same label and note)
    log = snap.log.frame
    status = "adjudicated" if adjudicate else "labeled"
    if adjudicate:  # the annotator's adjudication that stands (an undone one does not count)
        last = standing_adjudications(log)
    else:
        last = current_answers(log)
    last = last.drop_duplicates(["id", "annotator"], keep="last").set_index(["id", "annotator"])[["label", "note"]]
    key = pd.MultiIndex.from_frame(new[["id", "annotator"]])
    cur = last.reindex(key)
    same = (cur["label"].to_numpy() == new["label"].to_numpy()) & (cur["note"].fillna("").to_numpy()
                                                                   == new["note"].to_numpy())
    unchanged = int(same.sum())
    new = new[~same]
    frame = pd.DataFrame({"id": new["id"].to_numpy(object), "label": new["label"].to_numpy(object),
                          "annotator": new["annotator"].to_numpy(object), "time": now_iso(),
                          "round": str(snap.round), "seconds": "", "note": new["note"].to_numpy(object),
                          "status": status}, columns=LABEL_COLUMNS)
    written = proj.append_encoded(labellog.encode_frame(frame), len(frame))
    snap.add_label_frame(frame)
    eff = snap.known_labels
    conf = snap.consensus.conflicts
    mine = conf[conf["id"].isin(set(new["id"]))]
    return ImportResult(where, written, int((~keep).sum()), annotator, len(eff),
                        per_class(eff, cfg.labels), len(snap.pending), unchanged, int(blank.sum()),
                        len(mine), int((mine["resolution"] == "unresolved").sum()))


@dataclass
class ExportResult:
    path: str
    n_rows: int
    text: str | None = None  # the CSV, when the path is '-' (the CLI writes it to stdout)


def label_export(proj: Project, file: Path | str, *, annotator: str | None = None) -> ExportResult:
    """The unanswered batch (not the rows queued for adjudication), and the overlap items
    short of ``labeling.overlap_annotators`` (those ``annotator`` has not answered)."""
    snap = Snapshot(proj)
    cfg = snap.cfg
    q = snap.pending
    q = q[q["purpose"] != "adjudicate"] if "purpose" in q else q
    short = set(snap.overlap_short(annotator))
    if short:  # in queue order, after the unanswered rows
        q = pd.concat([q, snap.queue[snap.queue["id"].isin(short - set(q["id"]))].drop_duplicates("id")])
    show = [c for c in display_columns(cfg) if c != cfg.data.id_column]
    if data_mod.big_pool(proj.pool_path):  # the queued rows only, numbers as the file holds them
        from al_cli.pool_rows import rows_with_ids

        try:
            df, ids = rows_with_ids(proj.pool_path, cfg.data.id_column, show, q["id"].tolist())
        except ColumnNotFoundError as exc:
            if exc.column not in show:
                raise
            raise DataError(f"{proj.pool_path}: column '{exc.column}' (labeling.display_columns in al.yaml) "
                            "not found in the pool") from None
    else:
        df, ids = read_pool(proj)
    missing = [c for c in show if c not in df.columns]
    if missing:
        raise DataError(f"{proj.pool_path}: column '{missing[0]}' (labeling.display_columns in al.yaml) "
                        "not found in the pool")
    pos = pd.Series(np.arange(len(ids)), index=ids.to_numpy()).reindex(q["id"])
    q = q[~pos.isna().to_numpy()]
    rows = df.iloc[pos.dropna().astype(int).to_numpy()][show].reset_index(drop=True)
    rows.columns = unclashed(rows.columns, ["id", "label", "annotator", "note"])
    out = pd.concat([q[["id"]].reset_index(drop=True), rows], axis=1)
    out["label"] = ""
    out["annotator"] = annotator or ""
    out["note"] = ""
    text = csv_text(escape_frame(out))
    if str(file) == STDIO:
        return ExportResult(STDIO, len(out), text)
    file = Path(file)
    if file.parent and not file.parent.exists():
        raise DataError(f"{file}: folder {file.parent} does not exist")
    check_writable_target(file)
    atomic_write_text(file, text)
    return ExportResult(str(file), len(out))
