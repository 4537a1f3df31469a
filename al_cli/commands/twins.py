"""Exact twins: pool rows whose displayed fields hold the same content (issue 15, item 3).

Two rows are twins when every column the labeler shows (``labeling.display_columns``,
else the text and feature columns) holds the same value once runs of white space are
collapsed and the ends trimmed; case and punctuation count. A person who sees one has
seen the other, so:

- a batch never holds two twins (the best-scored one stands for its group), and a row
  whose twin is already labeled, held out or waiting in the queue is not queried again;
- with ``labeling.twins: share`` a label given to one row is also the label of its
  unlabeled twins when the model is trained (derived at fit time, never written into
  labels.csv, so an undo or a correction of the one answer carries over).

The groups are cached in ``cache/twins.npy`` (group number per pool row, no pickle)
with ``cache/twins.json`` (the pool file's identity and the columns they were built
from); any mismatch rebuilds them.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from al_cli import data as data_mod
from al_cli.store import atomic_write_json
from al_cli.store.atomic import atomic_target

FORMAT = 1
FILES = ("twins.npy", "twins.json")


def content_keys(frame: pd.DataFrame) -> np.ndarray:
    """A 64-bit key per row of ``frame`` from its normalised cell text (see the module).

    Number columns are hashed by value (as float64, -0.0 as 0.0, missing alike), which
    gives the same groups as their text would (3.0 and 3 are shown alike, two different
    numbers never are) without making a string of every cell."""
    if frame.shape[1] == 0:
        return np.arange(len(frame), dtype=np.uint64)  # nothing shown: no row is a twin
    parts = {}
    for c in frame.columns:
        col = frame[c]
        if _by_value(col):
            parts[str(c)] = col.astype("float64") + 0.0
            continue
        text = col.astype(str).mask(col.isna(), "")
        if pd.api.types.is_float_dtype(col):  # 3.0 and 3 are shown alike
            whole = col.notna() & np.isfinite(col) & (np.mod(col.fillna(0), 1) == 0) & (col.abs() < 1e15)
            text = text.mask(whole, col.where(whole, 0).astype("int64").astype(str))
        else:
            text = text.str.replace(r"\s+", " ", regex=True).str.strip()
        parts[str(c)] = text
    return pd.util.hash_pandas_object(pd.DataFrame(parts), index=False).to_numpy()


def _by_value(col: pd.Series) -> bool:
    """A number column whose values float64 holds exactly (ints up to 2**53)."""
    if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
        return False
    if pd.api.types.is_integer_dtype(col):
        return not len(col) or int(np.abs(col.to_numpy()).max()) <= 2**53
    return True


def groups_of(keys: np.ndarray) -> np.ndarray:
    """Group number per row (rows with equal keys share one); int64."""
    return pd.factorize(pd.Series(keys))[0].astype(np.int64)


def pool_groups(snap) -> np.ndarray:
    """Twin group per pool row, aligned with the feature matrix (cached)."""
    from al_cli.annotation.views import display_columns
    from al_cli.features.keys import pool_file_key

    proj = snap.proj
    cols = display_columns(snap.cfg)
    path = proj.pool_path
    stamp = {"format": FORMAT, "pool": pool_file_key(path), "columns": cols,
             "n_rows": int(snap.n_rows)}
    npy, meta = (proj.cache_dir / f for f in FILES)
    try:
        if json.loads(meta.read_text(encoding="utf-8")) == stamp:
            with open(npy, "rb") as fh:
                g = np.load(fh, allow_pickle=False)
            if g.shape == (stamp["n_rows"],) and g.dtype == np.int64:
                return g
    except (OSError, ValueError, TypeError):
        pass
    if not cols:
        return np.arange(stamp["n_rows"], dtype=np.int64)  # nothing shown: no row is a twin
    keys, kinds = [], None
    for block in data_mod.column_blocks(path, cols, "display"):
        seen = [_by_value(block[c]) or str(block[c].dtype) for c in block.columns]
        if kinds is not None and seen != kinds:
            # typed otherwise in another block (numbers, then text further down): every
            # cell as the text written, so that a cell is compared the same way in all blocks
            keys = [content_keys(b) for b in data_mod.column_blocks(path, cols, "display", str_columns=cols)]
            break
        kinds = seen
        keys.append(content_keys(block))
    n = sum(len(k) for k in keys)
    if n != stamp["n_rows"]:  # the pool changed under us: no twins this time
        return np.arange(stamp["n_rows"], dtype=np.int64)
    g = groups_of(np.concatenate(keys) if keys else np.empty(0, dtype=np.uint64))
    try:
        proj.cache_dir.mkdir(parents=True, exist_ok=True)
        with atomic_target(npy) as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, g, allow_pickle=False)
        atomic_write_json(meta, stamp)
    except OSError:
        pass  # a cache, not a record: the next call computes it again
    return g


def spread(groups: np.ndarray, taken: np.ndarray) -> np.ndarray:
    """Mask of every row in the same group as a row in the ``taken`` mask."""
    hit = np.zeros(int(groups.max()) + 1 if groups.size else 0, dtype=bool)
    hit[groups[taken]] = True
    return hit[groups]


def shared_labels(groups: np.ndarray, positions: np.ndarray, labels: np.ndarray,
                  eligible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions, labels) of the ``eligible`` rows that inherit a label from a labeled
    twin. A group whose labeled rows disagree passes on nothing."""
    if len(positions) == 0:
        return np.empty(0, dtype=int), np.empty(0, dtype=object)
    lab = pd.DataFrame({"g": groups[positions], "label": labels})
    agree = lab.groupby("g")["label"].nunique()
    one = lab.drop_duplicates("g").set_index("g")["label"][agree == 1]
    cand = eligible.copy()
    cand[positions] = False
    pos = np.flatnonzero(cand & np.isin(groups, one.index.to_numpy()))
    return pos, one.reindex(groups[pos]).to_numpy(dtype=object)
