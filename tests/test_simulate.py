"""al simulate: the protocol (points, label counts, no test row labeled, determinism),
its outputs, and its errors. Tiny data and few rounds: the whole file runs in seconds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from al_cli.commands import simulate as sim
from al_cli.reports import simulate_summary as summary
from al_cli.strategies.spec import QuerySpec
from al_cli.cli import app
from al_cli.errors import AlError
from al_cli.store import Project

ROOT = Path(__file__).resolve().parents[1]
PENGUINS = ROOT / "sample_projects" / "penguins"

INITIAL, BATCH, ROUNDS, REPEATS = 6, 5, 3, 2


@pytest.fixture(scope="module")
def iris_csv(tmp_path_factory) -> Path:
    from sklearn.datasets import load_iris

    bunch = load_iris(as_frame=True)
    df = bunch.frame.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    df["species"] = np.asarray(bunch.target_names)[df.pop("target")]
    path = tmp_path_factory.mktemp("iris") / "iris.csv"
    df.to_csv(path, index=False)  # no id column: simulate derives ids
    return path


def _protocol(**kw) -> sim.Protocol:
    base = dict(initial=INITIAL, batch=BATCH, rounds=ROUNDS, test_size=0.3)
    base.update(kw)
    return sim.Protocol(**base)


@pytest.fixture(scope="module")
def iris_run(iris_csv, tmp_path_factory):
    data = sim.load_data(iris_csv, label_column="species")
    keep = tmp_path_factory.mktemp("projects")
    res = sim.run(data, strategies=sim.parse_strategies(None), protocol=_protocol(), repeats=REPEATS,
                  keep_projects=keep, plot=False)
    return data, res, keep


def test_point_counts_and_label_counts(iris_run):
    _, res, _ = iris_run
    assert list(res.strategies) == [sim.default_strategy_name(), "random"]
    c = res.curves
    assert list(c.columns) == sim.CURVE_COLUMNS
    expected = [INITIAL + k * BATCH for k in range(ROUNDS + 1)]
    for (strategy, repeat), g in c.groupby(["strategy", "repeat"]):
        assert g["n_labeled"].tolist() == expected, (strategy, repeat)
    assert c.groupby(["strategy", "repeat"]).ngroups == 2 * REPEATS
    assert c[["accuracy", "macro_f1"]].apply(lambda s: s.between(0, 1)).all().all()
    for s in res.strategies.values():
        assert len(s.curve) == ROUNDS + 1
        assert s.aulc_accuracy == pytest.approx(np.mean([p["accuracy"] for p in s.curve]))


def test_no_test_row_is_ever_labeled(iris_run):
    data, res, keep = iris_run
    n_train, n_test = res.n_train, res.n_test
    assert n_train + n_test == len(data.frame) == 150
    for repeat in range(REPEATS):
        test_ids = set(res.test_ids[repeat])
        assert len(test_ids) == n_test
        for name in res.strategies:
            folder = keep / f"repeat{repeat}" / sim._safe(name) / "project"
            proj = Project(folder)
            log = pd.read_csv(proj.labels_path, dtype={"id": str})
            assert len(log) == INITIAL + ROUNDS * BATCH
            assert log["id"].is_unique
            assert not set(log["id"]) & test_ids
            # the pool of the temporary project is exactly the training part
            pool = pd.read_csv(proj.resolve(proj.config.data.path), dtype=str)
            assert not set(pool[data.id_column]) & test_ids
            assert len(pool) == n_train and data.label_column not in pool.columns
            assert set(log["annotator"]) == {"oracle"}


def test_same_initial_set_for_every_strategy(iris_run):
    _, res, keep = iris_run
    for repeat in range(REPEATS):
        firsts = []
        for name in res.strategies:
            log = pd.read_csv(keep / f"repeat{repeat}" / sim._safe(name) / "project" / "labels.csv",
                              dtype={"id": str})
            firsts.append(sorted(log["id"].head(INITIAL)))
        assert all(f == firsts[0] for f in firsts)
        assert sorted(res.initial_ids[repeat]) == firsts[0]
    assert res.initial_ids[0] != res.initial_ids[1]  # repeats differ


def test_same_seed_same_curve(iris_csv, iris_run):
    _, first, _ = iris_run
    data = sim.load_data(iris_csv, label_column="species")
    again = sim.run(data, strategies=sim.parse_strategies(None), protocol=_protocol(), repeats=REPEATS,
                    plot=False)
    pd.testing.assert_frame_equal(first.curves, again.curves)
    assert first.full_data == again.full_data


def test_parallel_repeats_give_the_same_curves(iris_csv, iris_run):
    _, first, _ = iris_run
    data = sim.load_data(iris_csv, label_column="species")
    par = sim.run(data, strategies=sim.parse_strategies(None), protocol=_protocol(), repeats=REPEATS,
                  plot=False, n_jobs=2)
    pd.testing.assert_frame_equal(first.curves, par.curves)


def test_summary_and_targets():
    curve = pd.DataFrame({"n_labeled": [10, 20, 30], "accuracy": [0.5, 0.9, 0.95]})
    assert summary.labels_to_reach(curve, 0.9) == 20
    assert summary.labels_to_reach(curve, 0.96) is None
    assert summary.aulc([0.5, 0.9, 0.95]) == pytest.approx(0.7833333)


@pytest.mark.parametrize("text, name, div, rf", [
    ("entropy", "entropy", "none", 0.1),
    ("margin+kcenter", "margin", "kcenter", 0.1),
    ("entropy+rf0", "entropy", "none", 0.0),
    ("qbc_kl+kmeans+rf0.25", "qbc_kl", "kmeans", 0.25),
])
def test_strategy_syntax(text, name, div, rf):
    s = QuerySpec.parse(text)
    assert (s.base, s.diversity, s.random_fraction) == (name, div, rf)
    assert QuerySpec.parse("least_confidence+density2").density == 2.0
    assert QuerySpec.parse(s.format()) == s


@pytest.mark.parametrize("bad", ["entropyy", "entropy+foo", "entropy+rf1.5", "+kmeans"])
def test_strategy_syntax_errors(bad):
    with pytest.raises(AlError):
        QuerySpec.parse(bad)


def test_rare_class_rounds_query_at_random_until_two_classes(tmp_path):
    # 4 positives in 200: a random initial set of 3 usually has only negatives; no model can be
    # fitted then, the point is the one-class prediction and the next round queries at random.
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"x": rng.normal(size=200), "z": rng.normal(size=200),
                       "y": ["neg"] * 194 + ["pos"] * 6})
    df.loc[df["y"] == "pos", "x"] += 4
    path = tmp_path / "rare.csv"
    df.to_csv(path, index=False)
    data = sim.load_data(path, label_column="y")
    res = sim.run(data, strategies=[QuerySpec.parse("entropy")], repeats=2, plot=False,
                  protocol=_protocol(initial=3, batch=10, rounds=3))
    c = res.curves
    assert c["n_labeled"].tolist() == [3, 13, 23, 33] * 2
    assert c["accuracy"].between(0, 1).all()
    # repeat 1 starts with negatives only: every row predicted 'neg' (58 of 60 test rows)
    first = c[c["repeat"] == 1].iloc[0]
    assert first["accuracy"] == pytest.approx(58 / 60)
    assert first["macro_f1"] == pytest.approx((2 * 58 / (58 + 60) + 0) / 2, abs=1e-4)


def test_more_than_nine_labels(tmp_path):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    keep = np.concatenate([np.flatnonzero(y == k)[:12] for k in range(10)])
    df = pd.DataFrame(X[keep][:, ::4], columns=[f"p{i}" for i in range(16)])
    df["digit"] = y[keep]
    path = tmp_path / "digits.csv"
    df.to_csv(path, index=False)
    data = sim.load_data(path, label_column="digit")
    assert data.labels == [str(k) for k in range(10)]
    res = sim.run(data, strategies=[QuerySpec.parse("margin")], repeats=1, plot=False,
                  protocol=_protocol(initial=20, batch=10, rounds=1))
    assert res.curves["n_labeled"].tolist() == [20, 30]


# --------------------------------------------------------------------------- CLI
def _cli(*args):
    runner = CliRunner()
    env = {"NO_COLOR": "1"}
    res = runner.invoke(app, ["simulate", *map(str, args)], env=env, catch_exceptions=False)
    return res.exit_code, res.stdout, res.stderr


def test_cli_json_and_files(iris_csv, tmp_path):
    out = tmp_path / "sim"
    code, stdout, stderr = _cli(iris_csv, "--label-column", "species", "--initial", INITIAL, "--batch", BATCH,
                                "--rounds", 2, "--repeats", 1, "--out", out, "--json")
    assert code == 0, stderr
    d = json.loads(stdout)
    assert set(d) >= {"default_strategy", "strategies", "full_data"}
    assert d["default_strategy"] == sim.default_strategy_name()
    assert list(d["strategies"]) == [d["default_strategy"], "random"]
    for s in d["strategies"].values():
        assert set(s) >= {"aulc_accuracy", "aulc_macro_f1", "final_accuracy", "final_macro_f1",
                          "labels_to_95", "labels_to_99", "curve"}
        assert [p["n_labeled"] for p in s["curve"]] == [INITIAL, INITIAL + BATCH, INITIAL + 2 * BATCH]
        assert set(s["curve"][0]) >= {"n_labeled", "accuracy", "macro_f1"}
    assert set(d["full_data"]) >= {"accuracy", "macro_f1"}
    curves = pd.read_csv(out / "curves.csv")
    assert list(curves.columns) == sim.CURVE_COLUMNS and len(curves) == 2 * 3
    assert json.loads((out / "summary.json").read_text())["strategies"].keys() == d["strategies"].keys()
    assert (out / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_on_the_penguins_sample_with_an_answer_key(tmp_path):
    out = tmp_path / "pg"
    code, stdout, stderr = _cli(PENGUINS / "pool.csv", PENGUINS / "validation.csv", "--answers",
                                PENGUINS / "answers.csv", "--id-column", "id", "--strategy", "margin+kcenter",
                                "--initial", 8, "--batch", 8, "--rounds", 2, "--repeats", 1, "--out", out,
                                "--seed-strategy", "kmeans")
    assert code == 0, stderr
    assert "margin+kcenter" in stdout and "full data" in stdout
    curves = pd.read_csv(out / "curves.csv")
    assert curves["n_labeled"].tolist() == [8, 16, 24]
    assert json.loads((out / "summary.json").read_text())["n_rows"] == 344


@pytest.mark.parametrize("args, needle", [
    (["--label-column", "nope"], "label column 'nope' not found"),
    (["--label-column", "species", "--rounds", 50], "training part has only"),
])
def test_cli_bad_input_is_one_error_line(iris_csv, tmp_path, args, needle):
    code, stdout, stderr = _cli(iris_csv, *args, "--out", tmp_path / "x")
    assert code == 1
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], stderr
    assert "Traceback" not in stderr and stdout == ""
    assert not (tmp_path / "x").exists()


def test_cli_missing_file(tmp_path):
    code, _, stderr = _cli(tmp_path / "none.csv", "--out", tmp_path / "x")
    assert code == 1 and stderr.startswith("error: ") and "not found" in stderr


def test_help_documents_the_strategy_syntax():
    res = CliRunner().invoke(app, ["simulate", "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    text = " ".join(res.stdout.split())
    for word in ("--strategy", "kcenter", "rfX", "--seed-strategy", "--n-jobs", "--test-size"):
        assert word in text


@pytest.mark.parametrize("args, needle", [
    (["--strategy", "entropy,bogus"], "bogus"),
    (["--test-size", 1.5], "--test-size"),
    (["--seed-strategy", "kmean"], "kmean"),
    (["--repeats", 0], "--repeats"),
])
def test_cli_bad_option_value_is_a_usage_error(iris_csv, tmp_path, args, needle):
    code, stdout, stderr = _cli(iris_csv, "--label-column", "species", *args, "--out", tmp_path / "x")
    assert code == 2 and needle in stderr and "Traceback" not in stderr, stderr
    assert not (tmp_path / "x").exists()


def test_out_and_keep_projects_are_checked_before_running(iris_csv, tmp_path):
    f = tmp_path / "afile"
    f.write_text("")
    small = ["--initial", 6, "--batch", 3, "--rounds", 1, "--repeats", 1]
    code, _, stderr = _cli(iris_csv, "--label-column", "species", *small, "--out", f)
    assert code == 1 and "not a folder" in stderr
    used = tmp_path / "used"
    used.mkdir()
    (used / "old").write_text("")
    code, _, stderr = _cli(iris_csv, "--label-column", "species", *small, "--out", tmp_path / "o",
                           "--keep-projects", used)
    assert code == 1 and "new or empty folder" in stderr
