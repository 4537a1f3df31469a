"""The pool as the project knows it: read with its ids, and checked against what was
seen before (``pool.json``: row count and content hash of the rows known so far)."""

from __future__ import annotations

from pathlib import Path

from al_cli import data as data_mod
from al_cli.errors import DataError
from al_cli.report import info, warn


def read_pool(proj):
    """(frame, ids) of the pool al.yaml names; warns when known rows changed."""
    cfg = proj.config
    path = proj.pool_path
    df, ids = data_mod.read_pool(path, cfg.data.id_column, [*cfg.data.text_columns, *cfg.data.feature_columns,
                                                               *cfg.data.image_columns, *cfg.data.embedding_columns],
                                text_columns=[*cfg.data.text_columns, *cfg.data.image_columns])
    check_known_rows(proj, df, path)
    return df, ids


def numeric_columns(df, columns) -> list[str]:
    """The ``columns`` of ``df`` read as numbers (booleans are not)."""
    import pandas as pd

    return [c for c in columns if c in df.columns and pd.api.types.is_numeric_dtype(df[c])
            and not pd.api.types.is_bool_dtype(df[c])]


def _still_numeric(df, was: list[str], path: Path) -> None:
    """A feature column read as numbers before must still be: a word in it is an error naming
    the cell, not a column silently learned as categories from then on."""
    import numpy as np
    import pandas as pd

    for c in was:
        if c not in df.columns or c in numeric_columns(df, [c]):
            continue
        raw = df[c]
        bad = pd.to_numeric(raw, errors="coerce").isna() & raw.notna() & (raw.astype(str).str.strip() != "")
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(f"{path}: row {i + 2}: column '{c}' must be numeric, as it was when "
                            f"al read the pool before (got {raw.iloc[i]!r})")


def check_known_rows(proj, df, path: Path) -> None:
    state = proj.read_pool_state()
    numeric = numeric_columns(df, proj.config.data.feature_columns)
    if state is None:
        proj.write_pool_state(len(df), data_mod.row_digest(df), numeric=numeric)
        return
    _still_numeric(df, list(state.get("numeric") or []), path)
    known = int(state["n_rows"])
    hashed = min(int(state.get("digest_rows", known)), known)
    digest_known = data_mod.row_digest(df, hashed)
    if digest_known != state.get("digest") and len(df) >= hashed:
        # pool.json written by an al that hashed numbers as float64: the same rows, said once
        # (a pool held as float32 cannot give that digest: the file is read again for it)
        older = (data_mod.row_digest(df, hashed, legacy=True) if _full_precision(df)
                 else data_mod.legacy_digest_of_file(path, hashed, proj.config.data.id_column))
        if older == state.get("digest"):
            proj.write_pool_state(known, digest_known, hashed, state.get("numeric"))
            state = {**state, "digest": digest_known}
    if len(df) < known:
        warn(f"{path}: the pool has {len(df)} rows, {known} were known before: rows were removed")
    elif digest_known != state.get("digest"):
        warn(f"{path}: rows known before were changed (content hash differs); labels given "
             "for them may no longer fit the data")
    elif len(df) > known:
        info(f"{path}: {len(df) - known} new row(s) appended to the pool")
    if (len(df) != known or hashed != known or digest_known != state.get("digest")
            or state.get("numeric") != numeric):
        proj.write_pool_state(len(df), data_mod.row_digest(df), numeric=numeric)


def note_appended(proj, n_before: int, n_rows: int) -> None:
    """Rows ``n_before``.. were appended to the pool file and featurised on their own (the
    bytes before them verified unchanged): pool.json counts them; its digest still covers
    the rows it covered, and the next full read of the pool digests them all."""
    state = proj.read_pool_state()
    if state is None or int(state["n_rows"]) > n_before or n_rows <= int(state["n_rows"]):
        return
    proj.write_pool_state(n_rows, state["digest"], min(int(state.get("digest_rows", state["n_rows"])),
                                                       int(state["n_rows"])), state.get("numeric"))


def _full_precision(df) -> bool:
    """No column was read as float32 (a compactly read pool cannot give the older digest)."""
    return not any(str(t) == "float32" for t in df.dtypes)
