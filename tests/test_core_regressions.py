"""Regression tests for the defects the core reshape fixed (issue 8)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from al_cli.annotation.session import LabelSession
from al_cli.errors import SettingError
from al_cli.store import Project


def one_error_line(r, *fragments: str) -> None:
    assert r.code == 1, (r.code, r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for f in fragments:
        assert f in lines[0], (f, lines[0])


@pytest.fixture
def overlap_project(tmp_path, cli):
    """A pool whose last 20 rows are also the validation file (with their labels)."""
    rng = np.random.default_rng(1)
    n = 120
    y = np.where(np.arange(n) % 2 == 0, "a", "b")
    x = np.where(y == "a", 0.0, 2.5) + rng.normal(0, 0.7, n)
    pool = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "x": x, "z": rng.normal(0, 1, n)})
    pool.to_csv(tmp_path / "pool.csv", index=False)
    pd.DataFrame({"id": pool["id"], "label": y}).to_csv(tmp_path / "answers.csv", index=False)
    val = pool.iloc[-20:].assign(label=y[-20:])
    val.to_csv(tmp_path / "validation.csv", index=False)
    r = cli("init", tmp_path / "p", "--data", tmp_path / "pool.csv", "--id-column", "id",
            "--labels", "a,b", "--validation", tmp_path / "validation.csv", "--batch-size", "10")
    assert r.code == 0, r.stderr
    return tmp_path / "p", set(val["id"])


def test_validation_rows_are_never_trained_on_nor_queried(cli, overlap_project, tmp_path):
    p, held = overlap_project
    assert cli("seed", "-p", p, "--size", "20").code == 0
    queued = set(pd.read_csv(p / "queue.csv")["id"])
    assert not queued & held
    # an answer key for the whole pool, validation rows included
    r = cli("label", "-p", p, "--import", tmp_path / "answers.csv")
    assert r.code == 0, r.stderr
    r = cli("retrain", "-p", p, "--json")
    assert r.code == 0, r.stderr
    assert "also in the validation file" in r.stderr
    used = {d["id"] for d in json.loads((p / "models" / "0001.json").read_text())["labels_used"]}
    assert used and not used & held and r.json()["n_labeled"] == 100


@pytest.mark.parametrize("damage", ["latin1", "binary", "folder"])
def test_a_damaged_validation_file_is_an_error_not_an_empty_one(cli, overlap_project, tmp_path, damage):
    p, held = overlap_project
    assert cli("seed", "-p", p, "--size", "10").code == 0
    vpath = tmp_path / "validation.csv"
    if damage == "latin1":
        vpath.write_bytes(vpath.read_bytes().replace(b"r100,", b"r\xe9100,"))
    elif damage == "binary":
        vpath.write_bytes(b"\x00\x01\x02garbage\xff\xfe" * 50)
    else:
        vpath.unlink()
        vpath.mkdir()
    for args in (["seed", "--force", "--size", "10"], ["query", "--strategy", "random"]):
        r = cli(args[0], "-p", p, *args[1:])
        one_error_line(r, "validation.csv")
    assert not set(pd.read_csv(p / "queue.csv")["id"]) & held


def test_a_validation_file_without_the_id_column_holds_no_pool_rows(cli, tmp_path, tabular_csv):
    # tests/conftest.py's validation file has ids v0..: not pool rows, and no 'id' clash
    val = pd.read_csv(tmp_path / "validation.csv").drop(columns=["id"])
    val.to_csv(tmp_path / "val_noid.csv", index=False)
    r = cli("init", tmp_path / "q", "--data", tabular_csv, "--id-column", "id", "--labels", "a,b,c",
            "--validation", tmp_path / "val_noid.csv")
    assert r.code == 0, r.stderr
    r = cli("seed", "-p", tmp_path / "q", "--size", "5")
    assert r.code == 0, r.stderr


def test_environment_is_read_where_it_is_used(cli, project, tmp_path, monkeypatch):
    assert cli("seed", "-p", project, "--size", "5").code == 0
    monkeypatch.setenv("AL_CLAIM_TTL", "x")
    r = cli("label", "-p", project, "--export", tmp_path / "b.csv")  # export never uses claims
    assert r.code == 0, r.stderr
    with pytest.raises(SettingError, match="AL_CLAIM_TTL"):
        LabelSession(Project.open(project), "ana")
    monkeypatch.delenv("AL_CLAIM_TTL")
    monkeypatch.setenv("AL_LOCK_TIMEOUT", "abc")
    one_error_line(cli("seed", "-p", project, "--size", "5", "--force"), "AL_LOCK_TIMEOUT", "'abc'")
    monkeypatch.setenv("AL_LOCK_TIMEOUT", "-1")
    one_error_line(cli("seed", "-p", project, "--size", "5", "--force"), "AL_LOCK_TIMEOUT")
    monkeypatch.setenv("AL_LOCK_TIMEOUT", "2.5")
    assert cli("seed", "-p", project, "--size", "5", "--force").code == 0


@pytest.mark.parametrize("field, value, fragment", [
    ("random_state", -1, "random_state"),
    ("random_state", 2**40, "random_state"),
    ("features", {"text": "word2vec"}, "features.text"),
    ("features", {"numeric": "onehot"}, "features.numeric"),
    ("strategy", {"name": ["margin"]}, "strategy.name"),
    ("model", {"name": "bert"}, "model.name"),
])
def test_config_values_are_named_by_field(cli, project, field, value, fragment):
    import yaml

    cfg = yaml.safe_load((project / "al.yaml").read_text())
    if isinstance(value, dict):
        cfg[field] = {**(cfg.get(field) or {}), **value}
    else:
        cfg[field] = value
    (project / "al.yaml").write_text(yaml.safe_dump(cfg))
    one_error_line(cli("status", "-p", project), fragment)


def test_one_strategy_spelling_in_queue_and_json(cli, project, tmp_path):
    assert cli("seed", "-p", project, "--size", "12").code == 0
    assert cli("label", "-p", project, "--import", tmp_path / "answers.csv", "--queued-only").code == 0
    assert cli("retrain", "-p", project).code == 0
    r = cli("query", "-p", project, "--strategy", "entropy", "--diversity", "kcenter", "--random-fraction",
            "0.25", "--json")
    assert r.code == 0, r.stderr
    assert r.json()["strategy"] == "entropy+kcenter+rf0.25"
    q = pd.read_csv(project / "queue.csv")
    assert set(q["strategy"]) <= {"entropy+kcenter+rf0.25", "random"}
    from al_cli.strategies.spec import QuerySpec

    spec = QuerySpec.parse(r.json()["strategy"])
    assert (spec.base, spec.diversity, spec.random_fraction) == ("entropy", "kcenter", 0.25)


def test_each_command_reads_each_part_of_the_project_once(cli, project, tmp_path, monkeypatch):
    """One snapshot per command: labels.csv, queue.csv, the model and the features are
    read at most once by any command (the status memo each writing command refreshes as it
    ends reads them once more, on its own; tests/test_status_memo.py)."""
    from al_cli.cli import run
    from al_cli.features import cache
    from al_cli.store import labellog, modelstore
    from al_cli.store.project import Project as P

    counts: dict[str, int] = {}

    def counting(name, fn):
        def wrapper(*a, **k):
            counts[name] = counts.get(name, 0) + 1
            return fn(*a, **k)
        return wrapper

    monkeypatch.setattr(labellog, "read", counting("labels.csv", labellog.read))
    monkeypatch.setattr(P, "read_queue", counting("queue.csv", P.read_queue))
    monkeypatch.setattr(modelstore.ModelStore, "load", counting("model", modelstore.ModelStore.load))
    monkeypatch.setattr(cache, "load_features", counting("features", cache.load_features))
    monkeypatch.setattr(run, "memo_status", lambda: None)
    from al_cli.commands import status_lite

    monkeypatch.setattr(status_lite, "compute", lambda proj: None)  # status by pandas, as it is here counted
    steps = [["seed", "--size", "12", "--validation-size", "3"],
             ["label", "--import", tmp_path / "answers.csv", "--queued-only"],
             ["retrain"], ["evaluate"], ["score"], ["query", "--strategy", "qbc_kl", "--diversity", "kmeans"],
             ["query", "--strategy", "egl", "--density", "1"], ["label", "--export", tmp_path / "x.csv"],
             ["status"]]
    for args in steps:
        counts.clear()
        r = cli(args[0], "-p", project, *args[1:])
        assert r.code == 0, (args, r.stderr)
        assert max(counts.values(), default=0) <= 1, (args[0], counts)
        if args[0] in ("query", "status"):
            assert counts.get("labels.csv") == 1 and counts.get("queue.csv") == 1, counts


def test_query_takes_a_whole_spec_and_options_override_it(cli, project, tmp_path):
    assert cli("seed", "-p", project, "--size", "12").code == 0
    assert cli("label", "-p", project, "--import", tmp_path / "answers.csv", "--queued-only").code == 0
    assert cli("retrain", "-p", project).code == 0
    r = cli("query", "-p", project, "--strategy", "entropy+kcenter+rf0.25", "--json")
    assert r.code == 0 and r.json()["strategy"] == "entropy+kcenter+rf0.25", r.stderr
    r = cli("query", "-p", project, "--strategy", "entropy+kcenter", "--random-fraction", "0", "--json")
    assert r.code == 0 and r.json()["strategy"] == "entropy+kcenter+rf0", r.stderr
    r = cli("query", "-p", project, "--strategy", "entropy+sideways")
    assert r.code == 2 and "unknown modifier" in r.stderr


def test_history_counts_are_integers(cli, project, tmp_path):
    assert cli("seed", "-p", project, "--size", "12").code == 0
    assert cli("label", "-p", project, "--import", tmp_path / "answers.csv", "--queued-only").code == 0
    for _ in range(2):
        assert cli("retrain", "-p", project).code == 0
        assert cli("evaluate", "-p", project).code == 0
    hist = pd.read_csv(project / "history.csv", dtype=str, keep_default_na=False)
    for col in ("model_version", "round", "n_labeled", "n_eval"):
        assert all(v == "" or v.isdigit() for v in hist[col]), (col, hist[col].tolist())
    assert set(hist["n_eval"]) == {"", "60"}


@pytest.mark.parametrize("value, on", [("", False), ("0", False), ("false", False), ("1", True), ("yes", True)])
def test_al_debug_values(monkeypatch, value, on):
    from al_cli import settings

    monkeypatch.setenv("AL_DEBUG", value)
    assert settings.debug() is on


def test_zero_shares_are_usage_errors(cli, project, tmp_path):
    r = cli("seed", "-p", project, "--fraction", "0")
    assert r.code == 2 and "(0, 1]" in r.stderr
    r = cli("simulate", tmp_path / "validation.csv", "--test-size", "0")
    assert r.code == 2 and "(0, 1)" in r.stderr


def test_simulate_lists_only_the_files_columns(cli, tmp_path):
    pd.DataFrame({"x": range(10), "y": range(10)}).to_csv(tmp_path / "d.csv", index=False)
    one_error_line(cli("simulate", tmp_path / "d.csv", "--label-column", "kind"), "columns: x, y)")


def test_retrain_fits_only_when_something_changed(cli, project, tmp_path):
    assert cli("seed", "-p", project, "--size", "12").code == 0
    assert cli("label", "-p", project, "--import", tmp_path / "answers.csv", "--queued-only").code == 0
    assert cli("retrain", "-p", project, "--json").json()["model_version"] == 1
    same = cli("retrain", "-p", project, "--json").json()
    assert same["model_version"] == 1 and same["refitted"] is False and same["seconds"] == 0
    assert cli("retrain", "-p", project, "--force", "--json").json()["model_version"] == 2
    y = project / "al.yaml"
    y.write_text(y.read_text().replace("class_weight: balanced", "class_weight: null"))
    assert cli("retrain", "-p", project, "--json").json()["model_version"] == 3  # settings changed
    assert cli("query", "-p", project, "--size", "5").code == 0
    assert cli("label", "-p", project, "--import", tmp_path / "answers.csv", "--queued-only").code == 0
    r = cli("retrain", "-p", project, "--json").json()
    assert r["model_version"] == 4 and r["refitted"] is True and r["n_labeled"] == 17
    hist = pd.read_csv(project / "history.csv")
    assert (hist["event"] == "retrain").sum() == 4


def test_cross_validation_names_the_class_with_one_label(tmp_path, cli):
    import pandas as pd

    df = pd.DataFrame({"id": [f"r{i}" for i in range(12)], "x": range(12)})
    df.to_csv(tmp_path / "pool.csv", index=False)
    labels = ["a"] * 5 + ["b"] * 5 + ["c"] + ["a"]
    pd.DataFrame({"id": df["id"], "label": labels}).to_csv(tmp_path / "answers.csv", index=False)
    assert cli("init", tmp_path / "p", "--data", tmp_path / "pool.csv", "--id-column", "id",
               "--labels", "a,b,c").code == 0
    assert cli("label", "-p", tmp_path / "p", "--import", tmp_path / "answers.csv").code == 0
    assert cli("retrain", "-p", tmp_path / "p").code == 0
    r = cli("evaluate", "-p", tmp_path / "p")
    assert r.code == 1 and "label 'c' has a single one; every labeled class needs two" in r.stderr
