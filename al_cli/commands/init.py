"""``al init``: check the pool (and validation file) and write the project folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from al_cli import config as config_mod
from al_cli import data as data_mod
from al_cli.config import Config
from al_cli.errors import DataError, ProjectError
from al_cli.features.registry import DISCOVERY_TEXT
from al_cli.report import warn
from al_cli.store import Project, formats
from al_cli.store.pool import numeric_columns


@dataclass
class InitResult:
    path: str
    n_rows: int
    id_column: str | None
    text_columns: list[str]
    feature_columns: list[str]
    labels: list[str]
    validation: str | None
    n_validation: int
    image_columns: list[str]
    embedding_columns: list[str]
    embedding_file: str | None
    text_features: str


def _relpath(target: Path, start: Path) -> str:
    try:
        return os.path.relpath(target.resolve(), start.resolve())
    except ValueError:  # different drives
        return str(target.resolve())


def init(
    directory: Path,
    data: Path,
    *,
    id_column: str | None = None,
    text_columns: list[str] | None = None,
    feature_columns: list[str] | None = None,
    labels: list[str] | None = None,
    validation: Path | None = None,
    label_column: str = "label",
    model: str | None = None,
    strategy: str | None = None,
    batch_size: int = 20,
    random_state: int = 0,
    force: bool = False,
    task: str = "classification",
    relevant: str | None = None,
    image_columns: list[str] | None = None,
    embedding_columns: list[str] | None = None,
    embedding_file: Path | None = None,
    text_features: str | None = None,
) -> InitResult:
    """Create the project. ``task="discovery"`` (two labels, ``relevant`` the one sought)
    ranks the likeliest relevant documents first: its defaults are the ``relevance``
    strategy with no random share (every document read should be a likely relevant one;
    the random sample that estimates recall is drawn apart, ``al query --recall-sample``),
    the ``relevance_lr`` model and the ``tfidf_saturated`` text features, the setting measured
    against ASReview in benchmarks/README.md."""
    directory = Path(directory)
    existed = (directory / "al.yaml").exists()
    if existed and not force:
        raise ProjectError(f"{directory}: already an al project (al.yaml exists); use --force to overwrite its config")
    if directory.exists() and not directory.is_dir():
        raise ProjectError(f"{directory}: exists and is not a folder")
    for opt, value in (("--data", data), ("--validation", validation)):
        if value is not None and str(value) == "-":
            raise DataError(f"{opt} -: every command reads this file again, so it must be a file, not "
                            "standard input (save it first: ... > pool.csv)")
    data = Path(data)
    text_columns = [c for c in (text_columns or []) if c]
    df = data_mod.read_table(data, "pool", str_columns=[id_column], compact=True,  # ids as written, as later
                             text_columns=[*(text_columns or []), *(image_columns or [])])
    if len(df) == 0:
        raise DataError(f"{data}: the pool has no rows")
    if id_column is not None:
        data_mod.check_columns(df, [id_column], data, "id")
    data_mod.check_columns(df, text_columns, data, "text")
    pool_ids = data_mod.ids_for(df, id_column, data)
    image_columns = [c for c in (image_columns or []) if c]
    data_mod.check_columns(df, image_columns, data, "image")
    embedding_columns = _expand(embedding_columns or [], df, data)
    if embedding_file is not None:
        _check_embedding_file(Path(embedding_file), id_column, pool_ids)
    reserved = {c for c in [id_column, label_column] if c} | set(text_columns) | set(image_columns) | set(embedding_columns)
    if feature_columns is None:
        feature_columns = [c for c in df.columns if c not in reserved]
        # A free-text column that was not named as text would one-hot into noise: skip
        # object columns with (nearly) one value per row when text columns exist or not.
        # A row number (pandas' unnamed index column, a 1, 2, 3 ... counter) is no feature.
        dropped = [c for c in feature_columns if _looks_like_free_text(df[c]) or _looks_like_row_number(c, df[c])]
        if dropped:
            warn(f"{data}: column(s) {', '.join(dropped)} look like free text, ids or row numbers and are not "
                 "used as features; name them with --text-column or --feature-columns")
            feature_columns = [c for c in feature_columns if c not in dropped]
    else:
        data_mod.check_columns(df, feature_columns, data, "feature")
        clash = [c for c in feature_columns if c in reserved]
        if clash:
            raise DataError(f"{data}: column '{clash[0]}' cannot be both a feature and the id/label/text column")
    if not (text_columns or feature_columns or image_columns or embedding_columns or embedding_file):
        raise DataError(f"{data}: no text or feature columns to learn from; name them with --text-column / --feature-columns")
    for c in feature_columns:
        if df[c].isna().all():
            raise DataError(f"{data}: feature column '{c}' is empty in every row")
    if text_columns:
        words = df[text_columns].fillna("").astype(str).apply(lambda c: c.str.contains(r"\w\w", regex=True))
        if not words.to_numpy().any():
            raise DataError(f"{data}: text column(s) {', '.join(text_columns)} hold no words in any row "
                            "(a word is two or more letters or digits)")

    n_val = 0
    if validation is not None:
        vdf = data_mod.read_labels_file(Path(validation), label_column, labels or _labels_of(validation, label_column), None)
        data_mod.check_columns(vdf, [*text_columns, *feature_columns, *image_columns, *embedding_columns],
                               Path(validation), "feature")
        if embedding_file is not None:
            data_mod.check_columns(vdf, [id_column], Path(validation), "id")
        if not labels:
            labels = sorted(vdf[label_column].unique().tolist())
        n_val = len(vdf)
    if not labels:
        raise DataError("no label set: give --labels a,b,c (or a --validation file to read it from)")
    labels = [lab.strip() for lab in labels]
    if task not in ("classification", "discovery"):
        raise DataError(f"--task must be classification or discovery, got {task!r}")
    if task == "discovery":
        if relevant is None or relevant.strip() not in labels:
            raise DataError(f"--task discovery needs --relevant LABEL, one of the labels ({', '.join(labels)})")
        if len(labels) != 2:
            raise DataError(f"--task discovery takes two labels, the relevant one and the rest (got {len(labels)})")
        relevant = relevant.strip()
    elif relevant is not None:
        raise DataError("--relevant is for --task discovery")
    discovery = task == "discovery"
    if strategy is None:
        strategy = "relevance" if discovery else "auto"
    if model is None:
        model = "relevance_lr" if discovery else "logistic_regression"

    cfg = Config(
        data=config_mod.DataConfig(
            path=_relpath(data, directory),
            id_column=id_column,
            text_columns=text_columns,
            feature_columns=list(feature_columns),
            label_column=label_column if label_column in df.columns else None,
            image_columns=image_columns,
            embedding_columns=embedding_columns,
            embedding_file=_relpath(Path(embedding_file), directory) if embedding_file is not None else None,
        ),
        labels=labels,
        validation=config_mod.ValidationConfig(
            path=_relpath(Path(validation), directory) if validation is not None else None,
            label_column=label_column,
        ),
        model=config_mod.ModelConfig(name=model, params={"relevant": relevant} if model == "relevance_lr" and discovery
                                     else {}),
        strategy=config_mod.StrategyConfig(name=strategy, random_fraction=0.0 if discovery else 0.1),
        features=config_mod.FeaturesConfig(text=text_features or (DISCOVERY_TEXT if discovery else "tfidf")),
        batch_size=batch_size,
        random_state=random_state,
        task=task,
        relevant=relevant,
    )
    config_mod.validate(cfg, "al.yaml")
    directory.mkdir(parents=True, exist_ok=True)  # only once the settings are valid
    proj = Project(directory)
    with proj.lock():
        proj.write_config(cfg)
        (directory / "models").mkdir(exist_ok=True)
        (directory / "cache").mkdir(exist_ok=True)
        proj.write_pool_state(len(df), data_mod.row_digest(df),
                              numeric=numeric_columns(df, feature_columns))
        if not existed:
            formats.write_marker(directory)
    if existed:  # --force over an older project: its files are migrated, not relabelled
        formats.ensure_current(directory, proj.lock)
    return InitResult(str(directory), len(df), id_column, text_columns, list(feature_columns),
                      labels, str(validation) if validation else None, n_val, image_columns, embedding_columns,
                      str(embedding_file) if embedding_file is not None else None, cfg.features.text)


def _expand(patterns: list[str], df: pd.DataFrame, path: Path) -> list[str]:
    """Column names and shell-style patterns (emb_*) -> the pool's numeric columns, in order."""
    import fnmatch

    out: list[str] = []
    for pat in patterns:
        hit = [c for c in map(str, df.columns) if fnmatch.fnmatchcase(c, pat)]
        if not hit:
            raise DataError(f"{path}: no column matches --embedding-columns {pat!r}")
        out += [c for c in hit if c not in out]
    for c in out:
        if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
            raise DataError(f"{path}: embedding column '{c}' must hold numbers")
    return out


