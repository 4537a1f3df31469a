"""LabelSession: the labeling logic without a terminal (al_cli/session.py)."""

from __future__ import annotations

import csv
import multiprocessing as mp
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from al_cli import api as wf
from al_cli.store import LABEL_COLUMNS, Project
from al_cli.annotation.session import (
    Action,
    LabelSession,
    add_tag,
    drive,
    is_overlap,
    load_views,
    note_tags,
)

LABELS = ["pos", "neg"]


def build_project(root: Path, n: int = 40, batch: int = 8) -> Path:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "id": [f"r{i:03d}" for i in range(n)],
        "text": [f"item {i} " + " ".join(rng.choice(["cat", "dog", "fish", "bird"], 6)) for i in range(n)],
        "x": rng.normal(size=n).round(3),
        "kind": rng.choice(["a", "b"], n),
    })
    root.mkdir(parents=True, exist_ok=True)
    df.to_csv(root / "pool.csv", index=False)
    wf.init(root / "proj", root / "pool.csv", id_column="id", text_columns=["text"],
            feature_columns=["x", "kind"], labels=LABELS, batch_size=batch)
    wf.seed(Project.open(root / "proj"), size=batch, strategy="random")
    return root / "proj"


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return build_project(tmp_path_factory.mktemp("base"))


def fresh(base: Path, dest: Path) -> Project:
    """A copy of the base project (pool beside it) with no labels or claims."""
    shutil.copytree(base.parent, dest, dirs_exist_ok=True)
    for name in ("labels.csv", "claims.csv"):
        (dest / "proj" / name).unlink(missing_ok=True)
    return Project.open(dest / "proj")


@pytest.fixture
def proj(base, tmp_path) -> Project:
    return fresh(base, tmp_path / "p")


def set_labeling(proj: Project, **kw) -> Project:
    raw = yaml.safe_load(proj.config_path.read_text())
    raw["labeling"].update(kw)
    proj.config_path.write_text(yaml.safe_dump(raw))
    return Project.open(proj.root)


def log(proj: Project) -> pd.DataFrame:
    return proj.read_label_log().frame


def queue(proj: Project) -> list[str]:
    return proj.read_queue()["id"].tolist()


# --------------------------------------------------------------------------- basics
def test_answer_is_appended_with_all_columns(proj):
    s = LabelSession(proj, "ana")
    item = s.next_item()
    assert item.id == queue(proj)[0]
    assert s.next_item().id == item.id  # the same item until it is answered
    row = s.answer("neg", 2.5, note="#unsure")
    assert row["status"] == "labeled"
    df = log(proj)
    assert len(df) == 1
    r = df.iloc[0]
    assert (r["id"], r["label"], r["annotator"], r["note"], r["status"]) == (item.id, "neg", "ana", "#unsure", "labeled")
    assert r["seconds"] == pytest.approx(2.5)
    assert r["round"] == 0
    assert s.next_item().id == queue(proj)[1]
    assert s.answered == 1 and s.counts.labeled == 1


def test_label_outside_the_set_is_never_recorded(proj):
    s = LabelSession(proj, "ana")
    s.next_item()
    for bad in ("maybe", "", "POS", None):
        with pytest.raises(ValueError):
            s.answer(bad, 1.0)
    assert not proj.labels_path.exists() or log(proj).empty


def test_negative_or_bad_seconds_are_recorded_as_zero(proj):
    s = LabelSession(proj, "ana")
    s.next_item()
    s.answer("pos", -3)
    s.next_item()
    s.answer("pos", float("nan"))
    assert (log(proj)["seconds"] == 0).all()


def test_answer_needs_a_shown_item(proj):
    s = LabelSession(proj, "ana")
    with pytest.raises(RuntimeError):
        s.answer("pos", 1.0)


def test_skip_comes_back_after_unseen_items_and_on_resume(proj):
    q = queue(proj)
    s = LabelSession(proj, "ana")
    assert s.next_item().id == q[0]
    s.skip(1.0)
    assert s.next_item().id == q[1]
    s.answer("pos", 1.0)
    s.close()
    # resume: the skipped item is not shown first
    s2 = LabelSession(proj, "ana")
    order = []
    while (it := s2.next_item()) is not None:
        order.append(it.id)
        s2.answer("neg", 1.0)
    assert order == [*q[2:], q[0]]
    assert s2.remaining == 0
    eff = wf.effective_labels(proj)
    assert sorted(eff["id"]) == sorted(q)
    assert wf.Snapshot(proj).pending.empty


