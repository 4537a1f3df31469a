"""One function per command. Each returns a result object; none prints.

The CLI renders results; tests call these functions directly.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from al_cli import __version__
from al_cli import config as config_mod
from al_cli import data as data_mod
from al_cli import features as feat
from al_cli import models
from al_cli import strategies as strat
from al_cli.config import Config
from al_cli.errors import AlError, ConfigError, DataError, ProjectError
from al_cli.project import (
    Project,
    atomic_joblib_dump,
    atomic_write_csv,
    atomic_write_json,
    now_iso,
    sha256_file,
)
from al_cli.report import info, warn

QUEUE_BASE_COLUMNS = ["id", "purpose", "round", "strategy"]
HISTORY_COLUMNS = [
    "time", "event", "model_version", "round", "n_labeled", "source", "n_eval",
    "accuracy", "macro_f1", "eval_set",
]
SCORE_CHUNK = 100_000


# =========================================================================== init
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
    model: str = "logistic_regression",
    strategy: str = "margin",
    batch_size: int = 20,
    random_state: int = 0,
    force: bool = False,
) -> InitResult:
    directory = Path(directory)
    if (directory / "al.yaml").exists() and not force:
        raise ProjectError(f"{directory}: already an al project (al.yaml exists); use --force to overwrite its config")
    if directory.exists() and not directory.is_dir():
        raise ProjectError(f"{directory}: exists and is not a folder")
    data = Path(data)
    text_columns = [c for c in (text_columns or []) if c]
    df = data_mod.read_table(data, "pool")
    if len(df) == 0:
        raise DataError(f"{data}: the pool has no rows")
    if id_column is not None:
        data_mod.check_columns(df, [id_column], data, "id")
    data_mod.check_columns(df, text_columns, data, "text")
    data_mod.ids_for(df, id_column, data)
    reserved = {c for c in [id_column, label_column] if c} | set(text_columns)
    if feature_columns is None:
        feature_columns = [c for c in df.columns if c not in reserved]
        # A free-text column that was not named as text would one-hot into noise: skip
        # object columns with (nearly) one value per row when text columns exist or not.
        dropped = [c for c in feature_columns if _looks_like_free_text(df[c])]
        if dropped:
            warn(f"{data}: column(s) {', '.join(dropped)} look like free text or ids and are not "
                 "used as features; name them with --text-column or --feature-columns")
            feature_columns = [c for c in feature_columns if c not in dropped]
    else:
        data_mod.check_columns(df, feature_columns, data, "feature")
        clash = [c for c in feature_columns if c in reserved]
        if clash:
            raise DataError(f"{data}: column '{clash[0]}' cannot be both a feature and the id/label/text column")
    if not text_columns and not feature_columns:
        raise DataError(f"{data}: no text or feature columns to learn from; name them with --text-column / --feature-columns")
    for c in feature_columns:
        if df[c].isna().all():
            raise DataError(f"{data}: feature column '{c}' is empty in every row")
    if text_columns:
        words = df[text_columns].fillna("").astype(str).apply(lambda c: c.str.contains(r"\w", regex=True))
        if not words.to_numpy().any():
            raise DataError(f"{data}: text column(s) {', '.join(text_columns)} hold no words in any row")

    n_val = 0
    if validation is not None:
        vdf = data_mod.read_labels_file(Path(validation), label_column, labels or _labels_of(validation, label_column), None)
        data_mod.check_columns(vdf, [*text_columns, *feature_columns], Path(validation), "feature")
        if not labels:
            labels = sorted(vdf[label_column].unique().tolist())
        n_val = len(vdf)
    if not labels:
        raise DataError("no label set: give --labels a,b,c (or a --validation file to read it from)")
    labels = [lab.strip() for lab in labels]

    directory.mkdir(parents=True, exist_ok=True)
    cfg = Config(
        data=config_mod.DataConfig(
            path=_relpath(data, directory),
            id_column=id_column,
            text_columns=text_columns,
            feature_columns=list(feature_columns),
            label_column=label_column if label_column in df.columns else None,
        ),
        labels=labels,
        validation=config_mod.ValidationConfig(
            path=_relpath(Path(validation), directory) if validation is not None else None,
            label_column=label_column,
        ),
        model=config_mod.ModelConfig(name=model),
        strategy=config_mod.StrategyConfig(name=strategy),
        batch_size=batch_size,
        random_state=random_state,
    )
    config_mod.validate(cfg, "al.yaml")
    proj = Project(directory)
    with proj.lock():
        proj.write_config(cfg)
        (directory / "models").mkdir(exist_ok=True)
        (directory / "cache").mkdir(exist_ok=True)
        atomic_write_json(proj.state_path, {"n_rows": len(df), "digest": data_mod.row_digest(df)})
    return InitResult(str(directory), len(df), id_column, text_columns, list(feature_columns),
                      labels, str(validation) if validation else None, n_val)


def _labels_of(path: Path, label_column: str) -> list[str]:
    df = data_mod.read_table(Path(path), "validation file")
    data_mod.check_columns(df, [label_column], Path(path), "label")
    return sorted(data_mod.label_strings(df[label_column].dropna()).unique().tolist())


def _looks_like_free_text(col: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        return False
    nonnull = col.dropna()
    if len(nonnull) < 20:
        return False
    return nonnull.nunique() > 0.5 * len(nonnull)


# =========================================================================== pool + features
def pool_path(proj: Project) -> Path:
    return proj.resolve(proj.config.data.path)


def read_pool(proj: Project) -> tuple[pd.DataFrame, pd.Series]:
    cfg = proj.config
    path = pool_path(proj)
    df, ids = data_mod.read_pool(path, cfg.data.id_column, [*cfg.data.text_columns, *cfg.data.feature_columns])
    _check_known_rows(proj, df, path)
    return df, ids


def _check_known_rows(proj: Project, df: pd.DataFrame, path: Path) -> None:
    state = proj.read_json(proj.state_path, default=None)
    if not isinstance(state, dict) or "n_rows" not in state:
        atomic_write_json(proj.state_path, {"n_rows": len(df), "digest": data_mod.row_digest(df)})
        return
    known = int(state["n_rows"])
    if len(df) < known:
        warn(f"{path}: the pool has {len(df)} rows, {known} were known before: rows were removed")
    elif data_mod.row_digest(df, known) != state.get("digest"):
        warn(f"{path}: rows known before were changed (content hash differs); labels given "
             "for them may no longer fit the data")
    elif len(df) > known:
        info(f"{path}: {len(df) - known} new row(s) appended to the pool")
    if len(df) != known or data_mod.row_digest(df, known) != state.get("digest"):
        atomic_write_json(proj.state_path, {"n_rows": len(df), "digest": data_mod.row_digest(df)})


def load_features(proj: Project) -> feat.PoolFeatures:
    """Pool features from cache/ when the pool file and feature config are unchanged."""
    import joblib

    cfg = proj.config
    path = pool_path(proj)
    if not path.exists():
        raise DataError(f"{path}: pool not found (al.yaml data.path)")
    stamp = feat.pool_file_key(path) + "|" + feat.feature_config_key(cfg)
    cache_file = proj.cache_dir / "features.joblib"
    manifest_file = proj.cache_dir / "features.json"
    if cache_file.exists():
        hit = _memo_get(_FEATURES_MEMO, cache_file, stamp)
        if hit is not None:
            return hit
        # The cache is a pickle: load it only when its sha256 matches the manifest this
        # project wrote beside it (DESIGN.md); any mismatch or damage -> rebuild.
        man = _read_cache_manifest(manifest_file)
        if man.get("stamp") == stamp:
            if sha256_file(cache_file) != man.get("sha256"):
                warn(f"{cache_file}: does not match {manifest_file.name} (sha256); rebuilding it")
            else:
                try:
                    blob = joblib.load(cache_file)
                    pf = feat.PoolFeatures(blob["ids"], blob["X"], blob["transformer"], blob["key"],
                                           blob["n_rows"], cached=True)
                    _memo_put(_FEATURES_MEMO, cache_file, stamp, pf)
                    return pf
                except Exception:  # noqa: BLE001 - a corrupt cache is treated as empty
                    warn(f"{cache_file}: unreadable cache, rebuilding it")
    df, ids = read_pool(proj)
    tr, X = feat.fit_transform(df, cfg, str(path))
    key = data_mod.row_digest(df)[:16] + feat.feature_config_key(cfg)
    ids_arr = ids.to_numpy(dtype=object)
    blob = {"stamp": stamp, "ids": ids_arr, "X": X, "transformer": tr, "key": key, "n_rows": len(df)}
    try:
        digest = atomic_joblib_dump(cache_file, blob)
        atomic_write_json(manifest_file, {"stamp": stamp, "sha256": digest, "created": now_iso()})
        _memo_put(_FEATURES_MEMO, cache_file, stamp,
                  feat.PoolFeatures(ids_arr, X, tr, key, len(df), cached=True))
    except OSError as exc:
        warn(f"{cache_file}: cannot write the feature cache ({exc}); continuing without it")
    return feat.PoolFeatures(ids_arr, X, tr, key, len(df), cached=False)


def _read_cache_manifest(path: Path) -> dict[str, Any]:
    try:
        man = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return man if isinstance(man, dict) else {}


# In-process memo of the feature cache: a process that runs several commands on a project
# (tests, 'al simulate') skips unpickling cache/features.joblib while the file is unchanged
# (same path, size and mtime, same stamp). A CLI call reads it once anyway.
_FEATURES_MEMO: dict[str, tuple[tuple, Any]] = {}
_MEMO_SIZE = 8


def _memo_key(path: Path, stamp: str) -> tuple | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (stamp, st.st_size, st.st_mtime_ns, st.st_ino)


def _memo_get(memo: dict, path: Path, stamp: str):
    key = _memo_key(path, stamp)
    hit = memo.get(str(path.resolve()))
    return hit[1] if key is not None and hit is not None and hit[0] == key else None


def _memo_put(memo: dict, path: Path, stamp: str, value: Any) -> None:
    key = _memo_key(path, stamp)
    if key is None:
        return
    name = str(path.resolve())
    memo.pop(name, None)
    while len(memo) >= _MEMO_SIZE:
        memo.pop(next(iter(memo)))
    memo[name] = (key, value)


def _rng(proj: Project, *salt: int) -> np.random.Generator:
    return np.random.default_rng([proj.config.random_state, *salt])


# =========================================================================== labels
def effective_labels(proj: Project, log: pd.DataFrame | None = None) -> pd.DataFrame:
    """id -> current label: each annotator's latest answer (an undo retracts it); across
    annotators, the latest answer wins. Columns: id, label, annotator, n_answers."""
    if log is None:
        log = proj.read_label_log().frame
    if log.empty:
        return pd.DataFrame(columns=["id", "label", "annotator"])
    ev = log[log["status"].isin(["labeled", "retracted"])]
    per_annot = ev.drop_duplicates(subset=["id", "annotator"], keep="last")
    per_annot = per_annot[per_annot["status"] == "labeled"]
    cur = per_annot.drop_duplicates(subset=["id"], keep="last")
    return cur[["id", "label", "annotator"]].reset_index(drop=True)


def _known_labels(proj: Project, eff: pd.DataFrame) -> pd.DataFrame:
    """Drop (and report) labels that are no longer in al.yaml's label set."""
    labels = proj.config.labels
    unknown = ~eff["label"].isin(labels)
    if unknown.any():
        counts = eff.loc[unknown, "label"].value_counts()
        shown = ", ".join(f"{k!r} x{v}" for k, v in counts.items())
        warn(f"labels.csv: {int(unknown.sum())} label(s) not in the label set of al.yaml "
             f"({', '.join(labels)}) are left out: {shown}; put the label back in al.yaml, or "
             "relabel those rows (a new answer for the id replaces the old one)")
    return eff[~unknown]


