"""Atomic whole-file writes (temp file in the target's folder, fsync, ``os.replace``),
digests and timestamps. Used for every artifact except the append-only logs."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_target(path: Path) -> Iterator[Path]:
    """Yield a temp path in ``path``'s folder; on success fsync it and rename it over ``path``.

    On any failure the temp file is removed and ``path`` keeps its old content.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_target(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_csv(path: Path, df) -> None:
    """A DataFrame as CSV (no index, '\\n' line ends); any text survives a read back."""
    atomic_write_text(path, csv_text(df))


def csv_text(df) -> str:
    """``df.to_csv`` that also quotes a lone carriage return (the csv module quotes only
    the line terminator and the delimiter, and every CSV reader splits on '\\r')."""
    import csv

    import pandas as pd

    quoting = csv.QUOTE_MINIMAL
    for c in df.columns:
        col = df[c]
        if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            continue
        if col.astype(str).str.contains("\r", regex=False).any():
            quoting = csv.QUOTE_NONNUMERIC
            break
    return df.to_csv(index=False, lineterminator="\n", quoting=quoting)


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def atomic_joblib_dump(path: Path, obj: Any) -> str:
    """Dump ``obj`` atomically and return the sha256 of the written file."""
    import joblib

    with atomic_target(path) as tmp:
        joblib.dump(obj, tmp)
        digest = sha256_file(tmp)
    return digest


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def now_iso() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")
