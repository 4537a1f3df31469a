"""The project store: atomic writes, the append-only label log, the lock, manifests."""

from __future__ import annotations

import multiprocessing as mp
import os

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from al_cli.errors import IntegrityError, ProjectError
from al_cli.store import LABEL_COLUMNS, Project, atomic_write_text, effective_labels


def _row(i, label="a", annotator="ann", status="labeled", note=""):
    return {"id": f"r{i:03d}", "label": label, "annotator": annotator, "time": "t", "round": 0,
            "seconds": 1.5, "note": note, "status": status}


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path):
    f = tmp_path / "x.txt"
    atomic_write_text(f, "one")
    atomic_write_text(f, "two")
    assert f.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_atomic_write_failure_keeps_old_content(tmp_path, monkeypatch):
    f = tmp_path / "x.txt"
    atomic_write_text(f, "old")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_text(f, "new")
    assert f.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_torn_last_line_is_ignored_and_next_append_is_clean(tmp_path):
    p = Project(tmp_path)
    p.append_labels([_row(1), _row(2)])
    with open(p.labels_path, "ab") as fh:  # a power cut in the middle of an append
        fh.write(b"r003,b,ann,2026-")
    log = p.read_label_log()
    assert log.frame["id"].tolist() == ["r001", "r002"] and log.skipped_lines == 1
    p.append_labels([_row(4)])
    log = p.read_label_log()
    assert log.frame["id"].tolist() == ["r001", "r002", "r004"] and log.skipped_lines == 1
    assert pd.read_csv(p.labels_path, on_bad_lines="skip").shape[1] == len(LABEL_COLUMNS)


def test_labels_with_commas_quotes_and_newlines_round_trip(tmp_path):
    p = Project(tmp_path)
    p.append_labels([_row(1, label="a, b", note='he said "no"\nthen left')])
    got = p.read_label_log().frame.iloc[0]
    assert got["label"] == "a, b" and got["note"] == 'he said "no"\nthen left'


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["a", "b"]),
                                 st.sampled_from(["x", "y"]),
                                 st.sampled_from(["labeled", "labeled", "retracted", "skipped"])),
                       max_size=30))
def test_log_is_append_only_and_effective_labels_follow_the_latest(tmp_path_factory, events):
    p = Project(tmp_path_factory.mktemp("log"))
    expected: dict[tuple[str, str], str | None] = {}
    order: list[tuple[str, str]] = []
    previous: dict[tuple[str, str], str] = {}  # the annotator's previous row for the id
    before = b""
    for i, lab, ann, status in events:
        p.append_labels([_row(i, lab, ann, status)])
        now = p.labels_path.read_bytes()
        assert now.startswith(before)  # never rewritten, only grows
        before = now
        key = (f"r{i:03d}", ann)
        prev, previous[key] = previous.get(key), status
        if status == "skipped" or (status == "retracted" and prev == "skipped"):
            continue  # an undo of a skip leaves the earlier answer standing (docs: labels.csv)
        expected[key] = lab if status == "labeled" else None
        if key in order:
            order.remove(key)
        order.append(key)
    eff = effective_labels(p.read_label_log().frame)
    want: dict[str, str] = {}
    for key in order:  # latest current answer across annotators wins
        if expected[key] is not None:
            want.pop(key[0], None)
            want[key[0]] = expected[key]
    assert dict(zip(eff["id"], eff["label"])) == want
    assert len(p.read_label_log().frame) == len(events)


def _append_many(root, who, n):
    p = Project(root)
    for i in range(n):
        p.append_labels([_row(i, annotator=who)])


def test_concurrent_appends_lose_nothing(tmp_path):
    procs = [mp.get_context("fork").Process(target=_append_many, args=(tmp_path, w, 60)) for w in "abc"]
    for pr in procs:
        pr.start()
    for pr in procs:
        pr.join(30)
    log = Project(tmp_path).read_label_log()
    assert log.skipped_lines == 0 and len(log.frame) == 180
    assert log.frame.groupby("annotator").size().to_dict() == {"a": 60, "b": 60, "c": 60}


def test_lock_times_out_with_clear_message(tmp_path):
    p = Project(tmp_path)
    with p.lock():
        with pytest.raises(ProjectError, match="locked by another al command"):
            with Project(tmp_path).lock(timeout=0.2):
                pass


def _bundle(tag):
    return {"estimator": tag, "transformer": None, "feature_key": "k", "model_name": "logistic_regression",
            "classes": ["a", "b"]}


def test_model_manifest_checks(tmp_path):
    p = Project(tmp_path)
    v = p.save_model(_bundle(1), {"n_labeled": 3})
    assert v == 1 and p.latest_model_version() == 1
    bundle, man = p.load_model(1, [])
    assert bundle == {"format": 1, **_bundle(1)} and man["n_labeled"] == 3 and man["format"] == 2
    assert man["twin"] == "0001.skops" and (tmp_path / "models" / "0001.joblib").exists()
    assert p.save_model(_bundle(2), {}) == 2
    jpath, mpath = p.model_paths(2)
    p.models.twin_path(2).write_bytes(b"not a skops file")
    with pytest.raises(IntegrityError, match="sha256"):
        p.load_model(2, [])
    mpath.write_text("{}")
    with pytest.raises(IntegrityError, match="manifest"):
        p.load_model(2, [])


def test_model_without_manifest_is_not_a_version(tmp_path):
    p = Project(tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "0001.joblib").write_bytes(b"junk")  # crash before the manifest
    assert p.latest_model_version() is None


def test_torn_header_does_not_make_the_log_unreadable(tmp_path):
    p = Project(tmp_path)
    p.labels_path.write_bytes(b"id,label,annot")  # power cut during the very first append
    assert p.read_label_log().frame.empty
    p.append_labels([_row(1)])
    log = p.read_label_log()
    assert log.frame["id"].tolist() == ["r001"]
