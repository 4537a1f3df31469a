"""``al simulate``: replay the loop on fully labeled data to compare strategies.

For each repeat: a stratified train/test split seeded by the repeat number; the
training part (without its labels) becomes the pool of a temporary project, the test
part its validation file, and the training part's labels play the annotator. Then
the real commands run, in process: ``init``, ``seed`` (random or kmeans), ``label
--import --queued-only``, and after the first ``retrain`` + ``evaluate``, R rounds of
``score`` -> ``query --size B`` -> ``label --import`` -> ``retrain`` -> ``evaluate``.
Each evaluation is one point of the learning curve (R + 1 points per repeat and
strategy). The same strategy code, models, feature cache and project store as in
real use; nothing here re-implements them.

The full-data reference is the same model trained (by ``retrain``) on every row of
the training part and evaluated on the test part.

The core never prints: :func:`run` returns a :class:`SimResult`; ``al_cli.cli`` renders it.
"""

from __future__ import annotations

import contextlib
import math
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from al_cli import config as config_mod
from al_cli import data as data_mod
from al_cli.commands.evaluate import evaluate
from al_cli.commands.init import init as init_project
from al_cli.commands.labels_io import label_import
from al_cli.commands.query import query
from al_cli.commands.retrain import retrain
from al_cli.commands.score import score
from al_cli.commands.seed import seed
from al_cli.commands.snapshot import Snapshot
from al_cli.errors import ConfigError, DataError
from al_cli.models.registry import MODELS
from al_cli.report import collecting, warn
from al_cli.reports.metrics import metrics
from al_cli.reports.simulate_summary import SimResult, summarise, write_outputs
from al_cli.store import Project, atomic_write_csv
from al_cli.strategies.registry import SEED_STRATEGIES
from al_cli.strategies.spec import QuerySpec

CURVE_COLUMNS = ["strategy", "repeat", "n_labeled", "accuracy", "macro_f1"]
ID_FALLBACK = "al_row_id"
# keys for label sets larger than 9 (al.yaml needs explicit keys there): digits, then
# letters that are not reserved by the labeler (s skip, u undo, n note, q quit, ? help)
_EXTRA_KEYS = "1234567890" + "".join(c for c in "abcdefghijklmnopqrstuvwxyz" if c not in "sunq") \
    + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# =========================================================================== strategy specs
def default_strategy_name() -> str:
    """The strategy a new project gets (al.yaml's default), in the spec syntax."""
    return QuerySpec.from_config(config_mod.StrategyConfig()).format()


def parse_strategies(texts: Iterable[str] | None) -> list[QuerySpec]:
    """The strategies to run; without any, al's default and random."""
    given = [t.strip() for t in (texts or []) if t and t.strip()]
    if not given:
        given = [default_strategy_name(), "random"]
    specs: list[QuerySpec] = []
    for t in given:
        spec = QuerySpec.parse(t)
        if spec not in specs:  # 'margin' and 'margin+rf0.1' are one strategy
            specs.append(spec)
    return specs


# =========================================================================== data
@dataclass
class SimData:
    """Every labeled row, with string ids and labels, ready to split."""

    frame: pd.DataFrame
    id_column: str
    label_column: str
    text_columns: list[str]
    feature_columns: list[str] | None
    labels: list[str]
    source: str
    dropped_unlabeled: int = 0
    text_features: str | None = None   # None: a new project's default (tfidf)
    image_columns: list[str] = field(default_factory=list)  # paths made absolute when read

    @property
    def y(self) -> np.ndarray:
        return self.frame[self.label_column].to_numpy(dtype=object)


