"""A model's probabilities over many rows, a chunk at a time, with no scikit-learn import of
its own (a linear model's head computes them in numpy: :mod:`al_cli.models.head`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from al_cli.models.apply import predict_proba
from al_cli.models.head import Head

SCORE_CHUNK = 100_000
PROGRESS_ROWS = 100_000  # fewer rows than this are scored too fast for a bar


def predict_proba_chunked(model: dict[str, Any] | Head, X, rows: np.ndarray | None = None) -> np.ndarray:
    """Probabilities of ``X`` (of its ``rows`` when given, taken a chunk at a time: no copy
    of the whole selection) under ``model``: a model bundle, or a model's head."""
    from al_cli.report import progress

    if isinstance(model, Head):
        name, est, n_classes = model.model_name, model, len(model.classes)
    else:
        name, est, n_classes = model["model_name"], model["estimator"], len(model["classes"])
    if rows is not None and len(rows) >= 0.5 * X.shape[0]:
        # most of the pool: every row in slices (no gathered copies), then the rows wanted
        return predict_proba_chunked(model, X)[np.asarray(rows)]
    n = X.shape[0] if rows is None else len(rows)
    out = np.empty((n, n_classes))
    with progress(n if n >= PROGRESS_ROWS else 0, f"predicting {n:,} rows") as advance:
        for start in range(0, n, SCORE_CHUNK):
            part = X[start:start + SCORE_CHUNK] if rows is None else X[rows[start:start + SCORE_CHUNK]]
            out[start:start + SCORE_CHUNK] = predict_proba(name, est, part)
            advance(min(SCORE_CHUNK, n - start))
    return out
