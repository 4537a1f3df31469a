"""`al label` in a real pseudo-terminal (pexpect): keys in, labels.csv rows out."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pexpect
import pyte
import yaml

from al_cli import api as wf
from al_cli.store import LABEL_COLUMNS, Project, atomic_write_csv

HEADER = r"item (\d+) of (\d+) · id (\w+)"
TIMEOUT = 30
LONG = " ".join(f"sentence {i} of a long abstract that needs scrolling." for i in range(120))


def make_project(root: Path, n_queue: int = 6, n_pool: int = 14, long_first: bool = False,
                 first_text: str | None = None) -> Path:
    ids = [f"r{i:03d}" for i in range(n_pool)]
    texts = [f"short text number {i} about cats and dogs" for i in range(n_pool)]
    if long_first:
        texts[0] = LONG
    if first_text is not None:
        texts[0] = first_text
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


# --------------------------------------------------------------------------- the screen as seen
# (issue 15, item 8) What the annotator sees is read through a terminal emulator (pyte): the
# frames the labeler writes are replayed onto a screen of the pseudo-terminal's size.
FRAME_END = r"\x1b\[\?2026l"   # each frame is one synchronized update
KEY_BAR = ("1  pos", "2  neg", "s skip", "u undo", "n note", "? help", "q quit")


class Seen:
    """A labeler in a pseudo-terminal and the screen it draws."""

    def __init__(self, child: pexpect.spawn, lines: int, cols: int):
        self.child = child
        self.screen = pyte.Screen(cols, lines)
        self.stream = pyte.Stream(self.screen)

    def frame(self) -> list[str]:
        """The screen after the next whole frame."""
        self.child.expect(FRAME_END)
        self.stream.feed(self.child.before + self.child.after)
        return list(self.screen.display)

    def until(self, *texts: str) -> list[str]:
        """The screen after the first whole frame that shows all of ``texts``."""
        while True:
            shown = self.frame()
            if all(t in "\n".join(shown) for t in texts):
                return shown

    def resize(self, lines: int, cols: int) -> None:
        self.screen.resize(lines, cols)
        self.child.setwinsize(lines, cols)

    def end(self) -> str:
        self.child.expect(pexpect.EOF)
        self.stream.feed(self.child.before)
        self.child.close()
        return self.child.before


def assert_whole(shown: list[str], cols: int) -> None:
    """The key bar is all there, at the bottom of the screen (below it at most a message
    of two lines), and the screen is as wide as the terminal."""
    text = "\n".join(shown)
    missing = [k for k in KEY_BAR if k not in text]
    assert not missing, f"not on screen: {missing}\n{text}"
    assert any("q quit" in r for r in shown[-3:]), text
    assert {len(r) for r in shown} == {cols}


def test_at_40x12_every_part_of_the_screen_is_shown(tmp_path):
    project = make_project(tmp_path, long_first=True)
    cfg = yaml.safe_load((project / "al.yaml").read_text())
    cfg["labeling"]["show_prediction"] = True
    (project / "al.yaml").write_text(yaml.safe_dump(cfg))
    pd.DataFrame({"id": ["r000"], "predicted": ["neg"], "confidence": [0.87]}).to_csv(
        project / "scores.csv", index=False)
    tty = Seen(spawn(project, rows=12, cols=40), 12, 40)
    shown = tty.until("item 1 of 6 · id r000")
    assert_whole(shown, 40)
    text = "\n".join(shown)
    assert "neg" in text and "0.87" in text             # the model's guess
    assert re.search(r"\b0%.*session: 0 labeled, 0 skipped", text)  # progress, this session's counts
    assert "lines 1-" in text and "of " in text          # the item is paged, and says so
    assert shown[-1].rstrip() == "s skip  u undo  n note  ? help  q quit"
    # the note prompt takes room from the item, not from the key bar; a long note shows its end
    tty.child.send("n")
    assert_whole(tty.until("note>"), 40)
    tty.child.send("a rather long note about this item that goes on " * 3 + "THE END")
    shown = tty.until("THE END█")
    assert_whole(shown, 40)
    assert any(r.startswith("note> …") for r in shown)
    tty.child.send("\x1b")
    assert_whole(tty.until("note cancelled"), 40)
    # the help is paged like an item, the key bar stays
    tty.child.send("?")
    shown = tty.until("press any key to go back")
    assert_whole(shown, 40)
    seen_help = "\n".join(shown)
    while "(end)" not in "\n".join(shown):
        tty.child.send(" ")
        shown = tty.frame()
        assert_whole(shown, 40)
        seen_help += "\n".join(shown)
    assert "this help" in seen_help and "resumes where you stopped" in seen_help
    tty.child.send("z")                 # not a scrolling key: back to the item
    tty.until("item 1 of 6")
    tty.child.send("q")
    tty.end()
    assert tty.child.exitstatus == 0


def test_a_resize_redraws_the_screen_for_the_new_size(tmp_path):
    project = make_project(tmp_path, long_first=True)
    tty = Seen(spawn(project, rows=24, cols=80), 24, 80)
    shown = tty.until("item 1 of 6")
    assert "│ s skip  u undo  n note  ? help  q quit" in shown[-1]   # one line at 80 columns
    tty.resize(12, 40)
    shown = tty.frame()                  # redrawn without a key
    assert_whole(shown, 40)
    assert shown[0].startswith("al label") and "item 1 of 6" in shown[1]
    assert shown[-1].rstrip() == "s skip  u undo  n note  ? help  q quit"
    # with the note prompt open: the typed text stays, laid out anew
    tty.child.send("n")
    tty.until("note>")
    tty.child.send("seen at two sizes")
    tty.until("seen at two sizes█")
    tty.resize(30, 100)
    shown = tty.frame()
    assert "note> seen at two sizes█" in "\n".join(shown)
    assert "│ s skip  u undo  n note  ? help  q quit" in shown[-1]
    assert shown[0].startswith("al label  proj  ·  annotator ana")
    tty.child.send("\r")
    tty.until("note kept")
    tty.child.send("1")
    tty.until("item 2 of 6")
    tty.child.send("q")
    tty.end()
    assert brief(rows(project)) == [("r000", "pos", "seen at two sizes", "labeled")]


def test_paging_shows_every_line_once(tmp_path):
    numbered = "\n".join(f"line {i:03d}" for i in range(1, 61))
    project = make_project(tmp_path, first_text=numbered)
    tty = Seen(spawn(project, rows=12, cols=40), 12, 40)
    shown = tty.until("item 1 of 6", "lines 1-")
    seen: list[int] = []
    last = page = 0
    while True:
        text = "\n".join(shown)
        first, to, total = map(int, re.search(r"lines (\d+)-(\d+) of (\d+)", text).groups())
        assert first == last + 1, f"page starts at {first}, the one before ended at {last}"
        if first == 1:
            page = to                      # a whole page (the last one may be shorter)
        seen += [int(m) for m in re.findall(r"^line (\d{3}) *$", text, flags=re.M)]
        last = to
        if to == total:
            assert "(end)" in text
            break
        tty.child.send(" ")
        shown = tty.frame()
    assert seen == list(range(1, 61)), seen   # every line, once, in order
    # PgUp goes back exactly one page; ↓ one line
    tty.child.send("\x1b[5~")
    text = "\n".join(tty.frame())
    assert f"lines {first - page}-{first - 1} of {total}" in text
    tty.child.send("\x1b[B")
    text = "\n".join(tty.frame())
    assert f"lines {first - page + 1}-{first} of {total}" in text
    tty.child.send("q")
    tty.end()


def test_the_last_frame_is_clean_and_the_terminal_is_given_back(tmp_path):
    project = make_project(tmp_path, n_queue=3)
    env = {**os.environ, "TERM": "xterm", "AL_LOCK_TIMEOUT": "30"}
    cmd = f"'{sys.executable}' -m al_cli label -p '{project}' --annotator ana; echo '==after=='; stty -a"
    tty = Seen(pexpect.spawn("/bin/sh", ["-c", cmd], env=env, dimensions=(12, 40), encoding="utf-8",
                             timeout=TIMEOUT), 12, 40)
    for want in ("item 1 of 3", "item 2 of 3", "item 3 of 3"):
        tty.until(want)
        tty.child.send("1")
    tty.child.expect("==after==")
    tty.stream.feed(tty.child.before)
    shown = tty.screen.display          # pyte keeps no alternate screen: the last frame stays
    text = "\n".join(shown)
    assert "the batch is answered: 3 of 3" in text and "100%" in text, text
    assert "66%" not in text and "item 3 of 3" not in text, text
    assert any(r.startswith("session: 3 labeled, 0 skipped") or "session: 3 labeled" in r for r in shown)
    mine = [i for i, r in enumerate(shown) if r.startswith("ana: 3 labeled, 0 skipped, 0 undone")]
    assert mine, text                   # the summary line starts a fresh line
    assert not shown[mine[0] - 1].strip() or "%" in shown[mine[0] - 1]  # right below the last frame
    tty.child.expect(pexpect.EOF)
    stty = tty.child.before
    tty.child.close()
    for flag in ("icanon", "echo", "isig", "iexten", "icrnl", "ixon"):
        assert re.search(rf"(?<![-\w]){flag}\b", stty), f"{flag} not restored: {stty}"
    assert tty.child.exitstatus == 0


def test_counters_leave_out_undone_answers(tmp_path):
    project = make_project(tmp_path)
    tty = Seen(spawn(project), 40, 120)
    tty.until("item 1 of 6")
    tty.child.send("1")
    tty.until("item 2 of 6", "session: 1 labeled, 0 skipped")
    tty.child.send("2")
    tty.until("item 3 of 6", "session: 2 labeled, 0 skipped")
    tty.child.send("u")                                   # the second answer is undone
    text = "\n".join(tty.until("undone: the previous item is back"))
    assert "item 2 of 6 · id r001" in text and " 16%" in text
    assert "session: 1 labeled, 0 skipped" in text
    tty.child.send("s")
    tty.until("item 2 of 6 · id r002", "session: 1 labeled, 1 skipped")
    tty.child.send("u")                                   # and the skip
    text = "\n".join(tty.until("undone: the previous item is back"))
    assert "id r001" in text and "session: 1 labeled, 0 skipped" in text
    tty.child.send("q")
    out = tty.end()
    assert "ana: 1 labeled, 0 skipped, 2 undone this session" in out


def test_a_note_written_before_a_skip_is_saved_with_the_skip(tmp_path):
    project = make_project(tmp_path, n_queue=2)
    tty = Seen(spawn(project), 40, 120)
    tty.until("item 1 of 2 · id r000")
    tty.child.send("n")
    tty.until("note>")
    tty.child.send("odd wording, ask Bo\r")
    tty.until("note kept")
    tty.child.send("s")
    tty.until("id r001", "skipped r000 (odd wording, ask Bo)")
    assert brief(rows(project)) == [("r000", "", "odd wording, ask Bo", "skipped")]
    tty.child.send("1")
    text = "\n".join(tty.until("id r000"))               # the skipped item is back with its note
    assert "note: odd wording, ask Bo" in text
    tty.child.send("n")
    tty.until("note> odd wording, ask Bo █")            # the prompt starts from it
    tty.child.send("#typo\r")
    tty.until("note: odd wording, ask Bo #typo")
    tty.child.send("2")
    tty.end()
    assert brief(rows(project)) == [("r000", "", "odd wording, ask Bo", "skipped"),
                                    ("r001", "pos", "", "labeled"),
                                    ("r000", "neg", "odd wording, ask Bo #typo", "labeled")]


class _Size:
    def __init__(self, cols: int, lines: int):
        self.cols, self.lines = cols, lines

    def size(self) -> tuple[int, int]:
        return self.cols, self.lines


def test_every_frame_fits_its_terminal(tmp_path):
    """Without a pseudo-terminal: frames for many sizes and states, replayed in pyte. Nothing
    is drawn below the last row, and from 40x10 up the whole key bar is on screen."""
    from al_cli.annotation.labeler import Screen
    from al_cli.annotation.session import LabelSession

    project = make_project(tmp_path, long_first=True)
    cfg = yaml.safe_load((project / "al.yaml").read_text())
    cfg["labeling"]["show_prediction"] = True
    (project / "al.yaml").write_text(yaml.safe_dump(cfg))
    session = LabelSession(Project.open(project), "ana")
    item = session.next_item()
    states = [dict(note="", prompt=None, message="", help_open=False),
              dict(note="a note " * 30, prompt=None, message="saved r999: pos " * 5, help_open=False),
              dict(note="", prompt="typed " * 40, message="", help_open=False),
              dict(note="", prompt=None, message="", help_open=True)]
    for cols, lines in [(1, 1), (10, 3), (12, 5), (20, 8), (30, 6), (40, 10), (40, 12), (57, 13),
                        (80, 24), (200, 60)]:
        for state in states:
            for scroll in (0, 7, 10_000):
                text, used = Screen(session, _Size(cols, lines)).frame(item, scroll=scroll, **state)
                drawn = [int(r) for r in re.findall(r"\x1b\[(\d+);1H", text)]
                assert max(drawn) <= lines, (cols, lines, state)
                screen = pyte.Screen(cols, lines)
                pyte.Stream(screen).feed(text)
                shown = "\n".join(screen.display)
                if cols >= 40 and lines >= 10:
                    assert all(k in shown for k in KEY_BAR), (cols, lines, state, shown)
                    assert "item 1 of 6" in shown
                    more = re.search(r"lines (\d+)-(\d+) of (\d+)", shown)
                    assert more is not None or lines > 30, shown  # paged when it does not fit
                    assert more is None or int(more.group(1)) == used + 1, shown
                elif cols >= 20:  # smaller: either the item or a plain word that it does not fit
                    assert "item 1 of 6" in shown or "window too small" in shown, shown
    session.close()
