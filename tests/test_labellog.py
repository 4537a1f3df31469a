"""labels.csv keeps any text, survives torn and failed appends (issue 16)."""

from __future__ import annotations

import errno
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from al_cli.errors import ProjectError
from al_cli.store import Project, labellog

# any text but the surrogates UTF-8 cannot hold; control characters included
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
IDS = TEXT.filter(lambda s: s != "")


def _row(i, label="a", annotator="x", status="labeled", note=""):
    return {"id": i, "label": label, "annotator": annotator, "time": "t", "round": 0,
            "seconds": 1.5, "note": note, "status": status}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(IDS, TEXT, TEXT, TEXT), min_size=1, max_size=8))
def test_any_text_round_trips(tmp_path_factory, rows):
    p = Project(tmp_path_factory.mktemp("log"))
    p.append_labels([_row(i, lab, ann, note=n) for i, lab, ann, n in rows])
    log = p.read_label_log()
    assert log.skipped_lines == 0
    got = list(zip(log.frame["id"], log.frame["label"], log.frame["annotator"], log.frame["note"]))
    assert got == rows


def test_very_long_fields_are_kept(tmp_path):
    p = Project(tmp_path)
    long_note = "word " * 60_000  # 300,000 characters: past the csv module's default limit
    p.append_labels([_row("a" * 200_000, note=long_note), _row("b")])
    log = p.read_label_log()
    assert log.skipped_lines == 0 and len(log.frame) == 2
    assert log.frame["note"].iloc[0] == long_note and len(log.frame["id"].iloc[0]) == 200_000


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.lists(st.tuples(IDS, TEXT), min_size=1, max_size=4), cut=st.integers(1, 400),
       then=st.lists(st.tuples(IDS, TEXT), min_size=1, max_size=4))
def test_a_torn_append_never_swallows_later_ones(tmp_path_factory, first, cut, then):
    """A power cut anywhere in an append (also inside a quoted field with a newline):
    the appends after it are all read back."""
    root = tmp_path_factory.mktemp("torn")
    p = Project(root)
    p.append_labels([_row("seed")])
    size = p.labels_path.stat().st_size
    p.append_labels([_row(i, note=n) for i, n in first])
    full = p.labels_path.read_bytes()
    cut_at = min(len(full) - 1, size + cut)
    with open(p.labels_path, "r+b") as fh:
        fh.truncate(cut_at)
    labellog._CLEAN.clear()  # another process, after the power cut
    p.append_labels([_row(i, note=n) for i, n in then])
    frame = p.read_label_log().frame
    tail = list(zip(frame["id"], frame["note"]))[-len(then):]
    assert tail == list(then)
    assert frame["id"].iloc[0] == "seed"


def test_a_failed_append_leaves_nothing(tmp_path, monkeypatch):
    p = Project(tmp_path)
    p.append_labels([_row("keep")])
    before = p.labels_path.read_bytes()
    real_write = os.write
    calls = {"n": 0}

    def half_then_full_disk(fd, data):
        calls["n"] += 1
        if calls["n"] == 1:
            return real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full_disk)
    with pytest.raises(ProjectError, match="nothing of these 400 row"):
        p.append_labels([_row(f"r{i}", note="x" * 50) for i in range(400)])
    monkeypatch.setattr(os, "write", real_write)
    assert p.labels_path.read_bytes() == before
    p.append_labels([_row("after")])
    assert p.read_label_log().frame["id"].tolist() == ["keep", "after"]


def test_the_log_is_never_written_through_a_link(tmp_path):
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("precious\n")
    proj = tmp_path / "p"
    proj.mkdir()
    (proj / "labels.csv").symlink_to(outside)
    with pytest.raises(ProjectError, match="symbolic link"):
        Project(proj).append_labels([_row("a")])
    assert outside.read_text() == "precious\n"
