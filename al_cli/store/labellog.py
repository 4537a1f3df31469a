"""``labels.csv``: the append-only label log, and how its events become current labels.

Columns ``id,label,annotator,time,round,seconds,note,status``; ``status`` is ``labeled``
(an answer), ``skipped`` (seen, not answered), ``retracted`` (an undo of that
annotator's previous answer for the id) or ``adjudicated`` (a decision that settles an
item whose annotators disagree; see consensus.py). Corrections are new rows: the log is never
rewritten. Fields keep any content (newlines, carriage returns, quotes, very long
notes) through standard CSV quoting. Each append is one write, cut back if it fails,
and fsynced before it returns; a torn last record (a power cut mid-append) is counted
and ignored on read, never fatal, and never swallows the records appended after it.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from al_cli.errors import ProjectError
from al_cli.store.atomic import fsync_dir

LABEL_COLUMNS = ["id", "label", "annotator", "time", "round", "seconds", "note", "status"]
STATUSES = ("labeled", "skipped", "retracted", "adjudicated")
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
    """A field as written: seconds with 3 decimals, everything else as is (newlines,
    carriage returns, quotes and commas included: CSV quoting keeps them)."""
    if v is None:
        return ""
    if isinstance(v, float):
        if v != v:  # NaN
            return ""
        return f"{v:.3f}"
    return str(v)


def encode_rows(rows: Iterable[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    minimal = csv.writer(buf, lineterminator="\n")
    quote_all = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for r in rows:
        status = r.get("status", "labeled")
        if status not in STATUSES:
            raise ValueError(f"bad status {status!r}")
        rec = [_cell(r.get(c, "")) if c != "status" else status for c in LABEL_COLUMNS]
        # the csv module quotes '\n' but not a lone '\r', which its reader splits on
        (quote_all if any("\r" in f for f in rec) else minimal).writerow(rec)
    return buf.getvalue().encode("utf-8")


def encode_frame(frame) -> bytes:
    """A DataFrame of LABEL_COLUMNS strings (a large import) in one ``writerows``; the
    rows are written again one by one only when some field holds a carriage return."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(zip(*(frame[c].tolist() for c in LABEL_COLUMNS)))
    text = buf.getvalue()
    if "\r" in text:
        return encode_rows(frame[LABEL_COLUMNS].to_dict("records"))
    return text.encode("utf-8")


def complete_length(raw: bytes) -> int:
    """Bytes of ``raw`` that hold complete records: up to the last newline outside quotes.

    A power cut can tear the last append anywhere, also inside a quoted field; what
    follows the last record boundary is the torn part. (UTF-8 never uses the bytes of
    '"' or newline inside a multi-byte character, so counting bytes is safe.)"""
    if not raw:
        return 0
    import numpy as np

    b = np.frombuffer(raw, dtype=np.uint8)
    newlines = np.flatnonzero(b == 10)
    if not len(newlines):
        return 0
    quotes_before = np.searchsorted(np.flatnonzero(b == 34), newlines)
    ends = newlines[(quotes_before % 2) == 0]
    return int(ends[-1]) + 1 if len(ends) else 0


# path -> (inode, size) of a log this process left with a complete last record: the next
# append need not read the file again (the labeler appends once per answer).
_CLEAN: dict[str, tuple[int, int]] = {}


def _repair_prefix(fd: int, path: Path, size: int, ino: int) -> bytes:
    """What to write before new records so that a torn last record ends (and is skipped
    on read) instead of swallowing them: a closing quote if it stopped inside a quoted
    field, then a newline."""
    if size == 0 or _CLEAN.get(str(path)) == (ino, size):
        return b""
    raw = os.pread(fd, size, 0)
    end = complete_length(raw)
    if end == size:
        return b""
    return (b'"' if raw[end:].count(b'"') % 2 else b"") + b"\n"


def append(path: Path, rows: list[dict[str, Any]], data: bytes | None = None,
           count: int | None = None) -> int:
    """Append ``rows`` (or ``count`` rows already encoded as ``data``); the caller holds the
    project lock. All or nothing: the records go in one write, and a failed write (a full
    disk) is cut back to the old size. Fsynced on return."""
    n = len(rows) if data is None else int(count or 0)
    if not n:
        return 0
    data = encode_rows(rows) if data is None else data
    rows = range(n)  # only counted from here on
    header = (",".join(LABEL_COLUMNS) + "\n").encode()
    fd = open_no_follow(path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
    try:
        st = os.fstat(fd)
        size = st.st_size
        if 0 < size < len(header) and header.startswith(os.pread(fd, size, 0)):
            # a power cut tore the very first write inside the header: no answer was
            # saved yet, so start the log again rather than leave it unreadable
            os.ftruncate(fd, 0)
            size = 0
        payload = (header if size == 0 else _repair_prefix(fd, path, size, st.st_ino)) + data
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)  # nothing of this append stays
                os.fsync(fd)
            _CLEAN.pop(str(path), None)
            if isinstance(exc, OSError):
                full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
                raise ProjectError(
                    f"{path}: cannot append ({exc.strerror or exc}); nothing of these "
                    f"{len(rows)} row(s) was saved, the log is as it was"
                    + ("; free some disk space and run the command again" if full else "")) from None
            raise
        _CLEAN[str(path)] = (st.st_ino, size + len(payload))
    finally:
        os.close(fd)
    if size == 0:
        fsync_dir(path.parent)
    return len(rows)


