"""compute.backend: dask: a LocalCluster on 127.0.0.1 gives the batch and the scores the
local path gives."""

from __future__ import annotations

import importlib.util
import shutil

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("distributed") is None,
                                reason="the dask extra is not installed (pip install -e '.[dask]')")


@pytest.fixture(scope="module")
def scheduler():
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                           processes=True)
    yield cluster.scheduler_address
    cluster.close()


@pytest.fixture
def twin_projects(tmp_path, cli):
    rng = np.random.default_rng(0)
    n = 2500
    X = rng.normal(size=(n, 5))
    y = np.where(X[:, 0] + 0.5 * X[:, 1] + rng.normal(0, 0.7, n) > 0, "a", "b")
    df = pd.DataFrame(np.round(X, 4), columns=[f"x{i}" for i in range(5)])
    df.insert(0, "id", [f"r{i}" for i in range(n)])
    df.to_csv(tmp_path / "pool.csv", index=False)
    pd.DataFrame({"id": df["id"], "label": y}).to_csv(tmp_path / "answers.csv", index=False)
    local = tmp_path / "local"
    assert cli("init", local, "--data", tmp_path / "pool.csv", "--id-column", "id", "--labels", "a,b").code == 0
    assert cli("seed", "-p", local, "--size", "30").code == 0
    assert cli("label", "-p", local, "--import", tmp_path / "answers.csv", "--queued-only").code == 0
    assert cli("retrain", "-p", local).code == 0
    remote = tmp_path / "remote"
    shutil.copytree(local, remote)
    yml = remote / "al.yaml"  # small partitions: the pool is cut in 9
    yml.write_text(yml.read_text().replace("partition_rows: 250000", "partition_rows: 300"))
    return local, remote


@pytest.mark.parametrize("options", [[], ["--strategy", "entropy", "--random-fraction", "0.3"],
                                     ["--strategy", "margin", "--diversity", "kcenter"],
                                     ["--strategy", "least_confidence", "--density", "1"]])
def test_the_cluster_batch_equals_the_local_one(twin_projects, cli, scheduler, options):
    local, remote = twin_projects
    a = cli("query", "-p", local, "--size", "15", *options, "--json")
    b = cli("query", "-p", remote, "--size", "15", *options, "--scheduler", scheduler, "--json")
    assert a.code == 0 and b.code == 0, b.stderr
    assert a.json()["ids"] == b.json()["ids"]
    assert (local / "queue.csv").read_bytes() == (remote / "queue.csv").read_bytes()  # scores, ranks too


def test_auto_takes_its_margin_scores_from_the_cluster_and_gives_the_local_batch(twin_projects, cli, scheduler,
                                                                                  tmp_path):
    local, remote = twin_projects
    for p in (local, remote):  # more models: auto measures its flip rate and mixes in margin rows
        for _ in range(3):
            assert cli("query", "-p", p, "--size", "40", "--strategy", "margin").code == 0
            assert cli("label", "-p", p, "--import", tmp_path / "answers.csv", "--queued-only").code == 0
            assert cli("retrain", "-p", p).code == 0
    a = cli("query", "-p", local, "--size", "15", "--json", "--explain")
    b = cli("query", "-p", remote, "--size", "15", "--scheduler", scheduler, "--json", "--explain")
    assert a.code == 0 and b.code == 0, b.stderr
    assert a.json()["auto"]["flip_rate"] is not None and a.json()["auto"]["n_margin"] > 0
    assert a.json()["ids"] == b.json()["ids"] and a.json()["auto"] == b.json()["auto"]
    assert (local / "queue.csv").read_bytes() == (remote / "queue.csv").read_bytes()


def test_the_cluster_scores_equal_the_local_ones(twin_projects, cli, scheduler):
    local, remote = twin_projects
    yml = remote / "al.yaml"  # the backend from al.yaml this time
    yml.write_text(yml.read_text().replace("backend: local", "backend: dask")
                   .replace("scheduler: null", f"scheduler: {scheduler}"))
    assert cli("score", "-p", local).code == 0
    r = cli("score", "-p", remote)
    assert r.code == 0, r.stderr
    assert (local / "scores.csv").read_bytes() == (remote / "scores.csv").read_bytes()


def test_a_committee_score_runs_here_and_says_so(twin_projects, cli, scheduler):
    local, remote = twin_projects
    a = cli("query", "-p", local, "--size", "5", "--strategy", "qbc_kl", "--json")
    b = cli("query", "-p", remote, "--size", "5", "--strategy", "qbc_kl", "--scheduler", scheduler, "--json")
    assert b.code == 0 and "scoring here, not on the cluster" in b.stderr
    assert a.json()["ids"] == b.json()["ids"]


def test_no_scheduler_is_one_clear_line(twin_projects, cli):
    _, remote = twin_projects
    yml = remote / "al.yaml"
    yml.write_text(yml.read_text().replace("backend: local", "backend: dask"))
    r = cli("query", "-p", remote, "--size", "5")
    assert r.code == 1 and "compute.scheduler is not set" in r.stderr
    r = cli("score", "-p", remote, "--scheduler", "tcp://127.0.0.1:9")  # nothing listens there
    assert r.code == 1 and r.stderr.startswith("error: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert len(r.stderr.strip().splitlines()) == 1


def test_a_malformed_scheduler_address_is_refused_at_once(twin_projects, cli):
    _, remote = twin_projects
    for bad in ("foo", "http://127.0.0.1:1", "  "):
        r = cli("score", "-p", remote, "--scheduler", bad)
        assert r.code == 1 and "is not one: give tcp://HOST:PORT" in r.stderr, bad
        assert "Traceback" not in r.stderr
    yml = remote / "al.yaml"
    yml.write_text(yml.read_text().replace("scheduler: null", "scheduler: foo"))
    r = cli("status", "-p", remote)
    assert r.code == 1 and "compute.scheduler" in r.stderr
