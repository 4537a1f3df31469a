"""Overlap that reaches its target (issue 10, item 3): each overlap item (labeling.overlap)
goes to at least labeling.overlap_annotators different annotators, in the terminal and
through 'al label --export --annotator NAME'; items short of it stay queued and are reported."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
import yaml

from al_cli import api as wf
from al_cli.annotation.session import LabelSession, is_overlap
from al_cli.config import from_dict
from al_cli.errors import AlError
from al_cli.store import Project

from test_session import build_project


def _set(root: Path, **labeling) -> Project:
    raw = yaml.safe_load((root / "al.yaml").read_text())
    raw["labeling"].update(labeling)
    (root / "al.yaml").write_text(yaml.safe_dump(raw))
    return Project.open(root)


def _answers(proj: Project) -> dict[str, set[str]]:
    """id -> annotators whose current answer stands."""
    ans = wf.Snapshot(proj).consensus.answered
    return {i: set(g["annotator"]) for i, g in ans.groupby("id")}


@pytest.fixture
def project(tmp_path) -> Path:
    return build_project(tmp_path / "b", n=60, batch=24)


def test_overlap_annotators_is_validated_with_its_name():
    raw = {"data": {"path": "pool.csv", "text_columns": ["t"]}, "labels": ["a", "b"]}
    assert from_dict(raw).labeling.overlap_annotators == 2
    for bad in (1, 0, "3", 2.5, True):
        with pytest.raises(AlError, match="labeling.overlap_annotators"):
            from_dict({**raw, "labeling": {"overlap_annotators": bad}})
    assert from_dict({**raw, "labeling": {"overlap_annotators": 4}}).labeling.overlap_annotators == 4


@pytest.mark.parametrize("target", [2, 3])
def test_three_labelers_at_once_reach_the_target(project, target):
    proj = _set(project, overlap=0.5, overlap_annotators=target)
    q = proj.read_queue()["id"].tolist()
    shared = {i for i in q if is_overlap(i, 0.5)}
    assert 0 < len(shared) < len(q)
    sessions = [LabelSession(proj, name) for name in ("ana", "bob", "cat")]
    shown: dict[str, list[str]] = {s.annotator: [] for s in sessions}
    while True:  # round robin: each takes an item, then each answers it
        items = [(s, s.next_item()) for s in sessions]
        if all(it is None for _, it in items):
            break
        for s, it in items:
            if it is not None:
                shown[s.annotator].append(it.id)
                s.answer("pos" if len(shown[s.annotator]) % 2 else "neg", 1.0)
    got = _answers(proj)
    assert set(got) == set(q)
    for i in q:
        if i in shared:
            assert len(got[i]) >= target, (i, got[i])
        else:
            assert len(got[i]) == 1, (i, got[i])
    assert all(s.remaining == 0 and s.overlap_waiting == 0 for s in sessions)
    assert wf.status(proj).overlap_short == 0 and wf.status(proj).queue_size == 0


def test_a_lone_annotator_is_told_the_shared_items_wait_for_others(project):
    proj = _set(project, overlap=0.5, overlap_annotators=3)
    q = proj.read_queue()["id"].tolist()
    shared = [i for i in q if is_overlap(i, 0.5)]
    a = LabelSession(proj, "ana")
    while a.next_item() is not None:
        a.answer("pos", 1.0)
    assert a.remaining == 0 and a.overlap_waiting == len(shared)
    st = wf.status(proj)
    assert st.queue_size == 0 and st.overlap_short == len(shared)
    b = LabelSession(proj, "bob")  # another annotator gets exactly the shared items
    got = []
    while (it := b.next_item()) is not None:
        got.append(it.id)
        b.answer("neg", 1.0)
    assert got == shared and a.overlap_waiting == len(shared) and b.overlap_waiting == len(shared)
    c = LabelSession(proj, "cat")
    while c.next_item() is not None:
        c.answer("neg", 1.0)
    assert a.overlap_waiting == b.overlap_waiting == 0 and wf.status(proj).overlap_short == 0


def _export(cli, p: Path, name: str) -> pd.DataFrame:
    r = cli("label", "-p", p, "--export", "-", "--annotator", name)
    assert r.code == 0, r.stderr
    return pd.read_csv(io.StringIO(r.stdout), dtype=str, keep_default_na=False)


def _import(cli, p: Path, tmp: Path, df: pd.DataFrame, name: str) -> None:
    df.to_csv(tmp / f"{name}.csv", index=False)
    r = cli("label", "-p", p, "--import", tmp / f"{name}.csv", "--queued-only", "--json")
    assert r.code == 0 and r.json()["imported"] == len(df) and r.json()["ignored"] == 0, r.stdout + r.stderr


def test_three_annotators_through_export_and_import(cli, project, tmp_path):
    proj = _set(project, overlap=0.5)
    q = proj.read_queue()["id"].tolist()
    shared = {i for i in q if is_overlap(i, 0.5)}
    # ana takes the whole batch and answers its first half
    ex = _export(cli, project, "ana")
    assert ex["id"].tolist() == q and set(ex["annotator"]) == {"ana"}  # the export names its annotator
    half = ex.iloc[: len(q) // 2].assign(label="pos")
    _import(cli, project, tmp_path, half, "ana")
    mine = set(half["id"])
    assert wf.status(proj).overlap_short == len(mine & shared)
    # bob gets the unanswered rows, then ana's shared items (answered once, short of 2)
    ex = _export(cli, project, "bob")
    assert ex["id"].tolist() == [i for i in q if i not in mine] + [i for i in q if i in mine & shared]
    _import(cli, project, tmp_path, ex.assign(label="neg"), "bob")
    # the shared items only bob answered are open to ana and cat, not to bob
    assert set(_export(cli, project, "ana")["id"]) == shared - mine
    assert _export(cli, project, "bob").empty
    ex = _export(cli, project, "cat")
    assert set(ex["id"]) == shared - mine
    _import(cli, project, tmp_path, ex.assign(label="pos"), "cat")
    assert _export(cli, project, "ana").empty  # cat's answers brought them to their target
    got = _answers(proj)
    assert {i: len(got[i]) for i in q} == {i: 2 if i in shared else 1 for i in q}
    st = cli("status", "-p", project, "--json").json()
    assert st["overlap_short"] == 0 and st["queue_size"] == 0
    assert _export(cli, project, "dan").empty  # every shared item reached its target


def test_a_new_batch_keeps_the_shared_items_short_of_their_target(cli, project, tmp_path):
    proj = _set(project, overlap=0.5)
    q = proj.read_queue()["id"].tolist()
    shared = [i for i in q if is_overlap(i, 0.5)]
    a = LabelSession(proj, "ana")
    k = 0
    while a.next_item() is not None:
        a.answer("pos" if k % 2 else "neg", 1.0)
        k += 1
    assert "shared items: " in cli("status", "-p", project).stdout
    assert cli("retrain", "-p", project).code == 0
    r = cli("query", "-p", project, "--size", "5", "--json")
    assert r.code == 0, r.stderr
    res = r.json()
    assert res["n_overlap"] == len(shared) and res["ids"][5:] == shared
    queue = pd.read_csv(project / "queue.csv", dtype=str, keep_default_na=False)
    assert queue["id"].tolist()[5:] == shared and set(queue["purpose"]) == {"train"}
    queried = pd.read_csv(project / "queried.csv", dtype=str, keep_default_na=False)
    assert not set(queried["id"]) & set(shared)  # answered already: no new prediction recorded
    b = LabelSession(Project.open(project), "bob")
    seen = []
    while (it := b.next_item()) is not None:
        seen.append(it.id)
        b.answer("neg", 1.0)
    assert sorted(seen) == sorted(res["ids"])  # the new rows and the shared ones
    r = cli("query", "-p", project, "--size", "5", "--json")
    assert r.json()["n_overlap"] == sum(is_overlap(i, 0.5) for i in res["ids"][:5])
