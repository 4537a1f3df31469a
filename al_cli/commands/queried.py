"""queried.csv: what the model said of each row when ``al query`` queued it (its
prediction, confidence and what drove it), so that ``al explain`` can tell later which
answers corrected the model, and why it was confused."""

from __future__ import annotations

import numpy as np
import pandas as pd

from al_cli.commands.modeling import model_matrix, predict_proba_chunked
from al_cli.commands.snapshot import Snapshot
from al_cli.reports import drivers as drv
from al_cli.store import now_iso


def records(snap: Snapshot, ids: list[str], purposes: list[str]) -> pd.DataFrame | None:
    """One queried.csv row per id (pool ids); None before the first model."""
    if snap.latest_version is None or not ids:
        return None
    version, bundle, _ = snap.model
    pos, found = snap.positions_of(np.asarray(ids, dtype=object))
    ids = [i for i, f in zip(ids, found) if f]
    purposes = [p for p, f in zip(purposes, found) if f]
    if not len(pos):
        return None
    X = model_matrix(snap, bundle)
    proba = predict_proba_chunked(bundle, X[pos])
    classes = np.asarray(bundle["classes"], dtype=object)
    order = np.argsort(-proba, axis=1, kind="stable")
    pred, other = order[:, 0], order[:, 1] if proba.shape[1] > 1 else order[:, 0]
    W = drv.linear_weights(bundle["estimator"])
    if W is not None and W.shape == (len(classes), X.shape[1]):
        names, numeric = drv.feature_info(bundle["transformer"], X.shape[1])
        why = [drv.encode(d) for d in drv.linear_drivers(W, X, pos, pred, other, names, numeric)]
    else:
        tpos, y, eff, _ = snap.training
        why = [drv.encode(d) for d in drv.nearest_labeled(X, pos, tpos, y, eff["id"].to_numpy(dtype=object))]
    return pd.DataFrame({
        "id": ids, "round": snap.round, "purpose": purposes, "model_version": version,
        "predicted": classes[pred], "confidence": np.round(proba[np.arange(len(pos)), pred], 6),
        "drivers": why, "time": now_iso(),
    })
