"""Several annotators (issue 10, item 1): no silent conflicts; the consensus rule decides
the current label; adjudication settles; unresolved items stay out of training."""

from __future__ import annotations

import json

import pandas as pd
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from al_cli.store.consensus import consensus

LOG = [("a", "x", "ann1", "labeled"), ("a", "y", "ann2", "labeled"),
       ("b", "x", "ann1", "labeled"), ("b", "y", "ann2", "labeled"), ("b", "y", "ann3", "labeled"),
       ("c", "x", "ann1", "labeled"), ("c", "x", "ann2", "labeled"),
       ("d", "x", "ann1", "labeled"), ("d", "y", "ann1", "labeled"),  # one annotator corrects: no conflict
       ("e", "x", "ann1", "labeled"), ("e", "y", "ann2", "labeled"), ("e", "x", "boss", "adjudicated"),
       ("f", "x", "ann1", "labeled"), ("f", "", "ann1", "retracted"),  # undone: no answer
       ("g", "x", "ann1", "labeled"), ("g", "y", "ann2", "labeled"), ("g", "", "ann2", "retracted")]


def _log(rows):
    return pd.DataFrame(rows, columns=["id", "label", "annotator", "status"])


def _cur(rule):
    c = consensus(_log(LOG), rule)
    return dict(zip(c.labels["id"], c.labels["label"])), c


def test_latest_majority_and_adjudicated_rules():
    cur, c = _cur("latest")
    assert cur == {"a": "y", "b": "y", "c": "x", "d": "y", "e": "x", "g": "x"}
    assert set(c.conflicts["id"]) == {"a", "b", "e"} and c.unresolved == []
    cur, c = _cur("majority")
    assert cur == {"b": "y", "c": "x", "d": "y", "e": "x", "g": "x"} and c.unresolved == ["a"]
    res = dict(zip(c.conflicts["id"], c.conflicts["resolution"]))
    assert res == {"a": "unresolved", "b": "majority", "e": "adjudicated"}
    cur, c = _cur("adjudicated")
    assert cur == {"c": "x", "d": "y", "e": "x", "g": "x"} and sorted(c.unresolved) == ["a", "b"]


def _standing_adjudications(rows, item):
    """The adjudications of ``item`` not undone: a retraction by the adjudicator whose
    previous row for the item is the adjudication cancels it."""
    out = []
    for k, r in enumerate(rows):
        if r[0] != item or r[3] != "adjudicated":
            continue
        nxt = next((q for q in rows[k + 1:] if q[0] == item and q[2] == r[2]), None)
        if nxt is None or nxt[3] != "retracted":
            out.append(r)
    return out


def test_a_retraction_by_the_adjudicator_cancels_the_adjudication():
    # item a: ann1 x, ann2 y; boss adjudicates y, then undoes it: unresolved again
    rows = [("a", "x", "ann1", "labeled"), ("a", "y", "ann2", "labeled"),
            ("a", "y", "boss", "adjudicated"), ("a", "", "boss", "retracted")]
    c = consensus(_log(rows), "adjudicated")
    assert c.unresolved == ["a"] and c.labels.empty and c.adjudicated == frozenset()
    # adjudicating again after the undo settles it; another adjudicator's undo leaves it
    rows += [("a", "x", "boss", "adjudicated"), ("a", "y", "chief", "adjudicated"),
             ("a", "", "chief", "retracted")]
    c = consensus(_log(rows), "adjudicated")
    assert c.unresolved == [] and dict(zip(c.labels["id"], c.labels["label"])) == {"a": "x"}
    assert c.adjudicated == {"a"}
    # the adjudicator was also an annotator: undoing the adjudication (or a skip) keeps
    # their answer; a retraction right after an answer still cancels that answer
    rows = [("b", "x", "ann1", "labeled"), ("b", "y", "ann2", "labeled"),
            ("b", "y", "ann1", "adjudicated"), ("b", "", "ann1", "retracted"),
            ("b", "", "ann1", "skipped"), ("b", "", "ann1", "retracted")]
    c = consensus(_log(rows), "majority")
    assert sorted(c.answered["annotator"]) == ["ann1", "ann2"] and c.unresolved == ["b"]
    c = consensus(_log(rows + [("b", "", "ann2", "retracted")]), "majority")
    assert dict(zip(c.labels["id"], c.labels["label"])) == {"b": "x"} and c.unresolved == []


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("pqr"), st.sampled_from("xyz"), st.sampled_from(["u1", "u2", "u3"]),
                          st.sampled_from(["labeled", "labeled", "retracted", "adjudicated"])), max_size=30),
       st.sampled_from(["latest", "majority", "adjudicated"]))
