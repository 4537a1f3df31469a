"""The latest model applied to the pool: its feature matrix and probabilities."""

from __future__ import annotations

from typing import Any

import numpy as np

from al_cli.commands.snapshot import Snapshot
from al_cli.features.transform import transform
from al_cli.models.fitting import predict_proba
from al_cli.report import warn
from al_cli.store.pool import read_pool

SCORE_CHUNK = 100_000


def model_matrix(snap: Snapshot, bundle: dict[str, Any]):
    """The pool's features as the model saw them (re-transformed if the pool changed)."""
    pf = snap.features
    if bundle["feature_key"] == pf.key:
        return pf.X
    warn("the pool or its feature settings changed since this model was trained; using the "
         "model's own feature transform (run 'al retrain' to learn from the new rows' vocabulary)")
    df, _ = read_pool(snap.proj)
    return transform(bundle["transformer"], df, snap.cfg, str(snap.proj.pool_path))


PROGRESS_ROWS = 100_000  # fewer rows than this are scored too fast for a bar


def predict_proba_chunked(bundle: dict[str, Any], X, rows: np.ndarray | None = None) -> np.ndarray:
    """Probabilities of ``X`` (of its ``rows`` when given, taken a chunk at a time: no copy
    of the whole selection)."""
    from al_cli.report import progress

    out = []
    n = X.shape[0] if rows is None else len(rows)
    with progress(n if n >= PROGRESS_ROWS else 0, f"predicting {n:,} rows") as advance:
        for start in range(0, n, SCORE_CHUNK):
            part = X[start:start + SCORE_CHUNK] if rows is None else X[rows[start:start + SCORE_CHUNK]]
            out.append(predict_proba(bundle["model_name"], bundle["estimator"], part))
            advance(min(SCORE_CHUNK, n - start))
    if not out:
        return np.zeros((0, len(bundle["classes"])))
    return np.vstack(out)


def predict_labels(bundle: dict[str, Any], X) -> np.ndarray:
    proba = predict_proba_chunked(bundle, X)
    return np.asarray(bundle["classes"], dtype=object)[proba.argmax(axis=1)]