def current_round(proj: Project) -> int:
    return proj.latest_model_version() or 0


def read_queue(proj: Project) -> pd.DataFrame:
    q = proj.read_csv(proj.queue_path)
    if q is None or "id" not in q.columns:
        return pd.DataFrame(columns=QUEUE_BASE_COLUMNS)
    q["id"] = q["id"].astype(str)
    return q


def unanswered_queue(proj: Project, labeled_ids: set[str] | None = None) -> pd.DataFrame:
    q = read_queue(proj)
    if labeled_ids is None:
        labeled_ids = set(effective_labels(proj)["id"])
    return q[~q["id"].isin(labeled_ids)].reset_index(drop=True)


@dataclass
class ImportResult:
    path: str
    imported: int
    ignored: int
    annotator: str
    n_labeled: int
    labels_per_class: dict[str, int]
    queue_remaining: int


def default_annotator() -> str:
    name = os.environ.get("AL_ANNOTATOR")
    if name:
        return name
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "unknown"


def label_import(proj: Project, file: Path, *, annotator: str | None = None,
                 queued_only: bool = False) -> ImportResult:
    cfg = proj.config
    file = Path(file)
    df = data_mod.read_table(file, "label file", str_columns=["id", "label", "annotator", "note"])
    data_mod.check_columns(df, ["id", "label"], file, "required")
    annotator = annotator or default_annotator()
    pool_ids = set(load_features(proj).ids.tolist())
    ids = _match_ids(data_mod.normalise_ids(df["id"]), pool_ids)
    lab_s = data_mod.canonical_labels(df["label"], cfg.labels)
    keep = np.ones(len(df), dtype=bool)
    if queued_only:
        queued = set(unanswered_queue(proj)["id"])
        keep = ids.isin(queued).to_numpy()
    allowed = set(cfg.labels)
    problems: list[str] = []
    seen: dict[str, str] = {}
    for i in np.flatnonzero(keep):
        rid, lab = ids.iloc[i], lab_s.iloc[i]
        row = i + 2
        if not rid:
            problems.append(f"row {row}: empty id")
        elif rid not in pool_ids:
            problems.append(f"row {row}: unknown id {rid!r}")
        elif lab == "":
            problems.append(f"row {row}: empty label for id {rid!r}")
        elif lab not in allowed:
            problems.append(f"row {row}: label {lab!r} not in the label set ({', '.join(cfg.labels)})")
        elif rid in seen and seen[rid] != lab:
            problems.append(f"row {row}: id {rid!r} given two labels ({seen[rid]!r}, {lab!r})")
        else:
            seen[rid] = lab
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise DataError(f"{file}: {len(problems)} bad row(s), nothing imported: {shown}")
    rnd = current_round(proj)
    t = now_iso()
    ann_col = df["annotator"] if "annotator" in df.columns else None
    note_col = df["note"] if "note" in df.columns else None
    rows = []
    for i in np.flatnonzero(keep):
        a = annotator
        if ann_col is not None and pd.notna(ann_col.iloc[i]) and str(ann_col.iloc[i]).strip():
            a = str(ann_col.iloc[i]).strip()
        note = "" if note_col is None or pd.isna(note_col.iloc[i]) else str(note_col.iloc[i])
        rows.append({"id": ids.iloc[i], "label": lab_s.iloc[i], "annotator": a, "time": t,
                     "round": rnd, "seconds": "", "note": note, "status": "labeled"})
    n = proj.append_labels(rows)
    eff = effective_labels(proj)
    return ImportResult(str(file), n, int((~keep).sum()), annotator, len(eff),
                        _per_class(eff, cfg.labels), len(unanswered_queue(proj, set(eff["id"]))))


