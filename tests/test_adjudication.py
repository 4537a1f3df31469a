"""Adjudication (issue 10, item 4): 'al query --adjudicate' queues the unresolved conflicts;
'al label --adjudicate' shows each with the earlier answers (names hidden unless asked) and
records the decision as an 'adjudicated' row that settles it; undo cancels it."""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

import pandas as pd
import pexpect
import pyte
import pytest
import yaml

from al_cli.annotation.adjudication import AdjudicationSession
from al_cli.annotation.session import LabelSession
from al_cli.store import LABEL_COLUMNS, Project

IDS = [f"m{i}" for i in range(8)]
TIMEOUT = 30


def _project(cli, tmp_path: Path, rule: str = "adjudicated") -> Path:
    """Two annotators disagree on m0..m2 (with notes) and agree on m3..m5; m6, m7 unanswered."""
    pd.DataFrame({"id": IDS, "text": [f"message number {i} about a prize" for i in range(8)]}).to_csv(
        tmp_path / "pool.csv", index=False)
    p = tmp_path / "p"
    assert cli("init", p, "--data", tmp_path / "pool.csv", "--id-column", "id", "--text-column", "text",
               "--labels", "spam,ham").code == 0
    cfg = yaml.safe_load((p / "al.yaml").read_text())
    cfg["labeling"]["consensus"] = rule
    (p / "al.yaml").write_text(yaml.safe_dump(cfg))
    pd.DataFrame({"id": IDS[:6], "label": ["spam"] * 3 + ["ham"] * 3,
                  "note": ["looks like a lottery scam", "", "", "", "", ""]}).to_csv(tmp_path / "a.csv", index=False)
    pd.DataFrame({"id": IDS[:6], "label": ["ham"] * 6,
                  "note": ["a newsletter I signed up for", "", "", "", "", ""]}).to_csv(tmp_path / "b.csv", index=False)
    assert cli("label", "-p", p, "--import", tmp_path / "a.csv", "--annotator", "alice_annotator").code == 0
    assert cli("label", "-p", p, "--import", tmp_path / "b.csv", "--annotator", "bob_annotator").code == 0
    return p


def _queue(p: Path) -> pd.DataFrame:
    return pd.read_csv(p / "queue.csv", dtype=str, keep_default_na=False)


def _log(p: Path) -> pd.DataFrame:
    return pd.read_csv(p / "labels.csv", dtype=str, keep_default_na=False)


# --------------------------------------------------------------------------- al query --adjudicate
def test_query_adjudicate_queues_the_unresolved_items_and_keeps_audit_rows(cli, tmp_path):
    p = _project(cli, tmp_path)
    pd.DataFrame({"id": ["m7"]}).to_csv(p / "audit.csv", index=False)  # an unanswered audit row
    pd.DataFrame({"id": ["m6", "m7"], "purpose": ["train", "audit"], "round": 0,
                  "strategy": "test"}).to_csv(p / "queue.csv", index=False)
    d = cli("status", "-p", p, "--json").json()
    assert d["unresolved"] == IDS[:3] and d["queue_size"] == 2 and d["to_adjudicate"] == 0
    r = cli("query", "-p", p, "--adjudicate", "--json")
    assert r.code == 0, r.stderr
    res = r.json()
    assert res["ids"] == [*IDS[:3], "m7"] and res["strategy"] == "adjudicate"
    assert res["n_audit"] == 1 and res["replaced"] == 1  # m6 (unanswered, train) is replaced
    q = _queue(p)
    assert q["purpose"].tolist() == ["adjudicate"] * 3 + ["audit"]
    d = cli("status", "--json", cwd=p).json()
    assert d["queue_size"] == 4 and d["to_adjudicate"] == 3 and d["next_command"] == "al label"
    # the ordinary labeler and export do not hand adjudication rows to annotators
    s = LabelSession(Project.open(p), "carol")
    assert s.queue_ids == ["m7"]
    out = cli("label", "-p", p, "--export", "-").stdout
    assert [r["id"] for r in csv.DictReader(out.splitlines())] == ["m7"]
    pd.DataFrame({"id": ["m7"], "label": ["ham"]}).to_csv(tmp_path / "audit_answer.csv", index=False)
    assert cli("label", "-p", p, "--import", tmp_path / "audit_answer.csv").code == 0
    d = cli("status", "--json", cwd=p).json()
    assert d["next_command"] == "al label --adjudicate" and d["queue_size"] == 3
    assert "3 to adjudicate" in cli("status", "-p", p).stdout


