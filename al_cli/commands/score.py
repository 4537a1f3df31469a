"""``al score``: every unlabeled row scored by the latest model, into scores.csv."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from al_cli.commands.scoring import SCORES_MANIFEST, PoolScorer, quantise, state_key, written_columns
from al_cli.commands.snapshot import Snapshot
from al_cli.errors import ProjectError
from al_cli.store import Project, atomic_write_csv, atomic_write_json, now_iso
from al_cli.strategies.registry import UNCERTAINTY_COLUMNS

SCORES_FORMAT = 1


@dataclass
class ScoreResult:
    model_version: int
    n_scored: int
    path: str
    features_cached: bool
    predicted_counts: dict[str, int]
    mean_entropy: float
    extra_scores: list[str] = field(default_factory=list)


def score(proj: Project) -> ScoreResult:
    snap = Snapshot(proj)
    version, bundle, _ = snap.model
    rows = np.flatnonzero(snap.available)
    if len(rows) == 0:
        raise ProjectError("every pool row is labeled: nothing left to score")
    scorer = PoolScorer(snap, rows)
    proba = scorer.proba
    classes = np.asarray(bundle["classes"], dtype=object)
    top = proba.argmax(axis=1)
    out = pd.DataFrame({
        "id": snap.features.ids[rows],
        "predicted": classes[top],
        "confidence": quantise(proba[np.arange(len(rows)), top]),
    })
    for name in UNCERTAINTY_COLUMNS:
        out[name] = scorer.score(name)
    extra = written_columns(snap)
    for name in extra:
        out[name] = scorer.score(name)
    for j, c in enumerate(classes):
        out[f"p_{c}"] = quantise(proba[:, j])
    out["model_version"] = version
    key = state_key(snap)
    from al_cli.report import busy

    with proj.lock(), busy(f"writing {proj.scores_path.name}", len(out) >= 100_000):
        atomic_write_csv(proj.scores_path, out)
        atomic_write_json(proj.cache_dir / SCORES_MANIFEST,
                          {"format": SCORES_FORMAT, "key": key, "model_version": version,
                           "columns": [*UNCERTAINTY_COLUMNS, *extra], "created": now_iso()})
    pred = pd.Series(out["predicted"]).value_counts()
    return ScoreResult(version, len(rows), str(proj.scores_path), snap.features.cached,
                       {str(k): int(v) for k, v in pred.items()}, float(out["entropy"].mean()), extra)
