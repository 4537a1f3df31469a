"""``al suspects``: labeled items ranked by how likely their label is wrong, from
out-of-fold probabilities of the configured model (confident learning; see
al_cli.reports.suspects). ``--export FILE`` writes the top ones as a batch file to
answer again (``al label --import``), for a second look."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from al_cli.commands.evaluate import out_of_fold
from al_cli.commands.snapshot import Snapshot
from al_cli.reports.suspects import rank
from al_cli.store import Project


@dataclass
class SuspectsResult:
    n_checked: int  # training labels checked
    n_issues: int  # labels confident learning counts as probably wrong
    suspects: list[dict[str, Any]] = field(default_factory=list)  # the top ones, most suspect first
    folds: int = 0


def suspects(proj: Project, *, top: int = 20) -> SuspectsResult:
    snap = Snapshot(proj)
    y, proba, classes, ids = out_of_fold(snap, "cannot look for suspect labels:",
                                         "label more rows first")
    code = {c: i for i, c in enumerate(classes)}
    yi = np.array([code[v] for v in y])
    order, issue, suggested = rank(proba, yi)
    notes = snap.consensus.answered.drop_duplicates("id", keep="last").set_index("id")
    who = snap.labels.set_index("id")["annotator"]
    out = []
    for i in order[:top]:
        item = str(ids[i])
        note = notes["note"].get(item, "") if "note" in notes else ""
        out.append({"id": item, "label": str(y[i]), "suggested": str(classes[suggested[i]]),
                    "self_confidence": round(float(proba[i, yi[i]]), 6),
                    "suggested_confidence": round(float(proba[i, suggested[i]]), 6),
                    "issue": bool(issue[i]), "annotator": str(who.get(item, "")),
                    "note": note if isinstance(note, str) else ""})
    _, counts = np.unique(y, return_counts=True)
    return SuspectsResult(int(len(y)), int(issue.sum()), out, int(min(5, counts.min())))


def frame(res: SuspectsResult) -> pd.DataFrame:
    return pd.DataFrame(res.suspects, columns=["id", "label", "suggested", "self_confidence",
                                               "suggested_confidence", "issue", "annotator", "note"])
