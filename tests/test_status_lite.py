"""'al status' without pandas (commands/status_lite.py): whenever it answers, it answers as
the pandas computation does; it answers the common project; the console script then imports
no pandas; and the labels key it compares is the one retrain writes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from al_cli import report
from al_cli.commands import status as status_mod
from al_cli.commands import status_lite
from al_cli.store import LABEL_COLUMNS, Project, labellog
from tests.test_status_memo import _loop

ROOT = Path(__file__).resolve().parents[1]


def _both(project: Path):
    """(plain answer or None, pandas answer), each from a fresh Project."""
    lite = status_lite.compute(Project.open(project))
    with report.collecting():
        full = status_mod._compute(Project.open(project))
    return lite, full


def _same(lite, full) -> None:
    a, b = asdict(lite), asdict(full)
    assert a == b
    assert list(a["annotators"].items()) == list(b["annotators"].items())
    assert list(a["labels_per_class"].items()) == list(b["labels_per_class"].items())


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


@pytest.fixture
def looped(cli, project):
    """A project after seed, label, retrain and evaluate."""
    _loop(cli, project)
    return project


def test_the_common_project_is_answered_without_pandas_and_as_with_it(looped):
    lite, full = _both(looped)
    assert lite is not None
    _same(lite, full)
    assert lite.next_command.endswith("al query") or "al query" in lite.next_command


def test_a_new_answer_after_retrain_says_retrain(looped, tmp_path):
    import shutil

    project = tmp_path / "p"
    shutil.copytree(looped, project)
    log = (project / "labels.csv").read_text(encoding="utf-8").splitlines()
    first = next(csv.reader([log[1]]))
    other = "b" if first[1] != "b" else "c"
    with open(project / "labels.csv", "a", encoding="utf-8") as fh:
        fh.write(f"{first[0]},{other},x,2026-01-01T00:00:00,1,1.000,,labeled\n")
    lite, full = _both(project)
    assert lite is not None and "al retrain" in lite.next_command
    _same(lite, full)


def test_a_labels_key_of_the_first_format_is_still_compared(looped, tmp_path):
    """A manifest written before the plain key (a pandas hash) still matches the labels it
    was trained on: no spurious 'al retrain'; the plain computation steps aside for it, and
    the pandas one upgrades the key."""
    import hashlib
    import shutil

    import pandas as pd

    from al_cli.commands.snapshot import Snapshot

    project = tmp_path / "p"
    shutil.copytree(looped, project)
    proj = Project.open(project)
    snap = Snapshot(proj)
    eff = snap.known_labels
    eff = eff.loc[~eff["id"].isin(snap.audit_set), ["id", "label"]].astype(str).sort_values("id")
    legacy = hashlib.sha256(pd.util.hash_pandas_object(eff, index=False).to_numpy().tobytes()).hexdigest()[:32]
    v = proj.latest_model_version()
    proj.models.write_manifest(v, {**proj.load_manifest(v), "labels_key": legacy})
    lite, full = _both(project)
    assert lite is None
    assert "al retrain" not in full.next_command
    assert "al query" in full.next_command
    # and the pandas path wrote the key in the current format: the next status needs no pandas
    assert labellog.is_labels_key(Project.open(project).load_manifest(v)["labels_key"])
    lite, full = _both(project)
    assert lite is not None
    _same(lite, full)


def test_labels_key_is_order_free_and_unambiguous():
    k = labellog.labels_key([("a", "x"), ("b", "y")])
    assert k == labellog.labels_key([("b", "y"), ("a", "x")])
    assert labellog.is_labels_key(k) and not labellog.is_labels_key("0" * 32)
    assert labellog.labels_key([("a1", "x")]) != labellog.labels_key([("a", "1x")])
    assert k != labellog.labels_key([("a", "x"), ("b", "z")])


def test_the_console_script_imports_no_pandas_after_a_hand_edit(looped, tmp_path):
    import shutil

    project = tmp_path / "p"
    shutil.copytree(looped, project)
    (project / "labels.csv").touch()
    code = ("import sys\nsys.argv = ['al', 'status', '--json', '-p', sys.argv[1]]\n"
            "from al_cli._entry import main\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('PANDAS' if 'pandas' in sys.modules else 'NOPANDAS', file=sys.stderr)\n")
    r = subprocess.run([sys.executable, "-c", code, str(project)], capture_output=True, text=True, cwd=ROOT)
    assert r.stderr.strip().endswith("NOPANDAS"), r.stderr
    out = json.loads(r.stdout)
    assert out["n_labeled"] == 12


def test_a_retraction_after_a_skip_leaves_the_answer_standing(looped):
    """The rule of consensus.current_answers, which the plain computation repeats."""
    log = (looped / "labels.csv").read_text(encoding="utf-8")
    fresh = [f"r{i:03d}" for i in range(150) if f"r{i:03d}," not in log][:2]
    extra = [["r140", "a", "zed", "t", "2", "1.000", "", "labeled"],
             ["r140", "", "zed", "t", "2", "", "", "skipped"],
             ["r140", "", "zed", "t", "2", "", "", "retracted"],
             ["r141", "b", "zed", "t", "2", "1.000", "", "labeled"],
             ["r141", "", "zed", "t", "2", "", "", "retracted"]]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(
        [[{"r140": fresh[0], "r141": fresh[1]}[r[0]], *r[1:]] for r in extra])
    (looped / "labels.csv").write_text(log + buf.getvalue(), encoding="utf-8")
    lite, full = _both(looped)
    assert lite is not None
    _same(lite, full)
    assert lite.n_labeled == 13 and lite.annotators["zed"] == 1


IDS = [f"r{i:03d}" for i in range(6)]
ROW = st.tuples(st.sampled_from(IDS[:4]), st.sampled_from(["a", "b", "c", "a", "b", "zzz"]),
                st.sampled_from(["ann", "bob"]),
                st.sampled_from(["labeled", "labeled", "labeled", "skipped", "retracted", "adjudicated"]))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extra=st.lists(ROW, max_size=14), keep_base=st.booleans(),
       queue=st.lists(st.tuples(st.sampled_from(IDS + ["r100", "r101"]),
                                st.sampled_from(["query", "query", "seed", "adjudicate"])), max_size=6),
       audit=st.lists(st.sampled_from(IDS), max_size=3, unique=True),
       rule=st.sampled_from(["latest", "majority", "adjudicated"]), overlap=st.sampled_from([0.0, 0.5, 1.0]),
       stop=st.sampled_from(["", "", "target reached", "  "]), torn=st.sampled_from([False, False, True]))
def test_whenever_the_plain_computation_answers_it_agrees(looped, extra, keep_base, queue, audit, rule,
                                                          overlap, stop, torn):
    project = looped
    files = {n: (project / n).read_bytes() for n in ("labels.csv", "queue.csv", "al.yaml", "history.csv")}
    try:
        base = list(csv.reader(io.StringIO(files["labels.csv"].decode())))[1:] if keep_base else []
        rows = base + [[i, lab, who, "2026-01-01T00:00:00", "2", "1.000", "", s] for i, lab, who, s in extra]
        _write_csv(project / "labels.csv", LABEL_COLUMNS, rows)
        if torn:
            with open(project / "labels.csv", "a", encoding="utf-8") as fh:
                fh.write('r000,a,ann,"2026')
        _write_csv(project / "queue.csv", ["id", "purpose", "round", "strategy"],
                   [[i, p, "2", "margin"] for i, p in queue])
        if audit:
            _write_csv(project / "audit.csv", ["id", "added"], [[i, "2026-01-01"] for i in audit])
        cfg = yaml.safe_load(files["al.yaml"])
        cfg.setdefault("labeling", {}).update({"consensus": rule, "overlap": overlap})
        (project / "al.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
        hist = list(csv.reader(io.StringIO(files["history.csv"].decode())))
        if "stop_reason" in hist[0]:
            k = hist[0].index("stop_reason")
            hist[-1][k] = stop
            _write_csv(project / "history.csv", hist[0], hist[1:])
        lite, full = _both(project)
        if lite is not None:
            _same(lite, full)
        plain = (not torn and rule == "latest" and not any(s == "adjudicated" or lab == "zzz" for _, lab, _, s in extra)
                 and not any(p == "adjudicate" for _, p in queue))
        if plain:
            assert lite is not None  # the common project is answered without pandas
    finally:
        for n, b in files.items():
            (project / n).write_bytes(b)
        (project / "audit.csv").unlink(missing_ok=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extra=st.lists(st.tuples(st.sampled_from(["d001", "d005", "d010", "d011", "d012"]),
                                st.sampled_from(["relevant", "other"]), st.sampled_from(["ann", "bob"]),
                                st.sampled_from(["labeled", "labeled", "retracted"])), max_size=8),
       audit=st.lists(st.sampled_from(["d001", "d002", "d003", "d005"]), max_size=2, unique=True),
       stale_scores=st.booleans(), recall_sample=st.sampled_from([False, False, True]))
def test_a_discovery_project_is_answered_as_with_pandas(cli, tmp_path, extra, audit, stale_scores, recall_sample):
    from tests.test_discovery import _pool

    p = tmp_path / "disc"
    if not (p / "scores.csv").exists():
        _pool(tmp_path)
        assert cli("init", p, "--data", tmp_path / "pool.csv", "--id-column", "id", "--text-column", "text",
                   "--labels", "relevant,other", "--task", "discovery", "--relevant", "relevant").code == 0
        assert cli("seed", "-p", p, "--size", "20").code == 0
        assert cli("label", "-p", p, "--import", tmp_path / "answers.csv", "--queued-only").code == 0
        assert cli("retrain", "-p", p).code == 0
        assert cli("score", "-p", p).code == 0
    files = {n: (p / n).read_bytes() for n in ("labels.csv", "scores.csv")}
    try:
        rows = [[i, lab, who, "2026-01-01T00:00:00", "2", "1.000", "", s] for i, lab, who, s in extra]
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        (p / "labels.csv").write_text(files["labels.csv"].decode() + buf.getvalue(), encoding="utf-8")
        if audit:
            _write_csv(p / "audit.csv", ["id", "added"], [[i, "2026-01-01"] for i in audit])
        if audit:  # audit rows are never scored (never queried)
            text = files["scores.csv"].decode().splitlines()
            (p / "scores.csv").write_text("\n".join(
                [text[0], *(t for t in text[1:] if t.split(",")[0] not in audit)]) + "\n", encoding="utf-8")
        if stale_scores:
            text = (p / "scores.csv").read_text(encoding="utf-8").splitlines()
            k = text[0].split(",").index("model_version")
            body = [",".join(f if j != k else "7" for j, f in enumerate(line.split(","))) for line in text[1:]]
            (p / "scores.csv").write_text("\n".join([text[0], *body]) + "\n", encoding="utf-8")
        if recall_sample:
            _write_csv(p / "recall_sample.csv", ["id", "kind", "position", "added"],
                       [["-", "urn", "99", "t"], ["d000", "read", "", "t"], ["d030", "sample", "1", "t"]])
        lite, full = _both(p)
        assert (lite is None) == recall_sample
        if lite is not None:
            _same(lite, full)
            assert list(lite.discovery) == list(full.discovery)
    finally:
        for n, b in files.items():
            (p / n).write_bytes(b)
        (p / "audit.csv").unlink(missing_ok=True)
        (p / "recall_sample.csv").unlink(missing_ok=True)


@pytest.mark.parametrize("name,text", [
    ("queue.csv", "\ufeffid,purpose,round,strategy\nr149,query,2,margin\n"),     # a BOM pandas strips
    ("audit.csv", "id\nr000\n  \n"),                                             # a line of blanks
    ("labels.csv", "\n"),                                                        # no header at all
])
def test_odd_files_are_left_to_pandas_or_read_alike(looped, name, text):
    (looped / name).write_text(text, encoding="utf-8")
    lite = status_lite.compute(Project.open(looped))
    try:
        with report.collecting():
            full = status_mod._compute(Project.open(looped))
    except Exception:  # noqa: BLE001 - an error the pandas path words: the plain one must not answer
        assert lite is None
        return
    assert lite is None or asdict(lite) == asdict(full)


@pytest.mark.parametrize("column,value", [("stop_reason", "True"), ("source", "FALSE"), ("source", "")])
def test_history_values_pandas_reads_otherwise_are_left_to_it(looped, column, value):
    hist = list(csv.reader(io.StringIO((looped / "history.csv").read_text(encoding="utf-8"))))
    k = hist[0].index(column)
    last = max(i for i, r in enumerate(hist) if r[hist[0].index("event")] == "evaluate")
    hist[last][k] = value
    _write_csv(looped / "history.csv", hist[0], hist[1:])
    lite, full = _both(looped)
    assert lite is None or asdict(lite) == asdict(full)


def test_the_key_upgrade_keeps_what_was_added_to_the_manifest_meanwhile(looped):
    proj = Project.open(looped)
    v = proj.latest_model_version()
    stale = {**proj.load_manifest(v), "labels_key": "0" * 32}
    proj.models.write_manifest(v, {**stale, "added": 1})      # another command wrote meanwhile
    status_mod._upgrade_key(proj, v, stale, "2:" + "f" * 32)
    man = proj.load_manifest(v)
    assert man["added"] == 1 and man["labels_key"] == "2:" + "f" * 32