def load_data(paths: list[Path] | Path, *, label_column: str = "label", id_column: str | None = None,
              text_columns: list[str] | None = None, feature_columns: list[str] | None = None,
              answers: Path | None = None, text_features: str | None = None,
              image_columns: list[str] | None = None) -> SimData:
    """Read one or more files (rows concatenated) and, optionally, an answer key
    (columns ``id,label``, joined on the id column) for rows without a label."""
    paths = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    if not paths:
        raise DataError("no data file given")
    frames = [data_mod.read_table(p, "data file", str_columns=[id_column]) for p in paths]
    image_columns = [c for c in (image_columns or []) if c]
    if image_columns:  # the replay's files live elsewhere: each path made absolute from its file's folder
        from al_cli.features.images import resolve

        for p, f in zip(paths, frames):
            data_mod.check_columns(f, image_columns, p, "image")
            for c in image_columns:
                f[c] = resolve(f[c], p.resolve().parent)
    df = pd.concat(frames, ignore_index=True, sort=False) if len(frames) > 1 else frames[0]
    source = ", ".join(map(str, paths))
    if len(df) == 0:
        raise DataError(f"{source}: no rows")
    text_columns = [c for c in (text_columns or []) if c]
    data_mod.check_columns(df, text_columns, paths[0], "text")
    if feature_columns is not None:
        data_mod.check_columns(df, feature_columns, paths[0], "feature")
    if id_column is not None:
        data_mod.check_columns(df, [id_column], paths[0], "id")
        ids = data_mod.ids_for(df, id_column, paths[0])
    else:
        if answers is not None:
            raise DataError("--answers joins on ids: give --id-column too")
        ids = data_mod.ids_for(df, None, paths[0])
        id_column = ID_FALLBACK
        while id_column in df.columns:
            id_column = "_" + id_column
    df = df.copy()
    df[id_column] = ids.to_numpy()
    if answers is not None:
        key = data_mod.read_table(Path(answers), "answer key", str_columns=["id"])
        data_mod.check_columns(key, ["id", "label"], Path(answers), "required")
        key_ids = data_mod.normalise_ids(key["id"].fillna(""))
        lab = key["label"]
        key_lab = pd.Series(data_mod.label_strings(lab.fillna("")).to_numpy(), index=key_ids.to_numpy())
        key_lab = key_lab[lab.notna().to_numpy()]
        key_lab = key_lab[~key_lab.index.duplicated(keep="last")]
        joined = key_lab.reindex(df[id_column].to_numpy())
        if label_column in df.columns:
            own = df[label_column]
            own_s = data_mod.label_strings(own.fillna("")).where(own.notna(), None)
            df[label_column] = np.where(own.notna().to_numpy(), own_s.to_numpy(), joined.to_numpy())
        else:
            df[label_column] = joined.to_numpy()
    if label_column not in df.columns:
        own = [c for c in df.columns if c != ID_FALLBACK and not str(c).endswith("_" + ID_FALLBACK)]
        shown = ", ".join(map(str, own[:12]))
        raise DataError(f"{source}: label column '{label_column}' not found (columns: {shown})")
    for what, cols in (("text", text_columns), ("feature", feature_columns or [])):
        if label_column in cols or id_column in cols:
            raise DataError(f"{source}: column '{label_column if label_column in cols else id_column}' "
                            f"cannot be both a {what} column and the id/label column")
    lab = df[label_column]
    empty = lab.isna() | (lab.astype(str).str.strip() == "")
    dropped = int(empty.sum())
    if dropped:
        df = df[~empty.to_numpy()].reset_index(drop=True)
    if len(df) == 0:
        raise DataError(f"{source}: no row has a label in column '{label_column}'")
    df[label_column] = data_mod.label_strings(df[label_column]).to_numpy()
    labels = sorted(df[label_column].unique().tolist(), key=_label_key)
    if len(labels) < 2:
        raise DataError(f"{source}: column '{label_column}' has a single label ({labels[0]!r}); "
                        "a classifier needs at least two")
    if len(labels) > len(_EXTRA_KEYS):
        raise DataError(f"{source}: {len(labels)} labels; al supports at most {len(_EXTRA_KEYS)}")
    return SimData(df, id_column, label_column, text_columns,
                   list(feature_columns) if feature_columns is not None else None, labels, source, dropped,
                   text_features, image_columns)


def _label_key(lab: str):
    try:
        return (0, float(lab), lab)
    except ValueError:
        return (1, 0.0, lab)