def test_undo_appends_retracted_row_and_shows_item_again(proj):
    q = queue(proj)
    s = LabelSession(proj, "ana")
    s.next_item()
    s.answer("pos", 1.0)
    assert s.next_item().id == q[1]
    assert s.undo() == q[0]
    assert s.next_item().id == q[0]
    s.answer("neg", 2.0, note="#typo")
    assert s.next_item().id == q[1]  # the item shown at the undo comes next
    df = log(proj)
    assert df[["id", "label", "status"]].values.tolist() == [
        [q[0], "pos", "labeled"], [q[0], "", "retracted"], [q[0], "neg", "labeled"]]
    eff = wf.effective_labels(proj)
    assert eff.set_index("id")["label"].to_dict() == {q[0]: "neg"}


def test_undo_of_a_skip_and_nothing_to_undo(proj):
    q = queue(proj)
    s = LabelSession(proj, "ana")
    assert s.undo() is None and not s.can_undo
    s.next_item()
    s.skip(0.5)
    assert s.undo() == q[0]
    assert s.next_item().id == q[0]
    assert log(proj)["status"].tolist() == ["skipped", "retracted"]


def test_counts_leave_out_undone_answers_and_skips(proj):
    """issue 15, item 8: the session counter subtracts what was undone."""
    s = LabelSession(proj, "ana")
    s.next_item()
    s.answer("pos", 1.0)
    s.next_item()
    s.answer("neg", 1.0)
    s.next_item()
    s.skip(1.0)
    assert (s.counts.labeled, s.counts.skipped, s.counts.undone, s.answered) == (2, 1, 0, 2)
    s.undo()                       # the skip
    assert (s.counts.labeled, s.counts.skipped, s.counts.undone) == (2, 0, 1)
    s.undo()                       # the second answer
    assert (s.counts.labeled, s.counts.skipped, s.counts.undone, s.answered) == (1, 0, 2, 1)
    s.next_item()
    s.answer("pos", 1.0)           # answered again: counted once
    assert (s.counts.labeled, s.answered) == (2, 2)
    assert s.counts.seconds == pytest.approx(4.0)  # time spent stays spent
    s.close()
    # after a resume, undoing an answer of the earlier session leaves this one's counts at 0
    s2 = LabelSession(proj, "ana")
    s2.next_item()
    assert s2.undo() is not None
    assert (s2.counts.labeled, s2.counts.skipped, s2.counts.undone) == (0, 0, 1)
    assert s2.answered == 1


def test_a_note_on_a_skip_is_kept_and_comes_back_with_the_item(proj):
    q = queue(proj)
    s = LabelSession(proj, "ana")
    assert s.earlier_note(q[0]) == ""
    s.next_item()
    s.skip(1.0, note="odd wording #unsure")
    r = log(proj).iloc[-1]
    assert (r["id"], r["note"], r["status"]) == (q[0], "odd wording #unsure", "skipped")
    assert s.earlier_note(q[0]) == "odd wording #unsure"
    s.next_item()
    s.answer("pos", 1.0, note="#typo")
    assert s.earlier_note(q[1]) == ""          # answered: nothing to bring back
    s.undo()
    assert s.earlier_note(q[1]) == "#typo"     # undone: its note comes back with it
    s.close()
    assert LabelSession(proj, "ana").earlier_note(q[0]) == "odd wording #unsure"  # after a resume too
    assert LabelSession(proj, "bob").earlier_note(q[0]) == ""                     # one's own notes only


def test_undo_works_across_a_resume(proj):
    q = queue(proj)
    s = LabelSession(proj, "ana")
    s.next_item()
    s.answer("pos", 1.0)
    s.next_item()
    s.answer("pos", 1.0)
    s.close()
    s2 = LabelSession(proj, "ana")
    assert s2.next_item().id == q[2]
    assert s2.undo() == q[1]
    assert s2.next_item().id == q[1]
    assert s2.undo() == q[0]  # further back
    assert s2.next_item().id == q[0]