def test_consensus_properties(rows, rule):
    c = consensus(_log(rows), rule)
    ids = set(c.labels["id"])
    assert c.labels["id"].is_unique
    assert not ids & set(c.unresolved)  # an unresolved item has no current label
    answered = c.answered.groupby("id")["label"].nunique()
    agreed = set(answered[answered == 1].index)
    for i in agreed:  # answers that agree are the label, whatever the rule (unless adjudicated)
        adj = _standing_adjudications(rows, i)
        want = adj[-1][1] if adj else c.answered[c.answered["id"] == i]["label"].iloc[0]
        assert dict(zip(c.labels["id"], c.labels["label"]))[i] == want
    assert set(c.conflicts["id"]) == set(answered[answered > 1].index)
    if rule == "latest":
        assert c.unresolved == []


def _two_annotators(cli, tmp_path):
    ids = [f"m{i}" for i in range(10)]
    pd.DataFrame({"id": ids, "text": [f"message number {i} words" for i in range(10)]}).to_csv(
        tmp_path / "pool.csv", index=False)
    pd.DataFrame({"id": ids, "label": ["spam"] * 5 + ["ham"] * 5}).to_csv(tmp_path / "a.csv", index=False)
    pd.DataFrame({"id": ids, "label": ["ham"] * 10}).to_csv(tmp_path / "b.csv", index=False)
    p = tmp_path / "p"
    assert cli("init", p, "--data", tmp_path / "pool.csv", "--id-column", "id", "--text-column", "text",
               "--labels", "spam,ham").code == 0
    assert cli("label", "-p", p, "--import", tmp_path / "a.csv", "--annotator", "A").code == 0
    return p, ids


def test_the_reported_case_is_no_longer_silent(cli, tmp_path):
    p, ids = _two_annotators(cli, tmp_path)
    r = cli("label", "-p", p, "--import", tmp_path / "b.csv", "--annotator", "B", "--json")
    assert r.code == 0 and r.json()["conflicts"] == 5 and r.json()["unresolved"] == 0
    r = cli("label", "-p", p, "--import", tmp_path / "b.csv", "--annotator", "C")
    assert "warning: 5 imported item(s) now have disagreeing answers" in r.stderr
    r = cli("status", "-p", p, "--json")
    d = r.json()
    assert d["conflicts"] == 5 and d["unresolved"] == [] and d["consensus"] == "latest"
    assert d["annotators"] == {"A": 10, "B": 10, "C": 10}  # items, not log rows
    assert "conflicts: 5 item(s) with disagreeing answers" in cli("status", "-p", p).stdout


def test_majority_ties_stay_out_of_training_until_adjudicated(cli, tmp_path):
    p, ids = _two_annotators(cli, tmp_path)
    cfg = yaml.safe_load((p / "al.yaml").read_text())
    cfg["labeling"]["consensus"] = "majority"
    (p / "al.yaml").write_text(yaml.safe_dump(cfg))
    r = cli("label", "-p", p, "--import", tmp_path / "b.csv", "--annotator", "B", "--json")
    assert r.json()["conflicts"] == 5 and r.json()["unresolved"] == 5 and r.json()["n_labeled"] == 5
    d = cli("status", "-p", p, "--json").json()
    assert d["unresolved"] == ids[:5] and d["labels_per_class"] == {"spam": 0, "ham": 5}
    # a third annotator breaks two ties; an adjudicator settles one more
    pd.DataFrame({"id": ids[:2], "label": ["spam", "spam"]}).to_csv(tmp_path / "c.csv", index=False)
    assert cli("label", "-p", p, "--import", tmp_path / "c.csv", "--annotator", "C").code == 0
    pd.DataFrame({"id": [ids[2]], "label": ["ham"]}).to_csv(tmp_path / "adj.csv", index=False)
    r = cli("label", "-p", p, "--import", tmp_path / "adj.csv", "--annotator", "boss", "--adjudicate")
    assert r.code == 0 and "settled by adjudication" in r.stderr
    d = cli("status", "-p", p, "--json").json()
    assert d["unresolved"] == ids[3:5] and d["labels_per_class"] == {"spam": 2, "ham": 6}
    assert cli("retrain", "-p", p).code == 0
    used = {x["id"] for x in json.loads((p / "models" / "0001.json").read_text())["labels_used"]}
    assert used == set(ids) - set(ids[3:5])
    log = pd.read_csv(p / "labels.csv", dtype=str, keep_default_na=False)
    assert (log["status"] == "adjudicated").sum() == 1
    r = cli("query", "-p", p, "--size", "10", "--json")  # answered items are not asked again
    assert r.code == 1 or not set(r.json()["ids"]) & set(ids)
    r = cli("label", "-p", p, "--adjudicate")  # adjudication in the terminal needs one
    assert r.code == 1 and "no terminal" in r.stderr
    assert cli("label", "-p", p, "--adjudicate", "--export", tmp_path / "x.csv").code == 2
    assert cli("label", "-p", p, "--show-names").code == 2
