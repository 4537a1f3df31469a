"""The latest model applied to the pool: its feature matrix and probabilities."""

from __future__ import annotations

from typing import Any

import numpy as np

from al_cli.commands.proba import PROGRESS_ROWS, SCORE_CHUNK, predict_proba_chunked  # noqa: F401 - re-exported
from al_cli.commands.snapshot import Snapshot
from al_cli.report import warn
from al_cli.store.pool import read_pool


def model_matrix(snap: Snapshot, bundle: dict[str, Any]):
    """The pool's features as the model saw them (re-transformed if the pool changed)."""
    pf = snap.features
    if bundle["feature_key"] == pf.key:
        return pf.X
    from al_cli.features.transform import transform

    warn("the pool or its feature settings changed since this model was trained; using the "
         "model's own feature transform (run 'al retrain' to learn from the new rows' vocabulary)")
    df, _ = read_pool(snap.proj)
    return transform(bundle["transformer"], df, snap.cfg, str(snap.proj.pool_path))


def predict_labels(bundle: dict[str, Any], X) -> np.ndarray:
    proba = predict_proba_chunked(bundle, X)
    return np.asarray(bundle["classes"], dtype=object)[proba.argmax(axis=1)]
