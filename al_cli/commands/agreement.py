"""``al agreement``: how far annotators agree on the items several of them answered, per
pair and overall, and who drifts or stands apart (see al_cli.reports.agreement)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from al_cli.commands.snapshot import Snapshot
from al_cli.reports import agreement as ag
from al_cli.store import Project


@dataclass
class AgreementResult:
    items: int  # items answered by two or more annotators
    annotators: list[dict[str, Any]] = field(default_factory=list)
    pairs: list[dict[str, Any]] = field(default_factory=list)
    fleiss_kappa: float | None = None
    fleiss_kappa_ci: list[float] | None = None
    krippendorff_alpha: float | None = None
    krippendorff_alpha_ci: list[float] | None = None
    categories: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)
    consensus: str = "latest"


def agreement(proj: Project) -> AgreementResult:
    snap = Snapshot(proj)
    ans = snap.consensus.answered
    ans = ans[ans["label"].isin(snap.cfg.labels)]
    rng = snap.stream("agreement", len(ans))
    multi_ids = ans.groupby("id")["annotator"].nunique()
    shared = ans[ans["id"].isin(set(multi_ids[multi_ids >= 2].index))]
    if shared.empty:
        return AgreementResult(0, ag.per_annotator(ans, snap.log.frame) if len(ans) else [],
                               consensus=snap.cfg.labeling.consensus)
    tot = ag.overall(shared, rng)
    people = ag.per_annotator(ans, snap.log.frame)
    return AgreementResult(tot["items"], people, ag.pairwise(shared, rng), tot["fleiss_kappa"],
                           tot["fleiss_kappa_ci"], tot["krippendorff_alpha"], tot["krippendorff_alpha_ci"],
                           tot["categories"], [p["annotator"] for p in people if p["flagged"]],
                           snap.cfg.labeling.consensus)
