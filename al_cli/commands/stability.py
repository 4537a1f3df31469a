"""Two measures behind the cost-aware stopping rules: the minutes of labeling behind each
model, and how much successive models agree on a fixed stop set (Bloodgood &
Vijay-Shanker 2009, "A method for stopping active learning based on stabilizing
predictions and the need for user-adjustable stopping")."""

from __future__ import annotations

import numpy as np
import pandas as pd

from al_cli.commands.modeling import predict_proba_chunked
from al_cli.commands.snapshot import Snapshot

STOP_SET = 2000  # rows: B&V used a few thousand unlabeled examples


def minutes_behind(snap: Snapshot, versions: list[int]) -> list[float]:
    """Per model version: minutes annotators spent (answers and skips, from labels.csv
    ``seconds``) before it was fitted, i.e. in rounds before ``version``. Imports carry no
    time."""
    log = snap.log.frame
    if log.empty:
        return [0.0 for _ in versions]
    secs = pd.to_numeric(log["seconds"], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    rounds = pd.to_numeric(log["round"], errors="coerce").fillna(0).to_numpy(dtype=float)
    return [round(float(secs[rounds < v].sum()) / 60.0, 3) for v in versions]


def stop_set(snap: Snapshot) -> np.ndarray:
    """A fixed sample of pool positions: the first STOP_SET of a permutation seeded by
    ``random_state`` (the same rows every evaluation while the pool keeps its size)."""
    n = snap.n_rows
    perm = snap.stream("stopset", n).permutation(n)
    return np.sort(perm[:STOP_SET])


def stability_kappa(snap: Snapshot, version: int, bundle: dict) -> float | None:
    """Cohen's kappa between the predictions of model ``version`` and of the version before
    it on the stop set; None for the first model, or when the two were fitted on different
    pool features."""
    from sklearn.metrics import cohen_kappa_score

    from al_cli.store.modelstore import LegacyModelError

    prev = version - 1
    if prev < 1 or not snap.proj.model_paths(prev)[1].exists():
        return None
    try:
        old, _ = snap.proj.load_model(prev, snap.trusted)
    except LegacyModelError:
        return None
    pf = snap.features
    if old.get("feature_key") != pf.key or bundle.get("feature_key") != pf.key:
        return None
    rows = stop_set(snap)
    X = pf.X[rows]
    a = np.asarray(old["classes"], dtype=object)[predict_proba_chunked(old, X).argmax(axis=1)]
    b = np.asarray(bundle["classes"], dtype=object)[predict_proba_chunked(bundle, X).argmax(axis=1)]
    if (a == b).all():
        return 1.0
    k = cohen_kappa_score(a.astype(str), b.astype(str))
    return None if k != k else round(float(k), 4)
