"""The recall sample of a discovery project: a random sample of the documents the review
has not read, labeled to test whether recall has reached the target (issue 11).

``al query --recall-sample N`` starts it (or draws N more): the documents read so far are
recorded as read before the sample, and the rest of the pool (less the validation and
audit rows) is the *urn*; the sample takes the urn in the order of one fixed random
permutation, so drawing more continues the same sample. recall_sample.csv holds both: one
row per document read before (``kind = read``) and one per sample document (``kind =
sample``, ``position`` its place in the draw). The sample rows are queued (purpose
``recall_sample``) until answered, and train the model like any label.

The test (:func:`al_cli.reports.recall.sample_test`, Callaghan & Müller-Hansen 2020) uses
the relevant documents found before the sample, the urn size, and the answered sample
documents. Reading more of the ranking after the sample began only adds to recall, so the
guarantee still holds for everything read (it is then conservative).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from al_cli.commands.snapshot import Snapshot
from al_cli.errors import DataError, ProjectError
from al_cli.store import Project

COLUMNS = ["id", "kind", "position", "added"]
KINDS = ("read", "held", "urn", "sample")


def read(proj: Project) -> pd.DataFrame | None:
    """recall_sample.csv, checked: one ``urn`` row (its size), ``read`` and ``held`` rows
    (the documents read, and the validation/audit rows, when the sample began), ``sample``
    rows with positions 1..n and distinct ids."""
    path = proj.recall_sample_path
    df = proj.read_csv(path)
    if df is None:
        return None
    fix = "restore the file, or delete it to start the recall sample again"
    missing = [c for c in ("id", "kind", "position") if c not in df.columns]
    if missing:
        raise ProjectError(f"{path}: column(s) {', '.join(missing)} missing; {fix}")
    df["id"] = df["id"].astype(str)
    df["kind"] = df["kind"].astype(str)
    bad = df[~df["kind"].isin(KINDS)]
    if len(bad):
        raise ProjectError(f"{path}: row {int(bad.index[0]) + 2}: kind {bad['kind'].iloc[0]!r} is not one of "
                           f"{', '.join(KINDS)}; {fix}")
    if (df["kind"] == "urn").sum() != 1 or not (df["kind"] == "read").any():
        raise ProjectError(f"{path}: needs one 'urn' row and the 'read' rows of the documents read before "
                           f"the sample; {fix}")
    pos = pd.to_numeric(df["position"], errors="coerce")
    s = df["kind"] == "sample"
    if pos[s].isna().any() or pos[df["kind"] == "urn"].isna().any() or \
            sorted(pos[s].astype(int).tolist()) != list(range(1, int(s.sum()) + 1)) or \
            df.loc[s, "id"].duplicated().any():
        raise ProjectError(f"{path}: the sample rows need distinct ids and positions 1, 2, ...; {fix}")
    df["position"] = pos
    return df


def sample_ids(proj: Project) -> list[str]:
    df = read(proj)
    if df is None:
        return []
    s = df[df["kind"] == "sample"]
    return s.sort_values("position", kind="stable")["id"].tolist()


def _urn(snap: Snapshot, df: pd.DataFrame) -> np.ndarray:
    """Pool positions of the urn, as frozen when the sample began: every document but those
    read then and the held-out (validation, audit) rows of then."""
    out = set(df.loc[df["kind"].isin(["read", "held"]), "id"])
    urn = np.flatnonzero(~pd.Index(snap.pool_ids).isin(list(out)))
    size = int(df.loc[df["kind"] == "urn", "position"].iloc[0])
    if len(urn) != size:
        raise ProjectError(f"{snap.proj.recall_sample_path}: the pool changed since the recall sample began "
                           f"(its urn held {size} documents, now {len(urn)}); delete the file to start a new "
                           "sample")
    return urn


def draw(proj: Project, n: int) -> dict[str, Any]:
    """Start the recall sample, or draw ``n`` more documents into it (under the lock, read
    to write); returns what the sample holds."""
    if n < 1:
        raise DataError("--recall-sample must be >= 1")
    with proj.lock():
        snap = Snapshot(proj)
        if snap.cfg.task != "discovery":
            raise DataError("--recall-sample is for discovery projects (al init --task discovery --relevant LABEL)")
        prev = read(proj)
        now = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
        if prev is None:
            read_before = sorted(snap.labeled_ids)
            if not read_before:
                raise DataError("nothing read yet: a recall sample tests the reading done so far; label first")
            held = sorted((snap.audit_set | snap.validation_ids) - set(read_before))
            size = int((~pd.Index(snap.pool_ids).isin(read_before + held)).sum())
            prev = pd.concat([
                pd.DataFrame({"id": ["-"], "kind": "urn", "position": [size], "added": now}),
                pd.DataFrame({"id": read_before, "kind": "read", "position": "", "added": now}),
                pd.DataFrame({"id": held, "kind": "held", "position": "", "added": now})], ignore_index=True)
        urn = _urn(snap, prev)
        order = urn[snap.stream("recall_sample").permutation(len(urn))]
        have = int((prev["kind"] == "sample").sum())
        take = order[have:have + n]
        if not len(take):
            raise ProjectError(f"the recall sample already holds the whole urn ({len(urn)} documents)")
        ids = snap.pool_ids[take].astype(str)
        new = pd.DataFrame({"id": ids, "kind": "sample", "position": np.arange(have + 1, have + len(ids) + 1),
                            "added": now})
        out = pd.concat([prev, new], ignore_index=True)[COLUMNS]
        out["position"] = [("" if pd.isna(v) or v == "" else int(v)) for v in out["position"]]
        proj.write_recall_sample(out)
    return {"drawn": int(len(ids)), "sample_size": have + int(len(ids)), "urn": int(len(urn))}


@dataclass
class RecallState:
    urn: int
    read_before: int
    found_before: int
    sample_size: int
    answered: int
    relevant_in_sample: int
    p_value: float
    stop: bool
    target: float
    confidence: float
    to_read_if_none: int        # sample answers (from now) that would end the test if none is relevant
    estimated_relevant: float | None = None          # found before + the urn's relevant, estimated
    estimated_relevant_interval: list[int] | None = None  # 95% (exact hypergeometric) for the same
    estimated_recall: float | None = None            # relevant found so far / estimated_relevant
    recall_low: float | None = None                  # the same against the interval's upper end

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def state(snap: Snapshot, target: float = 0.95, confidence: float = 0.95) -> RecallState | None:
    """Where the sample test stands; None without a recall sample."""
    from al_cli.reports.recall import sample_test

    df = read(snap.proj)
    if df is None:
        return None
    rel = snap.cfg.relevant
    eff = snap.labels
    label_of = dict(zip(eff["id"], eff["label"]))
    before = df.loc[df["kind"] == "read", "id"]
    found_before = int(sum(label_of.get(i) == rel for i in before))
    sample = df[df["kind"] == "sample"]
    answered = [label_of[i] for i in sample["id"] if i in label_of]
    k = int(sum(lab == rel for lab in answered))
    urn = len(_urn(snap, df))
    t = sample_test(max(urn, len(answered), 1), len(answered), k, found_before, target, confidence)
    # the verdict counts once every document drawn is answered: each draw is one look at
    # the data, not each answer (see the contract's Discovery section)
    stop = t.stop and len(answered) == len(sample)
    more = 0 if t.stop else _answers_to_stop(urn, len(answered), k, found_before, target, confidence)
    st = RecallState(urn, int(len(before)), found_before, int(len(sample)), len(answered), k, t.p_value,
                     stop, target, confidence, more)
    if answered:
        found_now = int((snap.known_labels["label"] == rel).sum())
        lo, hi = urn_relevant_interval(urn, len(answered), k)
        hi = max(hi, found_now - found_before)  # the urn holds at least what was found in it
        est = max(k * urn / len(answered), found_now - found_before)
        st.estimated_relevant = round(found_before + est, 2)
        st.estimated_relevant_interval = [found_before + max(lo, found_now - found_before), found_before + hi]
        st.estimated_recall = round(min(1.0, found_now / st.estimated_relevant), 6) if st.estimated_relevant else 1.0
        st.recall_low = round(min(1.0, found_now / (found_before + hi)), 6) if found_before + hi else 1.0
    return st


def urn_relevant_interval(urn: int, n: int, k: int, level: float = 0.95) -> tuple[int, int]:
    """Exact two-sided interval for the relevant documents in an urn of ``urn`` from ``k``
    relevant in ``n`` random draws: the K for which neither tail of the hypergeometric
    distribution is below (1 - level) / 2 (found by bisection: P(X <= k) falls and
    P(X >= k) rises with K)."""
    from scipy.stats import hypergeom

    a = (1 - level) / 2
    lo_k, hi_k = k, urn - (n - k)  # the possible K

    def first(pred, lo: int, hi: int) -> int:  # least K in [lo, hi] with pred (hi + 1: none)
        while lo <= hi:
            mid = (lo + hi) // 2
            if pred(mid):
                hi = mid - 1
            else:
                lo = mid + 1
        return lo

    upper = first(lambda K: hypergeom.cdf(k, urn, K, n) <= a, lo_k, hi_k) - 1
    lower = first(lambda K: hypergeom.sf(k - 1, urn, K, n) > a, lo_k, hi_k)
    return max(lower, lo_k), max(min(upper, hi_k), lo_k)


def _answers_to_stop(urn: int, answered: int, k: int, found_before: int, target: float, confidence: float) -> int:
    """How many more sample answers end the test if none of them is relevant (the rest of
    the urn when even that cannot)."""
    from al_cli.reports.recall import sample_test

    def stops(n: int) -> bool:
        return sample_test(urn, n, k, found_before, target, confidence).stop

    lo, hi = answered, urn
    if hi <= lo or not stops(hi):
        return max(0, urn - answered)
    while lo < hi:
        mid = (lo + hi) // 2
        if stops(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo - answered
