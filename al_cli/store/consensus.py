"""The current label of each item when several annotators answer it (issue 10).

Each annotator's latest answer per item counts. A ``retracted`` row undoes the same
annotator's previous row for the item: their answer, or their adjudication (a retraction
of a skip leaves their earlier answer standing).
Items whose annotators' answers differ are *in conflict*. The rule in ``al.yaml``
(``labeling.consensus``) says which label is current:

- ``latest``: the most recent answer wins (al's rule before 0.2);
- ``majority``: the label most annotators gave; a tie is unresolved;
- ``adjudicated``: an item in conflict is unresolved until adjudicated.

An adjudication (a ``labels.csv`` row with status ``adjudicated``) settles its item under
every rule. Unresolved items have no current label: they are left out of training and
listed, until someone adjudicates them (``al label --adjudicate``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

RULES = ("latest", "majority", "adjudicated")


def is_overlap(item_id: str, fraction: float) -> bool:
    """Whether ``item_id`` is in the overlap share (``labeling.overlap``: answered by
    ``labeling.overlap_annotators`` annotators, not one).

    Deterministic and independent of the batch: ``sha256(id)`` read as a number in
    [0, 1) below ``fraction``. The agreement report can recompute it from the id alone.
    """
    if fraction <= 0:
        return False
    if fraction >= 1:
        return True
    h = int.from_bytes(hashlib.sha256(str(item_id).encode("utf-8")).digest()[:8], "big")
    return h / 2**64 < fraction


@dataclass
class Consensus:
    labels: Any      # DataFrame id, label, annotator: the current label of each settled item
    conflicts: Any   # DataFrame id, labels ("a; b"), n_annotators, resolution, label
    answered: Any    # DataFrame of each annotator's current answer (id, label, annotator, ...)
    adjudicated: frozenset = frozenset()  # ids with an adjudication that stands

    @property
    def unresolved(self) -> list[str]:
        c = self.conflicts
        return c.loc[c["resolution"] == "unresolved", "id"].tolist()


def _neighbour(log, step: int) -> pd.Series:
    """The status of the same annotator's previous (``step`` 1) or next (-1) row for the id."""
    return log.groupby(["id", "annotator"], sort=False)["status"].shift(step)


def current_answers(log) -> pd.DataFrame:
    """Each annotator's current answer per id, in log order (rows of the log)."""
    undo = (log["status"] == "retracted") & ~_neighbour(log, 1).isin(["skipped", "adjudicated"])
    ev = log[(log["status"] == "labeled") | undo]
    cur = ev.drop_duplicates(subset=["id", "annotator"], keep="last")
    return cur[cur["status"] == "labeled"]


def standing_adjudications(log) -> pd.DataFrame:
    """The adjudications not undone (rows of the log): an ``adjudicated`` row is undone by
    a ``retracted`` row of its adjudicator right after it (their next row for the id)."""
    return log[(log["status"] == "adjudicated") & (_neighbour(log, -1) != "retracted")]


def consensus(log, rule: str = "latest") -> Consensus:
    import pandas as pd

    if rule not in RULES:
        raise ValueError(f"unknown consensus rule {rule!r} (known: {', '.join(RULES)})")
    empty = pd.DataFrame(columns=["id", "label", "annotator"])
    no_conflicts = pd.DataFrame(columns=["id", "labels", "n_annotators", "resolution", "label"])
    if log.empty:
        return Consensus(empty, no_conflicts, log.iloc[0:0])
    ans = current_answers(log)
    adj = standing_adjudications(log).drop_duplicates("id", keep="last")  # the latest one decides
    n_labels = ans.groupby("id")["label"].nunique()
    conflict_ids = set(n_labels[n_labels > 1].index)
    latest = ans.drop_duplicates("id", keep="last").set_index("id")
    if rule == "majority" and conflict_ids:
        sub = ans[ans["id"].isin(conflict_ids)]
        counts = sub.groupby(["id", "label"]).size().rename("n").reset_index()
        top = counts.groupby("id")["n"].transform("max")
        winners = counts[counts["n"] == top]
        n_win = winners.groupby("id")["label"].nunique()
        decided = winners[winners["id"].map(n_win) == 1].set_index("id")["label"]
    else:
        decided = pd.Series(dtype=object)
    cur = latest.reset_index()[["id", "label", "annotator"]]
    # the position of each id's last answer: the order labels come out in (as before)
    last_pos = ans.reset_index(drop=True).reset_index().drop_duplicates("id", keep="last").set_index("id")["index"]
    resolution: dict[str, str] = {}
    adj_ids = set(adj["id"])
    for item in conflict_ids:
        if item in adj_ids:
            resolution[item] = "adjudicated"
        elif rule == "latest":
            resolution[item] = "latest"
        elif rule == "majority" and item in decided.index:
            resolution[item] = "majority"
        else:
            resolution[item] = "unresolved"
    if rule == "majority" and len(decided):
        maj = ans[ans["id"].isin(decided.index)]
        maj = maj[maj["label"].to_numpy() == decided.reindex(maj["id"]).to_numpy()]
        who = maj.drop_duplicates("id", keep="last").set_index("id")["annotator"]
        m = cur["id"].isin(decided.index)
        cur.loc[m, "label"] = decided.reindex(cur.loc[m, "id"]).to_numpy()
        cur.loc[m, "annotator"] = who.reindex(cur.loc[m, "id"]).to_numpy()
    # adjudications settle their items (also items never answered before)
    if len(adj):
        a = adj.set_index("id")
        m = cur["id"].isin(a.index)
        cur.loc[m, "label"] = a["label"].reindex(cur.loc[m, "id"]).to_numpy()
        cur.loc[m, "annotator"] = a["annotator"].reindex(cur.loc[m, "id"]).to_numpy()
        extra = adj[~adj["id"].isin(set(cur["id"]))][["id", "label", "annotator"]]
        cur = pd.concat([cur, extra], ignore_index=True)
    unresolved = {i for i, v in resolution.items() if v == "unresolved"}
    cur = cur[~cur["id"].isin(unresolved)]
    order = cur["id"].map(last_pos).fillna(len(log))
    cur = cur.iloc[order.argsort(kind="stable")].reset_index(drop=True)
    if conflict_ids:
        sub = ans[ans["id"].isin(conflict_ids)]
        g = sub.groupby("id", sort=False)
        conf = pd.DataFrame({
            "labels": g["label"].agg(lambda s: "; ".join(sorted(set(map(str, s))))),
            "n_annotators": g["annotator"].nunique(),
        }).reset_index()
        conf["resolution"] = conf["id"].map(resolution)
        conf["label"] = conf["id"].map(cur.set_index("id")["label"]).astype(object).fillna("")
    else:
        conf = no_conflicts
    return Consensus(cur[["id", "label", "annotator"]], conf.reset_index(drop=True), ans,
                     frozenset(adj["id"]))
