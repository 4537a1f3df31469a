"""cache/scores.npz, the binary twin of scores.csv that 'al query' reads: used when it is
the file al score wrote (by its stat, else by its SHA-256), ignored when damaged, and the
batch is the same either way."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np

from al_cli.commands.scoring import read_binary
from al_cli.store import Project


def _scored(cli, project):
    assert cli("seed", "-p", project, "--size", "12").code == 0
    assert cli("label", "-p", project, "--import", project.parent / "answers.csv", "--queued-only").code == 0
    assert cli("retrain", "-p", project).code == 0
    assert cli("score", "-p", project).code == 0
    return project


def _batch(cli, project) -> list[str]:
    r = cli("query", "-p", project, "--strategy", "margin", "--json")
    assert r.code == 0, r.stderr
    return json.loads(r.stdout)["ids"]


def test_the_binary_twin_matches_scores_csv_and_records_its_stat(cli, project):
    import pandas as pd

    _scored(cli, project)
    man = json.loads((project / "cache" / "scores.json").read_text())
    st = (project / "cache" / "scores.npz").stat()
    assert man["binary"]["written"] == [st.st_size, st.st_mtime_ns, st.st_ino]
    got = read_binary(Project(project), None)
    sc = pd.read_csv(project / "scores.csv", dtype={"id": str})
    assert len(got["rows"]) == len(sc)
    assert np.allclose(got["s_margin"], sc["margin"].to_numpy())


def test_a_damaged_twin_is_ignored_and_the_batch_is_the_same(cli, project):
    _scored(cli, project)
    (project / "queue.csv").unlink(missing_ok=True)
    with_twin = _batch(cli, project)
    path = project / "cache" / "scores.npz"
    data = bytearray(path.read_bytes())
    data[-200] ^= 0xFF
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(bytes(data))
    os.replace(tmp, path)  # a new inode and time: the SHA-256 is checked, and fails
    assert read_binary(Project(project), None) is None
    (project / "queue.csv").unlink(missing_ok=True)
    assert _batch(cli, project) == with_twin  # from scores.csv


def test_a_copied_project_checks_the_twin_by_its_hash_and_uses_it(cli, project, tmp_path):
    _scored(cli, project)
    copy = tmp_path / "copy"
    shutil.copytree(project, copy)  # new inodes: the stat differs, the content does not
    man = json.loads((copy / "cache" / "scores.json").read_text())
    st = (copy / "cache" / "scores.npz").stat()
    assert man["binary"]["written"] != [st.st_size, st.st_mtime_ns, st.st_ino]
    assert read_binary(Project(copy), None) is not None
