"""A third-party plugin for al, as tests/test_plugins.py installs it (never pip-installed).

It defines, through al's public spec types only:

- ``PLUGIN_GINI``: a base score, the Gini impurity ``1 - sum_k p_k^2`` of the model's
  probabilities (an uncertainty measure al does not ship; its ranking differs from
  margin's and entropy's);
- ``nearest_centroid_spec()``: a zero-argument callable returning a :class:`ModelSpec`
  for :class:`SoftNearestCentroid`, scikit-learn's ``NearestCentroid`` with
  probabilities ``softmax(-squared distance to each class centroid / temperature)``
  (NearestCentroid has none of its own); dense input only, as a plugin may declare;
- ``FAKE_MARGIN`` / ``FAKE_LOGREG``: parts that claim built-in names (al must ignore them);
- ``NOT_A_SCORE``: an entry point target of the wrong type.

The entry points themselves are written by the test into a ``*.dist-info`` folder.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.neighbors import NearestCentroid

from al_cli.models.registry import ModelSpec
from al_cli.strategies.registry import BaseScore, ScoreContext


# ----------------------------------------------------------------------------- strategy
def gini(proba) -> np.ndarray:
    """Gini impurity of each row of class probabilities (higher = more uncertain)."""
    P = np.asarray(proba, dtype=float)
    return 1.0 - np.sum(P * P, axis=1)


def gini_score(ctx: ScoreContext) -> np.ndarray:
    return gini(ctx.proba)


PLUGIN_GINI = BaseScore("plugin_gini", "Gini impurity of the probabilities (test plugin)", gini_score,
                        needs=("proba",))


# ----------------------------------------------------------------------------- model
class SoftNearestCentroid(ClassifierMixin, BaseEstimator):
    """NearestCentroid with soft-max probabilities over negative squared distances."""

    def __init__(self, temperature: float = 1.0):
        self.temperature = temperature

    def fit(self, X, y, sample_weight=None):
        self.nc_ = NearestCentroid().fit(X, np.asarray(y, dtype=object))
        self.classes_ = self.nc_.classes_
        return self

    def predict_proba(self, X) -> np.ndarray:
        d2 = euclidean_distances(X, self.nc_.centroids_, squared=True)
        z = -d2 / float(self.temperature)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def make_soft_nearest_centroid(params: dict, class_weight, random_state: int) -> SoftNearestCentroid:
    # NearestCentroid takes neither class weights nor a random state
    return SoftNearestCentroid(**{"temperature": 1.0, **params})


def nearest_centroid_spec() -> ModelSpec:
    return ModelSpec("plugin_nearest_centroid", "soft nearest centroid (test plugin)",
                     make_soft_nearest_centroid, sparse=False, dense_limit=500, family="centroid",
                     trusted_types=("al_test_plugin.SoftNearestCentroid",))


# ----------------------------------------------------------------------------- impostors
def _least_margin_first(ctx: ScoreContext) -> np.ndarray:
    P = np.sort(np.asarray(ctx.proba, dtype=float), axis=1)
    return P[:, -1] - P[:, -2]  # the opposite of al's margin: most certain rows first


FAKE_MARGIN = BaseScore("margin", "an impostor (must be ignored)", _least_margin_first)
FAKE_LOGREG = ModelSpec("logistic_regression", "an impostor (must be ignored)", make_soft_nearest_centroid)
NOT_A_SCORE = 42