def _check_embedding_file(path: Path, id_column: str | None, pool_ids: pd.Series) -> None:
    """Every pool row must have a vector: said now, not at the first score."""
    from al_cli.features.embed import read_embedding_file

    if id_column is None:
        raise DataError("--embedding-file needs --id-column: embeddings are matched to rows by id")
    ids, M = read_embedding_file(path, id_column)
    if ids is None:
        if M.shape[0] != len(pool_ids):
            raise DataError(f"{path}: has {M.shape[0]} rows, the pool {len(pool_ids)}: a .npy embedding file "
                            "holds one vector per pool row, in the pool's order")
        return
    missing = ~pool_ids.isin(ids)
    if missing.any():
        raise DataError(f"{path}: no embedding for id {pool_ids[missing].iloc[0]!r} "
                        f"({int(missing.sum())} pool row(s) have none)")


def _labels_of(path: Path, label_column: str) -> list[str]:
    df = data_mod.read_table(Path(path), "validation file")
    data_mod.check_columns(df, [label_column], Path(path), "label")
    return sorted(data_mod.label_strings(df[label_column].dropna()).unique().tolist())


def _looks_like_row_number(name, col: pd.Series) -> bool:
    """pandas' nameless index column ('Unnamed: 0'), or integers counting the rows in steps of one."""
    import re

    if re.fullmatch(r"Unnamed: \d+", str(name)):
        return True
    if not pd.api.types.is_integer_dtype(col) or len(col) < 20:
        return False
    step = np.diff(col.to_numpy(dtype=np.int64))
    return bool((step == 1).all())


def _looks_like_free_text(col: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        return False
    nonnull = col.dropna()
    if len(nonnull) < 20:
        return False
    return nonnull.nunique() > 0.5 * len(nonnull)