def split(data: SimData, repeat: int, test_size: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stratified train/test split of one repeat (seeded by the repeat number)."""
    from sklearn.model_selection import train_test_split

    y = data.y
    _, counts = np.unique(y, return_counts=True)
    if counts.min() < 2:
        rare = sorted(set(y), key=lambda c: (y == c).sum())[0]
        raise DataError(f"{data.source}: label {rare!r} has a single row; a stratified split needs "
                        "at least 2 rows of every label")
    try:
        train, test = train_test_split(data.frame, test_size=test_size, stratify=y, random_state=repeat)
    except ValueError as exc:
        raise DataError(f"{data.source}: cannot split with --test-size {test_size:g}: {exc}") from None
    return train.reset_index(drop=True), test.reset_index(drop=True)


# =========================================================================== one project
@dataclass
class Protocol:
    initial: int = 20
    batch: int = 10
    rounds: int = 20
    test_size: float = 0.3
    model: str = "logistic_regression"
    seed_strategy: str = "random"


def write_split_files(folder: Path, data: SimData, train: pd.DataFrame, test: pd.DataFrame) -> dict[str, Path]:
    """pool.csv (train part, no label), validation.csv (test part), answers.csv (id,label)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"pool": folder / "pool.csv", "validation": folder / "validation.csv",
             "answers": folder / "answers.csv"}
    cols = [c for c in train.columns if c != data.label_column]
    atomic_write_csv(paths["pool"], train[cols])
    atomic_write_csv(paths["validation"], test[[*cols, data.label_column]])
    atomic_write_csv(paths["answers"], pd.DataFrame({"id": train[data.id_column].to_numpy(),
                                                     "label": train[data.label_column].to_numpy()}))
    return paths


def make_project(folder: Path, data: SimData, files: dict[str, Path], *, model: str,
                 random_state: int, spec: QuerySpec | None = None, batch: int = 10,
                 shared_cache: Path | None = None) -> Project:
    """``al init`` on the split files, then the strategy and model set in al.yaml."""
    labels = data.labels
    init_project(folder, files["pool"], id_column=data.id_column, text_columns=data.text_columns,
            feature_columns=data.feature_columns, labels=labels, validation=files["validation"],
            label_column=data.label_column, model=model,
            strategy=spec.base if spec else config_mod.StrategyConfig().name, batch_size=batch,
            random_state=random_state, force=True, text_features=data.text_features,
            image_columns=data.image_columns)
    proj = Project(folder)
    if shared_cache is not None and data.text_features:  # one text cache for every replay of a run
        try:
            Path(shared_cache).mkdir(parents=True, exist_ok=True)
            (proj.cache_dir / "embeddings").symlink_to(Path(shared_cache).resolve(), target_is_directory=True)
        except OSError:
            pass  # each project then embeds on its own
    cfg = proj.config
    if spec is not None:
        spec.apply(cfg.strategy)
    proj.write_config(cfg)
    return proj


@dataclass
class Point:
    n_labeled: int
    accuracy: float
    macro_f1: float
    n_classes_labeled: int


def _fallback_point(proj: Project, data: SimData) -> Point:
    """Fewer than two classes labeled: no model can be fitted (``al retrain`` refuses);
    the only possible prediction is the one class seen, scored like ``evaluate`` would."""
    cfg = proj.config
    eff = Snapshot(proj).labels
    seen = eff["label"].iloc[0]
    vdf = pd.read_csv(proj.resolve(cfg.validation.path), usecols=[data.label_column])
    y_true = data_mod.label_strings(vdf[data.label_column]).to_numpy(dtype=object)
    y_pred = np.full(len(y_true), seen, dtype=object)
    acc, f1, _, _ = metrics(y_true, y_pred, cfg.labels)
    return Point(len(eff), acc, f1, 1)


def _measure(proj: Project, data: SimData) -> Point:
    eff = Snapshot(proj).labels
    n_classes = int(eff["label"].nunique())
    if n_classes < 2:
        return _fallback_point(proj, data)
    retrain(proj)
    ev = evaluate(proj)
    return Point(ev.n_labeled, ev.accuracy, ev.macro_f1, n_classes)