def test_rate_counts_answers_per_minute_of_item_time(proj):
    s = LabelSession(proj, "ana")
    assert s.rate is None
    for secs in (2.0, 4.0):
        s.next_item()
        s.answer("pos", secs)
    assert s.rate == pytest.approx(2 / (6 / 60))


def test_drive_with_an_ask_callable(proj):
    q = queue(proj)
    script = iter([Action("label", "pos", 1.0), Action("skip", seconds=1.0), Action("undo"),
                   Action("label", "neg", 1.0, note="#ambiguous"), Action("quit")])
    seen = []

    def ask(session, item):
        seen.append(item.id)
        return next(script)

    s = LabelSession(proj, "ana")
    assert drive(s, ask) == "quit"
    assert seen == [q[0], q[1], q[2], q[1], q[2]]
    assert log(proj)[["id", "status", "note"]].values.tolist() == [
        [q[0], "labeled", ""], [q[1], "skipped", ""], [q[1], "retracted", ""],
        [q[1], "labeled", "#ambiguous"]]
    # answer everything: done
    s2 = LabelSession(proj, "ana")
    assert drive(s2, lambda ss, it: Action("label", "pos", 0.1)) == "done"
    assert wf.Snapshot(proj).pending.empty


def test_an_empty_queue_gives_nothing(proj):
    proj.queue_path.unlink()
    s = LabelSession(proj, "ana")
    assert s.batch_size == 0 and s.next_item() is None and s.remaining == 0


# --------------------------------------------------------------------------- display data
def test_views_use_display_columns_and_predictions(proj):
    q = queue(proj)
    proj2 = set_labeling(proj, display_columns=["kind", "text"], show_prediction=True)
    pd.DataFrame({"id": q[:2], "predicted": ["neg", "pos"], "confidence": [0.91, 0.6]}).to_csv(
        proj2.scores_path, index=False)
    views = load_views(proj2, q)
    v = views[q[0]]
    assert [f[0] for f in v.fields] == ["kind", "text"]
    assert [f[2] for f in v.fields] == [False, True]  # text columns are paragraphs
    assert v.prediction == ("neg", pytest.approx(0.91))
    assert views[q[2]].prediction is None
    s = LabelSession(proj2, "ana")
    assert s.next_item().prediction == ("neg", pytest.approx(0.91))


def test_default_display_is_text_then_features_and_no_prediction(proj):
    q = queue(proj)
    pd.DataFrame({"id": q, "predicted": "pos", "confidence": 0.5}).to_csv(proj.scores_path, index=False)
    v = load_views(proj, q)[q[0]]
    assert [f[0] for f in v.fields] == ["text", "x", "kind"]
    assert v.prediction is None  # show_prediction is off by default


def test_tags_in_notes():
    note = add_tag(add_tag("", "ambiguous"), "needs review")
    assert note == "#ambiguous #needs-review"
    assert add_tag(note, "ambiguous") == note
    assert note_tags(note, ["ambiguous", "needs review", "typo"]) == ["ambiguous", "needs review"]
    assert note_tags("typo", ["typo"]) == ["typo"]
    assert note_tags("odd shape #unsure", None) == ["unsure"]


# --------------------------------------------------------------------------- several annotators
def test_two_annotators_are_not_given_the_same_items(proj):
    a, b = LabelSession(proj, "ana"), LabelSession(proj, "bob")
    got = {"ana": [], "bob": []}
    while True:
        ia, ib = a.next_item(), b.next_item()
        if ia is None and ib is None:
            break
        assert ia is None or ib is None or ia.id != ib.id
        if ia is not None:
            got["ana"].append(ia.id)
            a.answer("pos", 1.0)
        if ib is not None:
            got["bob"].append(ib.id)
            b.answer("neg", 1.0)
    assert not set(got["ana"]) & set(got["bob"])
    assert sorted(got["ana"] + got["bob"]) == sorted(queue(proj))
    df = log(proj)
    assert not df.duplicated(["id"]).any()


