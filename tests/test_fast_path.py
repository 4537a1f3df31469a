"""'al score' and 'al query' in their plain scripted forms run without typer
(al_cli/cli/run.py): the same output, files and exit codes as through typer, and anything
the fast path is not sure of goes through typer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from al_cli.cli.run import _parsed

ENTRY = "import sys; from al_cli._entry import main; sys.argv = ['al', *sys.argv[1:]]; main()"
TYPER = "import sys; from al_cli.cli import main; sys.argv = ['al', *sys.argv[1:]]; main()"
WATCH = ("import atexit, sys; atexit.register(lambda: sys.stderr.write("
         "'typer loaded: %s\\n' % ('typer' in sys.modules)));")


def _al(code: str, *args, cwd=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "AL_ANNOTATOR": "tester"}
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd)


@pytest.mark.parametrize("argv,expected", [
    (["score"], ("score", {"project": None, "json_out": False})),
    (["score", "-p", "x", "--json"], ("score", {"project": Path("x"), "json_out": True})),
    (["status", "--json", "-p", "x"], ("status", {"project": Path("x"), "json_out": True})),
    (["query", "--size", "100", "--strategy", "entropy", "--random-fraction", "0", "--diversity", "none"],
     ("query", {"project": None, "json_out": False, "size": 100, "strategy": "entropy",
                "random_fraction": 0.0, "diversity": "none"})),
    (["query", "-n", "5", "--strategy", "margin+kcenter+rf0.2", "--random-fraction", ".25"],
     ("query", {"project": None, "json_out": False, "size": 5, "strategy": "margin+kcenter+rf0.2",
                "random_fraction": 0.25})),
    (["label"], ("label", {"project": None})),
    (["label", "--annotator", "ana", "-p", "x"], ("label", {"project": Path("x"), "annotator": "ana"})),
])
def test_plain_forms_are_taken(argv, expected):
    assert _parsed(argv) == expected


@pytest.mark.parametrize("argv", [
    ["score", "--help"], ["score", "--scheduler", "tcp://x:1"], ["score", "--project=x"], ["score", "-p"],
    ["score", "--json", "--json"], ["score", "-p", "a", "--project", "b"], ["status", "--size", "3"], [],
    ["status", "--help"], ["statu"],
    ["query", "--size", "0"], ["query", "--size", "ten"], ["query", "-n", "3", "--size", "4"],
    ["query", "--strategy", "nonsense"], ["query", "--strategy", "margin;rm"], ["query", "--diversity", "all"],
    ["query", "--random-fraction", "1"], ["query", "--random-fraction", "-0.1"], ["query", "--explain"],
    ["query", "--adjudicate"], ["query", "--recall-sample", "10"], ["query", "--density", "1"],
    ["label", "--json"], ["label", "--import", "a.csv"], ["label", "--export", "-"], ["label", "--adjudicate"],
    ["label", "--annotator"], ["label", "--annotator", "-x"], ["label", "--help"],
])
def test_anything_else_goes_through_typer(argv):
    assert _parsed(argv) is None


def _ready(cli, project):
    assert cli("seed", "-p", project, "--size", "15").code == 0
    assert cli("label", "-p", project, "--import", project.parent / "answers.csv", "--queued-only").code == 0
    assert cli("retrain", "-p", project).code == 0


def test_the_fast_path_says_and_writes_what_typer_does(cli, project, tmp_path):
    _ready(cli, project)
    twin = tmp_path / "twin"
    import shutil

    shutil.copytree(project, twin)
    steps = [["score"], ["score", "--json"],
             ["query", "--size", "7", "--strategy", "entropy", "--random-fraction", "0", "--diversity", "none"],
             ["query", "-n", "5", "--strategy", "margin+kmeans", "--json"], ["status"], ["status", "--json"]]
    for args in steps:
        fast = _al(WATCH + ENTRY, *args, "-p", project)
        slow = _al(WATCH + TYPER, *args, "-p", twin)
        assert fast.returncode == slow.returncode == 0, (args, fast.stderr, slow.stderr)
        assert "typer loaded: False" in fast.stderr and "typer loaded: True" in slow.stderr
        strip = lambda t: t.replace(str(twin), "P").replace(str(project), "P").replace("typer loaded: True", "") \
            .replace("typer loaded: False", "")  # noqa: E731
        assert strip(fast.stdout) == strip(slow.stdout), args
        assert strip(fast.stderr) == strip(slow.stderr), args
    for name in ("scores.csv", "queue.csv"):
        assert (project / name).read_bytes() == (twin / name).read_bytes(), name
    for root in (project, twin):  # a stale memo: status computed, still without typer
        (root / "cache" / "status.json").unlink()
    fast = _al(WATCH + ENTRY, "status", "-p", project)
    slow = _al(WATCH + TYPER, "status", "-p", twin)
    assert fast.returncode == slow.returncode == 0 and "typer loaded: False" in fast.stderr
    assert fast.stdout.replace(str(project), "P") == slow.stdout.replace(str(twin), "P")
    assert (project / "cache" / "status.json").exists()  # and memoised again


def test_errors_are_one_line_and_the_same_exit_code(project, tmp_path):
    for args in (["score", "-p", project], ["query", "--size", "3", "-p", project],
                 ["score", "-p", tmp_path / "nowhere"], ["label", "-p", project],
                 ["label", "-p", project, "--annotator", "ana"], ["label", "-p", tmp_path / "nowhere"]):
        fast, slow = _al(ENTRY, *args), _al(TYPER, *args)
        assert fast.returncode == slow.returncode == 1, (args, fast.stderr)
        assert fast.stderr == slow.stderr and fast.stderr.startswith("error: ") and "Traceback" not in fast.stderr


def test_a_usage_error_is_left_to_typer(project):
    r = _al(ENTRY, "query", "-p", project, "--size", "0")
    assert r.returncode == 2 and "--size" in r.stderr


def test_the_labeler_starts_without_typer(project):
    r = _al(WATCH + ENTRY, "label", "-p", project, "--annotator", "ana")
    assert r.returncode == 1 and "no terminal to label in" in r.stderr
    assert "typer loaded: False" in r.stderr
