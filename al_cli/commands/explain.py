"""``al explain``: where the people corrected the model, and why it was confused.

A correction is an answered row whose current label differs from what the model predicted
when ``al query`` queued it (queried.csv). The report groups them by round, class,
confusion pair, the annotators' #tags and note words, and the features that drove the
wrong predictions (see al_cli.reports.explain)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from al_cli.commands.export import labeled_set
from al_cli.commands.snapshot import Snapshot
from al_cli.reports.explain import explain as analyse
from al_cli.store import Project


@dataclass
class ExplainResult:
    n_checked: int
    n_corrected: int
    correction_rate: float
    by_round: list[dict[str, Any]] = field(default_factory=list)
    by_class: list[dict[str, Any]] = field(default_factory=list)
    pairs: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)
    note_words: list[dict[str, Any]] = field(default_factory=list)
    drivers: list[dict[str, Any]] = field(default_factory=list)
    corrections: list[dict[str, Any]] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    mean_confidence_corrected: float | None = None
    n_answered_unchecked: int = 0  # answered rows without a recorded prediction (seed, before a model)


def checked_frame(snap: Snapshot) -> tuple[pd.DataFrame, int]:
    """(one row per answered row with a recorded prediction, answered rows without one)."""
    answered = labeled_set(snap)
    rec = snap.proj.read_queried()
    rec = rec[rec["predicted"].astype(str).str.len() > 0].drop_duplicates("id", keep="last")
    frame = answered.merge(rec[["id", "round", "predicted", "confidence", "drivers"]].rename(
        columns={"round": "queried_round"}), on="id", how="inner")
    frame = pd.DataFrame({
        "id": frame["id"], "true": frame["label"].astype(str), "predicted": frame["predicted"].astype(str),
        "confidence": pd.to_numeric(frame["confidence"], errors="coerce"),
        "round": pd.to_numeric(frame["queried_round"], errors="coerce").fillna(0).astype(int),
        "purpose": frame["purpose"], "note": frame["note"].fillna(""), "tags": frame["tags"].fillna(""),
        "drivers": frame["drivers"].fillna("").astype(str),
    })
    return frame, len(answered) - len(frame)


def explain(proj: Project) -> ExplainResult:
    snap = Snapshot(proj)
    frame, unchecked = checked_frame(snap)
    return ExplainResult(**analyse(frame), n_answered_unchecked=unchecked)