def _match_ids(ids: pd.Series, pool_ids: set[str]) -> pd.Series:
    """Ids of an outside file matched to the pool's: as written, else an integral number
    written as a float ('7.0' -> '7', a spreadsheet's doing)."""
    mapping = {}
    for v in pd.unique(ids):
        if v and v not in pool_ids:
            try:
                f = float(v)
            except ValueError:
                continue
            if f.is_integer() and str(int(f)) in pool_ids:
                mapping[v] = str(int(f))
    return ids.replace(mapping) if mapping else ids


def _per_class(eff: pd.DataFrame, labels: list[str]) -> dict[str, int]:
    counts = eff["label"].value_counts()
    return {lab: int(counts.get(lab, 0)) for lab in labels}


@dataclass
class ExportResult:
    path: str
    n_rows: int


def label_export(proj: Project, file: Path) -> ExportResult:
    cfg = proj.config
    q = unanswered_queue(proj)
    df, ids = read_pool(proj)
    from al_cli.session import display_columns

    show = [c for c in display_columns(cfg) if c != cfg.data.id_column]
    missing = [c for c in show if c not in df.columns]
    if missing:
        raise DataError(f"{pool_path(proj)}: column '{missing[0]}' (labeling.display_columns in al.yaml) "
                        "not found in the pool")
    pos = pd.Series(np.arange(len(ids)), index=ids.to_numpy())
    rows = df.iloc[pos.reindex(q["id"]).dropna().astype(int).to_numpy()][show].reset_index(drop=True)
    out = pd.concat([q[["id"]].reset_index(drop=True), rows], axis=1)
    out["label"] = ""
    out["annotator"] = ""
    out["note"] = ""
    file = Path(file)
    if file.parent and not file.parent.exists():
        raise DataError(f"{file}: folder {file.parent} does not exist")
    atomic_write_csv(file, out)
    return ExportResult(str(file), len(out))


# =========================================================================== seed / query
@dataclass
class BatchResult:
    ids: list[str]
    path: str
    strategy: str
    n_audit: int = 0
    features_cached: bool = False
    explain: list[dict[str, Any]] = field(default_factory=list)
    replaced: int = 0


