"""The memo of 'al status' (store/statuscache.py): the same answer as computing it, never a
stale one, and answered by the console script without pandas or typer."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from al_cli import __version__
from al_cli._entry import _memoised_status
from al_cli.store import Project, statuscache

ROOT = Path(__file__).resolve().parents[1]


def _loop(cli, project: Path) -> None:
    assert cli("seed", "-p", project, "--size", "12").code == 0
    assert cli("label", "-p", project, "--import", project.parent / "answers.csv", "--queued-only").code == 0
    assert cli("retrain", "-p", project).code == 0
    assert cli("evaluate", "-p", project).code == 0


def _fast(argv: list[str], cwd: Path | None = None) -> tuple[bool, str]:
    """What the console script prints from the memo (False: it goes the usual way)."""
    from al_cli import console

    buf = io.StringIO()
    old = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    file = console.out.file
    console.out.file = buf
    try:
        with contextlib.redirect_stdout(buf):
            done = _memoised_status(argv)
    finally:
        console.out.file = file
        os.chdir(old)
    return done, buf.getvalue()


def test_each_writing_command_leaves_a_memo_that_answers_as_computing_would(cli, project):
    assert cli("status", "-p", project).code == 0
    for step in (lambda: cli("seed", "-p", project, "--size", "12"),
                 lambda: cli("label", "-p", project, "--import", project.parent / "answers.csv", "--queued-only"),
                 lambda: cli("retrain", "-p", project),
                 lambda: cli("evaluate", "-p", project),
                 lambda: cli("query", "-p", project, "--size", "5")):
        assert step().code == 0
        assert statuscache.load(project, __version__) is not None  # the command refreshed it
        for args, cwd in (([], None), (["--json"], None), ([], project)):
            argv = ["status", *([] if cwd else ["-p", str(project)]), *args]
            done, fast = _fast(argv, cwd)
            assert done
            statuscache.path(project).unlink()
            computed = cli(*argv, cwd=cwd)
            assert computed.code == 0 and computed.stdout == fast
    assert cli("status", "-p", project, "--json").json()["next_command"].startswith("al label -p ")
    done, here = _fast(["status", "--json"], project)
    assert done and json.loads(here)["next_command"] == "al label"


def test_a_change_by_hand_is_seen(cli, project, tabular_csv):
    _loop(cli, project)
    n = cli("status", "-p", project, "--json").json()["n_labeled"]
    assert _fast(["status", "-p", str(project)])[0]
    with open(project / "labels.csv", "a", encoding="utf-8") as fh:  # an answer appended by a script
        last = (project / "labels.csv").read_text(encoding="utf-8").splitlines()[-1].split(",")
        unlabeled = sorted(set(pd.read_csv(tabular_csv)["id"]) - set(pd.read_csv(project / "labels.csv")["id"]))
        fh.write(",".join([unlabeled[0], *last[1:]]) + "\n")
    assert _fast(["status", "-p", str(project)])[0] is False
    assert cli("status", "-p", project, "--json").json()["n_labeled"] == n + 1
    # a model file removed: the model version goes back
    v = cli("status", "-p", project, "--json").json()["model_version"]
    for f in (project / "models").glob(f"{v:04d}.*"):
        f.unlink()
    assert cli("status", "-p", project, "--json").json()["model_version"] == (v - 1 or None)


def test_an_edit_that_keeps_size_inode_and_time_is_caught_by_the_content_hash(cli, project):
    _loop(cli, project)
    q = project / "queue.csv"
    assert cli("query", "-p", project, "--size", "5").code == 0
    assert cli("status", "-p", project, "--json").json()["queue_size"] == 5
    st = q.stat()
    text = q.read_text(encoding="utf-8").splitlines(keepends=True)
    # the rows in another order: same size, same inode, same time stamp, other bytes
    q.write_text("".join([text[0], *reversed(text[1:])]), encoding="utf-8")
    os.utime(q, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert q.stat().st_size == st.st_size and q.stat().st_ino == st.st_ino
    memo = json.loads(statuscache.path(project).read_text(encoding="utf-8"))
    assert "queue.csv" in memo["racy"]  # written less than 3 s ago
    assert statuscache.load(project, __version__) is None  # the hash differs: computed again


def test_a_warning_is_said_every_time_and_not_memoised(cli, project):
    _loop(cli, project)
    with open(project / "labels.csv", "a", encoding="utf-8") as fh:
        last = (project / "labels.csv").read_text(encoding="utf-8").splitlines()[-1].split(",")
        fh.write(",".join([last[0], "zebra", *last[2:]]) + "\n")
    for _ in range(2):
        r = cli("status", "-p", project)
        assert r.code == 0 and "zebra" in r.stderr
        assert statuscache.load(project, __version__) is None


def test_the_pool_file_is_an_input(cli, project, tabular_csv):
    _loop(cli, project)
    assert cli("status", "-p", project).code == 0
    assert statuscache.load(project, __version__) is not None
    time.sleep(0.01)
    df = pd.read_csv(tabular_csv)
    extra = df.iloc[:3].copy()
    extra["id"] = ["n1", "n2", "n3"]
    pd.concat([df, extra]).to_csv(tabular_csv, index=False)
    assert statuscache.load(project, __version__) is None


def test_every_file_a_project_names_is_an_input_or_left_out_on_purpose(tmp_path):
    proj = Project(tmp_path)
    named = {getattr(proj, a).name for a in dir(Project)
             if a.endswith("_path") and isinstance(getattr(Project, a), property) and a != "pool_path"}
    named |= {"format.json", "cache"}
    known = set(statuscache.INPUTS) | set(statuscache.DISCOVERY_INPUTS) | set(statuscache.LEFT_OUT)
    assert named <= known, named - known


def test_options_the_memo_does_not_know_go_the_usual_way(cli, project):
    _loop(cli, project)
    for argv in (["status", "--help"], ["status", "-p"], ["status", "--json", "--json"],
                 ["status", "--bogus"], ["statu"], ["status", "-p", str(project / "nowhere")]):
        assert _fast(argv)[0] is False, argv


def test_the_console_script_answers_from_the_memo_without_pandas_or_typer(cli, project):
    _loop(cli, project)
    assert cli("status", "-p", project).code == 0
    code = ("import sys; sys.argv = ['al', 'status', '-p', sys.argv[1]]\n"
            "from al_cli._entry import main\n"
            "main()\n"
            "sys.stderr.write(repr(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'pandas', 'numpy', 'sklearn', 'typer', 'scipy'})))")
    p = subprocess.run([sys.executable, "-c", code, str(project)], capture_output=True, text=True,
                       env={**os.environ, "NO_COLOR": "1"})
    assert p.returncode == 0, p.stderr
    assert p.stderr.strip() == "[]"
    assert p.stdout == cli("status", "-p", project).stdout


def test_a_moved_project_is_named_where_it_is_now(cli, project, tmp_path):
    _loop(cli, project)
    assert cli("status", "-p", project).code == 0
    moved = tmp_path / "elsewhere"
    project.rename(moved)
    done, out = _fast(["status", "-p", str(moved), "--json"])
    assert done and json.loads(out)["project"] == str(moved.resolve())
    assert cli("status", "-p", moved, "--json").json()["project"] == str(moved.resolve())


def test_a_project_made_with_a_relative_path_is_named_by_its_full_path(cli, tabular_csv, tmp_path):
    r = cli("init", "rel", "--data", tabular_csv, "--id-column", "id", "--labels", "a,b,c", cwd=tmp_path)
    assert r.code == 0, r.stderr
    assert statuscache.load(tmp_path / "rel", __version__) is not None
    done, out = _fast(["status", "-p", str(tmp_path / "rel"), "--json"])
    assert done and json.loads(out)["project"] == str((tmp_path / "rel").resolve())


def test_a_big_scores_csv_just_written_leaves_a_classification_memo_current(cli, project, monkeypatch):
    """scores.csv is not read by a classification project's status: a score just written
    (here counted as too big to compare by content while it is recent) keeps the memo."""
    _loop(cli, project)
    monkeypatch.setattr(statuscache, "RACY_MAX_BYTES", 5_000)  # as a scores.csv of tens of MB
    assert cli("score", "-p", project).code == 0
    assert (project / "scores.csv").stat().st_size > 5_000  # too big to compare by content
    assert all((project / f).stat().st_size < 5_000 for f in ("labels.csv", "queue.csv", "history.csv"))
    assert statuscache.load(project, __version__) is not None
    sig = json.loads(statuscache.path(project).read_text())["signature"]
    assert not any(str(e[0]).endswith("scores.csv") for e in sig)


def test_a_discovery_status_memo_follows_scores_csv(cli, tmp_path):
    import pandas as pd

    df = pd.DataFrame({"id": [f"d{i}" for i in range(60)],
                       "text": [("apple pear " if i % 5 == 0 else "car bus ") + f"w{i}" for i in range(60)]})
    df.to_csv(tmp_path / "docs.csv", index=False)
    p = tmp_path / "proj"
    assert cli("init", p, "--data", tmp_path / "docs.csv", "--id-column", "id", "--text-column", "text",
               "--task", "discovery", "--relevant", "yes", "--labels", "yes,no").code == 0
    assert cli("status", "-p", p).code == 0
    memo = json.loads(statuscache.path(p).read_text())
    assert any(str(e).endswith("scores.csv") for e in memo["extra"])
