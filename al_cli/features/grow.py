"""A pool that grows: rows appended to the pool file are featurised on their own.

Content moderation and intake queues append rows every hour. When the pool file (CSV) is
the file the feature cache was built from with rows added at its end (its first bytes are
unchanged: checked by SHA-256) and the feature settings are the same, only the new rows are
read and transformed with the transform already fitted, and appended to the cached
matrix. The transform keeps its identity, so models trained before still use the cache,
and ``al score`` then scores only the new rows (see :mod:`al_cli.commands.score`). The
transform is fitted again on the whole pool (as for any other change) once the pool has
grown past twice the rows it was fitted on, or when anything else changed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from al_cli.errors import DataError
from al_cli.report import info

GROWTH_MAX = 2.0          # refit when rows > GROWTH_MAX x the rows the transform was fitted on
TEXT_SUFFIXES = {".csv", ".tsv", ".tab", ".txt"}
_BLOCK = 1 << 20


def file_identity(path: Path) -> dict[str, Any]:
    """What an append must keep: size, SHA-256 of the whole file, whether it ends a line."""
    h = hashlib.sha256()
    last = b""
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_BLOCK), b""):
            h.update(chunk)
            last = chunk[-1:]
    return {"size": Path(path).stat().st_size, "sha256": h.hexdigest(), "ends_line": last in (b"\n", b"")}


def column_types(df) -> dict[str, str]:
    """Each column's kind as pandas typed it over the whole pool: the rows appended later
    must come out the same, or the pool is read again whole."""
    import pandas as pd

    def kind(col) -> str:
        if pd.api.types.is_bool_dtype(col):
            return "bool"
        return "number" if pd.api.types.is_numeric_dtype(col) else "text"

    return {str(c): kind(df[c]) for c in df.columns}


def _grown_bytes(path: Path, old: dict[str, Any]) -> tuple[bytes, bytes, dict[str, Any]] | None:
    """(header line, the bytes after the old end, the identity of exactly the bytes read),
    all from one pass over one open file: a row appended meanwhile is neither lost nor read
    twice. None when the file does not start with the bytes the cache was built from."""
    h = hashlib.sha256()
    size = int(old["size"])
    with open(path, "rb") as fh:
        header = fh.readline()
        fh.seek(0)
        left = size
        while left > 0:
            chunk = fh.read(min(_BLOCK, left))
            if not chunk:
                return None
            h.update(chunk)
            left -= len(chunk)
        if h.hexdigest() != old.get("sha256"):
            return None
        tail = fh.read()
    h.update(tail)
    return header, tail, {"size": size + len(tail), "sha256": h.hexdigest(),
                          "ends_line": tail[-1:] == b"\n" if tail else bool(old.get("ends_line"))}


def appended(proj, man: dict[str, Any], settings: str, pf_old, cfg):
    """(ids, X, new file identity, rows added) when the pool only grew at its end; None when
    the cache must be built again from the whole pool. ``pf_old`` is the cache as it was."""
    import pandas as pd

    from al_cli import data as data_mod
    from al_cli.features.transform import transform

    path = proj.pool_path
    old = man.get("file")
    if (pf_old is None or not isinstance(old, dict) or man.get("settings") != settings
            or path.suffix.lower() not in TEXT_SUFFIXES or not old.get("ends_line")):
        return None
    try:
        if path.stat().st_size <= int(old["size"]):
            return None
        got = _grown_bytes(path, old)
        if got is None:
            return None
        header, tail, new_identity = got
    except (OSError, KeyError, ValueError, TypeError):
        return None
    if b'"' in header or not tail.strip() or not new_identity["ends_line"]:
        return None  # a quoted header (it may span lines), only blank lines, a row half written
    import os
    import tempfile

    tmp = None
    try:  # a name of its own: two commands growing the cache at once never read each other's rows
        fd, name = tempfile.mkstemp(prefix=".appended-", suffix=path.suffix.lower(), dir=proj.cache_dir)
        tmp = Path(name)
        with os.fdopen(fd, "wb") as fh:
            fh.write(header + tail)
        df = data_mod.read_table(tmp, "pool", str_columns=[cfg.data.id_column])
    except (OSError, DataError):
        return None  # the whole pool is read again, and says what is wrong where
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    n_old, n_new = pf_old.n_rows, len(df)
    if not n_new or n_old + n_new > GROWTH_MAX * int(man.get("fitted_rows", n_old)):
        return None
    if not isinstance(df.index, pd.RangeIndex) or man.get("columns") != [str(c) for c in df.columns]:
        return None  # a row with a field too many (pandas made it an index), or another header
    needed = [*cfg.data.text_columns, *cfg.data.feature_columns, *cfg.data.image_columns, *cfg.data.embedding_columns]
    if any(c not in df.columns for c in needed):
        return None
    types, got_types = man.get("types") or {}, column_types(df)
    if any(types.get(c) != got_types.get(c) for c in needed):
        return None  # typed otherwise than over the whole pool ('007' read as 7): read it all
    if cfg.data.id_column is None:
        ids_new = pd.Series([f"{data_mod.DERIVED_ID_PREFIX}{n_old + i + 1}" for i in range(n_new)])
    else:
        if cfg.data.id_column not in df.columns:
            return None
        try:
            ids_new = data_mod.ids_for(df, cfg.data.id_column, path)
        except DataError:
            return None
        clash = ids_new.isin(set(pf_old.ids.tolist()))
        if clash.any():
            i = int(np.flatnonzero(clash.to_numpy())[0])
            raise DataError(f"{path}: row {n_old + i + 2}: duplicate id {ids_new.iloc[i]!r} in column "
                            f"'{cfg.data.id_column}'")
    try:
        X_new = transform(pf_old.transformer, df, cfg, str(path))
    except DataError:
        return None  # the whole pool is read again, and the message names the right row
    import scipy.sparse as sp

    if sp.issparse(pf_old.X) or sp.issparse(X_new):
        X = sp.vstack([sp.csr_matrix(pf_old.X), sp.csr_matrix(X_new)], format="csr", dtype=np.float32)
    else:
        X = np.vstack([pf_old.X, X_new]).astype(np.float32, copy=False)
    ids = np.concatenate([np.asarray(pf_old.ids, dtype=object), ids_new.to_numpy(dtype=object)])
    info(f"{path}: {n_new} new row(s) appended to the pool; featurised on their own")
    return ids, X, new_identity, n_new
