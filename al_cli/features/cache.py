"""The pool's feature matrix, cached in ``cache/features.joblib`` with a manifest.

The cache is rebuilt when the pool file (path, size, mtime) or the feature config
changes. It is a pickle: it is loaded only when its sha256 matches the manifest this
project wrote beside it; any mismatch or damage means a rebuild, never an error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from al_cli.errors import DataError
from al_cli.features.transform import PoolFeatures, feature_config_key, fit_transform, pool_file_key
from al_cli.report import warn
from al_cli.store import atomic_joblib_dump, atomic_write_json, now_iso, sha256_file
from al_cli.store.pool import read_pool

CACHE_FORMAT = 1

# In-process memo: a process that runs several commands on a project (tests, 'al
# simulate') skips unpickling the cache while the file is unchanged (same path, size,
# mtime and inode, same stamp). A CLI call reads it once anyway.
_MEMO: dict[str, tuple[tuple, Any]] = {}
_MEMO_SIZE = 8


def load_features(proj) -> PoolFeatures:
    """Pool features from cache/ when the pool file and feature config are unchanged."""
    import joblib

    from al_cli import data as data_mod

    cfg = proj.config
    path = proj.pool_path
    if not path.exists():
        raise DataError(f"{path}: pool not found (al.yaml data.path)")
    stamp = pool_file_key(path) + "|" + feature_config_key(cfg)
    cache_file = proj.cache_dir / "features.joblib"
    manifest_file = proj.cache_dir / "features.json"
    if cache_file.exists():
        hit = _memo_get(cache_file, stamp)
        if hit is not None:
            return hit
        man = _read_manifest(manifest_file)
        if man.get("stamp") == stamp and man.get("format", 1) <= CACHE_FORMAT:
            if sha256_file(cache_file) != man.get("sha256"):
                warn(f"{cache_file}: does not match {manifest_file.name} (sha256); rebuilding it")
            else:
                try:
                    blob = joblib.load(cache_file)
                    pf = PoolFeatures(blob["ids"], blob["X"], blob["transformer"], blob["key"],
                                      blob["n_rows"], cached=True)
                    _memo_put(cache_file, stamp, pf)
                    return pf
                except Exception:  # noqa: BLE001 - a corrupt cache is treated as empty
                    warn(f"{cache_file}: unreadable cache, rebuilding it")
    df, ids = read_pool(proj)
    tr, X = fit_transform(df, cfg, str(path))
    key = data_mod.row_digest(df)[:16] + feature_config_key(cfg)
    ids_arr = ids.to_numpy(dtype=object)
    blob = {"stamp": stamp, "ids": ids_arr, "X": X, "transformer": tr, "key": key, "n_rows": len(df)}
    try:
        digest = atomic_joblib_dump(cache_file, blob)
        atomic_write_json(manifest_file, {"format": CACHE_FORMAT, "stamp": stamp, "sha256": digest,
                                          "created": now_iso()})
        _memo_put(cache_file, stamp, PoolFeatures(ids_arr, X, tr, key, len(df), cached=True))
    except OSError as exc:
        warn(f"{cache_file}: cannot write the feature cache ({exc}); continuing without it")
    return PoolFeatures(ids_arr, X, tr, key, len(df), cached=False)


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        man = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return man if isinstance(man, dict) else {}


def _memo_key(path: Path, stamp: str) -> tuple | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (stamp, st.st_size, st.st_mtime_ns, st.st_ino)


def _memo_get(path: Path, stamp: str):
    key = _memo_key(path, stamp)
    hit = _MEMO.get(str(path.resolve()))
    return hit[1] if key is not None and hit is not None and hit[0] == key else None


def _memo_put(path: Path, stamp: str, value: Any) -> None:
    key = _memo_key(path, stamp)
    if key is None:
        return
    name = str(path.resolve())
    _MEMO.pop(name, None)
    while len(_MEMO) >= _MEMO_SIZE:
        _MEMO.pop(next(iter(_MEMO)))
    _MEMO[name] = (key, value)
