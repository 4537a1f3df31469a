"""``al query --adjudicate``: the items in conflict that ``labeling.consensus`` leaves
unresolved, queued for an adjudicator (``al label --adjudicate``, issue 10).

Like ``al query`` it replaces the unanswered batch, and keeps the unanswered audit rows and
the overlap items short of their annotators. With nothing unresolved it changes nothing.
"""

from __future__ import annotations

import pandas as pd

from al_cli.commands.batch import BatchResult, overlap_kept
from al_cli.commands.snapshot import Snapshot
from al_cli.store import Project

PURPOSE = "adjudicate"


def queue_adjudication(proj: Project) -> BatchResult:
    snap = Snapshot(proj)
    ids = list(dict.fromkeys(snap.consensus.unresolved))
    if not ids:  # nothing to adjudicate: the batch stays as it is
        return BatchResult([], str(proj.queue_path), PURPOSE)
    pending = snap.pending
    audit_left = snap.pending_audit()
    kept = overlap_kept(snap)
    frames = [pd.DataFrame({"id": ids, "purpose": PURPOSE, "round": snap.round, "strategy": PURPOSE}), kept,
              pd.DataFrame({"id": audit_left, "purpose": "audit", "round": snap.round, "strategy": "audit:random"})]
    q = pd.concat([f for f in frames if len(f)], ignore_index=True)
    with proj.lock():
        proj.write_queue(q)
    replaced = int((pending["purpose"] != "audit").sum()) if "purpose" in pending else len(pending)
    return BatchResult(ids + kept["id"].tolist() + audit_left, str(proj.queue_path), PURPOSE,
                       len(audit_left), replaced=replaced, n_overlap=len(kept))
