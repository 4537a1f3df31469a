"""What ``al seed`` and ``al query`` return, and the rows a new batch keeps queued."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from al_cli.store.project import QUEUE_BASE_COLUMNS


@dataclass
class BatchResult:
    ids: list[str]
    path: str
    strategy: str
    n_audit: int = 0
    features_cached: bool = False
    explain: list[dict[str, Any]] = field(default_factory=list)
    replaced: int = 0
    n_overlap: int = 0  # overlap items short of labeling.overlap_annotators, kept queued
    n_recall_sample: int = 0  # unanswered recall-sample documents kept queued (discovery)
    auto: dict[str, Any] | None = None  # strategy auto: what it decided this round and why


def overlap_kept(snap) -> pd.DataFrame:
    """The rows of the current queue a new batch keeps: overlap items answered by fewer
    annotators than ``labeling.overlap_annotators`` (issue 10), so they reach their target."""
    q = snap.queue
    short = set(snap.overlap_short())
    if not short:
        return pd.DataFrame(columns=QUEUE_BASE_COLUMNS)
    keep = q[q["id"].isin(short).to_numpy() & ~snap.adjudicate_rows].drop_duplicates("id")
    return keep[[c for c in QUEUE_BASE_COLUMNS if c in keep.columns]].reset_index(drop=True)