def _available(proj: Project, pf: feat.PoolFeatures, extra_excluded: set[str] = frozenset()) -> np.ndarray:
    eff = effective_labels(proj)
    excluded = set(eff["id"]) | proj.audit_ids() | set(extra_excluded) | _validation_ids(proj)
    return ~pd.Index(pf.ids).isin(list(excluded))


def _validation_ids(proj: Project) -> set[str]:
    """Pool ids that are also in the validation file: never queried, never trained on."""
    cfg = proj.config
    if not cfg.validation.path or not cfg.data.id_column:
        return set()
    path = proj.resolve(cfg.validation.path)
    try:
        col = data_mod.read_column(path, cfg.data.id_column, "id", as_str=True)
    except DataError as exc:
        if "not found" in exc.message and path.exists():
            return set()  # the validation file has no id column: its rows are not pool rows
        raise
    return set(data_mod.normalise_ids(col)) - {""}


def _pending_audit(proj: Project, labeled: set[str]) -> list[str]:
    """Audit ids (audit.csv) not labeled yet, in their original order."""
    df = proj.read_csv(proj.audit_path)
    if df is None or "id" not in df:
        return []
    return [i for i in df["id"].astype(str) if i not in labeled]


def _write_queue(proj: Project, frame: pd.DataFrame) -> None:
    atomic_write_csv(proj.queue_path, frame)


def seed(proj: Project, *, size: int | None = None, fraction: float | None = None,
         strategy: str = "kmeans", validation_size: int = 0, force: bool = False) -> BatchResult:
    cfg = proj.config
    if strategy not in config_mod.SEED_STRATEGIES:
        raise ConfigError(f"--strategy: seed strategies are {', '.join(config_mod.SEED_STRATEGIES)}")
    if validation_size < 0:
        raise DataError("--validation-size must be >= 0")
    pf = load_features(proj)
    n_pool = pf.n_rows
    if size is None and fraction is None:
        size = cfg.batch_size
    if fraction is not None:
        if not 0 < fraction <= 1:
            raise DataError("--fraction must be in (0, 1]")
        size = max(1, int(round(fraction * n_pool)))
    assert size is not None
    if size < 1:
        raise DataError("--size must be >= 1")
    eff = effective_labels(proj)
    pending = unanswered_queue(proj, set(eff["id"]))
    if (len(eff) or len(pending)) and not force:
        raise ProjectError(
            f"{proj.root}: already seeded ({len(eff)} labeled, {len(pending)} queued); "
            "use 'al query' for the next batch, or 'al seed --force' to replace the queue"
        )
    with proj.lock():
        available = _available(proj, pf)
        if not available.any():
            raise DataError("no pool row is left to seed: every row is labeled, held out for "
                            "audit, or in the validation file")
        rng = _rng(proj, 0, len(eff))
        if strategy == "kmeans":
            chosen = strat.kmeans_seed(pf.X, size, rng, available=available)
        else:
            chosen = strat.random_seed(pf.n_rows, size, rng, available=available)
        chosen = np.asarray(chosen, dtype=int)
        audit_pos = np.array([], dtype=int)
        if validation_size:
            rest = available.copy()
            rest[chosen] = False
            audit_pos = strat.random_seed(pf.n_rows, validation_size, rng, available=rest)
            audit_pos = np.asarray(audit_pos, dtype=int)
            prev = proj.read_csv(proj.audit_path)
            new_audit = pd.DataFrame({"id": pf.ids[audit_pos], "added": now_iso()})
            audit = new_audit if prev is None else pd.concat([prev, new_audit], ignore_index=True)
            atomic_write_csv(proj.audit_path, audit.drop_duplicates("id"))
        audit_ids = _pending_audit(proj, set(eff["id"]))  # new and earlier unanswered audit rows
        q = pd.DataFrame({
            "id": [*pf.ids[chosen], *audit_ids],
            "purpose": ["train"] * len(chosen) + ["audit"] * len(audit_ids),
            "round": 0,
            "strategy": [f"seed:{strategy}"] * len(chosen) + ["audit:random"] * len(audit_ids),
        })
        _write_queue(proj, q)
    return BatchResult(q["id"].tolist(), str(proj.queue_path), f"seed:{strategy}", len(audit_ids),
                       pf.cached, replaced=len(pending))


# =========================================================================== retrain
@dataclass
class RetrainResult:
    model_version: int
    n_labeled: int
    class_counts: dict[str, int]
    model: str
    seconds: float
    path: str
    excluded_audit: int


def training_set(proj: Project, pf: feat.PoolFeatures) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, int]:
    """(positions, labels, label frame, n audit labels held out) of the training labels."""
    eff = _known_labels(proj, effective_labels(proj))
    audit = proj.audit_ids()
    n_audit = int(eff["id"].isin(audit).sum())
    eff = eff[~eff["id"].isin(audit)]
    pos = pd.Series(np.arange(pf.n_rows), index=pf.ids)
    mapped = pos.reindex(eff["id"].to_numpy())
    missing = mapped.isna().to_numpy()
    if missing.any():
        warn(f"{int(missing.sum())} labeled id(s) are no longer in the pool and are left out "
             f"(first: {eff['id'].iloc[int(np.flatnonzero(missing)[0])]!r})")
    eff = eff[~missing]
    return mapped.dropna().astype(int).to_numpy(), eff["label"].to_numpy(dtype=object), eff, n_audit


