"""Every 'next:' hint is a command that works as printed where it is printed (issue 15),
and hints go to stderr: stdout is for data."""

from __future__ import annotations

import shlex

import pytest


def _hint(r) -> list[str]:
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("next: ")]
    assert len(lines) == 1 and "next:" not in r.stdout, (r.stdout, r.stderr)
    return shlex.split(lines[0][len("next: "):])


@pytest.mark.parametrize("where", ["outside", "inside"])
def test_each_hint_runs_as_printed(cli, tmp_path, tabular_csv, where):
    r = cli("init", "proj", "--data", tabular_csv, "--id-column", "id", "--labels", "a,b,c",
            "--validation", tmp_path / "validation.csv", "--batch-size", "10", cwd=tmp_path)
    assert r.code == 0, r.stderr
    cwd = tmp_path if where == "outside" else tmp_path / "proj"
    argv = _hint(r)
    assert argv[:2] == ["al", "seed"] and "-p" in argv  # printed outside the project
    if where == "inside":  # the init hint was printed outside: run it there
        r = cli(*argv[1:], cwd=tmp_path)
    else:
        r = cli(*argv[1:], cwd=cwd)
    assert r.code == 0, r.stderr
    if where == "inside":
        r = cli("seed", "--size", "10", "--force", cwd=cwd)
        assert r.code == 0, r.stderr
    label = _hint(r)
    assert label[:2] == ["al", "label"] and ("-p" in label) == (where == "outside")
    r = cli(*label[1:], cwd=cwd)  # no terminal here: the project is found, labeling cannot start
    assert r.code == 1 and "no terminal to label in" in r.stderr
    assert cli(*label[1:], "--import", tmp_path / "answers.csv", "--queued-only", cwd=cwd).code == 0
    for expected in ("evaluate", "query"):
        step = "retrain" if expected == "evaluate" else "score"
        r = cli(step, *(["-p", tmp_path / "proj"] if where == "outside" else []), cwd=cwd)
        assert r.code == 0, r.stderr
        argv = _hint(r)
        assert argv[1] == expected and ("-p" in argv) == (where == "outside")
        r = cli(*argv[1:], cwd=cwd)
        assert r.code == 0, (argv, r.stderr)
    r = cli("status", cwd=tmp_path / "proj")
    assert "next: al label" in r.stdout  # status reports its hint as data, on stdout


def test_blank_labels_are_unanswered_rows_and_an_empty_export_says_so(cli, project, tmp_path):
    assert cli("seed", "-p", project, "--size", "4").code == 0
    assert cli("label", "-p", project, "--export", tmp_path / "b.csv").code == 0
    import pandas as pd

    b = pd.read_csv(tmp_path / "b.csv", dtype=str, keep_default_na=False)
    b.loc[:1, "label"] = "a"  # two answered, two left blank
    b.to_csv(tmp_path / "b.csv", index=False)
    r = cli("label", "-p", project, "--import", tmp_path / "b.csv", "--json")
    assert r.code == 0 and r.json()["imported"] == 2 and r.json()["unanswered"] == 2
    assert r.json()["queue_remaining"] == 2
    b["label"] = "b"
    b.to_csv(tmp_path / "b.csv", index=False)
    assert cli("label", "-p", project, "--import", tmp_path / "b.csv").code == 0
    r = cli("label", "-p", project, "--export", tmp_path / "empty.csv")
    assert r.code == 0 and "no row: every row of the batch is answered" in r.stdout
    assert "fill 'label'" not in r.stdout and "next: al status" in r.stderr
