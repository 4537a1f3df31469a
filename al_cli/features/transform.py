"""DataFrame -> feature matrix through the registered extractors (TF-IDF for text,
imputation + scaling for numbers, one-hot for categories by default). Fitted on the
whole pool (no labels); cached by :mod:`al_cli.features.cache`."""

from __future__ import annotations

import warnings

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
# fitted transformers in saved models are looked up by them)
PART_NAMES = {"text": "text", "numeric": "num", "categorical": "cat"}


def build_transformer(df: pd.DataFrame, cfg: Config) -> ColumnTransformer:
    text, numeric, categorical = split_columns(df, cfg)
    parts = []
    for kind, cols in (("text", text), ("numeric", numeric), ("categorical", categorical)):
        if cols:
            ext = EXTRACTORS.get(getattr(cfg.features, kind))
            parts.append((PART_NAMES[kind], ext.make(len(df)), cols))
    if not parts:
        raise DataError("al.yaml: no text_columns and no feature_columns: nothing to learn from")
    return ColumnTransformer(parts, sparse_threshold=0.3 if text else 0.0)


def _kinds(tr: ColumnTransformer) -> tuple[list[str], list[str], list[str]]:
    """(text, numeric, categorical) columns as the fitted transformer saw them."""
    got = {"text": [], "num": [], "cat": []}
    for name, _, cols in tr.transformers:
        if name in got:
            got[name] = list(cols)
    return got["text"], got["num"], got["cat"]


def _prepare(df: pd.DataFrame, text: list[str], numeric: list[str], categorical: list[str],
             source: str) -> pd.DataFrame:
    cols = list(dict.fromkeys([*text, *numeric, *categorical]))
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataError(f"{source}: column '{missing[0]}' not found")
    out = df[cols].copy()
    for c in numeric:  # a column learned as numeric must stay numeric (new rows, validation file)
        if not pd.api.types.is_numeric_dtype(out[c]) or pd.api.types.is_bool_dtype(out[c]):
            raw = out[c]
            conv = pd.to_numeric(raw, errors="coerce")
            bad = conv.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise DataError(f"{source}: row {i + 2}: column '{c}' must be numeric "
                                f"(got {raw.iloc[i]!r})")
            out[c] = conv.astype(float)
    for c in categorical:  # mixed types break the one-hot encoder; categories are strings
        out[c] = out[c].map(lambda v: v if pd.isna(v) else str(v)).astype(object)
    return out


def fit_transform(df: pd.DataFrame, cfg: Config, source: str = "pool"):
    tr = build_transformer(df, cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            X = tr.fit_transform(_prepare(df, *split_columns(df, cfg), source))
        except ValueError as exc:
            if "empty vocabulary" in str(exc):
                raise DataError(
                    f"{source}: text columns {cfg.data.text_columns} hold no words to learn from"
                ) from None
            raise
    return tr, _finish(X)


def transform(tr: ColumnTransformer, df: pd.DataFrame, cfg: Config, source: str = "data"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _finish(tr.transform(_prepare(df, *_kinds(tr), source)))


def _finish(X):
    if sp.issparse(X):
        return sp.csr_matrix(X, dtype=np.float32)
    return np.ascontiguousarray(X, dtype=np.float32)
