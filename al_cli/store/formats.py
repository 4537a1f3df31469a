"""Format versions of the project folder, and the one place where migrations live.

``format.json`` in the project folder records the folder's format (an integer). Each
artifact also carries its own mark, read when it is opened:

============================  =========================================================
al.yaml                       ``schema_version`` (config.SCHEMA_VERSION)
labels.csv                    its header (labellog.HEADERS: a comment line would break
                              the CSV readers users point at it)
queue.csv, history.csv, ...   their columns (a newer al only adds columns)
models/NNNN.json / .joblib    ``"format"`` key (modelstore.MANIFEST_FORMAT / BUNDLE_FORMAT)
pool.json, cache/*.json       ``"format"`` key
============================  =========================================================

A folder without ``format.json`` was written by al 0.1.0: format 1. Opening a project
runs every migration from its format up to :data:`FOLDER_FORMAT`, in order, under the
project lock; a folder newer than this al is refused (upgrade al). To change the folder
format: bump ``FOLDER_FORMAT``, add ``MIGRATIONS[old] = function(root)`` that rewrites what
changed (atomically, so a crash mid-way leaves the old format readable and the migration
re-runs), and a fixture of the old format under ``tests/fixtures/``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from al_cli.errors import AlError, FormatError, ProjectError
from al_cli.report import warn
from al_cli.store.atomic import atomic_write_json, now_iso

FOLDER_FORMAT = 3
FORMAT_NAME = "format.json"


def artifact_formats() -> dict[str, int]:
    from al_cli.config import SCHEMA_VERSION
    from al_cli.store import labellog, modelstore

    return {"al.yaml": SCHEMA_VERSION, "labels.csv": labellog.FORMAT, "queue.csv": 1,
            "history.csv": 1, "audit.csv": 1, "recall_sample.csv": 1, "claims.csv": 1, "scores.csv": 1, "pool.json": 1,
            "model_manifest": modelstore.MANIFEST_FORMAT, "model_bundle": modelstore.BUNDLE_FORMAT,
            "feature_cache": 2}


def folder_format(root: Path) -> int:
    path = Path(root) / FORMAT_NAME
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return 1
    except (OSError, ValueError) as exc:
        raise ProjectError(f"{path}: unreadable ({exc}); it records the folder's format: "
                           f"restore it, or delete it if the project was made by al 0.1.0") from None
    fmt = raw.get("format") if isinstance(raw, dict) else None
    if not isinstance(fmt, int) or isinstance(fmt, bool) or fmt < 1:
        raise ProjectError(f"{path}: field 'format' must be a positive integer")
    return fmt


def write_marker(root: Path, migrated_from: int | None = None) -> None:
    from al_cli import __version__

    body = {"format": FOLDER_FORMAT, "written_by": f"al {__version__}", "time": now_iso(),
            "artifacts": artifact_formats()}
    if migrated_from is not None:
        body["migrated_from"] = migrated_from
    atomic_write_json(Path(root) / FORMAT_NAME, body)


def _v1_to_v2(root: Path) -> None:
    """al 0.1.0 -> format 2: the files are unchanged (manifests without a ``format`` key
    read as format 1); the folder gains format.json."""


def _v2_to_v3(root: Path) -> None:
    """Format 3: al loads no pickle from the folder. Model versions gain a skops twin when
    the commands first need them (re-fitted from their recorded labels, see
    commands/retrain.refit_legacy); the pickled feature cache goes (it is rebuilt); and
    pool.json's content hash, which al 0.1.0 computed with numeric-looking ids read as
    numbers, is recomputed with ids read as written when it still matches the pool."""
    for name in ("features.joblib", "features.json"):
        path = Path(root) / "cache" / name
        if path.exists():
            path.unlink()
    _rehash_pool_state(Path(root))


def _rehash_pool_state(root: Path) -> None:
    import json

    from al_cli import config as config_mod
    from al_cli import data as data_mod
    from al_cli.store.atomic import atomic_write_json

    state_path = root / "pool.json"
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
        cfg = config_mod.load(root / "al.yaml")
        pool = Path(cfg.data.path) if Path(cfg.data.path).is_absolute() else root / cfg.data.path
        n = int(state["n_rows"])
        old = data_mod.read_table(pool, "pool")  # al 0.1.0's init: ids as numbers
        if len(old) < n or data_mod.row_digest(old, n, legacy=True) != state.get("digest"):
            return  # not the old way of hashing, or the pool changed: the commands will say so
        new = data_mod.read_table(pool, "pool", str_columns=[cfg.data.id_column])
        atomic_write_json(state_path, {"format": 1, "n_rows": n, "digest": data_mod.row_digest(new, n)})
    except (OSError, ValueError, KeyError, TypeError, AlError):
        return  # derived state: at worst the next command warns once and rewrites it


MIGRATIONS: dict[int, Callable[[Path], None]] = {1: _v1_to_v2, 2: _v2_to_v3}


def ensure_current(root: Path, lock: Callable) -> int:
    """Migrate the folder at ``root`` to :data:`FOLDER_FORMAT`; returns the format found."""
    found = folder_format(root)
    if found > FOLDER_FORMAT:
        raise FormatError(f"{root}: project folder format {found} is newer than this al reads "
                          f"({FOLDER_FORMAT}); upgrade al")
    if found == FOLDER_FORMAT:
        return found
    try:
        with lock():
            current = folder_format(root)  # another process may have migrated meanwhile
            for fmt in range(current, FOLDER_FORMAT):
                MIGRATIONS[fmt](root)
            if current < FOLDER_FORMAT:
                write_marker(root, migrated_from=current)
    except OSError as exc:
        # a read-only project (a shared archive) still opens: format 1 reads as is
        warn(f"{root}: cannot record the migration to folder format {FOLDER_FORMAT} "
             f"({exc.strerror or exc}); reading it as format {found}")
    return found