def run_curve(proj: Project, data: SimData, answers: Path, protocol: Protocol,
              on_point: Callable[[], None] | None = None) -> tuple[list[Point], list[str]]:
    """The loop on one project: seed, then ``rounds`` query rounds. Returns the
    R + 1 points and the initial ids. While only one class is labeled (rare
    classes), rounds query at random: the advice ``al retrain`` gives a user then."""
    seed(proj, size=protocol.initial, strategy=protocol.seed_strategy, force=True)
    label_import(proj, answers, queued_only=True, annotator="oracle")
    initial_ids = Snapshot(proj).labels["id"].tolist()
    points = [_measure(proj, data)]
    if on_point:
        on_point()
    for _ in range(protocol.rounds):
        if points[-1].n_classes_labeled >= 2:
            if proj.config.strategy.name != "random":  # random needs no scores
                score(proj)
            query(proj, size=protocol.batch)
        else:
            query(proj, size=protocol.batch, strategy="random")
        label_import(proj, answers, queued_only=True, annotator="oracle")
        points.append(_measure(proj, data))
        if on_point:
            on_point()
    return points, initial_ids


def full_data_point(proj: Project, data: SimData, answers: Path) -> Point:
    """The same model trained on every row of the training part."""
    label_import(proj, answers, queued_only=False, annotator="oracle")
    return _measure(proj, data)


# =========================================================================== tasks
@dataclass
class TaskResult:
    repeat: int
    strategy: str | None  # None: the full-data model
    points: list[Point]
    initial_ids: list[str]
    n_train: int
    n_test: int
    test_ids: list[str]
    labeled_ids: list[str]
    messages: list[tuple[str, str]]
    seconds: float


def _task(data: SimData, repeat: int, spec: QuerySpec | None, protocol: Protocol, root: Path,
          keep: bool, on_point: Callable[[], None] | None = None) -> TaskResult:
    t0 = time.perf_counter()
    name = spec.format() if spec is not None else "full-data"
    folder = root / f"repeat{repeat}" / _safe(name)
    with collecting() as msgs:
        train, test = split(data, repeat, protocol.test_size)
        files = write_split_files(folder / "data", data, train, test)
        proj = make_project(folder / "project", data, files, model=protocol.model, random_state=repeat,
                            spec=spec, batch=protocol.batch, shared_cache=root / "embeddings")
        if spec is None:
            points, initial = [full_data_point(proj, data, files["answers"])], []
        else:
            points, initial = run_curve(proj, data, files["answers"], protocol, on_point)
        labeled = Snapshot(proj).labels["id"].tolist()
    if not keep:
        shutil.rmtree(folder, ignore_errors=True)
    test_ids = data_mod.normalise_ids(test[data.id_column]).tolist()
    return TaskResult(repeat, spec.format() if spec else None, points, initial, len(train), len(test),
                      test_ids, labeled, [m for m in msgs if m[0] == "warning"],
                      time.perf_counter() - t0)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


# =========================================================================== run
def check_protocol(data: SimData, protocol: Protocol, repeats: int) -> None:
    if not 0 < protocol.test_size < 1:
        raise DataError("--test-size must be between 0 and 1 (a share of the rows)")
    if protocol.initial < 1 or protocol.batch < 1 or protocol.rounds < 0 or repeats < 1:
        raise DataError("--initial, --batch and --repeats must be >= 1, --rounds >= 0")
    if protocol.seed_strategy not in SEED_STRATEGIES:
        raise ConfigError(f"--seed-strategy must be one of {', '.join(SEED_STRATEGIES)}")
    if protocol.model not in MODELS:
        raise ConfigError(f"--model must be one of {', '.join(MODELS.names())} (got {protocol.model!r})")
    n_train = len(data.frame) - math.ceil(protocol.test_size * len(data.frame))
    need = protocol.initial + protocol.rounds * protocol.batch
    if need > n_train:
        raise DataError(f"--initial {protocol.initial} + --rounds {protocol.rounds} x --batch "
                        f"{protocol.batch} = {need} labels, but the training part has only {n_train} "
                        f"rows ({len(data.frame)} rows, --test-size {protocol.test_size:g})")