def test_nothing_to_adjudicate_exits_0_and_leaves_the_queue(cli, tmp_path):
    p = _project(cli, tmp_path, rule="latest")  # conflicts, all settled by 'latest'
    before = (p / "queue.csv").read_bytes() if (p / "queue.csv").exists() else None
    r = cli("query", "-p", p, "--adjudicate")
    assert r.code == 0
    assert "nothing to adjudicate" in r.stdout and "3 item(s) in conflict are settled" in r.stdout
    assert ((p / "queue.csv").read_bytes() if (p / "queue.csv").exists() else None) == before
    r = cli("query", "-p", p, "--adjudicate", "--json")
    assert r.code == 0 and r.json()["ids"] == []
    assert cli("query", "-p", p, "--adjudicate", "--size", "3").code == 2
    assert cli("query", "-p", p, "--adjudicate", "--explain").code == 2


def test_import_queued_only_takes_the_rows_queued_for_that_kind_of_answer(cli, tmp_path):
    p = _project(cli, tmp_path)
    assert cli("query", "-p", p, "--adjudicate").code == 0
    pd.DataFrame({"id": ["m0", "m6"], "label": ["spam", "ham"]}).to_csv(tmp_path / "d.csv", index=False)
    r = cli("label", "-p", p, "--import", tmp_path / "d.csv", "--adjudicate", "--queued-only",
            "--annotator", "boss", "--json")
    assert r.code == 0 and r.json()["imported"] == 1 and r.json()["ignored"] == 1
    r = cli("label", "-p", p, "--import", tmp_path / "d.csv", "--queued-only", "--json")
    assert r.json()["imported"] == 0 and r.json()["ignored"] == 2  # m0 waits for an adjudicator
    d = cli("status", "-p", p, "--json").json()
    assert d["unresolved"] == ["m1", "m2"] and d["to_adjudicate"] == 2


# --------------------------------------------------------------------------- the session
def test_the_adjudicator_sees_the_earlier_answers_and_decides(cli, tmp_path):
    p = _project(cli, tmp_path)
    assert cli("query", "-p", p, "--adjudicate").code == 0
    proj = Project.open(p)
    s = AdjudicationSession(proj, "boss")
    assert s.queue_ids == IDS[:3] and s.batch_size == 3
    item = s.next_item()
    assert item.id == "m0" and item.purpose == "adjudicate"
    assert s.earlier("m0") == [("spam", 1, []), ("ham", 1, [])]
    assert s.earlier_notes("m0") == ["spam: looks like a lottery scam", "ham: a newsletter I signed up for"]
    named = AdjudicationSession(proj, "chief", show_names=True)
    assert named.earlier("m1") == [("spam", 1, ["alice_annotator"]), ("ham", 1, ["bob_annotator"])]
    assert named.earlier_notes("m0")[0] == "spam, alice_annotator: looks like a lottery scam"
    assert named.next_item().id == "m1"  # m0 is claimed by boss
    named.close()
    s.answer("ham", 2.0, note="#unsure")
    row = _log(p).iloc[-1]
    assert (row["id"], row["label"], row["annotator"], row["status"]) == ("m0", "ham", "boss", "adjudicated")
    d = cli("status", "-p", p, "--json").json()
    assert d["unresolved"] == ["m1", "m2"] and d["to_adjudicate"] == 2
    assert d["annotators"] == {"alice_annotator": 6, "bob_annotator": 6}  # a decision is not an answer
    # undo: a 'retracted' row cancels the adjudication; m0 is unresolved and shown again
    assert s.undo() == "m0"
    assert _log(p).iloc[-1]["status"] == "retracted"
    d = cli("status", "-p", p, "--json").json()
    assert d["unresolved"] == IDS[:3] and d["to_adjudicate"] == 3
    assert s.next_item().id == "m0"
    s.answer("spam", 1.0)
    assert s.next_item().id == "m1"
    s.answer("spam", 1.0)
    assert s.next_item().id == "m2"
    s.answer("ham", 1.0)
    assert s.next_item() is None and s.remaining == 0 and s.answered == 3
    d = cli("status", "-p", p, "--json").json()
    assert d["unresolved"] == [] and d["to_adjudicate"] == 0 and d["conflicts"] == 3
    assert d["labels_per_class"] == {"spam": 2, "ham": 4}
    assert cli("query", "-p", p, "--adjudicate", "--json").json()["ids"] == []
    # an ordinary session on the same queue has nothing to show
    assert LabelSession(proj, "carol").batch_size == 0


