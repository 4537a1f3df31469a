"""The pool's feature matrix, cached under ``cache/`` in formats that cannot run code.

``features.npz`` (the matrix: dense or CSR, loaded with ``allow_pickle=False``),
``ids.arrow`` (the pool ids: one column of strings, Arrow's IPC file format), ``transformer.skops`` (the fitted feature transform, loaded
with trusted types only) and ``features.json`` (the manifest: format, the stamp they
belong to, each file's sha256). The cache is rebuilt when the pool file (path, size,
mtime, a sample of its content) or the feature config changes; any mismatch or damage
means a rebuild, never an error and never code run from the folder.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from al_cli.errors import AlError, DataError
from al_cli.features.keys import PoolFeatures, feature_config_key, feature_settings, feature_stamp
from al_cli.report import warn
from al_cli.sparse import issparse
from al_cli.store import atomic_write_json, now_iso, safeio, sha256_file
from al_cli.store.atomic import atomic_target
from al_cli.store.pool import note_appended, read_pool

BIG_FILE = 20 << 20  # a pool file this large takes seconds to read: progress is shown on a terminal
CACHE_FORMAT = 3  # 1: features.joblib (a pickle, al 0.1.0), never loaded; 2: ids.json, upgraded on load
FILES = {"X": "features.npz", "ids": "ids.arrow", "transformer": "transformer.skops"}
OLD_IDS = "ids.json"  # format 2's ids

# In-process memo: a process that runs several commands on a project (tests, 'al
# simulate') skips loading the cache while its manifest is unchanged (same path, size,
# mtime and inode, same stamp). A CLI call reads it once anyway.
_MEMO: dict[str, tuple[tuple, Any]] = {}
_MEMO_SIZE = 8


def load_features(proj) -> PoolFeatures:
    """Pool features from cache/ when the pool file and feature config are unchanged."""
    from al_cli.trust import trusted_types

    cfg = proj.config
    path = proj.pool_path
    if not path.exists():
        raise DataError(f"{path}: pool not found (al.yaml data.path)")
    stamp = feature_stamp(proj)
    manifest_file = proj.cache_dir / "features.json"
    if manifest_file.exists():
        hit = _memo_get(manifest_file, stamp)
        if hit is not None:
            return hit
        man = _upgraded(proj.cache_dir, manifest_file, _read_manifest(manifest_file))
        if man.get("stamp") == stamp and man.get("format") == CACHE_FORMAT:
            pf = _load(proj.cache_dir, man, trusted_types(cfg))
            if pf is not None:
                pf._load = _or_rebuilt(pf, pf._load, proj, stamp)
                _memo_put(manifest_file, stamp, pf)
                return pf
        elif man.get("format") == CACHE_FORMAT and man.get("settings") == feature_settings(proj):
            grown = _grown(proj, man, stamp, trusted_types(cfg))
            if grown is not None:
                return grown
    return _build(proj, stamp)


def _or_rebuilt(pf: PoolFeatures, load, proj, stamp: str):
    """The cached transform's loader, which rebuilds the cache when the transform cannot
    be loaded (types al does not trust, a damaged file), as when the matrix is damaged:
    ``pf`` then takes the rebuilt ids, matrix and key too (a transform never goes with a
    matrix it did not make)."""
    def get():
        try:
            return load()
        except AlError as exc:
            warn(f"{proj.cache_dir}: unreadable feature cache ({exc}); rebuilding it")
            new = _build(proj, stamp)
            pf.ids, pf.X, pf.key, pf.n_rows, pf.cached = new.ids, new.X, new.key, new.n_rows, False
            return new.transformer
    return get


def _build(proj, stamp: str) -> PoolFeatures:
    """The pool read and its features built (and cached)."""
    from al_cli import data as data_mod
    from al_cli.features.grow import file_identity
    from al_cli.features.transform import fit_transform
    from al_cli.report import busy

    cfg, path = proj.config, proj.pool_path
    manifest_file = proj.cache_dir / "features.json"
    before = path.stat()
    big = before.st_size >= BIG_FILE
    with busy(f"reading {path.name}", big):
        df, ids = read_pool(proj)
    if data_mod.big_pool(path):  # fitted on a sample, applied a block at a time (progress shown)
        from al_cli.features.transform import fit_transform_sampled

        tr, X = fit_transform_sampled(df, cfg, str(path), ids=ids, root=proj.root, cache_dir=proj.cache_dir)
    else:
        with busy(f"building features of {len(df):,} rows", big):
            tr, X = fit_transform(df, cfg, str(path), ids=ids, root=proj.root, cache_dir=proj.cache_dir)
    key = data_mod.row_digest(df)[:16] + feature_config_key(cfg)
    ids_arr = ids.to_numpy(dtype=object)
    try:
        from al_cli.features.grow import TEXT_SUFFIXES, column_types

        identity = None
        if path.suffix.lower() in TEXT_SUFFIXES:  # only a text pool can grow row by row
            identity = file_identity(path)
            after = path.stat()
            if not (identity["size"] == before.st_size == after.st_size and after.st_mtime_ns == before.st_mtime_ns):
                identity = None  # it changed while it was read: recorded only when it did not
        extra = {"settings": feature_settings(proj), "fitted_rows": len(df),
                 "file": identity, "columns": [str(c) for c in df.columns],
                 "types": column_types(df)}
        _save(proj.cache_dir, manifest_file, stamp, ids_arr, X, tr, key, len(df), extra)
        _memo_put(manifest_file, stamp, PoolFeatures(ids_arr, X, tr, key, len(df), cached=True))
    except OSError as exc:
        warn(f"{proj.cache_dir}: cannot write the feature cache ({exc.strerror or exc}); continuing without it")
    return PoolFeatures(ids_arr, X, tr, key, len(df), cached=False)


def _grown(proj, man: dict[str, Any], stamp: str, trusted: list[str]) -> PoolFeatures | None:
    """The cache with the rows appended to the pool file since, featurised on their own
    (see :mod:`al_cli.features.grow`); None when it must be built again."""
    from al_cli.features.grow import appended

    pf_old = _load(proj.cache_dir, man, trusted, quiet=True)
    if pf_old is None:
        return None
    try:
        pf_old.transformer  # noqa: B018 - the new rows need it: one that cannot be loaded means a rebuild
    except AlError as exc:
        warn(f"{proj.cache_dir}: unreadable feature cache ({exc}); rebuilding it")
        return None
    got = appended(proj, man, feature_settings(proj), pf_old, proj.config)
    if got is None:
        return None
    ids, X, identity, _ = got
    try:
        note_appended(proj, pf_old.n_rows, len(ids))
    except OSError as exc:
        warn(f"{proj.state_path}: cannot record the appended rows ({exc.strerror or exc})")
    manifest_file = proj.cache_dir / "features.json"
    pf = PoolFeatures(ids, X, pf_old.transformer, pf_old.key, len(ids), cached=True)
    try:
        extra = {"settings": man["settings"], "fitted_rows": int(man.get("fitted_rows", pf_old.n_rows)),
                 "file": identity, "columns": man.get("columns"), "types": man.get("types")}
        _save(proj.cache_dir, manifest_file, stamp, ids, X, pf_old.transformer, pf_old.key, len(ids), extra)
        _memo_put(manifest_file, stamp, pf)
    except OSError as exc:
        warn(f"{proj.cache_dir}: cannot write the feature cache ({exc.strerror or exc}); continuing without it")
    return pf


def load_index(proj) -> tuple[np.ndarray, str] | None:
    """(pool ids, feature key) from the cache when it is current, without loading the
    matrix or the transform (nor the libraries the transform needs); None when it is not."""
    path = proj.pool_path
    manifest_file = proj.cache_dir / "features.json"
    try:
        if not path.exists() or not manifest_file.exists():
            return None
        man = _upgraded(proj.cache_dir, manifest_file, _read_manifest(manifest_file))
        stamp = feature_stamp(proj)
        if man.get("stamp") != stamp or man.get("format") != CACHE_FORMAT:
            return None
        data = map_file(proj.cache_dir / FILES["ids"])
        if (not _as_written(proj.cache_dir / FILES["ids"], man, "ids")
                and hashlib.sha256(data).hexdigest() != (man.get("sha256") or {}).get("ids")):
            return None
        ids = read_ids(data)
        return (ids, str(man["key"])) if len(ids) == int(man.get("n_rows", -1)) else None
    except (OSError, ValueError, TypeError, KeyError, AlError):
        return None


def read_ids(data):
    """The ids held in ``data`` (ids.arrow's bytes or memory map): pyarrow strings, read in
    place and checked in full (offsets, UTF-8), so a damaged or crafted file is refused."""
    import pyarrow as pa

    try:
        table = pa.ipc.open_file(pa.py_buffer(data)).read_all()
        if table.num_columns != 1 or not (pa.types.is_string(table.schema.field(0).type)
                                          or pa.types.is_large_string(table.schema.field(0).type)):
            raise ValueError("not one column of strings")
        ids = table.column(0).combine_chunks()
        ids.validate(full=True)
        if ids.null_count:
            raise ValueError("a missing id")
    except (pa.ArrowException, ValueError) as exc:
        raise DataError(f"ids.arrow: {exc}") from None
    return ids


def write_ids(path: Path, ids) -> None:
    """The ids (a numpy array of str or pyarrow strings) to ``path`` in Arrow's IPC file format."""
    import pyarrow as pa

    arr = ids if type(ids).__module__.startswith("pyarrow") else pa.array([str(i) for i in ids], type=pa.large_string())
    table = pa.table({"id": arr.cast(pa.large_string())})
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def _upgraded(folder: Path, manifest_file: Path, man: dict[str, Any]) -> dict[str, Any]:
    """A format-2 cache (ids in ids.json) with ids.arrow written from it and its manifest
    rewritten as format 3 (the matrix and transform stay); anything else as it is. ids.json
    must match its SHA-256, else the cache is left to be rebuilt."""
    if man.get("format") != 2 or not (folder / OLD_IDS).exists():
        return man
    try:
        data = (folder / OLD_IDS).read_bytes()
        if hashlib.sha256(data).hexdigest() != (man.get("sha256") or {}).get("ids"):
            return man
        ids = json.loads(data.decode("utf-8"))
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return man
        with atomic_target(folder / FILES["ids"]) as tmp:
            write_ids(tmp, np.asarray(ids, dtype=object))
            sha = sha256_file(tmp)
        new = {**man, "format": CACHE_FORMAT, "sha256": {**man["sha256"], "ids": sha},
               "written": {**(man.get("written") or {}), "ids": _identity(folder / FILES["ids"])}}
        atomic_write_json(manifest_file, new)
        (folder / OLD_IDS).unlink(missing_ok=True)
        return new
    except (OSError, ValueError, TypeError, KeyError):
        return man


def _save(folder: Path, manifest_file: Path, stamp: str, ids, X, tr, key: str, n_rows: int,
          extra: dict[str, Any] | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    shas = {}
    with atomic_target(folder / FILES["X"]) as tmp:
        with open(tmp, "wb") as fh:
            if issparse(X):
                import scipy.sparse as sp

                sp.save_npz(fh, sp.csr_matrix(X), compressed=False)
            else:
                np.savez(fh, X=np.asarray(X))
        shas["X"] = sha256_file(tmp)
    with atomic_target(folder / FILES["ids"]) as tmp:
        write_ids(tmp, ids)
        shas["ids"] = sha256_file(tmp)
    shas["transformer"] = safeio.dump(folder / FILES["transformer"], tr)
    atomic_write_json(manifest_file, {"format": CACHE_FORMAT, "stamp": stamp, "key": key, "n_rows": n_rows,
                                      "sparse": bool(issparse(X)), "sha256": shas,
                                      "written": {part: _identity(folder / name) for part, name in FILES.items()},
                                      "created": now_iso(),
                                      **(extra or {})})
    for legacy in (folder / "features.joblib", folder / OLD_IDS):  # al 0.1.0's pickle, format 2's ids
        legacy.unlink(missing_ok=True)


def _load(folder: Path, man: dict[str, Any], trusted: list[str], quiet: bool = False) -> PoolFeatures | None:
    shas = man.get("sha256")
    if not isinstance(shas, dict):
        return None

    try:
        data = {}
        for part, name in FILES.items():  # read once, checked, then loaded from memory
            data[part] = map_file(folder / name) if part in ("X", "ids") else (folder / name).read_bytes()
            if not _as_written(folder / name, man, part) and hashlib.sha256(data[part]).hexdigest() != shas.get(part):
                if not quiet:
                    warn(f"{folder / name}: does not match features.json (sha256); rebuilding the cache")
                return None
        if man.get("sparse"):
            import scipy.sparse as sp

            X = sp.load_npz(io.BytesIO(data["X"])).tocsr()  # allow_pickle=False inside
        else:
            X = npz_array(data["X"], "X")
        ids = read_ids(data["ids"])
        blob = data["transformer"]  # checked above; built on first use (it imports scikit-learn)
        path_tr = folder / FILES["transformer"]
        n_rows = int(man["n_rows"])
        if len(ids) != n_rows or X.shape[0] != n_rows:
            return None
        return PoolFeatures(ids, X, None, str(man["key"]), n_rows, cached=True,
                            load_transformer=lambda: safeio.load(path_tr, trusted, blob))
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, AlError) as exc:
        warn(f"{folder}: unreadable feature cache ({exc}); rebuilding it")
        return None


def _identity(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _as_written(path: Path, man: dict[str, Any], part: str) -> bool:
    """Whether the file is still the very one al wrote (same size, modification time and
    inode as recorded when it was written): then its SHA-256 need not be computed again.
    al replaces a cache file by renaming a new one over it (a new inode), and any edit
    changes its time, so a changed or copied file is checked against its SHA-256."""
    rec = (man.get("written") or {}).get(part) if isinstance(man.get("written"), dict) else None
    try:
        return isinstance(rec, list) and rec == _identity(path)
    except OSError:
        return False


def map_file(path: Path):
    """The file's bytes, memory-mapped (read-only; no copy of a matrix of hundreds of MB).
    al replaces a cache file by renaming a new one over it, never in place, so the mapped
    file stays as it was; an empty file is read as it is."""
    import mmap

    with open(path, "rb") as fh:
        try:
            return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except (ValueError, OSError):
            return fh.read()


def npz_array(data, name: str) -> np.ndarray:
    """Array ``name`` of an uncompressed .npz held in ``data`` (bytes or a memory map), read
    in place (no copy and no second checksum: the caller has checked the file's SHA-256);
    np.load's way when the member is compressed or stored otherwise. Read-only."""
    view = io.BytesIO(data) if isinstance(data, bytes) else data  # a memory map is a file
    view.seek(0)
    with zipfile.ZipFile(view) as zf:
        info = zf.getinfo(name + ".npy")
    if info.compress_type != zipfile.ZIP_STORED:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return z[name]
    start = info.header_offset
    if data[start:start + 4] != b"PK\x03\x04":
        raise ValueError("not a zip member header")
    n_name, n_extra = int.from_bytes(data[start + 26:start + 28], "little"), int.from_bytes(data[start + 28:start + 30], "little")
    first = start + 30 + n_name + n_extra
    body = io.BytesIO(data[first:first + min(info.file_size, 1 << 20)])  # the .npy header is in there
    version = np.lib.format.read_magic(body)
    if version not in ((1, 0), (2, 0)):
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return z[name]
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read_header(body)
    if dtype.hasobject:
        raise ValueError("an array of Python objects")
    count = int(np.prod(shape, dtype=np.int64))
    if body.tell() + count * dtype.itemsize != info.file_size:
        raise ValueError("the array's size does not match its zip member")
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=first + body.tell())
    return arr.reshape(shape, order="F" if fortran else "C")


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        man = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return man if isinstance(man, dict) else {}


def _memo_key(path: Path, stamp: str) -> tuple | None:
    """The manifest's and the cache files' identity: a file replaced since (a test, a
    person) means loading and checking again."""
    key: list = [stamp]
    try:
        for f in (path, *(path.parent / n for n in FILES.values())):
            st = f.stat()
            key.append((st.st_size, st.st_mtime_ns, st.st_ino))
    except OSError:
        return None
    return tuple(key)


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