def test_another_annotators_claim_expires(proj):
    q = queue(proj)
    now = [1000.0]
    a = LabelSession(proj, "ana", clock=lambda: now[0], claim_ttl=60)
    assert a.next_item().id == q[0]  # ana claims it, then vanishes (no close)
    b = LabelSession(proj, "bob", clock=lambda: now[0], claim_ttl=60)
    assert b.next_item().id == q[1]
    b.answer("pos", 1.0)
    now[0] += 61
    assert b.next_item().id == q[0]  # ana's claim expired
    assert b.claimed_by_others == 0


def test_quitting_releases_the_shown_item(proj):
    q = queue(proj)
    a = LabelSession(proj, "ana")
    assert a.next_item().id == q[0]
    a.close()
    b = LabelSession(proj, "bob")
    assert b.next_item().id == q[0]


def test_resume_keeps_my_own_claim(proj):
    q = queue(proj)
    a = LabelSession(proj, "ana")
    assert a.next_item().id == q[0]  # then killed: no close, claim stays
    b = LabelSession(proj, "bob")
    assert b.next_item().id == q[1]
    a2 = LabelSession(proj, "ana")
    assert a2.next_item().id == q[0]
    assert a2.claimed_by_others == 1  # bob's item
    b.answer("pos", 1.0)
    assert a2.claimed_by_others == 0  # answered, no longer "being labeled"


def test_overlap_items_go_to_everyone(proj):
    proj = set_labeling(proj, overlap=1.0)
    a, b = LabelSession(proj, "ana"), LabelSession(proj, "bob")
    for s in (a, b):
        while s.next_item() is not None:
            s.answer("pos", 1.0)
    df = log(proj)
    assert sorted(df[df["annotator"] == "ana"]["id"]) == sorted(queue(proj))
    assert sorted(df[df["annotator"] == "bob"]["id"]) == sorted(queue(proj))


def test_overlap_share_is_deterministic():
    ids = [f"id{i}" for i in range(4000)]
    picked = [i for i in ids if is_overlap(i, 0.25)]
    assert 0.22 < len(picked) / len(ids) < 0.28
    assert picked == [i for i in ids if is_overlap(i, 0.25)]
    assert set(picked) <= {i for i in ids if is_overlap(i, 0.5)}
    assert not any(is_overlap(i, 0.0) for i in ids) and all(is_overlap(i, 1.0) for i in ids)


def test_partial_overlap_shares_only_the_overlap_items(proj):
    proj = set_labeling(proj, overlap=0.5)
    q = queue(proj)
    shared = {i for i in q if is_overlap(i, 0.5)}
    a, b = LabelSession(proj, "ana"), LabelSession(proj, "bob")
    got = {"ana": set(), "bob": set()}
    while True:
        moved = False
        for name, s in (("ana", a), ("bob", b)):
            it = s.next_item()
            if it is not None:
                got[name].add(it.id)
                s.answer("pos", 1.0)
                moved = True
        if not moved:
            break
    assert got["ana"] & got["bob"] == shared
    assert got["ana"] | got["bob"] == set(q)


def _label_worker(root: str, annotator: str, out) -> None:
    s = LabelSession(Project.open(root), annotator)
    n = 0
    while s.next_item() is not None:
        s.answer("pos" if n % 2 else "neg", 0.01, note=f"by {annotator}, with a comma")
        n += 1
    out.put((annotator, n))


def test_concurrent_processes_lose_and_duplicate_nothing(base, tmp_path):
    big = build_project(tmp_path / "big", n=120, batch=90)
    proj = Project.open(big)
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_label_worker, args=(str(big), f"ann{k}", out)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    counts = dict(out.get(timeout=5) for _ in procs)
    lines = proj.labels_path.read_text().splitlines()
    assert lines[0] == ",".join(LABEL_COLUMNS)
    recs = list(csv.reader(lines[1:]))
    assert all(len(r) == len(LABEL_COLUMNS) for r in recs)  # no interleaved rows
    assert proj.read_label_log().skipped_lines == 0
    ids = [r[0] for r in recs]
    assert len(ids) == len(set(ids)) == 90 == sum(counts.values())
    assert set(ids) == set(queue(proj))
    for r in recs:
        assert r[6] == f"by {r[2]}, with a comma"


