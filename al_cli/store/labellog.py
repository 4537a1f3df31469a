"""``labels.csv``: the append-only label log, and how its events become current labels.

Columns ``id,label,annotator,time,round,seconds,note,status``; ``status`` is ``labeled``
(an answer), ``skipped`` (seen, not answered) or ``retracted`` (an undo of that
annotator's previous answer for the id). Corrections are new rows: the log is never
rewritten. Each append is flushed and fsynced before it returns; a torn last line (a
power cut mid-append) is counted and ignored on read, never fatal.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from al_cli.errors import ProjectError
from al_cli.store.atomic import fsync_dir

LABEL_COLUMNS = ["id", "label", "annotator", "time", "round", "seconds", "note", "status"]
STATUSES = ("labeled", "skipped", "retracted")
#: The header of each format version of labels.csv (the header is the version mark:
#: a comment line would break every CSV reader a user points at the file).
HEADERS = {1: LABEL_COLUMNS}
FORMAT = 1


@dataclass
class LabelLog:
    """Rows of labels.csv that parsed; ``skipped_lines`` counts torn or malformed lines."""

    frame: Any  # pandas.DataFrame with LABEL_COLUMNS
    skipped_lines: int


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if v != v:  # NaN
            return ""
        return f"{v:.3f}"
    return str(v).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def encode_rows(rows: Iterable[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for r in rows:
        status = r.get("status", "labeled")
        if status not in STATUSES:
            raise ValueError(f"bad status {status!r}")
        writer.writerow([_cell(r.get(c, "")) if c != "status" else status for c in LABEL_COLUMNS])
    return buf.getvalue().encode("utf-8")


def append(path: Path, rows: list[dict[str, Any]]) -> int:
    """Append ``rows``; the caller holds the project lock. Fsynced on return."""
    if not rows:
        return 0
    data = encode_rows(rows)
    header = (",".join(LABEL_COLUMNS) + "\n").encode()
    exists = path.exists() and path.stat().st_size > 0
    if exists and path.stat().st_size < len(header) and header.startswith(path.read_bytes()):
        # a power cut tore the very first write inside the header: no answer was saved
        # yet, so start the log again rather than leave it unreadable
        path.unlink()
        exists = False
    with open(path, "ab") as fh:
        if not exists:
            fh.write(header)
        else:
            # A torn last line (power cut) gets its own line so it is skipped on read.
            with open(path, "rb") as rf:
                rf.seek(-1, os.SEEK_END)
                if rf.read(1) != b"\n":
                    fh.write(b"\n")
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    if not exists:
        fsync_dir(path.parent)
    return len(rows)


def read(path: Path) -> LabelLog:
    import pandas as pd

    if not path.exists():
        return LabelLog(pd.DataFrame(columns=LABEL_COLUMNS), 0)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ProjectError(f"{path}: cannot read the label log ({exc.strerror or exc})") from None
    text = raw.decode("utf-8", errors="replace")
    lines = text.split("\n")
    torn = 0
    if lines and lines[-1] != "":
        torn = 1  # no newline at the end: the last append did not finish
    lines = lines[:-1]
    if not lines:
        return LabelLog(pd.DataFrame(columns=LABEL_COLUMNS), torn)
    header = next(csv.reader([lines[0]]))
    if header[: len(LABEL_COLUMNS)] != HEADERS[FORMAT]:
        raise ProjectError(f"{path}: unexpected header {header}; expected {LABEL_COLUMNS}")
    good: list[list[str]] = []
    bad = torn
    for line in lines[1:]:
        if not line.strip():
            continue
        try:
            rec = next(csv.reader([line]))
        except (csv.Error, StopIteration):
            bad += 1
            continue
        if len(rec) != len(LABEL_COLUMNS) or rec[-1] not in STATUSES or not rec[0]:
            bad += 1
            continue
        good.append(rec)
    df = pd.DataFrame(good, columns=LABEL_COLUMNS, dtype=str)
    return LabelLog(_typed(df), bad)


def _typed(df):
    import pandas as pd

    df["seconds"] = pd.to_numeric(df["seconds"], errors="coerce")
    df["round"] = pd.to_numeric(df["round"], errors="coerce").fillna(0).astype(int)
    return df


def frame_of(rows: list[dict[str, Any]]):
    """Rows as they would read back from the log (for updating a snapshot in memory)."""
    import pandas as pd

    recs = [[_cell(r.get(c, "")) if c != "status" else r.get("status", "labeled") for c in LABEL_COLUMNS]
            for r in rows]
    return _typed(pd.DataFrame(recs, columns=LABEL_COLUMNS, dtype=str))


def effective_labels(log):
    """id -> current label: each annotator's latest answer (an undo retracts it); across
    annotators, the latest answer wins. Columns: id, label, annotator."""
    import pandas as pd

    if log.empty:
        return pd.DataFrame(columns=["id", "label", "annotator"])
    ev = log[log["status"].isin(["labeled", "retracted"])]
    per_annot = ev.drop_duplicates(subset=["id", "annotator"], keep="last")
    per_annot = per_annot[per_annot["status"] == "labeled"]
    cur = per_annot.drop_duplicates(subset=["id"], keep="last")
    return cur[["id", "label", "annotator"]].reset_index(drop=True)