def run(data: SimData, *, strategies: list[QuerySpec], protocol: Protocol, repeats: int = 5,
        out: Path | None = None, n_jobs: int = 1, keep_projects: Path | None = None,
        progress: Callable[[int], None] | None = None, plot: bool = True) -> SimResult:
    """Run the protocol; write curves.csv, summary.json and learning_curves.png to ``out``.

    ``progress(k)`` is called with the number of curve points just measured (total:
    repeats x strategies x (rounds + 1)). ``keep_projects`` keeps every temporary
    project (repeatN/STRATEGY/project) there for inspection.
    """
    t0 = time.perf_counter()
    check_protocol(data, protocol, repeats)
    if not strategies:
        raise ConfigError("--strategy: no strategy given")
    split(data, 0, protocol.test_size)  # fail early on an impossible split
    order = [s.format() for s in strategies]
    if out is not None and Path(out).exists() and not Path(out).is_dir():
        raise DataError(f"{out}: exists and is not a folder (--out)")  # before hours of work
    if keep_projects is not None:
        root = Path(keep_projects)
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            # a reused folder would start each replay from an earlier run's labels
            raise DataError(f"{root}: --keep-projects needs a new or empty folder")
        root.mkdir(parents=True, exist_ok=True)
        tmp_ctx: contextlib.AbstractContextManager = contextlib.nullcontext(str(root))
    else:
        tmp_ctx = tempfile.TemporaryDirectory(prefix="al-simulate-")
    tasks: list[tuple[int, QuerySpec | None]] = []
    for rep in range(repeats):
        tasks.append((rep, None))
        tasks.extend((rep, s) for s in strategies)
    results: list[TaskResult] = []
    with tmp_ctx as tmp:
        root = Path(tmp)
        keep = keep_projects is not None
        if n_jobs == 1 or len(tasks) == 1:
            tick = (lambda: progress(1)) if progress else None
            for rep, spec in tasks:
                results.append(_task(data, rep, spec, protocol, root, keep, tick))
        else:
            from joblib import Parallel, delayed

            par = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
            for res in par(delayed(_task)(data, rep, spec, protocol, root, keep) for rep, spec in tasks):
                results.append(res)
                if progress and res.strategy is not None:
                    progress(len(res.points))
    from al_cli.store.project import take_written

    take_written()  # the replays' own projects: no 'al status' memo is kept for them
    return _collect(data, strategies, protocol, repeats, results, order, out, keep_projects, plot,
                    time.perf_counter() - t0)


def _collect(data, strategies, protocol, repeats, results, order, out, keep_projects, plot, seconds) -> SimResult:
    rows, full_rows = [], []
    initial_ids: dict[int, list[str]] = {}
    test_ids: dict[int, list[str]] = {}
    labeled: dict[tuple[int, str], list[str]] = {}
    warnings: list[str] = []
    for r in sorted(results, key=lambda r: (r.repeat, -1 if r.strategy is None else order.index(r.strategy))):
        test_ids[r.repeat] = r.test_ids
        for level, msg in r.messages:
            if msg not in warnings:
                warnings.append(msg)
        if r.strategy is None:
            p = r.points[0]
            full_rows.append({"repeat": r.repeat, "n_labeled": p.n_labeled, "accuracy": p.accuracy,
                              "macro_f1": p.macro_f1})
            continue
        initial_ids.setdefault(r.repeat, r.initial_ids)
        labeled[(r.repeat, r.strategy)] = r.labeled_ids
        for p in r.points:
            rows.append({"strategy": r.strategy, "repeat": r.repeat, "n_labeled": p.n_labeled,
                         "accuracy": p.accuracy, "macro_f1": p.macro_f1})
    curves = pd.DataFrame(rows, columns=CURVE_COLUMNS)
    full = pd.DataFrame(full_rows)
    summaries, full_d = summarise(curves, full, order)
    n_train = results[0].n_train
    n_test = results[0].n_test
    default = default_strategy_name()
    res = SimResult(
        default_strategy=default, strategies=summaries, full_data=full_d, curves=curves,
        protocol={"initial": protocol.initial, "batch": protocol.batch, "rounds": protocol.rounds,
                  "repeats": repeats, "test_size": protocol.test_size, "model": protocol.model,
                  "seed_strategy": protocol.seed_strategy, "strategies": order, "data": data.source},
        n_rows=len(data.frame), n_train=n_train, n_test=n_test, labels=data.labels, seconds=seconds,
        initial_ids=initial_ids, test_ids=test_ids, labeled_ids=labeled,
        projects=str(keep_projects) if keep_projects is not None else None, warnings=warnings,
    )
    if data.dropped_unlabeled:
        res.warnings.insert(0, f"{data.source}: {data.dropped_unlabeled} row(s) without a label left out")
    for w in res.warnings:
        warn(w)
    if out is not None:
        write_outputs(res, Path(out), plot=plot)
    return res


