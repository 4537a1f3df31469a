"""Parts from other packages, through entry points (issue 8): a strategy and a model defined
in a test package work in 'al query', 'al retrain' and 'al simulate' without touching al_cli.

The package (tests/plugin_pkg/al_test_plugin) is never pip-installed: each test writes an
``al_test_plugin-0.1.dist-info`` folder (METADATA + entry_points.txt) next to a copy of it
in tmp_path and puts that folder on sys.path, where importlib.metadata finds it. The
registries are reset so they look again, and reset after the test so no other test sees
the plugin.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml

from al_cli.features.registry import EXTRACTORS
from al_cli.models.registry import MODELS
from al_cli.report import collecting
from al_cli.stopping import RULES
from al_cli.strategies.registry import STRATEGIES

PLUGIN_SRC = Path(__file__).resolve().parent / "plugin_pkg" / "al_test_plugin"
REGISTRIES = (STRATEGIES, MODELS, EXTRACTORS, RULES)

GOOD = {
    "al_cli.strategies": {"plugin_gini": "al_test_plugin:PLUGIN_GINI"},              # the object
    "al_cli.models": {"plugin_nearest_centroid": "al_test_plugin:nearest_centroid_spec"},  # a callable
}


def _reset_registries() -> None:
    for reg in REGISTRIES:
        reg.reset()


def _forget_plugin_modules() -> None:
    for mod in [m for m in sys.modules if m == "al_test_plugin" or m.startswith("al_test_plugin.")]:
        del sys.modules[mod]


@pytest.fixture
def install_plugin(tmp_path, monkeypatch):
    """install_plugin(entry_points, dist="al_test_plugin"): make a distribution with these
    entry points ({group: {name: "module:attr"}}) discoverable, as if pip-installed."""
    _forget_plugin_modules()

    def install(entry_points: dict[str, dict[str, str]], dist: str = "al_test_plugin") -> Path:
        site = tmp_path / f"site-{dist}"      # one folder per distribution
        site.mkdir()
        shutil.copytree(PLUGIN_SRC, site / "al_test_plugin", ignore=shutil.ignore_patterns("__pycache__"))
        info = site / f"{dist}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text("".join(
            f"[{group}]\n" + "".join(f"{name} = {ref}\n" for name, ref in eps.items()) + "\n"
            for group, eps in entry_points.items()))
        monkeypatch.syspath_prepend(str(site))   # also invalidates importlib's caches
        _reset_registries()
        return site

    yield install
    _reset_registries()          # monkeypatch takes the folder off sys.path right after this
    _forget_plugin_modules()


@pytest.fixture(autouse=True)
def _no_plugin_leaks():
    """Whatever a test did, the next one starts from al's own parts."""
    yield
    assert "plugin_gini" not in STRATEGIES and "plugin_nearest_centroid" not in MODELS


