"""The project folder: paths, atomic writes, the lock, the label log, manifests.

This module is the only writer of the project folder. Every whole-file write is
atomic (temp file in the same folder, fsync, ``os.replace``); ``labels.csv`` only
grows, one fsynced append per answer.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import fcntl
import hashlib
import io
import json
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

import pandas as pd

from al_cli import config as config_mod
from al_cli.errors import IntegrityError, ProjectError

CONFIG_NAME = "al.yaml"
LABEL_COLUMNS = ["id", "label", "annotator", "time", "round", "seconds", "note", "status"]
# status: "labeled" (an answer), "skipped" (seen, not answered), "retracted" (undo of the
# annotator's previous answer for that id). Corrections are new rows: the log is never rewritten.
STATUSES = ("labeled", "skipped", "retracted")
LOCK_TIMEOUT = float(os.environ.get("AL_LOCK_TIMEOUT", "30"))


# --------------------------------------------------------------------------- atomic I/O
def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _atomic_target(path: Path) -> Iterator[Path]:
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
    with _atomic_target(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_csv(path: Path, df: pd.DataFrame) -> None:
    atomic_write_text(path, df.to_csv(index=False, lineterminator="\n"))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def atomic_joblib_dump(path: Path, obj: Any) -> str:
    """Dump ``obj`` atomically and return the sha256 of the written file."""
    import joblib

    with _atomic_target(path) as tmp:
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


# --------------------------------------------------------------------------- discovery
def find_root(start: Path | str | None) -> Path:
    """The project folder: ``start`` or the first parent holding al.yaml (like git)."""
    start = Path(start) if start is not None else Path.cwd()
    if not start.exists():
        raise ProjectError(f"{start}: no such folder")
    start = start.resolve()
    for cand in [start, *start.parents]:
        if (cand / CONFIG_NAME).is_file():
            return cand
    raise ProjectError(
        f"{start}: not an al project (no {CONFIG_NAME} here or above); run 'al init DIR --data FILE'"
    )


@dataclass
class LabelLog:
    """Rows of labels.csv that parsed; ``skipped_lines`` counts torn or malformed lines."""

    frame: pd.DataFrame
    skipped_lines: int


class Project:
    def __init__(self, root: Path):
        self.root = Path(root)
        self._config: config_mod.Config | None = None

    @classmethod
    def open(cls, start: Path | str | None = None) -> "Project":
        proj = cls(find_root(start))
        proj.config  # validate now
        return proj

    # paths -----------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    labels_path = property(lambda self: self.root / "labels.csv")
    queue_path = property(lambda self: self.root / "queue.csv")
    scores_path = property(lambda self: self.root / "scores.csv")
    history_path = property(lambda self: self.root / "history.csv")
    audit_path = property(lambda self: self.root / "audit.csv")
    state_path = property(lambda self: self.root / "pool.json")
    models_dir = property(lambda self: self.root / "models")
    cache_dir = property(lambda self: self.root / "cache")
    lock_path = property(lambda self: self.root / ".al.lock")

    @property
    def config(self) -> config_mod.Config:
        if self._config is None:
            self._config = config_mod.load(self.config_path)
        return self._config

    def resolve(self, rel: str) -> Path:
        p = Path(rel)
        return p if p.is_absolute() else Path(os.path.normpath(self.root / p))

    def write_config(self, cfg: config_mod.Config) -> None:
        atomic_write_text(self.config_path, config_mod.dump(cfg))
        self._config = cfg

    # lock ------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, timeout: float | None = None) -> Iterator[None]:
        """Exclusive advisory lock on the project; waits up to ``timeout`` seconds."""
        timeout = LOCK_TIMEOUT if timeout is None else timeout
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        raise ProjectError(
                            f"{self.root}: locked by another al command; try again when it "
                            f"has finished (waited {timeout:g}s)"
                        ) from None
                    time.sleep(0.05)
            yield
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    # label log -------------------------------------------------------------
    def append_labels(self, rows: Iterable[dict[str, Any]]) -> int:
        """Append rows to labels.csv under the lock; flushed and fsynced on return."""
        rows = list(rows)
        if not rows:
            return 0
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        for r in rows:
            status = r.get("status", "labeled")
            if status not in STATUSES:
                raise ValueError(f"bad status {status!r}")
            writer.writerow([_cell(r.get(c, "")) if c != "status" else status for c in LABEL_COLUMNS])
        data = buf.getvalue().encode("utf-8")
        header = (",".join(LABEL_COLUMNS) + "\n").encode()
        with self.lock():
            path = self.labels_path
            exists = path.exists() and path.stat().st_size > 0
            if exists and path.stat().st_size < len(header) and header.startswith(path.read_bytes()):
                # a power cut tore the very first write inside the header: no answer was
                # saved yet, so start the log again rather than leave it unreadable
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
                fsync_dir(self.root)
        return len(rows)

    def read_label_log(self) -> LabelLog:
        path = self.labels_path
        if not path.exists():
            return LabelLog(pd.DataFrame(columns=LABEL_COLUMNS), 0)
        raw = path.read_bytes()
        text = raw.decode("utf-8", errors="replace")
        lines = text.split("\n")
        torn = 0
        if lines and lines[-1] != "":
            torn = 1  # no newline at the end: the last append did not finish
        lines = lines[:-1]
        if not lines:
            return LabelLog(pd.DataFrame(columns=LABEL_COLUMNS), torn)
        header = next(csv.reader([lines[0]]))
        if header[: len(LABEL_COLUMNS)] != LABEL_COLUMNS:
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
        df["seconds"] = pd.to_numeric(df["seconds"], errors="coerce")
        df["round"] = pd.to_numeric(df["round"], errors="coerce").fillna(0).astype(int)
        return LabelLog(df, bad)

    # small state files -----------------------------------------------------
    def read_json(self, path: Path, default: Any = None) -> Any:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return default
        except (OSError, ValueError) as exc:
            raise ProjectError(f"{path}: unreadable ({exc}); it is derived state, delete it to rebuild") from None

    def read_csv(self, path: Path) -> pd.DataFrame | None:
        if not path.exists():
            return None
        try:
            return pd.read_csv(path, dtype={"id": str}, keep_default_na=False, na_values=[""])
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise ProjectError(f"{path}: unreadable ({exc})") from None

    def audit_ids(self) -> set[str]:
        df = self.read_csv(self.audit_path)
        return set() if df is None or "id" not in df else set(df["id"].astype(str))

    # models ----------------------------------------------------------------
    def model_versions(self) -> list[int]:
        if not self.models_dir.exists():
            return []
        out = []
        for p in self.models_dir.glob("*.json"):
            if p.stem.isdigit() and (self.models_dir / f"{p.stem}.joblib").exists():
                out.append(int(p.stem))
        return sorted(out)

    def latest_model_version(self) -> int | None:
        v = self.model_versions()
        return v[-1] if v else None

    def model_paths(self, version: int) -> tuple[Path, Path]:
        return (self.models_dir / f"{version:04d}.joblib", self.models_dir / f"{version:04d}.json")

    def save_model(self, bundle: Any, manifest: dict[str, Any]) -> int:
        """Write models/NNNN.joblib then NNNN.json (the manifest makes the version visible)."""
        with self.lock():
            version = (self.latest_model_version() or 0) + 1
            jpath, mpath = self.model_paths(version)
            digest = atomic_joblib_dump(jpath, bundle)
            manifest = {"version": version, "file": jpath.name, "sha256": digest, **manifest}
            atomic_write_json(mpath, manifest)
        return version

    def load_manifest(self, version: int) -> dict[str, Any]:
        _, mpath = self.model_paths(version)
        man = self.read_json(mpath)
        if not isinstance(man, dict) or "sha256" not in man:
            raise IntegrityError(f"{mpath}: not a model manifest written by al")
        return man

    def load_model(self, version: int) -> tuple[Any, dict[str, Any]]:
        import joblib

        jpath, mpath = self.model_paths(version)
        man = self.load_manifest(version)
        if not jpath.exists():
            raise IntegrityError(f"{jpath}: missing (its manifest {mpath.name} exists)")
        if sha256_file(jpath) != man["sha256"]:
            raise IntegrityError(
                f"{jpath}: sha256 does not match {mpath.name}; refusing to load a file al did not write"
            )
        key = (str(jpath.resolve()), man["sha256"])
        if key in _MODEL_MEMO:  # same file, same verified bytes: skip unpickling again
            return _MODEL_MEMO[key], man
        try:
            bundle = joblib.load(jpath)
        except Exception as exc:  # noqa: BLE001 - corrupt pickle of ours
            raise IntegrityError(f"{jpath}: cannot be loaded ({type(exc).__name__}: {exc})") from None
        while len(_MODEL_MEMO) >= 8:
            _MODEL_MEMO.pop(next(iter(_MODEL_MEMO)))
        _MODEL_MEMO[key] = bundle
        return bundle, man


# Models already unpickled in this process, by (path, verified sha256): a process running
# several commands (tests, 'al simulate') loads each model version once. Read-only use.
_MODEL_MEMO: dict[tuple[str, str], Any] = {}


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if v != v:  # NaN
            return ""
        return f"{v:.3f}"
    return str(v).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