def test_torn_lines_in_labels_and_claims_are_ignored(proj):
    q = queue(proj)
    s = LabelSession(proj, "ana")
    s.next_item()
    s.answer("pos", 1.0)
    with open(proj.labels_path, "ab") as fh:
        fh.write(f"{q[1]},neg,bob,2024".encode())  # a power cut mid-append
    with open(proj.root / "claims.csv", "ab") as fh:
        fh.write(f"{q[1]},bo".encode())
    s2 = LabelSession(proj, "ana")
    assert s2.next_item().id == q[1]
    s2.answer("neg", 1.0)
    logr = proj.read_label_log()
    assert logr.skipped_lines == 1
    assert logr.frame["id"].tolist() == [q[0], q[1]]
    claims = (proj.root / "claims.csv").read_text().splitlines()
    assert claims[-1].startswith(f"{q[1]},ana,")  # the torn claim got its own line


# --------------------------------------------------------------------------- property
ACTIONS = st.lists(st.one_of(st.sampled_from(["pos", "neg"]), st.just("skip"), st.just("undo")),
                   max_size=25)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_property_log_matches_a_model_of_the_session(base, actions):
    with tempfile.TemporaryDirectory() as d:
        proj = fresh(base, Path(d))
        q = queue(proj)
        s = LabelSession(proj, "ana")
        expected: dict[str, str] = {}   # id -> current label by ana
        history: list[tuple[str, str | None]] = []
        n_rows = 0
        for act in actions:
            item = s.next_item()
            if item is None and act != "undo":
                break
            if act == "undo":
                got = s.undo()
                if not history:
                    assert got is None
                    continue
                prev_id, _ = history.pop()
                assert got == prev_id
                expected.pop(prev_id, None)
                n_rows += 1
                assert s.next_item().id == prev_id
            elif act == "skip":
                assert item.id not in expected
                s.skip(0.1)
                history.append((item.id, None))
                n_rows += 1
            else:
                assert item.id not in expected  # never shows an answered item again
                s.answer(act, 0.1)
                expected[item.id] = act
                history.append((item.id, act))
                n_rows += 1
        logr = proj.read_label_log()
        assert logr.skipped_lines == 0 and len(logr.frame) == n_rows
        assert (logr.frame["seconds"] >= 0).all()
        eff = wf.effective_labels(proj)
        assert eff.set_index("id")["label"].to_dict() == expected
        assert s.answered == len(expected)
        assert s.remaining == len(q) - len(expected)


def test_a_batch_answered_by_someone_else_leaves_nothing(proj, tmp_path):
    q = queue(proj)
    pd.DataFrame({"id": q, "label": "pos"}).to_csv(tmp_path / "key.csv", index=False)
    wf.label_import(proj, tmp_path / "key.csv", annotator="answer-key")
    s = LabelSession(proj, "ana")
    assert s.next_item() is None
    assert s.remaining == 0 and s.claimed_by_others == 0


def test_control_characters_in_pool_text_are_not_shown():
    from al_cli.annotation.views import _fmt_value

    shown = _fmt_value("esc \x1b[31mRED\x1b[0m bell\x07 osc \x1b]2;HACKED\x07 clear\x1b[2J\tend\nnext")
    assert "\x1b" not in shown and "\x07" not in shown
    assert shown.endswith("\tend\nnext") and "RED" in shown


def test_a_replaced_batch_ends_the_drive_with_replaced(proj):
    s = LabelSession(proj, "ana")
    answered = []

    def ask(session, item):
        answered.append(item.id)
        if len(answered) == 2:  # 'al seed --force' rewrites queue.csv mid-session
            wf.seed(proj, size=4, strategy="random", force=True)
        return Action("label", label="pos", seconds=1.0)

    assert drive(s, ask) == "replaced"
    assert len(answered) == 2
    s2 = LabelSession(proj, "ana")
    new_queue = set(proj.read_queue()["id"])
    assert set(s2.queue_ids) == new_queue and s2.next_item().id in new_queue