def _ok(r):
    assert r.code == 0, (r.code, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    return r


def one_error_line(r, *fragments: str) -> str:
    assert r.code == 1, (r.code, r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in r.stderr
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


def _init(cli, tmp_path, *extra) -> Path:
    proj = tmp_path / "proj"
    _ok(cli("init", proj, "--data", tmp_path / "pool.csv", "--id-column", "id", "--labels", "a,b,c",
            "--validation", tmp_path / "validation.csv", "--batch-size", "10", *extra))
    return proj


def _first_model(cli, proj: Path, answers: Path) -> dict:
    """seed -> label --import -> retrain; the retrain --json result."""
    _ok(cli("seed", "-p", proj))
    _ok(cli("label", "-p", proj, "--import", answers, "--queued-only"))
    return _ok(cli("retrain", "-p", proj, "--json")).json()


def _ranked(values: pd.Series, chosen: list[str], tol: float = 1e-5) -> bool:
    """Every chosen row scores at least as high as every other row (up to rounding)."""
    rest = values.drop(index=chosen)
    return bool(values.loc[chosen].min() >= rest.max() - tol)


# ----------------------------------------------------------------------------- the loop
def test_plugin_strategy_and_model_in_retrain_score_and_query(cli, tmp_path, tabular_csv, install_plugin):
    install_plugin(GOOD)
    assert STRATEGIES.plugin_names() == ["plugin_gini"] and MODELS.plugin_names() == ["plugin_nearest_centroid"]
    assert "al_test_plugin" not in sys.modules        # listed, not imported, until used

    proj = _init(cli, tmp_path, "--model", "plugin_nearest_centroid")
    cfg = yaml.safe_load((proj / "al.yaml").read_text())
    assert cfg["model"]["name"] == "plugin_nearest_centroid"

    res = _first_model(cli, proj, tmp_path / "answers.csv")
    assert res["model"] == "plugin_nearest_centroid" and res["model_version"] == 1
    manifest = json.loads((proj / "models" / "0001.json").read_text())
    assert manifest["model"]["name"] == "plugin_nearest_centroid"
    import al_test_plugin as plugin                    # loaded by now, from the copy on sys.path

    assert Path(plugin.__file__).is_relative_to(tmp_path)
    bundle = joblib.load(proj / "models" / "0001.joblib")
    assert isinstance(bundle["estimator"], plugin.SoftNearestCentroid)   # really the plugin's model
    assert bundle["model_name"] == "plugin_nearest_centroid"

    _ok(cli("score", "-p", proj))
    scores = pd.read_csv(proj / "scores.csv").set_index("id")
    classes = bundle["classes"]
    proba = scores[[f"p_{c}" for c in classes]].to_numpy()
    assert np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    # the model's probabilities are soft (not 0/1 like nearest-centroid votes)
    assert ((proba > 0.01) & (proba < 0.99)).any()
    gini = pd.Series(plugin.gini(proba), index=scores.index)   # the plugin's score, computed here

    # the plugin strategy alone (no diversity, no random share): the plugin's top rows
    r = _ok(cli("query", "-p", proj, "--strategy", "plugin_gini", "--diversity", "none",
                "--random-fraction", "0", "--size", "10", "--json"))
    assert r.json()["strategy"] == "plugin_gini+rf0"
    q = pd.read_csv(proj / "queue.csv")
    assert len(q) == 10 and set(q["strategy"]) == {"plugin_gini+rf0"}
    chosen = q["id"].astype(str).tolist()
    assert _ranked(gini, chosen), "the batch is not the plugin's top rows"
    np.testing.assert_allclose(q["score"].to_numpy(), gini.loc[chosen].to_numpy(), atol=1e-5)
    # ... and not what al's own margin would have picked (the plugin really was called)
    margin_top = scores["margin"].sort_values(ascending=False, kind="stable").index[:10].tolist()
    assert set(chosen) != set(margin_top)
    assert not np.allclose(q["score"].to_numpy(), scores.loc[chosen, "margin"].to_numpy(), atol=1e-3)

    # with the default modifiers (10% random): rows are the plugin's or random picks
    _ok(cli("query", "-p", proj, "--strategy", "plugin_gini"))
    q = pd.read_csv(proj / "queue.csv")
    assert set(q["strategy"]) <= {"plugin_gini", "random"} and (q["strategy"] == "plugin_gini").sum() >= 9

    # the loop goes on with the plugin model: label the batch, retrain, query again
    _ok(cli("label", "-p", proj, "--import", tmp_path / "answers.csv", "--queued-only"))
    res = _ok(cli("retrain", "-p", proj, "--json")).json()
    assert res["model"] == "plugin_nearest_centroid" and res["model_version"] == 2
    _ok(cli("query", "-p", proj, "--strategy", "plugin_gini", "--random-fraction", "0"))
    assert set(pd.read_csv(proj / "queue.csv")["strategy"]) == {"plugin_gini+rf0"}


def test_plugin_strategy_set_in_al_yaml_is_written_by_score(cli, tmp_path, tabular_csv, install_plugin):
    """strategy.name: a plugin's score is a scores.csv column, and 'al query' reads it back."""
    install_plugin(GOOD)
    proj = _init(cli, tmp_path, "--model", "plugin_nearest_centroid", "--strategy", "plugin_gini")
    assert yaml.safe_load((proj / "al.yaml").read_text())["strategy"]["name"] == "plugin_gini"
    _first_model(cli, proj, tmp_path / "answers.csv")
    r = _ok(cli("score", "-p", proj, "--json"))
    assert r.json()["extra_scores"] == ["plugin_gini"]
    import al_test_plugin as plugin

    scores = pd.read_csv(proj / "scores.csv").set_index("id")
    proba = scores[[c for c in scores.columns if c.startswith("p_")]].to_numpy()
    np.testing.assert_allclose(scores["plugin_gini"], plugin.gini(proba), atol=1e-5)
    r = _ok(cli("query", "-p", proj, "--random-fraction", "0", "--json"))
    assert r.json()["strategy"] == "plugin_gini+rf0"
    chosen = pd.read_csv(proj / "queue.csv")["id"].astype(str).tolist()
    assert _ranked(scores["plugin_gini"], chosen)
    assert "scoring" not in r.stderr          # scores.csv is from this state: not recomputed


def test_plugin_strategy_and_model_in_simulate(cli, tmp_path, tabular_csv, install_plugin):
    install_plugin(GOOD)
    out = tmp_path / "sim"
    r = _ok(cli("simulate", tabular_csv, tmp_path / "validation.csv", "--answers", tmp_path / "answers.csv",
                "--id-column", "id", "--strategy", "plugin_gini,plugin_gini+kcenter", "--model",
                "plugin_nearest_centroid", "--initial", "8", "--batch", "8", "--rounds", "2",
                "--repeats", "1", "--out", out, "--json"))
    d = r.json()
    assert list(d["strategies"]) == ["plugin_gini", "plugin_gini+kcenter"]
    for s in d["strategies"].values():
        assert [p["n_labeled"] for p in s["curve"]] == [8, 16, 24]
        assert s["final_accuracy"] > 0.5        # 3 well-separated classes, nearest centroids
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["strategies"]) == ["plugin_gini", "plugin_gini+kcenter"]
    assert summary["protocol"]["model"] == "plugin_nearest_centroid"
    assert summary["protocol"]["strategies"] == ["plugin_gini", "plugin_gini+kcenter"]
    curves = pd.read_csv(out / "curves.csv")
    assert set(curves["strategy"]) == {"plugin_gini", "plugin_gini+kcenter"}


# ----------------------------------------------------------------------------- broken plugins
BROKEN = {
    "al_cli.strategies": {"plugin_missing": "al_test_plugin.not_there:SCORE",
                          "plugin_not_a_score": "al_test_plugin:NOT_A_SCORE"},
    "al_cli.models": {"plugin_missing_model": "al_missing_package:SPEC"},
}


def test_a_plugin_that_cannot_be_loaded_is_one_error_line_when_used(cli, tmp_path, project, install_plugin):
    install_plugin(BROKEN, dist="al_broken_plugin")
    answers = tmp_path / "answers.csv"
    _first_model(cli, project, answers)            # broken plugins harm nothing that does not use them
    _ok(cli("score", "-p", project))
    _ok(cli("query", "-p", project, "--strategy", "margin"))
    _ok(cli("status", "-p", project))

    one_error_line(cli("query", "-p", project, "--strategy", "plugin_missing"),
                   "strategy plugin 'plugin_missing'", "al_test_plugin.not_there:SCORE", "cannot be loaded",
                   "ModuleNotFoundError")
    one_error_line(cli("query", "-p", project, "--strategy", "plugin_not_a_score"),
                   "strategy plugin 'plugin_not_a_score'", "is not a BaseScore")

    # a model plugin: al.yaml may name it (names are listed without importing) ...
    _ok(cli("init", project, "--data", tmp_path / "pool.csv", "--id-column", "id", "--labels", "a,b,c",
            "--model", "plugin_missing_model", "--force"))
    # ... and the command that needs it says which plugin is broken
    one_error_line(cli("retrain", "-p", project), "model plugin 'plugin_missing_model'", "cannot be loaded",
                   "al_missing_package")
    one_error_line(cli("simulate", tmp_path / "pool.csv", tmp_path / "validation.csv", "--answers", answers,
                       "--id-column", "id", "--model", "plugin_missing_model", "--strategy", "margin",
                       "--initial", "8", "--batch", "8", "--rounds", "1", "--repeats", "1",
                       "--out", tmp_path / "sim"),
                   "model plugin 'plugin_missing_model'", "cannot be loaded")


# ----------------------------------------------------------------------------- name collisions
def test_a_plugin_cannot_replace_a_builtin(cli, tmp_path, project, install_plugin):
    install_plugin({"al_cli.strategies": {"margin": "al_test_plugin:FAKE_MARGIN",
                                          "plugin_gini": "al_test_plugin:PLUGIN_GINI"},
                    "al_cli.models": {"logistic_regression": "al_test_plugin:FAKE_LOGREG"}})
    with collecting() as msgs:
        names = STRATEGIES.names()
        model_names = MODELS.names()
    assert names.count("margin") == 1 and "plugin_gini" in names     # the other plugin still counts
    assert model_names.count("logistic_regression") == 1
    assert STRATEGIES.plugin_names() == ["plugin_gini"] and MODELS.plugin_names() == []
    warned = [m for level, m in msgs if level == "warning"]
    assert any("'margin'" in m and "ignored" in m for m in warned), msgs
    assert any("'logistic_regression'" in m and "ignored" in m for m in warned), msgs
    assert STRATEGIES.get("margin") is STRATEGIES.builtins()["margin"]
    assert MODELS.get("logistic_regression") is MODELS.builtins()["logistic_regression"]

    # the CLI runs al's own margin and logistic regression
    res = _first_model(cli, project, tmp_path / "answers.csv")
    assert res["model"] == "logistic_regression"
    est = joblib.load(project / "models" / "0001.joblib")["estimator"]
    assert type(est).__name__ == "LogisticRegression"
    _ok(cli("score", "-p", project))
    scores = pd.read_csv(project / "scores.csv").set_index("id")
    _ok(cli("query", "-p", project, "--strategy", "margin", "--diversity", "none", "--random-fraction", "0"))
    chosen = pd.read_csv(project / "queue.csv")["id"].astype(str).tolist()
    assert _ranked(scores["margin"], chosen)          # al's margin: the least certain rows
    assert not _ranked(-scores["margin"], chosen)     # not the impostor's: the most certain ones
    assert "al_test_plugin" not in sys.modules        # the impostors were never even imported
