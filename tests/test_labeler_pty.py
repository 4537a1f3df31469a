"""`al label` in a real pseudo-terminal (pexpect): keys in, labels.csv rows out."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pexpect
import yaml

from al_cli import api as wf
from al_cli.store import LABEL_COLUMNS, Project, atomic_write_csv

HEADER = r"item (\d+) of (\d+) · id (\w+)"
TIMEOUT = 30
LONG = " ".join(f"sentence {i} of a long abstract that needs scrolling." for i in range(120))


def make_project(root: Path, n_queue: int = 6, n_pool: int = 14, long_first: bool = False) -> Path:
    ids = [f"r{i:03d}" for i in range(n_pool)]
    texts = [f"short text number {i} about cats and dogs" for i in range(n_pool)]
    if long_first:
        texts[0] = LONG
    df = pd.DataFrame({"id": ids, "text": texts, "x": [i * 0.5 for i in range(n_pool)],
                       "kind": ["a", "b"] * (n_pool // 2)})
    root.mkdir(parents=True, exist_ok=True)
    df.to_csv(root / "pool.csv", index=False)
    wf.init(root / "proj", root / "pool.csv", id_column="id", text_columns=["text"],
            feature_columns=["x", "kind"], labels=["pos", "neg"])
    proj = Project.open(root / "proj")
    atomic_write_csv(proj.queue_path, pd.DataFrame(
        {"id": ids[:n_queue], "purpose": "train", "round": 0, "strategy": "test"}))
    return root / "proj"


def spawn(project: Path, annotator: str = "ana", rows: int = 40, cols: int = 120) -> pexpect.spawn:
    env = {**os.environ, "TERM": "xterm", "AL_LOCK_TIMEOUT": "30"}
    env.pop("NO_COLOR", None)
    return pexpect.spawn(sys.executable, ["-m", "al_cli", "label", "-p", str(project),
                                          "--annotator", annotator],
                         env=env, dimensions=(rows, cols), encoding="utf-8", timeout=TIMEOUT)


def current(child: pexpect.spawn) -> str:
    """Wait for a whole item screen; return the id shown."""
    child.expect(HEADER)
    item = child.match.group(3)
    child.expect("q quit")
    return item


def finish(child: pexpect.spawn) -> str:
    child.expect(pexpect.EOF)
    out = child.before
    child.close()
    return out


def rows(project: Path) -> list[dict[str, str]]:
    with open(project / "labels.csv", newline="") as fh:
        lines = list(csv.reader(fh))
    assert lines[0] == LABEL_COLUMNS
    assert all(len(r) == len(LABEL_COLUMNS) for r in lines[1:]), "a malformed or interleaved row"
    return [dict(zip(LABEL_COLUMNS, r)) for r in lines[1:]]


def brief(rs: list[dict[str, str]]) -> list[tuple[str, str, str, str]]:
    return [(r["id"], r["label"], r["note"], r["status"]) for r in rs]


def check_common(rs: list[dict[str, str]], annotators: set[str]) -> None:
    for r in rs:
        assert r["annotator"] in annotators
        assert float(r["seconds"]) >= 0
        assert r["status"] in ("labeled", "skipped", "retracted")
        assert r["status"] != "labeled" or r["label"] in ("pos", "neg")


def test_label_skip_undo_tag_quit_resume_finish(tmp_path):
    project = make_project(tmp_path)
    c = spawn(project)
    assert current(c) == "r000"
    c.send("1")
    assert current(c) == "r001"
    c.send("s")
    assert current(c) == "r002"
    c.send("2")
    assert current(c) == "r003"
    c.send("u")                      # r002 comes back
    assert current(c) == "r002"
    c.send("n")
    c.expect("note>")
    c.send("\t")                     # Tab picks the first tag
    c.expect("#ambiguous")
    c.send("\r")
    c.expect("note kept")
    c.send("1")
    assert current(c) == "r003"      # the item that was on screen at the undo
    c.send("q")
    out = finish(c)
    assert c.exitstatus == 0, out
    assert "stopped with" in out and "al label" in out

    # resume: answered items are not shown again, the skipped one comes last
    c = spawn(project)
    assert current(c) == "r003"
    c.send("2")
    assert current(c) == "r004"
    c.send("n")
    c.expect("note>")
    c.send("bill looks odd\r")
    c.expect("note kept")
    c.send("1")
    assert current(c) == "r005"
    c.send("x")                      # not a key: nothing is recorded
    c.expect("does nothing here")
    c.send("2")
    assert current(c) == "r001"      # the skipped item is back
    c.send("1")
    out = finish(c)
    assert c.exitstatus == 0, out
    assert "the batch is answered. next: al retrain" in out

    rs = rows(project)
    check_common(rs, {"ana"})
    assert brief(rs) == [
        ("r000", "pos", "", "labeled"),
        ("r001", "", "", "skipped"),
        ("r002", "neg", "", "labeled"),
        ("r002", "", "", "retracted"),
        ("r002", "pos", "#ambiguous", "labeled"),
        ("r003", "neg", "", "labeled"),
        ("r004", "pos", "bill looks odd", "labeled"),
        ("r005", "neg", "", "labeled"),
        ("r001", "pos", "", "labeled"),
    ]
    proj = Project.open(project)
    assert wf.effective_labels(proj).set_index("id")["label"].to_dict() == {
        "r000": "pos", "r001": "pos", "r002": "pos", "r003": "neg", "r004": "pos", "r005": "neg"}

    # nothing left: a clear message, exit 0
    c = spawn(project)
    out = finish(c)
    assert c.exitstatus == 0
    assert "nothing to label: the batch is answered. next: al retrain" in out


def test_sigkill_mid_batch_loses_no_answer_and_resumes(tmp_path):
    project = make_project(tmp_path, n_queue=8)
    c = spawn(project)
    answered = []
    for key in "1212":
        answered.append(current(c))
        c.send(key)
    assert current(c) == "r004"      # every answer above was saved before this screen
    os.kill(c.pid, signal.SIGKILL)
    c.expect(pexpect.EOF)
    c.close()
    assert c.signalstatus == signal.SIGKILL

    rs = rows(project)
    assert brief(rs) == [(i, lab, "", "labeled") for i, lab in zip(answered, ["pos", "neg", "pos", "neg"])]
    check_common(rs, {"ana"})
    assert Project.open(project).read_label_log().skipped_lines == 0

    c = spawn(project)
    assert current(c) == "r004"      # resumes; its own claim from before the kill does not block it
    for want in ("r004", "r005", "r006", "r007"):
        c.send("1")
        if want != "r007":
            assert current(c) == f"r00{int(want[-1]) + 1}"
    out = finish(c)
    assert c.exitstatus == 0, out
    assert len(rows(project)) == 8


def test_two_labelers_at_once_lose_duplicate_and_interleave_nothing(tmp_path):
    project = make_project(tmp_path, n_queue=12, n_pool=16)
    kids = {"ana": spawn(project, "ana"), "bob": spawn(project, "bob")}
    seen: dict[str, list[str]] = {"ana": [], "bob": []}
    key = {"ana": "1", "bob": "2"}
    alive = dict(kids)
    while alive:
        for name, c in list(alive.items()):
            i = c.expect([HEADER, pexpect.EOF])
            if i == 1:
                c.close()
                assert c.exitstatus == 0, c.before
                del alive[name]
                continue
            item = c.match.group(3)
            c.expect("q quit")
            seen[name].append(item)
            c.send(key[name])
    assert not set(seen["ana"]) & set(seen["bob"]), "both annotators were given the same item"
    rs = rows(project)
    check_common(rs, {"ana", "bob"})
    ids = [r["id"] for r in rs]
    assert len(ids) == len(set(ids)) == 12
    assert set(ids) == {f"r{i:03d}" for i in range(12)}
    for name in ("ana", "bob"):
        mine = [r for r in rs if r["annotator"] == name]
        assert [r["id"] for r in mine] == seen[name]
        assert {r["label"] for r in mine} == {"pos" if name == "ana" else "neg"}


def test_long_text_scrolls_and_prediction_is_shown_when_asked(tmp_path):
    project = make_project(tmp_path, long_first=True)
    cfg = yaml.safe_load((project / "al.yaml").read_text())
    cfg["labeling"]["show_prediction"] = True
    (project / "al.yaml").write_text(yaml.safe_dump(cfg))
    pd.DataFrame({"id": ["r000", "r001"], "predicted": ["neg", "pos"], "confidence": [0.87, 0.55]}).to_csv(
        project / "scores.csv", index=False)
    c = spawn(project, rows=20, cols=80)
    c.expect("model's guess")
    c.expect("neg")
    c.expect("confidence 0.87")
    c.expect(r"lines 1-(\d+) of (\d+)")
    last, total = int(c.match.group(1)), int(c.match.group(2))
    assert total > last
    c.send(" ")
    c.expect(r"lines (\d+)-(\d+) of")
    assert int(c.match.group(1)) > 1
    c.send("?")
    c.expect("press any key to go back")
    c.send("z")
    c.expect("q quit")
    c.send("\x03")                   # ctrl-C is q
    out = finish(c)
    assert c.exitstatus == 0
    assert "stopped with 6 item(s) left" in out
    assert not (project / "labels.csv").exists()


def test_sigterm_restores_the_terminal_and_releases_the_item(tmp_path):
    project = make_project(tmp_path)
    c = spawn(project)
    assert current(c) == "r000"
    c.kill(signal.SIGTERM)
    out = finish(c)
    assert c.exitstatus == 128 + signal.SIGTERM
    assert "\x1b[?1049l" in out and "\x1b[?25h" in out  # normal screen and cursor back
    claims = (project / "claims.csv").read_text().splitlines()
    assert claims[-1].startswith("r000,ana,") and claims[-1].endswith(",release")


def test_no_terminal_is_a_clear_error(tmp_path):
    project = make_project(tmp_path)
    r = subprocess.run([sys.executable, "-m", "al_cli", "label", "-p", str(project)],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert r.stderr.startswith("error: no terminal") and "--import" in r.stderr


def test_empty_queue_says_what_to_run(tmp_path):
    project = make_project(tmp_path)
    (project / "queue.csv").unlink()
    c = spawn(project)
    out = finish(c)
    assert c.exitstatus == 0
    assert "nothing to label" in out and "next: al seed" in out


def test_keys_typed_ahead_do_not_answer_unseen_items(tmp_path):
    project = make_project(tmp_path)
    child = spawn(project)
    first = current(child)
    child.send("11")  # a double press: only the item on screen is answered
    second = current(child)
    assert second != first
    child.send("q")
    child.expect(pexpect.EOF)
    rows = [r for r in csv.DictReader(open(project / "labels.csv")) if r["status"] == "labeled"]
    assert [r["id"] for r in rows] == [first]


def test_a_note_is_a_text_field_digits_and_command_letters_included(tmp_path):
    """The reported sequence: 'n', then '2' then text. Nothing typed in the note prompt is
    a command: no item is skipped, no second note opened; Tab adds a tag in place."""
    project = make_project(tmp_path)
    c = spawn(project)
    assert current(c) == "r000"
    c.send("n")
    c.expect("note>")
    c.send("2 odd tech snippet, see notes")   # digits, 's' and 'n' are text here
    c.send(" amb\t")                          # Tab completes the tag in place
    c.expect("#ambiguous")
    c.send("\r")
    c.expect("note kept")
    c.send("1")
    assert current(c) == "r001"
    c.send("q")
    finish(c)
    got = brief(rows(project))
    assert got == [("r000", "pos", "2 odd tech snippet, see notes #ambiguous", "labeled")], got