def retrain(proj: Project) -> RetrainResult:
    import joblib
    import scipy
    import sklearn

    cfg = proj.config
    pf = load_features(proj)
    pos, y, eff, n_audit = training_set(proj, pf)
    if len(y) == 0:
        raise ProjectError("nothing labeled yet: run 'al seed' and 'al label' first")
    classes = sorted(set(y), key=cfg.labels.index)
    if len(classes) < 2:
        raise ProjectError(
            f"only one class labeled so far ({classes[0]!r}, {len(y)} label(s)); a model needs at "
            "least two: label more rows ('al query --strategy random' helps find other classes)"
        )
    t0 = time.perf_counter()
    est = models.fit(cfg.model, pf.X[pos], y, cfg.random_state)
    secs = time.perf_counter() - t0
    counts = {c: int((y == c).sum()) for c in classes}
    bundle = {
        "format": 1,
        "estimator": est,
        "transformer": pf.transformer,
        "feature_key": pf.key,
        "model_name": cfg.model.name,
        "classes": [str(c) for c in est.classes_],
    }
    manifest = {
        "created": now_iso(),
        "al_version": __version__,
        "model": {"name": cfg.model.name, "class_weight": cfg.model.class_weight, "params": cfg.model.params},
        "classes": [str(c) for c in est.classes_],
        "class_counts": counts,
        "n_labeled": int(len(y)),
        "labels_used": [{"id": i, "label": lab} for i, lab in zip(eff["id"], eff["label"])],
        "audit_labels_held_out": n_audit,
        "feature_key": pf.key,
        "n_features": int(pf.X.shape[1]),
        "pool_rows": pf.n_rows,
        "pool": cfg.data.path,
        "fit_seconds": round(secs, 3),
        "random_state": cfg.random_state,
        "library_versions": {
            "python": platform.python_version(), "scikit-learn": sklearn.__version__,
            "numpy": np.__version__, "scipy": scipy.__version__, "pandas": pd.__version__,
            "joblib": joblib.__version__,
        },
        "metrics": None,
    }
    version = proj.save_model(bundle, manifest)
    _append_history(proj, {"event": "retrain", "model_version": version, "round": version,
                           "n_labeled": len(y)})
    return RetrainResult(version, len(y), counts, cfg.model.name, secs,
                         str(proj.model_paths(version)[0]), n_audit)


def _append_history(proj: Project, row: dict[str, Any]) -> None:
    with proj.lock():
        hist = read_history(proj)
        row = {"time": now_iso(), **row}
        new = pd.DataFrame([{c: row.get(c, "") for c in HISTORY_COLUMNS}])
        hist = new if hist.empty else pd.concat([hist, new], ignore_index=True)
        atomic_write_csv(proj.history_path, hist[HISTORY_COLUMNS])


def read_history(proj: Project) -> pd.DataFrame:
    h = proj.read_csv(proj.history_path)
    if h is None:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    for c in HISTORY_COLUMNS:
        if c not in h.columns:
            h[c] = np.nan
    return h


def latest_model(proj: Project) -> tuple[int, dict[str, Any], dict[str, Any]]:
    v = proj.latest_model_version()
    if v is None:
        raise ProjectError("no model yet: run 'al retrain' first")
    bundle, man = proj.load_model(v)
    return v, bundle, man


def model_matrix(proj: Project, bundle: dict[str, Any], pf: feat.PoolFeatures):
    """The pool's features as the model saw them (re-transformed if the pool changed)."""
    if bundle["feature_key"] == pf.key:
        return pf.X
    warn("the pool or its feature settings changed since this model was trained; using the "
         "model's own feature transform (run 'al retrain' to learn from the new rows' vocabulary)")
    df, _ = read_pool(proj)
    return feat.transform(bundle["transformer"], df, proj.config, str(pool_path(proj)))


def predict_proba_chunked(bundle: dict[str, Any], X) -> np.ndarray:
    out = []
    for start in range(0, X.shape[0], SCORE_CHUNK):
        out.append(models.predict_proba(bundle["model_name"], bundle["estimator"], X[start:start + SCORE_CHUNK]))
    if not out:
        return np.zeros((0, len(bundle["classes"])))
    return np.vstack(out)


# =========================================================================== score
@dataclass
class ScoreResult:
    model_version: int
    n_scored: int
    path: str
    features_cached: bool
    predicted_counts: dict[str, int]
    mean_entropy: float
    extra_scores: list[str] = field(default_factory=list)


def _base_needs(name: str) -> str:
    return strat.BASE_SCORES[name].needs if name in strat.BASE_SCORES else "proba"


def compute_base_scores(proj: Project, name: str, bundle: dict[str, Any], X, proba: np.ndarray,
                        rows: np.ndarray, train_pos: np.ndarray, train_y: np.ndarray,
                        rng: np.random.Generator) -> np.ndarray:
    """Base informativeness of ``rows`` (positions into X) for the strategy ``name``."""
    cfg = proj.config
    needs = _base_needs(name)
    if needs == "committee":
        classes = list(bundle["classes"])
        members = strat.fit_committee(models.factory(cfg.model, cfg.random_state),
                                      models.prepare_X(cfg.model.name, X[train_pos]), train_y,
                                      cfg.strategy.committee_size, rng)
        Xr = models.prepare_X(cfg.model.name, X[rows])
        if name == "qbc_vote_entropy":
            votes = strat.committee_votes(members, Xr, classes)
            return strat.base_scores(name, member_votes=votes, rng=rng, n_classes=len(classes))
        mp = strat.committee_probas(members, Xr, classes)
        return strat.base_scores(name, member_probas=mp, rng=rng)
    if name == "egl":
        if bundle["model_name"] not in strat.EGL_SUPPORTED_MODELS:
            raise ConfigError(
                f"strategy 'egl' (expected gradient length) is exact for log-loss linear models "
                f"only ({', '.join(strat.EGL_SUPPORTED_MODELS)}); the model is {bundle['model_name']!r}: "
                "use entropy or qbc_kl, or set model.name: logistic_regression"
            )
        est = bundle["estimator"]
        return strat.base_scores(name, proba=proba, X=X[rows], rng=rng,
                                 fit_intercept=bool(getattr(est, "fit_intercept", True)))
    return strat.base_scores(name, proba=proba, rng=rng)