def test_an_adjudication_by_someone_else_closes_the_item(cli, tmp_path):
    p = _project(cli, tmp_path)
    assert cli("query", "-p", p, "--adjudicate").code == 0
    s = AdjudicationSession(Project.open(p), "boss")
    assert s.next_item().id == "m0"
    pd.DataFrame({"id": ["m1"], "label": ["ham"]}).to_csv(tmp_path / "d.csv", index=False)
    assert cli("label", "-p", p, "--import", tmp_path / "d.csv", "--adjudicate", "--annotator", "chief").code == 0
    s.answer("spam", 1.0)
    assert s.next_item().id == "m2"  # m1 is decided already


# --------------------------------------------------------------------------- in a terminal
def _spawn(project: Path, *args: str) -> pexpect.spawn:
    env = {**os.environ, "TERM": "xterm", "AL_LOCK_TIMEOUT": "30"}
    env.pop("NO_COLOR", None)
    return pexpect.spawn(sys.executable, ["-m", "al_cli", "label", "-p", str(project), "--adjudicate",
                                          "--annotator", "boss", *args],
                         env=env, dimensions=(30, 110), encoding="utf-8", timeout=TIMEOUT)


class _Tty:
    def __init__(self, child: pexpect.spawn):
        self.child = child
        self.screen = pyte.Screen(110, 30)
        self.stream = pyte.Stream(self.screen)

    def until(self, *texts: str) -> str:
        """The screen text after the first whole frame that shows all of ``texts``."""
        while True:
            self.child.expect("\x1b\\[\\?2026l")  # the end of a frame
            self.stream.feed(self.child.before + self.child.after)
            shown = "\n".join(self.screen.display)
            if all(t in shown for t in texts):
                return shown


@pytest.mark.parametrize("show_names", [False, True])
def test_adjudication_in_a_terminal(cli, tmp_path, show_names):
    p = _project(cli, tmp_path)
    assert cli("query", "-p", p, "--adjudicate").code == 0
    tty = _Tty(_spawn(p, *(["--show-names"] if show_names else [])))
    shown = tty.until("id m0", "q quit")
    assert "earlier answers:" in shown and "spam ×1" in shown and "ham ×1" in shown
    assert "looks like a lottery scam" in shown and "a newsletter I signed up for" in shown
    assert ("alice_annotator" in shown) == show_names and ("bob_annotator" in shown) == show_names
    assert "your answer settles it" in shown and "al label --adjudicate" in shown
    tty.child.send("2")                      # ham
    tty.until("id m1")
    tty.child.send("u")                      # undo: m0 comes back
    tty.until("id m0", "undone")
    tty.child.send("1")                      # spam
    tty.until("id m1")
    tty.child.send("1")
    tty.until("id m2")
    tty.child.send("2")
    tty.child.expect(pexpect.EOF)
    out = tty.child.before
    tty.child.close()
    assert tty.child.exitstatus == 0, out
    assert "the batch is adjudicated" in out
    log = _log(p)
    assert list(log.columns) == LABEL_COLUMNS
    mine = log[log["annotator"] == "boss"]
    assert list(zip(mine["id"], mine["label"], mine["status"])) == [
        ("m0", "ham", "adjudicated"), ("m0", "", "retracted"), ("m0", "spam", "adjudicated"),
        ("m1", "spam", "adjudicated"), ("m2", "ham", "adjudicated")]
    d = cli("status", "-p", p, "--json").json()
    assert d["unresolved"] == [] and d["conflicts"] == 3 and d["to_adjudicate"] == 0
    assert d["labels_per_class"] == {"spam": 2, "ham": 4}


def test_export_gives_an_adjudicated_item_its_time_and_round(cli, tmp_path):
    p = _project(cli, tmp_path)
    pd.DataFrame({"id": ["m0", "m1"], "label": ["spam", "ham"]}).to_csv(tmp_path / "d.csv", index=False)
    assert cli("label", "-p", p, "--import", tmp_path / "d.csv", "--adjudicate", "--annotator", "chief").code == 0
    assert cli("export", "-p", p, "-o", tmp_path / "out.csv").code == 0
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False).set_index("id")
    assert out.loc["m0", "annotator"] == "chief" and out.loc["m0", "label"] == "spam"
    log = _log(p)
    decided = log[(log["id"] == "m0") & (log["status"] == "adjudicated")].iloc[-1]
    assert out.loc["m0", "time"] == decided["time"] and out.loc["m0", "time"] != ""
    assert (out["round"] != "").all() and not out["round"].str.contains(r"\.").any()
