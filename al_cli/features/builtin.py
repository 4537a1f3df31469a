"""al's own feature extractors (see :mod:`al_cli.features.registry`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline


class TextJoiner(BaseEstimator, TransformerMixin):
    """Joins one or more text columns into one string per row (missing -> '')."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        frame = pd.DataFrame(X)
        return frame.fillna("").astype(str).agg(" \n ".join, axis=1).to_numpy()


class CompactTfidf(TfidfVectorizer):
    """TfidfVectorizer whose saved state keeps the vocabulary as two arrays (the terms'
    UTF-8 bytes and their offsets) instead of a dict of 100,000s of entries, and drops
    ``stop_words_`` (kept by scikit-learn for introspection only). Saved with skops it
    loads in milliseconds instead of seconds; pickles shrink too."""

    def fit_transform(self, raw_documents, y=None):
        """As TfidfVectorizer's; when ``min_df``/``max_df`` would prune every term (the same
        few words in nearly every row), every term is kept instead of failing."""
        try:
            return super().fit_transform(raw_documents, y)
        except ValueError as exc:
            if "no terms remain" not in str(exc):
                raise
            self.set_params(min_df=1, max_df=1.0)
            return super().fit_transform(raw_documents, y)

    def fit(self, raw_documents, y=None):
        self.fit_transform(raw_documents, y)
        return self

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("stop_words_", None)
        vocab = state.pop("vocabulary_", None)
        if vocab is not None:
            terms = [""] * len(vocab)
            for term, i in vocab.items():
                terms[i] = term
            encoded = [t.encode("utf-8") for t in terms]
            state["terms_bytes_"] = np.frombuffer(b"".join(encoded), dtype=np.uint8).copy()
            state["terms_offsets_"] = np.cumsum([0, *map(len, encoded)]).astype(np.int64)
        return state

    def __setstate__(self, state):
        state = dict(state)
        blob, offsets = state.pop("terms_bytes_", None), state.pop("terms_offsets_", None)
        if blob is not None and offsets is not None:
            raw = np.asarray(blob, dtype=np.uint8).tobytes()
            off = np.asarray(offsets).tolist()
            state["vocabulary_"] = {raw[a:b].decode("utf-8"): i for i, (a, b) in enumerate(zip(off, off[1:]))}
        super().__setstate__(state)


class SaturatedTfidf(CompactTfidf):
    """CompactTfidf (sublinear tf, rows of unit length) whose rows give a share
    (:attr:`presence_share`) of their weight to the presence of each term: a row is
    ``(1 - s)`` times its sublinear TF-IDF row plus ``s`` times its binary TF-IDF row (each
    term's idf, the row scaled to unit length), scaled to unit length again. A term used
    five times weighs less against one used once than under ``1 + log(tf)``, by an amount
    between that and presence alone. Same terms, same sparsity, same cost as ``tfidf_all``.
    The share is a class attribute, not a parameter: benchmarks/README.md (Discovery) says
    how it was chosen."""

    presence_share = 0.15

    def fit_transform(self, raw_documents, y=None):
        return self._saturate(super().fit_transform(raw_documents, y))

    def transform(self, raw_documents):
        return self._saturate(super().transform(raw_documents))

    def _saturate(self, X):
        from sklearn.preprocessing import normalize

        X = X.tocsr()
        presence = X.copy()
        presence.data = np.asarray(self.idf_, dtype=X.dtype)[presence.indices]
        s = float(self.presence_share)
        out = normalize((1.0 - s) * X + s * normalize(presence, copy=False), copy=False)
        return out.astype(X.dtype, copy=False)


def tfidf(n_rows: int, *, min_df: int | None = None, max_features: int = 200_000, cls=None):
    return Pipeline([
        ("join", TextJoiner()),
        ("tfidf", (cls or CompactTfidf)(
            sublinear_tf=True,
            strip_accents="unicode",
            ngram_range=(1, 2),
            min_df=min_df if min_df is not None else (2 if n_rows >= 200 else 1),
            max_df=0.95 if n_rows >= 200 else 1.0,
            max_features=max_features,
            dtype=np.float32,
        )),
    ])


def tfidf_all(n_rows: int):
    """TF-IDF that keeps terms seen in one document only (up to 500,000 terms, the most
    frequent first). In discovery they helped: replaying ASReview's default model on the
    Nagtegaal 2019 screening set (6 seeds), WSS@95 was 0.737 with them and 0.696 with
    ``tfidf``. A term of one document cannot be learned from, but it weighs in that
    document's length normalisation."""
    return tfidf(n_rows, min_df=1, max_features=500_000)


def tfidf_saturated(n_rows: int):
    """:func:`tfidf_all` whose rows give 15% of their weight to term presence
    (:class:`SaturatedTfidf`): the discovery default. On the two screening sets of
    benchmarks/README.md it found 95% of the relevant documents with less reading than
    ``tfidf_all`` on Nagtegaal 2019 and than ASReview's default on both."""
    return tfidf(n_rows, min_df=1, max_features=500_000, cls=SaturatedTfidf)


def standard(n_rows: int):
    from sklearn.preprocessing import StandardScaler

    return Pipeline([
        ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
        ("scale", StandardScaler()),
    ])


def onehot(n_rows: int):
    from sklearn.preprocessing import OneHotEncoder

    return Pipeline([
        ("impute", SimpleImputer(strategy="constant", fill_value="(missing)")),
        ("onehot", OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=50,
                                 dtype=np.float32)),
    ])
