"""The pool ids in the feature cache (cache/ids.arrow, cache format 3): a format-2 cache
(ids.json) is upgraded in place, a damaged or crafted ids file means a rebuild with a
warning, and the snapshot's ids read without the numpy array equal those read with it."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pyarrow as pa

from al_cli.commands.snapshot import Snapshot
from al_cli.features.cache import read_ids
from al_cli.store import Project


def _scored(cli, project):
    assert cli("seed", "-p", project, "--size", "15").code == 0
    assert cli("label", "-p", project, "--import", project.parent / "answers.csv", "--queued-only").code == 0
    assert cli("retrain", "-p", project).code == 0
    r = cli("score", "-p", project)
    assert r.code == 0, r.stderr
    return (project / "scores.csv").read_bytes()


def _manifest(project):
    return json.loads((project / "cache" / "features.json").read_text())


def test_a_format_2_cache_is_upgraded_in_place_and_gives_the_same_scores(cli, project):
    before = _scored(cli, project)
    cache = project / "cache"
    ids = read_ids((cache / "ids.arrow").read_bytes()).to_pylist()
    text = json.dumps(ids).encode()
    (cache / "ids.json").write_bytes(text)
    (cache / "ids.arrow").unlink()
    man = _manifest(project)
    man["format"] = 2
    man["sha256"]["ids"] = hashlib.sha256(text).hexdigest()
    del man["written"]["ids"]
    (cache / "features.json").write_text(json.dumps(man))
    matrix = (cache / "features.npz").stat()

    (project / "scores.csv").unlink()
    r = cli("score", "-p", project)
    assert r.code == 0 and "rebuilding" not in r.stderr, r.stderr
    assert (project / "scores.csv").read_bytes() == before
    assert _manifest(project)["format"] == 3 and not (cache / "ids.json").exists()
    assert read_ids((cache / "ids.arrow").read_bytes()).to_pylist() == ids
    after = (cache / "features.npz").stat()
    assert (after.st_ino, after.st_mtime_ns) == (matrix.st_ino, matrix.st_mtime_ns)  # the matrix kept


def test_a_damaged_ids_file_means_a_rebuild_with_a_warning(cli, project):
    before = _scored(cli, project)
    (project / "cache" / "ids.arrow").write_bytes(b"ARROW1\x00\x00 not really")
    (project / "scores.csv").unlink()
    r = cli("score", "-p", project)
    assert r.code == 0 and "Traceback" not in r.stderr
    assert "rebuilding" in r.stderr
    assert (project / "scores.csv").read_bytes() == before


def test_an_ids_file_of_numbers_matching_its_manifest_is_refused(cli, project):
    _scored(cli, project)
    cache = project / "cache"
    table = pa.table({"id": pa.array(np.arange(_manifest(project)["n_rows"]))})
    with pa.OSFile(str(cache / "ids.arrow"), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
        w.write_table(table)
    man = _manifest(project)
    man["sha256"]["ids"] = hashlib.sha256((cache / "ids.arrow").read_bytes()).hexdigest()
    (cache / "features.json").write_text(json.dumps(man))
    r = cli("query", "-p", project, "--size", "3")
    assert r.code == 0 and "Traceback" not in r.stderr
    assert "ids.arrow" in r.stderr and "rebuilding" in r.stderr


def test_ids_read_without_the_numpy_array_equal_those_read_with_it(cli, project):
    _scored(cli, project)
    lazy, eager = Snapshot(Project(project)), Snapshot(Project(project))
    pos = np.array([0, 7, 3, lazy.n_rows - 1])
    assert "_index_ids" not in lazy.__dict__
    got = lazy.ids_at(pos)
    assert "_index_ids" not in lazy.__dict__  # taken from the pyarrow strings
    assert got.tolist() == eager.pool_ids[pos].tolist()
    assert lazy.n_rows == len(eager.pool_ids) == len(pd.read_csv(project.parent / "pool.csv"))
    labeled = eager.labels["id"].to_numpy()
    assert [x.tolist() for x in lazy.positions_of(labeled)] == [x.tolist() for x in eager.positions_of(labeled)]