def open_no_follow(path: Path, flags: int, mode: int = 0o666) -> int:
    """``os.open`` that refuses a symbolic link or anything but a regular file (a write
    through a link would land outside the project)."""
    try:
        fd = os.open(path, flags | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0), mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ProjectError(f"{path}: is a symbolic link; al writes only regular files in the "
                               "project folder (replace the link by the file it points to)") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ProjectError(f"{path}: is not a regular file")
    os.set_blocking(fd, True)
    return fd


def raise_field_limit() -> None:
    """Notes and ids of any length: the csv module stops at 131,072 characters by default."""
    if csv.field_size_limit() < 2**31 - 1:
        csv.field_size_limit(2**31 - 1)


def records(raw: bytes) -> Iterator[list[str] | None]:
    """The CSV records of complete ``raw`` bytes, blank lines skipped; None for a record
    the csv module cannot parse (counted as bad by the caller)."""
    raise_field_limit()
    reader = csv.reader(io.StringIO(raw.decode("utf-8", errors="replace"), newline=""))
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield None
            continue
        if rec and rec != [""]:
            yield rec


def read(path: Path) -> LabelLog:
    import pandas as pd

    if path.is_symlink():
        raise ProjectError(f"{path}: is a symbolic link; al keeps the label log as a regular file "
                           "in the project folder (replace the link by the file it points to)")
    if not path.exists():
        return LabelLog(pd.DataFrame(columns=LABEL_COLUMNS), 0)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ProjectError(f"{path}: cannot read the label log ({exc.strerror or exc})") from None
    end = complete_length(raw)
    torn = 1 if raw[end:].strip() else 0  # the last append did not finish
    if end == 0:
        return LabelLog(pd.DataFrame(columns=LABEL_COLUMNS), torn)
    fast = _read_fast(raw[:end], path)
    if fast is not None:
        return LabelLog(fast[0], fast[1] + torn)
    it = records(raw[:end])
    header = next(it, None) or []
    if header[: len(LABEL_COLUMNS)] != HEADERS[FORMAT]:
        raise ProjectError(f"{path}: unexpected header {header}; expected {LABEL_COLUMNS}")
    good: list[list[str]] = []
    bad = torn
    for rec in it:
        if rec is None or len(rec) != len(LABEL_COLUMNS) or rec[-1] not in STATUSES or not rec[0]:
            bad += 1
            continue
        good.append(rec)
    df = pd.DataFrame(good, columns=LABEL_COLUMNS, dtype=str)
    return LabelLog(_typed(df), bad)


def _read_fast(raw: bytes, path: Path):
    """(frame, bad lines) with pandas' C parser (a million answers in about a second), or
    None to fall back to the csv module (a log it cannot take as is)."""
    import warnings

    import pandas as pd

    header = raw.split(b"\n", 1)[0].decode("utf-8", errors="replace").rstrip("\r")
    if header.split(",") != HEADERS[FORMAT]:
        return None  # unexpected header: the careful path says what is wrong
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            df = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False, na_filter=False,
                             on_bad_lines="warn", encoding="utf-8", encoding_errors="replace",
                             engine="c")
        except Exception:  # noqa: BLE001 - any trouble: the csv module's way
            return None
    skipped = sum(str(w.message).count("Skipping line") for w in caught)
    if list(df.columns) != LABEL_COLUMNS:
        return None
    df = df.astype(object)
    ok = df["status"].isin(STATUSES).to_numpy() & (df["id"] != "").to_numpy()
    bad = int((~ok).sum())
    df = df[ok].reset_index(drop=True)
    return _typed(df), skipped + bad


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


#: the format mark of :func:`labels_key`'s digests (a key without it is the first format's)
LABELS_KEY_PREFIX = "2:"


def labels_key(pairs: Iterable[tuple[str, str]]) -> str:
    """The digest of a set of (id, label) pairs, in any order: what a model was trained on
    (the manifest's ``labels_key``). Plain Python, so that ``al status`` can compare it
    without pandas; each field is written with its length, so no id or label can run into
    the next."""
    import hashlib

    body = "".join(f"{len(i)}:{i}{len(lab)}:{lab}\n" for i, lab in sorted(pairs))
    return LABELS_KEY_PREFIX + hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def is_labels_key(key: Any) -> bool:
    """Whether ``key`` is of :func:`labels_key`'s format (not the first format's)."""
    return isinstance(key, str) and key.startswith(LABELS_KEY_PREFIX)


def effective_labels(log, rule: str = "latest"):
    """id -> current label under the consensus ``rule`` (see al_cli.store.consensus):
    each annotator's latest answer (an undo retracts it); across annotators, by default,
    the latest answer wins. Columns: id, label, annotator."""
    from al_cli.store.consensus import consensus

    return consensus(log, rule).labels
