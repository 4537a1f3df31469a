"""al's own feature extractors (see :mod:`al_cli.features.registry`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline


class TextJoiner(BaseEstimator, TransformerMixin):
    """Joins one or more text columns into one string per row (missing -> '')."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        frame = pd.DataFrame(X)
        return frame.fillna("").astype(str).agg(" \n ".join, axis=1).to_numpy()


def tfidf(n_rows: int):
    from sklearn.feature_extraction.text import TfidfVectorizer

    return Pipeline([
        ("join", TextJoiner()),
        ("tfidf", TfidfVectorizer(
            sublinear_tf=True,
            strip_accents="unicode",
            ngram_range=(1, 2),
            min_df=2 if n_rows >= 200 else 1,
            max_df=0.95 if n_rows >= 200 else 1.0,
            max_features=200_000,
            dtype=np.float32,
        )),
    ])


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