def score(proj: Project) -> ScoreResult:
    cfg = proj.config
    version, bundle, _ = latest_model(proj)
    pf = load_features(proj)
    X = model_matrix(proj, bundle, pf)
    available = _available(proj, pf)
    rows = np.flatnonzero(available)
    if len(rows) == 0:
        raise ProjectError("every pool row is labeled: nothing left to score")
    proba = predict_proba_chunked(bundle, X[rows])
    classes = np.asarray(bundle["classes"], dtype=object)
    top = proba.argmax(axis=1)
    out = pd.DataFrame({
        "id": pf.ids[rows],
        "predicted": classes[top],
        "confidence": proba[np.arange(len(rows)), top].round(6),
        "least_confidence": strat.least_confidence(proba).round(6),
        "margin": strat.margin(proba).round(6),
        "entropy": strat.entropy(proba).round(6),
    })
    extra = []
    if cfg.strategy.name in ("qbc_vote_entropy", "qbc_kl", "egl"):
        train_pos, train_y, _, _ = training_set(proj, pf)
        rng = _rng(proj, version, len(train_y))
        out[cfg.strategy.name] = compute_base_scores(proj, cfg.strategy.name, bundle, X, proba, rows,
                                                     train_pos, train_y, rng).round(6)
        extra.append(cfg.strategy.name)
    for j, c in enumerate(classes):
        out[f"p_{c}"] = proba[:, j].round(6)
    out["model_version"] = version
    with proj.lock():
        atomic_write_csv(proj.scores_path, out)
    pred = pd.Series(out["predicted"]).value_counts()
    return ScoreResult(version, len(rows), str(proj.scores_path), pf.cached,
                       {str(k): int(v) for k, v in pred.items()}, float(out["entropy"].mean()), extra)


# =========================================================================== query
def query(proj: Project, *, size: int | None = None, strategy: str | None = None,
          diversity: str | None = None, density: float | None = None,
          random_fraction: float | None = None, cost_column: str | None = None,
          cost: str | None = None) -> BatchResult:
    cfg = proj.config
    sc = cfg.strategy
    name = strategy or sc.name
    if name not in config_mod.BASE_STRATEGIES:
        raise ConfigError(f"--strategy: unknown strategy {name!r} (choose from {', '.join(config_mod.BASE_STRATEGIES)})")
    div = diversity if diversity is not None else sc.diversity
    if div not in config_mod.DIVERSITY:
        raise ConfigError(f"--diversity: must be one of {', '.join(config_mod.DIVERSITY)}")
    rf = sc.random_fraction if random_fraction is None else random_fraction
    if not 0 <= rf < 1:
        raise ConfigError("--random-fraction must be in [0, 1)")
    dens_w = (sc.density_weight if sc.density else None) if density is None else (density or None)
    if dens_w is not None and dens_w < 0:
        raise ConfigError("--density weight must be >= 0")
    cost_col = cost_column if cost_column is not None else sc.cost_column
    cost_mode = cost if cost is not None else sc.cost
    if cost_mode not in (None, "learned"):
        raise ConfigError("--cost must be 'learned'")
    n = size if size is not None else cfg.batch_size
    if n < 1:
        raise DataError("--size must be >= 1")

    pf = load_features(proj)
    eff = effective_labels(proj)
    pending = unanswered_queue(proj, set(eff["id"]))
    available = _available(proj, pf)
    if not available.any():
        raise ProjectError("every pool row is labeled or held out: nothing left to query")
    cost_arr = None  # checked before the (slower) scoring
    if cost_col:
        col = data_mod.read_column(pool_path(proj), cost_col, "cost")
        if len(col) != pf.n_rows:
            raise DataError(f"{pool_path(proj)}: the pool changed while querying; run 'al score' again")
        try:
            cost_arr = strat.column_cost(pd.to_numeric(col, errors="coerce").to_numpy(dtype=float), ids=pf.ids)
        except AlError as exc:
            raise DataError(f"{pool_path(proj)}: cost column '{cost_col}': {exc.message}") from None
    elif cost_mode == "learned":
        cost_arr = _learned_cost(proj, pf)
    version = proj.latest_model_version() or 0
    rng = _rng(proj, version, len(eff))
    if name == "random":
        scores_all = np.zeros(pf.n_rows)
        scores_all[available] = rng.random(int(available.sum()))
    else:
        version, bundle, _ = latest_model(proj)
        scores_all = _scores_for(proj, name, version, bundle, pf, available, rng)
    dens = None
    if dens_w:
        dens = strat.representativeness(pf.X, rng)
    reference = None
    if div == "kcenter":
        tp, _, _, _ = training_set(proj, pf)
        reference = tp if len(tp) else None
    batch = strat.select_batch(
        scores_all, n, rng=rng, available=available, X=pf.X, diversity=div,
        candidate_factor=sc.candidate_factor, density=dens, density_weight=dens_w or 1.0,
        random_fraction=rf, cost=cost_arr, cost_lambda=sc.cost_lambda, reference=reference,
        name=name, cost_unit="s" if cost_mode == "learned" and not cost_col else "",
    )
    positions = np.asarray(batch.positions, dtype=int)
    reasons = batch.reasons()
    label = name + (f"+{div}" if div != "none" else "") + ("+density" if dens_w else "") + \
        (f"+random{rf:g}" if rf else "") + ("+cost" if cost_arr is not None else "")
    q = pd.DataFrame({
        "id": pf.ids[positions],
        "purpose": "train",
        "round": version,
        "strategy": np.where(batch.random_pick, "random", label),
        "score": np.round(batch.score, 6),
        "final_score": np.round(batch.final_score, 6),
        "cluster": batch.cluster,
        "random_pick": batch.random_pick,
        "cost": np.round(batch.cost, 4),
        "reason": reasons,
    })
    audit_left = _pending_audit(proj, set(eff["id"]))
    if audit_left:  # unanswered audit rows stay queued: the held-out sample must be labeled
        q = pd.concat([q, pd.DataFrame({"id": audit_left, "purpose": "audit", "round": version,
                                        "strategy": "audit:random"})], ignore_index=True)
    with proj.lock():
        _write_queue(proj, q)
    q = q[q["purpose"] == "train"]
    explain = q[["id", "score", "final_score", "cluster", "random_pick", "cost", "reason"]].to_dict("records")
    return BatchResult(q["id"].tolist() + audit_left, str(proj.queue_path), label, len(audit_left),
                       pf.cached, explain, replaced=int((pending["purpose"] != "audit").sum())
                       if "purpose" in pending else len(pending))


