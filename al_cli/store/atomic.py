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


_UMASK: int | None = None
TMP_SUFFIX = ".tmp"
STALE_TMP_SECONDS = 3600  # a temp file untouched this long belongs to a writer that died


def umask() -> int:
    """The process umask (read once; os.umask can only be read by setting it)."""
    global _UMASK
    if _UMASK is None:
        current = os.umask(0o022)
        os.umask(current)
        _UMASK = current
    return _UMASK


def file_mode() -> int:
    """The mode ``open()`` would give a new file: 0666 less the umask (so a group that
    shares a project, umask 002, can write what another member wrote)."""
    return 0o666 & ~umask()


def check_writable_target(path: Path) -> None:
    """Refuse to replace anything but a regular file (or nothing): a symbolic link, a
    device, a folder."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    import stat

    from al_cli.errors import DataError

    if stat.S_ISLNK(st.st_mode):
        raise DataError(f"{path}: is a symbolic link; al does not write through links (give the "
                        "path of a regular file, or '-' for standard output)")
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise DataError(f"{path}: is {kind}; give the path of a file to write (or '-' for "
                        "standard output)")


def clean_stale_tmp(folder: Path, now: float | None = None) -> int:
    """Remove al's temp files (``.NAME.XXXX.tmp``) left in ``folder`` by a writer that was
    killed; only those untouched for an hour, so a live writer's file stays."""
    import time

    now = time.time() if now is None else now
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for e in entries:
        if not (e.name.startswith(".") and e.name.endswith(TMP_SUFFIX)) or not e.is_file(follow_symlinks=False):
            continue
        try:
            if now - e.stat(follow_symlinks=False).st_mtime > STALE_TMP_SECONDS:
                os.unlink(e.path)
                removed += 1
        except OSError:
            continue
    return removed


@contextlib.contextmanager
def atomic_target(path: Path) -> Iterator[Path]:
    """Yield a temp path in ``path``'s folder; on success fsync it and rename it over ``path``.

    On any failure the temp file is removed and ``path`` keeps its old content. The file
    gets the mode a plain ``open()`` would give it (umask), not mkstemp's 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    check_writable_target(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    try:
        os.fchmod(fd, file_mode())
    finally:
        os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if exc.filename in (tmp, str(tmp)):  # name the file being written, not its temp file
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        raise
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
