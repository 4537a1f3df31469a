"""DataFrame -> feature matrix through the registered extractors (TF-IDF for text,
imputation + scaling for numbers, one-hot for categories by default). Fitted on the
whole pool (no labels); cached by :mod:`al_cli.features.cache`."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer

from al_cli.config import Config
from al_cli.errors import DataError
from al_cli.features.registry import EXTRACTORS

from al_cli.features.keys import (  # noqa: F401 - re-exported (their home before keys.py)
    DEFAULT_EXTRACTORS,
    FEATURE_FORMAT,
    PoolFeatures,
    content_sample,
    feature_config_key,
    pool_file_key,
)


def split_columns(df: pd.DataFrame, cfg: Config) -> tuple[list[str], list[str], list[str]]:
    """(text, numeric, categorical) columns of the config, typed from the pool."""
    text = list(cfg.data.text_columns)
    numeric, categorical = [], []
    for c in cfg.data.feature_columns:
        if pd.api.types.is_bool_dtype(df[c]):
            categorical.append(c)
        elif pd.api.types.is_numeric_dtype(df[c]):
            numeric.append(c)
        else:
            categorical.append(c)
    return text, numeric, categorical


# transformer names inside the ColumnTransformer, by column kind (kept from al 0.1.0:
# fitted transformers in saved models are looked up by them). A column with its own
# extractor (features.columns) and each image column is a part of its own: 'text:COL',
# 'image:COL'; embedding columns are 'embed', the embedding file 'embedfile'.
PART_NAMES = {"text": "text", "numeric": "num", "categorical": "cat"}


def _with_cache_dir(est, cache_dir) -> None:
    """Tell the parts that keep a cache of their own (sentence embeddings) where it is."""
    for step in (s for _, s in getattr(est, "steps", [])) if hasattr(est, "steps") else [est]:
        if cache_dir is not None and "cache_dir" in step.get_params(deep=False):
            step.set_params(cache_dir=str(Path(cache_dir).resolve()))


def build_transformer(df: pd.DataFrame, cfg: Config, root: Path | None = None,
                      cache_dir: Path | None = None) -> ColumnTransformer:
    from sklearn.pipeline import Pipeline

    from al_cli.features.embed import ID_COLUMN, EmbeddingLookup

    text, numeric, categorical = split_columns(df, cfg)
    own = cfg.features.columns
    parts = []

    def add(name: str, extractor: str, cols: list[str]) -> None:
        est = EXTRACTORS.get(extractor).make(len(df))
        _with_cache_dir(est, cache_dir)
        parts.append((name, est, cols))

    shared = [c for c in text if c not in own]
    if shared:
        add(PART_NAMES["text"], cfg.features.text, shared)
    for c in text:
        if c in own:
            add(f"text:{c}", own[c], [c])
    if numeric:
        add(PART_NAMES["numeric"], cfg.features.numeric, numeric)
    if categorical:
        add(PART_NAMES["categorical"], cfg.features.categorical, categorical)
    for c in cfg.data.image_columns:
        add(f"image:{c}", own.get(c, cfg.features.image), [c])
    if cfg.data.embedding_columns:
        add("embed", cfg.features.embedding, list(cfg.data.embedding_columns))
    if cfg.data.embedding_file:
        path = (Path(root) if root is not None else Path.cwd()) / cfg.data.embedding_file
        after = EXTRACTORS.get(cfg.features.embedding).make(len(df))
        lookup = EmbeddingLookup(path=str(path.resolve()), id_column=cfg.data.id_column)
        parts.append(("embedfile", Pipeline([("lookup", lookup), ("vectors", after)]), [ID_COLUMN]))
    if not parts:
        raise DataError("al.yaml: no text_columns and no feature_columns: nothing to learn from")
    return ColumnTransformer(parts, sparse_threshold=0.3 if text else 0.0)


def _kinds(tr: ColumnTransformer) -> dict[str, list[str]]:
    """Columns by kind as the fitted transformer saw them: text, numeric, categorical,
    image, embedding; 'id' holds the id column when the embedding file is used."""
    got: dict[str, list[str]] = {"text": [], "numeric": [], "categorical": [], "image": [], "embedding": [],
                                 "id": []}
    names = {"text": "text", "num": "numeric", "cat": "categorical", "embed": "embedding", "embedfile": "id"}
    for name, _, cols in tr.transformers:
        kind = names.get(name) or name.split(":", 1)[0]
        if kind in got:
            got[kind] += list(cols)
    return got


def _prepare(df: pd.DataFrame, kinds: dict[str, list[str]], source: str, *, ids=None,
             id_column: str | None = None) -> pd.DataFrame:
    from al_cli.features.embed import ID_COLUMN
    from al_cli.features.images import resolve

    text, numeric, categorical = kinds["text"], kinds["numeric"], kinds["categorical"]
    cols = list(dict.fromkeys([*text, *numeric, *categorical, *kinds["image"], *kinds["embedding"]]))
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataError(f"{source}: column '{missing[0]}' not found")
    out = df[cols].copy()
    for c in [*numeric, *kinds["embedding"]]:  # learned as numeric: must stay numeric (new rows, validation)
        if not pd.api.types.is_numeric_dtype(out[c]) or pd.api.types.is_bool_dtype(out[c]):
            raw = out[c]
            conv = pd.to_numeric(raw, errors="coerce")
            bad = conv.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise DataError(f"{source}: row {i + 2}: column '{c}' must be numeric "
                                f"(got {raw.iloc[i]!r})")
            out[c] = conv.astype(float)
        if pd.api.types.is_float_dtype(out[c]):
            inf = np.isinf(out[c].to_numpy(dtype=float))
            if inf.any():
                i = int(np.flatnonzero(inf)[0])
                raise DataError(f"{source}: row {i + 2}: column '{c}' holds an infinite value "
                                f"({df[c].iloc[i]}); give a finite number or leave the cell empty")
    for c in categorical:  # mixed types break the one-hot encoder; categories are strings
        out[c] = out[c].map(lambda v: v if pd.isna(v) else str(v)).astype(object)
    if kinds["image"]:
        src = Path(source)
        base = src.parent if src.is_file() else Path.cwd()
        for c in kinds["image"]:
            out[c] = resolve(out[c], base)
    if kinds["id"]:
        if ids is None:
            if id_column is None or id_column not in df.columns:
                raise DataError(f"{source}: column '{id_column}' not found: rows are matched to the "
                                "embedding file by id")
            from al_cli.data import normalise_ids

            ids = normalise_ids(df[id_column])
        out[ID_COLUMN] = np.asarray(ids, dtype=object)
    return out


def fit_transform(df: pd.DataFrame, cfg: Config, source: str = "pool", *, ids=None, root: Path | None = None,
                  cache_dir: Path | None = None):
    tr = build_transformer(df, cfg, root, cache_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            X = tr.fit_transform(_prepare(df, _kinds(tr), source, ids=ids, id_column=cfg.data.id_column))
        except ValueError as exc:
            if "empty vocabulary" in str(exc):
                raise DataError(
                    f"{source}: text columns {cfg.data.text_columns} hold no words to learn from"
                ) from None
            raise
    return tr, _finish(X)


#: a big pool's transform is fitted on this many rows drawn at random, then applied to
#: TRANSFORM_ROWS rows at a time (cache.py; data.big_pool says which pools are big)
FIT_ROWS = 250_000
TRANSFORM_ROWS = 250_000


def fit_transform_sampled(df: pd.DataFrame, cfg: Config, source: str = "pool", *, ids=None,
                          root: Path | None = None, cache_dir: Path | None = None, fit_rows: int | None = None):
    """:func:`fit_transform` for a big pool: the transform is fitted on ``fit_rows`` (default
    :data:`FIT_ROWS`) rows
    drawn at random (seeded by random_state: the same rows every time), and every row is
    then transformed a block at a time (:data:`TRANSFORM_ROWS`) into one float32 matrix, so memory holds the pool,
    the matrix and one block, never a float64 copy of the whole pool."""
    from al_cli.report import progress

    n = len(df)
    fit_rows = FIT_ROWS if fit_rows is None else fit_rows
    if n <= fit_rows:
        return fit_transform(df, cfg, source, ids=ids, root=root, cache_dir=cache_dir)
    pick = np.sort(np.random.default_rng(cfg.random_state).choice(n, size=fit_rows, replace=False))
    sample = df.iloc[pick]
    sample_ids = None if ids is None else np.asarray(ids, dtype=object)[pick]
    tr, _ = fit_transform(sample, cfg, source, ids=sample_ids, root=root, cache_dir=cache_dir)
    del sample
    blocks, dense = [], None
    with progress(n, f"featurising {n:,} rows") as advance:
        for a in range(0, n, TRANSFORM_ROWS):
            part = transform(tr, df.iloc[a:a + TRANSFORM_ROWS], cfg, source)
            if dense is None and not sp.issparse(part) and not blocks:
                dense = np.empty((n, part.shape[1]), dtype=np.float32)
            if dense is not None and not sp.issparse(part):
                dense[a:a + part.shape[0]] = part
            else:
                if dense is not None:  # a block came out sparse: everything as CSR
                    blocks, dense = [sp.csr_matrix(dense[:a])], None
                blocks.append(sp.csr_matrix(part, dtype=np.float32))
            advance(part.shape[0])
    if dense is not None:
        return tr, dense
    return tr, sp.vstack(blocks, format="csr", dtype=np.float32)


def transform(tr: ColumnTransformer, df: pd.DataFrame, cfg: Config | None = None, source: str = "data"):
    id_column = cfg.data.id_column if cfg is not None else None
    for name, est, _ in tr.transformers:
        if name == "embedfile":  # the id column the vectors were matched by
            id_column = est.steps[0][1].id_column
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _finish(tr.transform(_prepare(df, _kinds(tr), source, id_column=id_column)))


def _finish(X):
    if sp.issparse(X):
        return sp.csr_matrix(X, dtype=np.float32)
    return np.ascontiguousarray(X, dtype=np.float32)