def _scores_for(proj: Project, name: str, version: int, bundle: dict[str, Any],
                pf: feat.PoolFeatures, available: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Base scores over the pool (0 where unavailable), from scores.csv when it is fresh."""
    out = np.zeros(pf.n_rows)
    sc = proj.read_csv(proj.scores_path)
    if sc is not None and name in sc.columns and "model_version" in sc.columns and len(sc) \
            and int(sc["model_version"].iloc[0]) == version:
        s = pd.Series(sc[name].to_numpy(dtype=float), index=sc["id"].astype(str))
        got = s.reindex(pf.ids[available])
        if not got.isna().any():
            out[available] = got.to_numpy()
            return out
        info("scores.csv does not cover every unlabeled row (new rows?); scoring them now")
    elif sc is None:
        info("no scores.csv yet; scoring the pool now")
    elif "model_version" in sc.columns and len(sc) and int(sc["model_version"].iloc[0]) != version:
        info(f"scores.csv is from model {int(sc['model_version'].iloc[0])}, the latest is {version}; scoring now")
    X = model_matrix(proj, bundle, pf)
    rows = np.flatnonzero(available)
    proba = predict_proba_chunked(bundle, X[rows])
    train_pos, train_y, _, _ = training_set(proj, pf)
    out[rows] = compute_base_scores(proj, name, bundle, X, proba, rows, train_pos, train_y, rng)
    return out


def _learned_cost(proj: Project, pf: feat.PoolFeatures) -> np.ndarray | None:
    log = proj.read_label_log().frame
    timed = log[(log["status"] == "labeled") & (log["seconds"] > 0)]
    timed = timed.drop_duplicates("id", keep="last")
    pos = pd.Series(np.arange(pf.n_rows), index=pf.ids).reindex(timed["id"].to_numpy())
    ok = ~pos.isna().to_numpy()
    cost_arr, fitted = strat.learned_cost(pf.X[pos[ok].astype(int).to_numpy()],
                                          timed["seconds"].to_numpy(dtype=float)[ok], pf.X)
    if not fitted:
        warn(f"--cost learned: only {int(ok.sum())} timed label(s) so far; treating every row as equal cost")
    return cost_arr


# =========================================================================== evaluate
@dataclass
class EvalResult:
    model_version: int
    n_labeled: int
    accuracy: float
    macro_f1: float
    per_class: dict[str, dict[str, float]]
    confusion: dict[str, Any]
    source: str
    n_eval: int
    stop: bool
    stop_reason: str | None
    rule_given: bool
    curve: list[dict[str, Any]]


def _metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: list[str]) -> tuple[float, float, dict, dict]:
    """Accuracy, macro-F1 (scikit-learn's: over the labels present in truth or prediction,
    unrounded), per-class precision/recall/F1/support and the confusion matrix."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    present = [lab for lab in labels if lab in set(y_true) | set(y_pred)]
    acc = float(accuracy_score(y_true, y_pred))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=present, zero_division=0)
    per_class = {lab: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4),
                       "f1": round(float(f[i]), 4), "support": int(s[i])} for i, lab in enumerate(present)}
    macro = float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0))
    cm = confusion_matrix(y_true, y_pred, labels=present)
    return acc, macro, per_class, {"labels": present, "matrix": cm.tolist()}


