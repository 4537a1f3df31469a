"""The identity of the pool file and of the feature settings, and what the pool's
features are: no scikit-learn here, so a command that needs only the pool ids (an import)
or a cache check loads nothing heavy."""

from __future__ import annotations

import hashlib
import json
from typing import Callable
from pathlib import Path

FEATURE_FORMAT = 1
DEFAULT_EXTRACTORS = {"text": "tfidf", "numeric": "standard", "categorical": "onehot"}


def feature_config_key(cfg) -> str:
    d = cfg.data
    body = {"format": FEATURE_FORMAT, "id": d.id_column, "text": d.text_columns,
            "features": d.feature_columns}
    extractors = {k: getattr(cfg.features, k) for k in ("text", "numeric", "categorical")}
    if extractors != DEFAULT_EXTRACTORS:  # keys of al 0.1.0 projects stay as they were
        body["extractors"] = extractors
    # what came later counts only where it is used: the keys of older projects stay
    if d.image_columns:
        body["images"] = [d.image_columns, cfg.features.image]
    if d.embedding_columns or d.embedding_file:
        body["embeddings"] = [d.embedding_columns, d.embedding_file, cfg.features.embedding]
    if cfg.features.columns:
        body["columns"] = cfg.features.columns
    payload = json.dumps(body, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


SAMPLE_BLOCKS = 64
BLOCK = 4096


def content_sample(path: Path, size: int) -> str:
    """sha256 of the file's first and last 64 KB and 64 blocks spread between them: an
    edit that keeps the size and the modification time is still noticed (almost always),
    at the cost of reading ~400 KB, whatever the file's size."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        if size <= 2 * 65536 + SAMPLE_BLOCKS * BLOCK:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
            return h.hexdigest()[:16]
        h.update(fh.read(65536))
        step = (size - 2 * 65536) // SAMPLE_BLOCKS
        for i in range(SAMPLE_BLOCKS):
            fh.seek(65536 + i * step)
            h.update(fh.read(BLOCK))
        fh.seek(size - 65536)
        h.update(fh.read(65536))
    return h.hexdigest()[:16]


def pool_file_key(path: Path) -> str:
    """The identity of the pool file as the feature cache knows it: path, size, mtime and
    a sample of its content."""
    st = Path(path).stat()
    return f"{Path(path).resolve()}|{st.st_size}|{st.st_mtime_ns}|{content_sample(path, st.st_size)}"


def feature_settings(proj) -> str:
    """The feature settings and, when there is one, the embedding file's identity."""
    out = feature_config_key(proj.config)
    emb = proj.config.data.embedding_file
    if emb:
        path = proj.root / emb
        out += "|" + (pool_file_key(path) if path.exists() else "missing:" + str(path))
    return out


def feature_stamp(proj) -> str:
    """What the pool's cached features depend on: the pool file and the settings."""
    return pool_file_key(proj.pool_path) + "|" + feature_settings(proj)


class PoolFeatures:
    """The pool's features: ids (str, pool order), X (float32 ndarray or CSR), the fitted
    transform, its key (pool content + config), the row count, and whether they came from
    cache/. ``transformer`` may be given as a zero-argument loader, called on first use
    (scoring with a saved model never needs the transform, nor the libraries it imports)."""

    def __init__(self, ids, X, transformer, key: str, n_rows: int, cached: bool = False,
                 load_transformer: Callable[[], object] | None = None):
        self.ids = ids  # a numpy array of str, or pyarrow strings (turned into one on first use)
        self.X = X
        self._transformer = transformer
        self._load = load_transformer
        self.key = key
        self.n_rows = n_rows
        self.cached = cached

    @property
    def ids(self):
        """The ids, a read-only numpy array of str (made from the pyarrow strings on first use)."""
        if self._ids is None:
            self._ids = self._arrow.to_numpy(zero_copy_only=False).astype(object, copy=False)
            self._ids.setflags(write=False)
        return self._ids

    @ids.setter
    def ids(self, value) -> None:
        if type(value).__module__.startswith("pyarrow"):
            self._arrow, self._ids = value, None
        else:
            self._ids, self._arrow = value, None

    @property
    def has_id_array(self) -> bool:
        """Whether the numpy array of ids is made already (else :attr:`ids` makes it)."""
        return self._ids is not None

    @property
    def arrow_ids(self):
        """The ids as pyarrow strings."""
        if self._arrow is None:
            import pyarrow as pa

            self._arrow = pa.array(self._ids, type=pa.large_string())
        return self._arrow

    @property
    def transformer(self):
        if self._load is not None:
            self._transformer, self._load = self._load(), None
        return self._transformer
