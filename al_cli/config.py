"""``al.yaml`` <-> dataclasses, validated with messages that name the field."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from al_cli.errors import ConfigError

SCHEMA_VERSION = 1
# a dask.distributed scheduler: tcp:// or tls://, a host name, IPv4 or [IPv6], an optional port
SCHEDULER_RE = re.compile(r"^(tcp|tls)://(\[[0-9A-Fa-f:.]+\]|[^\s/:\[\]]+)(:\d{1,5})?$")

MAX_RANDOM_STATE = 2**32 - 1  # numpy's and scikit-learn's seed range
RESERVED_KEYS = set("suqn?")
# Default answer keys: 1..9 in the order of the label set (DESIGN.md), then 0, then letters
# that are not command keys. Labels beyond these have no key (import still works).
DEFAULT_KEYS = "1234567890" + "".join(c for c in "abcdefghijklmoprtvwxyz" if c not in RESERVED_KEYS)


@dataclass
class DataConfig:
    path: str
    id_column: str | None = None
    text_columns: list[str] = field(default_factory=list)
    feature_columns: list[str] = field(default_factory=list)
    label_column: str | None = None  # a column of the pool that must never be a feature
    image_columns: list[str] = field(default_factory=list)      # paths of images (issue 14)
    embedding_columns: list[str] = field(default_factory=list)  # vectors in the pool's columns
    embedding_file: str | None = None  # vectors keyed by id (.npz, .npy, .parquet, .csv)


@dataclass
class ValidationConfig:
    path: str | None = None
    label_column: str = "label"


@dataclass
class ModelConfig:
    name: str = "logistic_regression"
    class_weight: str | None = "balanced"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class StrategyConfig:
    name: str = "auto"  # adaptive (issue 13); benchmarks/README.md "The adaptive default"
    diversity: str = "none"
    candidate_factor: int = 10
    density: bool = False
    density_weight: float = 1.0
    random_fraction: float = 0.1
    cost_column: str | None = None
    cost: str | None = None  # None or "learned"
    cost_lambda: float = 1.0
    committee_size: int = 5


@dataclass
class FeaturesConfig:
    """The registered extractor for each kind of column (see features/registry.py)."""

    text: str = "tfidf"
    numeric: str = "standard"
    categorical: str = "onehot"
    image: str = "pixels"
    embedding: str = "l2"
    columns: dict[str, str] = field(default_factory=dict)  # one text/image column -> its extractor


@dataclass
class ComputeConfig:
    """Where the pool is scored: here, or on a dask.distributed cluster (issue 12)."""

    backend: str = "local"           # local | dask
    scheduler: str | None = None     # the scheduler's address, e.g. tcp://10.0.0.5:8786
    partition_rows: int = 250_000    # rows per partition sent to a worker


@dataclass
class LabelingConfig:
    keys: dict[str, str] = field(default_factory=dict)  # label -> key
    tags: list[str] = field(default_factory=lambda: ["ambiguous", "unsure", "typo"])
    show_prediction: bool = False
    overlap: float = 0.0
    overlap_annotators: int = 2  # each overlap item goes to at least this many annotators
    share_twin_labels: bool = False  # a label also trains the row's unlabeled exact twins
    consensus: str = "latest"  # latest | majority | adjudicated (see store/consensus.py)
    display_columns: list[str] = field(default_factory=list)
    open_with: str | None = None  # image viewer for ctrl-O (a known viewer; else $AL_OPEN_WITH)


@dataclass
class Config:
    data: DataConfig
    labels: list[str]
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    strategy: StrategyConfig = field(default_factory=StrategyConfig)
    labeling: LabelingConfig = field(default_factory=LabelingConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    compute: ComputeConfig = field(default_factory=ComputeConfig)
    batch_size: int = 20
    random_state: int = 0
    schema_version: int = SCHEMA_VERSION
    task: str = "classification"  # or "discovery": find the relevant documents first (issue 11)
    relevant: str | None = None   # discovery: the label sought

    # -- helpers -----------------------------------------------------------
    def label_keys(self) -> dict[str, str]:
        """key -> label; default 1..9 in the order of the label set."""
        if self.labeling.keys:
            return {str(k): lab for lab, k in self.labeling.keys.items()}
        return {k: lab for k, lab in zip(DEFAULT_KEYS, self.labels)}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _section(raw: dict, name: str, cls, where: str):
    value = raw.get(name, {})
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: field '{name}' must be a mapping")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(value) - known)
    if unknown:
        raise ConfigError(
            f"{where}: unknown field '{name}.{unknown[0]}' (known: {', '.join(sorted(known))})"
        )
    try:
        return cls(**value)
    except TypeError as exc:  # missing required field
        raise ConfigError(f"{where}: section '{name}': {exc}") from None


def _expect(cond: bool, where: str, fieldname: str, msg) -> None:
    """``msg``: the text, or a function that makes it (only when the check fails: listing a
    registry's names looks up its plugins, which costs every command a few hundredths)."""
    if not cond:
        raise ConfigError(f"{where}: field '{fieldname}' {msg() if callable(msg) else msg}")


def from_dict(raw: Any, where: str = "al.yaml") -> Config:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping at the top level")
    version = raw.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise ConfigError(
            f"{where}: schema_version {version!r} is not supported by this al "
            f"(expects {SCHEMA_VERSION}); upgrade al or re-run 'al init'"
        )
    known_top = {f.name for f in dataclasses.fields(Config)}
    unknown = sorted(set(raw) - known_top)
    if unknown:
        raise ConfigError(f"{where}: unknown field '{unknown[0]}'")
    if "data" not in raw:
        raise ConfigError(f"{where}: field 'data' is missing")
    data = _section(raw, "data", DataConfig, where)
    cfg = Config(
        data=data,
        labels=raw.get("labels") or [],
        validation=_section(raw, "validation", ValidationConfig, where),
        model=_section(raw, "model", ModelConfig, where),
        strategy=_section(raw, "strategy", StrategyConfig, where),
        labeling=_section(raw, "labeling", LabelingConfig, where),
        features=_section(raw, "features", FeaturesConfig, where),
        compute=_section(raw, "compute", ComputeConfig, where),
        batch_size=raw.get("batch_size", 20),
        random_state=raw.get("random_state", 0),
        schema_version=version,
        task=raw.get("task", "classification"),
        relevant=raw.get("relevant"),
    )
    validate(cfg, where)
    return cfg


def validate(cfg: Config, where: str = "al.yaml") -> None:
    _expect(isinstance(cfg.data.path, str) and cfg.data.path, where, "data.path", "must be a file path")
    for name in ("text_columns", "feature_columns", "image_columns", "embedding_columns"):
        v = getattr(cfg.data, name)
        _expect(isinstance(v, list) and all(isinstance(c, str) for c in v), where,
                f"data.{name}", "must be a list of column names")
    labels = cfg.labels
    _expect(isinstance(labels, list) and len(labels) >= 2, where, "labels",
            "must list at least two labels")
    bad = [x for x in labels if not isinstance(x, (str, int, float)) or x is None]
    _expect(not bad, where, "labels", f"must be a list of words or numbers (got {bad[:1]})")
    labels = [str(x) for x in labels]
    cfg.labels = labels
    _expect(cfg.task in ("classification", "discovery"), where, "task", "must be classification or discovery")
    if cfg.task == "discovery":
        _expect(isinstance(cfg.relevant, (str, int)) and str(cfg.relevant) in labels, where, "relevant",
                f"must name the label sought, one of the label set ({', '.join(labels)})")
        _expect(len(labels) == 2, where, "labels", "must be two in a discovery task: the relevant label and the rest")
        cfg.relevant = str(cfg.relevant)
    else:
        _expect(cfg.relevant is None, where, "relevant", "is for task: discovery only (set task: discovery or remove it)")
        _expect(getattr(cfg.strategy, "name", None) != "relevance", where, "strategy.name",
                "'relevance' is for task: discovery only (al init --task discovery --relevant LABEL)")
    _expect(len(set(labels)) == len(labels), where, "labels", "has a duplicate label")
    _expect(all(lab.strip() for lab in labels), where, "labels", "has an empty label")
    from al_cli.features.registry import EXTRACTORS
    from al_cli.models.registry import MODELS
    from al_cli.strategies.registry import DIVERSITY, STRATEGIES

    _expect(isinstance(cfg.model.name, str) and cfg.model.name in MODELS, where, "model.name",
            lambda: f"must be one of {', '.join(MODELS.names())} (got {cfg.model.name!r})")
    _expect(cfg.model.class_weight in (None, "balanced"), where, "model.class_weight",
            "must be 'balanced' or null")
    _expect(isinstance(cfg.model.params, dict), where, "model.params", "must be a mapping")
    s = cfg.strategy
    _expect(isinstance(s.name, str) and s.name in STRATEGIES, where, "strategy.name",
            lambda: f"must be one of {', '.join(STRATEGIES.names())} (got {s.name!r})")
    _expect(isinstance(s.diversity, str) and s.diversity in DIVERSITY, where, "strategy.diversity",
            f"must be one of {', '.join(DIVERSITY)} (got {s.diversity!r})")
    _expect(_num(s.random_fraction) and 0 <= s.random_fraction < 1, where,
            "strategy.random_fraction", "must be a number in [0, 1)")
    _expect(_num(s.density_weight) and s.density_weight >= 0, where, "strategy.density_weight",
            "must be a number >= 0")
    _expect(_num(s.cost_lambda) and s.cost_lambda >= 0, where, "strategy.cost_lambda",
            "must be a number >= 0")
    _expect(s.cost in (None, "learned"), where, "strategy.cost", "must be 'learned' or null")
    _expect(_int(s.candidate_factor) and 1 <= s.candidate_factor <= 1000, where,
            "strategy.candidate_factor", "must be an integer from 1 to 1000")
    _expect(_int(s.committee_size) and 2 <= s.committee_size <= 100, where,
            "strategy.committee_size", "must be an integer from 2 to 100")
    _expect(isinstance(s.density, bool), where, "strategy.density", "must be true or false")
    _expect(s.cost_column is None or isinstance(s.cost_column, str), where, "strategy.cost_column",
            "must be a column name or null")
    _expect(_int(cfg.batch_size) and cfg.batch_size >= 1, where, "batch_size",
            "must be a positive integer")
    _expect(_int(cfg.random_state) and 0 <= cfg.random_state <= MAX_RANDOM_STATE, where, "random_state",
            f"must be an integer from 0 to {MAX_RANDOM_STATE}")
    for kind in ("text", "numeric", "categorical", "image", "embedding"):
        _extractor(getattr(cfg.features, kind), kind, where, f"features.{kind}")
    cols = cfg.features.columns
    _expect(isinstance(cols, dict), where, "features.columns", "must map a column name to an extractor")
    for col, name in cols.items():
        kind = ("text" if col in cfg.data.text_columns else "image" if col in cfg.data.image_columns else None)
        _expect(kind is not None, where, f"features.columns.{col}",
                "must be one of data.text_columns or data.image_columns")
        _extractor(name, kind, where, f"features.columns.{col}")
    c = cfg.compute
    _expect(c.backend in ("local", "dask"), where, "compute.backend", "must be local or dask")
    _expect(c.scheduler is None or (isinstance(c.scheduler, str) and bool(SCHEDULER_RE.match(c.scheduler.strip()))),
            where, "compute.scheduler", "must be an address such as tcp://host:8786, or null")
    _expect(_int(c.partition_rows) and c.partition_rows >= 1, where, "compute.partition_rows",
            "must be a positive integer")
    d = cfg.data
    _expect(d.embedding_file is None or (isinstance(d.embedding_file, str) and d.embedding_file), where,
            "data.embedding_file", "must be a file path or null")
    _expect(d.embedding_file is None or d.id_column is not None, where, "data.embedding_file",
            "needs data.id_column: embeddings are matched to rows by id")
    named = [*d.text_columns, *d.feature_columns, *d.image_columns, *d.embedding_columns]
    twice = sorted({c for c in named if named.count(c) > 1})
    _expect(not twice, where, "data", f"names column {twice[:1]} in two of text_columns, feature_columns, "
            "image_columns, embedding_columns")
    _expect(cfg.data.id_column is None or isinstance(cfg.data.id_column, str), where,
            "data.id_column", "must be a column name or null")
    _expect(cfg.validation.path is None or isinstance(cfg.validation.path, str), where,
            "validation.path", "must be a file path or null")
    _expect(isinstance(cfg.validation.label_column, str) and cfg.validation.label_column, where,
            "validation.label_column", "must be a column name")
    lab = cfg.labeling
    _expect(_num(lab.overlap) and 0 <= lab.overlap <= 1, where, "labeling.overlap",
            "must be a number in [0, 1]")
    _expect(_int(lab.overlap_annotators) and lab.overlap_annotators >= 2, where,
            "labeling.overlap_annotators", "must be a whole number >= 2")
    _expect(isinstance(lab.tags, list) and all(isinstance(t, str) for t in lab.tags), where,
            "labeling.tags", "must be a list of words")
    _expect(isinstance(lab.share_twin_labels, bool), where, "labeling.share_twin_labels",
            "must be true or false")
    _expect(lab.consensus in ("latest", "majority", "adjudicated"), where, "labeling.consensus",
            "must be latest, majority or adjudicated")
    _expect(isinstance(lab.show_prediction, bool), where, "labeling.show_prediction",
            "must be true or false")
    _expect(isinstance(lab.display_columns, list) and all(isinstance(c, str) for c in lab.display_columns),
            where, "labeling.display_columns", "must be a list of column names")
    _expect(lab.open_with is None or isinstance(lab.open_with, str), where, "labeling.open_with",
            "must be a viewer command (e.g. 'eog') or null")
    if lab.keys:
        _expect(isinstance(lab.keys, dict), where, "labeling.keys", "must map label -> key")
        lab.keys = {str(k): str(v) for k, v in lab.keys.items()}  # label -> key
        missing = [x for x in labels if x not in lab.keys]
        _expect(not missing, where, "labeling.keys", f"has no key for label {missing[:1]}")
        extra = [k for k in lab.keys if k not in labels]
        _expect(not extra, where, "labeling.keys", f"names unknown label {extra[:1]}")
        keys = list(lab.keys.values())
        _expect(all(len(k) == 1 for k in keys), where, "labeling.keys", "keys must be single characters")
        _expect(len(set(keys)) == len(keys), where, "labeling.keys", "has a key used twice")
        bad = [k for k in keys if k in RESERVED_KEYS]
        _expect(not bad, where, "labeling.keys",
                f"uses reserved key {bad[:1]} (s skip, u undo, n note, ? help, q quit)")


def _extractor(name: Any, kind: str, where: str, fieldname: str) -> None:
    from al_cli.features.registry import EXTRACTORS

    ok = isinstance(name, str) and name in EXTRACTORS and (
        name not in EXTRACTORS.builtins() or EXTRACTORS.get(name).kind == kind)
    _expect(ok, where, fieldname, f"must name a {kind} feature extractor (got {name!r}; al's own: "
            f"{', '.join(n for n, e in EXTRACTORS.builtins().items() if e.kind == kind)})")


def _int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


HEADER = """\
# al project configuration (schema_version {version}).
# Edit freely; every command validates this file and names the field at fault.
#
# data:        the pool (CSV or Parquet), read-only. Paths are relative to this folder.
#   id_column:       null -> ids are derived as 'row<N>' from the row position (stable only
#                    while rows are appended, never inserted or reordered).
#   text_columns:    text features. feature_columns: numeric and categorical columns.
#   image_columns:   paths of images (relative: to the pool file's folder).
#   embedding_columns / embedding_file: your own vectors, in columns or in a file keyed by id.
# labels:      the label set; answer keys default to 1..9 in this order.
# validation:  optional held-out labeled file (same columns + label_column).
# model.name:  {models}
# strategy:    name: {strategies}
#              diversity: {diversity}; random_fraction: share of each batch drawn
#              at random; density: weight by representativeness; cost_column / cost: learned.
# labeling:    keys (label -> key), tags for notes, show_prediction, overlap between annotators
#              (overlap_annotators: how many answer each overlap item).
# compute:     backend local, or dask (scheduler: tcp://host:8786) to score the pool on a cluster.
# task:        classification, or discovery (find the documents of label 'relevant' first).
# features:    extractor per column kind: text {text}; numeric {numeric};
#              categorical {categorical}; image {image}; embedding {embedding};
#              columns: one text or image column -> its own extractor.
"""


def header(version: int) -> str:
    """The comment block of al.yaml, listing the registered parts."""
    from al_cli.features.registry import EXTRACTORS
    from al_cli.models.registry import MODELS
    from al_cli.strategies.registry import DIVERSITY, STRATEGIES

    def kind(k: str) -> str:
        return " | ".join(n for n in EXTRACTORS.names()
                          if n not in EXTRACTORS.builtins() or EXTRACTORS.builtins()[n].kind == k)

    return HEADER.format(version=version, models=" | ".join(MODELS.names()),
                         strategies=" | ".join(STRATEGIES.names()), diversity=" | ".join(DIVERSITY),
                         text=kind("text"), numeric=kind("numeric"), categorical=kind("categorical"),
                         image=kind("image"), embedding=kind("embedding"))


_YAML_BREAKS = ("\x85", "\u2028", "\u2029")  # line breaks to YAML that PyYAML writes raw


def _strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _strings(v)


def dump(cfg: Config) -> str:
    """al.yaml's text. Non-ASCII text is written as is, unless some value holds a character
    YAML reads as a line break (NEL, U+2028, U+2029): PyYAML would write it raw and fold it
    into a space on reading, so then every non-ASCII character is escaped instead."""
    data = cfg.to_dict()
    readable = not any(b in s for s in _strings(data) for b in _YAML_BREAKS)
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=readable)
    return header(cfg.schema_version) + body


MAX_CONFIG_BYTES = 1 << 20  # an al.yaml is a few KB; refuse what no person wrote


class _NoAliasLoader(yaml.SafeLoader):
    """yaml.SafeLoader without aliases: a few lines of '&a [*a, *a, ...]' expand to
    gigabytes (a 'billion laughs'); al.yaml never needs them."""

    def compose_node(self, parent, index):  # noqa: ANN001 - PyYAML's signature
        if self.check_event(yaml.events.AliasEvent):
            mark = self.peek_event().start_mark
            raise _AliasRefused(mark.line + 1)
        return super().compose_node(parent, index)


class _AliasRefused(Exception):
    def __init__(self, line: int):
        super().__init__(line)
        self.line = line


def load(path: Path) -> Config:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES >> 10} KB; is it really al's config?")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid UTF-8 (byte {exc.start}); re-save it as UTF-8") from None
    try:
        raw_cfg = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except _AliasRefused as exc:
        raise ConfigError(f"{path}: line {exc.line}: YAML aliases (*name) are not allowed in al.yaml; "
                          "write the value out") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: invalid YAML{where}") from None
    return from_dict(raw_cfg, where=str(path))
