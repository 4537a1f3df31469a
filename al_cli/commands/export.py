"""``al export``: the labeled set as one row per id, to take the work away.

labels.csv is a log (skips, undos, corrections, several annotators, re-imports); this is
its result: the current label of each labeled id (the rule ``al label`` and ``retrain``
use), who answered, whether they disagreed, their notes and tags, when, and optionally
the pool's columns. CSV (spreadsheet-safe) or Parquet by extension; ``-`` is stdout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from al_cli import data as data_mod
from al_cli.annotation.views import TAG_RE
from al_cli.commands.snapshot import Snapshot
from al_cli.commands.tables import STDIO, unclashed, write_table
from al_cli.store import Project
from al_cli.store.consensus import current_answers as answers
from al_cli.store.consensus import standing_adjudications
from al_cli.store.pool import read_pool

COLUMNS = ["id", "label", "annotator", "n_answers", "annotators", "disagree", "labels_given",
           "note", "tags", "time", "round", "seconds", "purpose"]


@dataclass
class ExportSetResult:
    path: str
    n_rows: int
    n_disagree: int
    columns: list[str] = field(default_factory=list)
    text: str | None = None  # the CSV, when the path is '-' (the CLI writes it to stdout)


def _join(values) -> str:
    seen = dict.fromkeys(str(v) for v in values if isinstance(v, str) and v.strip())
    return "; ".join(seen)


def labeled_set(snap: Snapshot) -> pd.DataFrame:
    """One row per id with a current label in the label set (COLUMNS)."""
    eff = snap.known_labels
    if eff.empty:
        return pd.DataFrame(columns=COLUMNS)
    ans = answers(snap.log.frame)
    ans = ans[ans["id"].isin(set(eff["id"]))]
    # the row of the answer that is current: that id's answer by the current annotator
    cur_key = set(eff["id"].astype(str) + "\x00" + eff["annotator"].astype(str))
    # (or the standing adjudication that decided it: its adjudicator is the current annotator)
    adj = standing_adjudications(snap.log.frame)
    cand = pd.concat([ans, adj[adj["id"].isin(set(eff["id"]))]]) if len(adj) else ans
    ckey = cand["id"].astype(str) + "\x00" + cand["annotator"].astype(str)
    cand = cand[ckey.isin(cur_key).to_numpy()]
    cur_rows = cand.sort_index(kind="stable").drop_duplicates("id", keep="last").set_index("id")
    g = ans.groupby("id", sort=False)
    per_id = pd.DataFrame({
        "n_answers": g["annotator"].nunique(),
        "annotators": g["annotator"].agg(_join),
        "labels_given": g["label"].agg(lambda s: _join(sorted(set(s)))),
        "n_labels": g["label"].nunique(),
        "note": g["note"].agg(_join),
        "seconds": g["seconds"].sum(min_count=1),
    })
    ids = eff["id"]
    out = pd.DataFrame({"id": ids.to_numpy(object), "label": eff["label"].to_numpy(object),
                        "annotator": eff["annotator"].to_numpy(object)})
    per = per_id.reindex(ids)
    out["n_answers"] = per["n_answers"].fillna(1).astype(int).to_numpy()
    out["annotators"] = per["annotators"].fillna("").to_numpy(object)
    out["disagree"] = (per["n_labels"].fillna(1) > 1).to_numpy()
    out["labels_given"] = per["labels_given"].fillna("").to_numpy(object)
    out["note"] = per["note"].fillna("").to_numpy(object)
    out["tags"] = [" ".join(dict.fromkeys("#" + t for t in TAG_RE.findall(n))) for n in out["note"]]
    cr = cur_rows.reindex(ids)
    out["time"] = cr["time"].fillna("").astype(str).to_numpy(object)
    out["round"] = pd.to_numeric(cr["round"], errors="coerce").astype("Int64").to_numpy()
    out["seconds"] = np.round(per["seconds"].to_numpy(dtype=float), 3)
    out["purpose"] = np.where(ids.isin(snap.audit_set).to_numpy(), "audit", "train")
    return out[COLUMNS]


def export(proj: Project, file: Path | str = STDIO, *, with_data: bool = False) -> ExportSetResult:
    snap = Snapshot(proj)
    out = labeled_set(snap)
    if with_data:
        if data_mod.big_pool(proj.pool_path):  # the labeled rows only, numbers as the file holds them
            from al_cli.pool_rows import rows_with_ids

            df, ids = rows_with_ids(proj.pool_path, snap.cfg.data.id_column, None, out["id"].tolist())
        else:
            df, ids = read_pool(proj)
        data = df.copy()
        if snap.cfg.data.id_column is not None:
            data = data.drop(columns=[c for c in data.columns if str(c) == snap.cfg.data.id_column])
        data.columns = unclashed(data.columns, COLUMNS)
        data.index = ids.to_numpy(object)
        joined = data.reindex(out["id"].to_numpy(object)).reset_index(drop=True)
        out = pd.concat([out.reset_index(drop=True), joined], axis=1)
    n_dis = int(out["disagree"].sum()) if len(out) else 0
    path, text = write_table(out, file)
    return ExportSetResult(path, len(out), n_dis, [str(c) for c in out.columns], text)