def evaluate(proj: Project, *, stop_at: float | None = None, metric: str = "accuracy",
             min_gain: float | None = None, patience: int = 3) -> EvalResult:
    cfg = proj.config
    if metric not in ("accuracy", "macro_f1"):
        raise ConfigError("--metric must be accuracy or macro_f1")
    if stop_at is not None and not 0 <= stop_at <= 1:
        raise ConfigError("--stop-at must be a number between 0 and 1")
    version, bundle, man = latest_model(proj)
    pf = load_features(proj)
    source = None
    if cfg.validation.path:
        vpath = proj.resolve(cfg.validation.path)
        vdf = data_mod.read_labels_file(vpath, cfg.validation.label_column, cfg.labels, None)
        data_mod.check_columns(vdf, [*cfg.data.text_columns, *cfg.data.feature_columns], vpath, "feature")
        Xv = feat.transform(bundle["transformer"], vdf, cfg, str(vpath))
        y_true = vdf[cfg.validation.label_column].to_numpy(dtype=object)
        y_pred = predict_proba_chunked(bundle, Xv).argmax(axis=1)
        y_pred = np.asarray(bundle["classes"], dtype=object)[y_pred]
        source = "validation"
        eval_set = "validation:" + sha256_file(vpath)[:12]
    else:
        eff = effective_labels(proj)
        audit = eff[eff["id"].isin(proj.audit_ids())]
        if len(audit):
            X = model_matrix(proj, bundle, pf)
            pos = pd.Series(np.arange(pf.n_rows), index=pf.ids).reindex(audit["id"].to_numpy())
            ok = ~pos.isna().to_numpy()
            Xa = X[pos[ok].astype(int).to_numpy()]
            y_true = audit["label"].to_numpy(dtype=object)[ok]
            y_pred = np.asarray(bundle["classes"], dtype=object)[predict_proba_chunked(bundle, Xa).argmax(axis=1)]
            source = "audit"
            eval_set = "audit:" + hashlib.sha256("\n".join(sorted(audit["id"])).encode()).hexdigest()[:12]
        else:
            y_true, y_pred = _cv_predictions(proj, pf)
            source = "cross_validation"
            eval_set = "cross_validation"
            warn("no validation file and no labeled audit sample: cross-validating on the "
                 "actively chosen labels, which biases the estimate (usually downwards); "
                 "add 'al seed --validation-size M' or a --validation file for an unbiased one")
    acc, macro, per_class, cm = _metrics(y_true, y_pred, cfg.labels)
    n_labeled = int(man.get("n_labeled", 0))
    _append_history(proj, {"event": "evaluate", "model_version": version, "round": version,
                           "n_labeled": n_labeled, "source": source, "n_eval": len(y_true),
                           "accuracy": round(acc, 6), "macro_f1": round(macro, 6),
                           "eval_set": eval_set})
    # record the metrics in the manifest (atomic rewrite of the JSON, sha unchanged)
    man["metrics"] = {"source": source, "n_eval": len(y_true), "accuracy": acc, "macro_f1": macro}
    with proj.lock():
        atomic_write_json(proj.model_paths(version)[1], man)
    hist = read_history(proj)
    # the learning curve compares like with like: the same validation file (content hash)
    # or the same audit sample
    ev = hist[(hist["event"] == "evaluate") & (hist["eval_set"] == eval_set)]
    curve = [{"model_version": int(r.model_version), "n_labeled": int(r.n_labeled),
              "accuracy": float(r.accuracy), "macro_f1": float(r.macro_f1)}
             for r in ev.drop_duplicates("model_version", keep="last").itertuples()]
    stop, reason = False, None
    value = acc if metric == "accuracy" else macro
    if stop_at is not None and value >= stop_at:
        stop, reason = True, f"{metric} {value:.4f} reached the target {stop_at:g}"
    elif min_gain is not None and len(curve) > patience:
        a, b = curve[-1 - patience], curve[-1]
        dn = b["n_labeled"] - a["n_labeled"]
        if dn > 0:
            gain = (b[metric] - a[metric]) / dn * 100
            if gain < min_gain:
                stop, reason = True, (f"{metric} gained {gain:+.4f} per 100 labels over the last "
                                      f"{patience} evaluations (< {min_gain:g})")
    return EvalResult(version, n_labeled, acc, macro, per_class, cm, source, len(y_true), stop, reason,
                      stop_at is not None or min_gain is not None, curve)


def _cv_predictions(proj: Project, pf: feat.PoolFeatures) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    cfg = proj.config
    pos, y, _, _ = training_set(proj, pf)
    _, counts = np.unique(y, return_counts=True)
    k = int(min(5, counts.min()))
    if k < 2:
        raise ProjectError(
            "cannot evaluate: no validation file, no audit sample, and too few labels per class "
            "to cross-validate; add 'al seed --validation-size M' or a --validation file"
        )
    est = models.make_estimator(cfg.model, cfg.random_state)
    if cfg.model.name == "linear_svm":
        est.set_params(cv=min(3, k - 1) if k > 2 else 2)
    cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=cfg.random_state)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pred = cross_val_predict(est, models.prepare_X(cfg.model.name, pf.X[pos]), y, cv=cv)
        except ValueError as exc:
            raise ProjectError(
                "cannot evaluate: no validation file, no audit sample, and too few labels per "
                f"class to cross-validate {cfg.model.name} ({exc}); add 'al seed --validation-size M' "
                "or a --validation file"
            ) from None
    return y, pred


# =========================================================================== status
@dataclass
class StatusResult:
    project: str
    n_labeled: int
    labels_per_class: dict[str, int]
    queue_size: int
    model_version: int | None
    last_metrics: dict[str, Any] | None
    next_command: str
    n_pool: int | None
    annotators: dict[str, int]
    torn_lines: int


def status(proj: Project) -> StatusResult:
    cfg = proj.config
    logr = proj.read_label_log()
    eff = _known_labels(proj, effective_labels(proj, logr.frame))
    q = unanswered_queue(proj, set(eff["id"]))
    version = proj.latest_model_version()
    hist = read_history(proj)
    ev = hist[hist["event"] == "evaluate"]
    last = None
    if len(ev):
        r = ev.iloc[-1]
        last = {"model_version": int(r["model_version"]), "n_labeled": int(r["n_labeled"]),
                "source": r["source"], "accuracy": float(r["accuracy"]), "macro_f1": float(r["macro_f1"])}
    state = proj.read_json(proj.state_path, default={}) or {}
    n_train = int((~eff["id"].isin(proj.audit_ids())).sum())
    p = f" -p {proj.root}" if Path.cwd().resolve() != proj.root.resolve() else ""
    if len(eff) == 0 and len(q) == 0:
        nxt = f"al seed{p} --size {cfg.batch_size}"
    elif len(q):
        nxt = f"al label{p}"
    elif eff.loc[~eff["id"].isin(proj.audit_ids()), "label"].nunique() < 2:
        # a model needs two classes: more labels, found at random, before any retrain
        nxt = f"al query{p} --strategy random --size {cfg.batch_size}"
    elif version is None:
        nxt = f"al retrain{p}"
    else:
        man = proj.load_manifest(version)
        if man.get("n_labeled") != n_train:
            nxt = f"al retrain{p}"
        elif last is None or last["model_version"] != version:
            nxt = f"al evaluate{p}"
        else:
            nxt = f"al query{p} --size {cfg.batch_size}"
    annot = logr.frame[logr.frame["status"] == "labeled"]["annotator"].value_counts()
    return StatusResult(str(proj.root), len(eff), _per_class(eff, cfg.labels), len(q), version, last,
                        nxt, state.get("n_rows"), {str(k): int(v) for k, v in annot.items()},
                        logr.skipped_lines)


def as_dict(result: Any) -> dict[str, Any]:
    return asdict(result)


__all__ = [
    "AlError", "init", "seed", "score", "query", "label_import", "label_export", "retrain",
    "evaluate", "status", "effective_labels", "load_features",
]
