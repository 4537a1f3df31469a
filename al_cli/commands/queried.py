"""queried.csv: what the model said of each row when ``al query`` queued it (its
prediction, confidence and what drove it), so that ``al explain`` can tell later which
answers corrected the model, and why it was confused."""

from __future__ import annotations

import numpy as np
import pandas as pd

from al_cli.commands.modeling import model_matrix
from al_cli.commands.proba import predict_proba_chunked
from al_cli.models.head import of_estimator
from al_cli.commands.snapshot import Snapshot
from al_cli.reports import drivers as drv
from al_cli.store import now_iso


def records(snap: Snapshot, ids: list[str], purposes: list[str]) -> pd.DataFrame | None:
    """One queried.csv row per id (pool ids); None before the first model."""
    if snap.latest_version is None or not ids:
        return None
    version = snap.require_model()
    pos, found = snap.positions_of(np.asarray(ids, dtype=object))
    ids = [i for i, f in zip(ids, found) if f]
    purposes = [p for p, f in zip(purposes, found) if f]
    if not len(pos):
        return None
    head = snap.head
    if head is not None and head.feature_key == snap.pool_key and head.names is not None:
        X = snap.features.X  # a linear model's head has all this takes: no model loaded
        proba, classes = predict_proba_chunked(head, X[pos]), head.classes
        W, names, numeric = head.weights(), head.names, head.numeric
    else:
        _, bundle, _ = snap.model
        X = model_matrix(snap, bundle)
        proba, classes = predict_proba_chunked(bundle, X[pos]), np.asarray(bundle["classes"], dtype=object)
        own = of_estimator(bundle["estimator"])  # a linear model: the weights its head gives
        W = own.weights() if own is not None else drv.linear_weights(bundle["estimator"])
        names, numeric = (drv.feature_info(bundle["transformer"], X.shape[1]) if W is not None
                          and W.shape == (len(classes), X.shape[1]) else (None, None))
    order = np.argsort(-proba, axis=1, kind="stable")
    pred, other = order[:, 0], order[:, 1] if proba.shape[1] > 1 else order[:, 0]
    if W is not None and names is not None and W.shape == (len(classes), X.shape[1]):
        why = [drv.encode(d) for d in drv.linear_drivers(W, X, pos, pred, other, names, numeric)]
    else:
        tpos, y, eff, _ = snap.training
        why = [drv.encode(d) for d in drv.nearest_labeled(X, pos, tpos, y, eff["id"].to_numpy(dtype=object))]
    return pd.DataFrame({
        "id": ids, "round": snap.round, "purpose": purposes, "model_version": version,
        "predicted": classes[pred], "confidence": np.round(proba[np.arange(len(pos)), pred], 6),
        "drivers": why, "time": now_iso(),
    })
