"""Stopping rules (issue 9, item 6): each on a run whose curve plateaus and on one that does
not; the cost of labels, stabilizing predictions and intervals through the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from al_cli import stopping
from al_cli.reports.metrics import bootstrap_ci, metrics
from al_cli.store import Project

N = [20, 40, 60, 80, 100, 120]
RUNS = {  # accuracy, labeling minutes behind each model, kappa with the model before
    "plateau": ([0.70, 0.80, 0.85, 0.851, 0.852, 0.852], [5, 10, 15, 20, 25, 30],
                [None, 0.80, 0.95, 0.995, 0.997, 0.999]),
    "rising": ([0.50, 0.58, 0.66, 0.74, 0.82, 0.90], [5, 10, 15, 20, 25, 30],
               [None, 0.60, 0.70, 0.72, 0.80, 0.85]),
}
OPTIONS = {"target": {"stop_at": 0.88}, "min_gain": {"min_gain": 0.05},
           "max_minutes_per_point": {"max_minutes_per_point": 2.0},
           "stable_predictions": {"stable_kappa": 0.99}}


def _replay(run: str, rule: str) -> list[bool]:
    acc, minutes, kappas = RUNS[run]
    said = []
    for i in range(1, len(acc) + 1):
        curve = [{"model_version": v + 1, "n_labeled": N[v], "accuracy": acc[v], "macro_f1": acc[v]}
                 for v in range(i)]
        state = stopping.CurveState("accuracy", acc[i - 1], curve, minutes[:i], kappas[:i])
        opts = {"stop_at": None, "min_gain": None, "patience": 3, "max_minutes_per_point": None,
                "stable_kappa": None, **OPTIONS[rule]}
        stop, reason, given = stopping.decide(state, opts)
        assert given and (reason is not None) == stop
        said.append(stop)
    return said


@pytest.mark.parametrize("rule", ["min_gain", "max_minutes_per_point", "stable_predictions"])
def test_plateau_rules_stop_on_a_plateau_and_not_while_rising(rule):
    plateau = _replay("plateau", rule)
    assert plateau[-1] and not any(plateau[:3])  # never before the curve has flattened
    assert not any(_replay("rising", rule))


def test_target_stops_when_reached_and_not_on_a_plateau_below_it():
    assert not any(_replay("plateau", "target"))
    assert _replay("rising", "target") == [False] * 5 + [True]


def test_minutes_per_point_reads_the_cost_of_the_last_points():
    acc, minutes, _ = RUNS["rising"]
    curve = [{"n_labeled": n, "accuracy": a, "macro_f1": a} for n, a in zip(N, acc)]
    state = stopping.CurveState("accuracy", acc[-1], curve, minutes)
    assert stopping.minutes_per_point(state, 3) == pytest.approx(15 / 24)
    assert stopping.minutes_per_point(stopping.CurveState("accuracy", 0.9, curve, [0] * 6), 3) is None
    flat = [dict(p, accuracy=0.8) for p in curve]
    assert stopping.minutes_per_point(stopping.CurveState("accuracy", 0.8, flat, minutes), 3) == float("inf")


def test_bootstrap_interval_holds_the_metric_and_narrows_with_more_rows():
    rng = np.random.default_rng(0)

    def sample(n):
        y = rng.choice(["a", "b", "c"], n)
        return y, np.where(rng.random(n) < 0.8, y, rng.choice(["a", "b", "c"], n))

    widths = []
    for n in (50, 2000):
        y, p = sample(n)
        acc, macro, _, _ = metrics(y, p, ["a", "b", "c"])
        ci = bootstrap_ci(y, p, ["a", "b", "c"], np.random.default_rng(1))
        assert ci["accuracy"][0] <= acc <= ci["accuracy"][1]
        assert ci["macro_f1"][0] <= macro <= ci["macro_f1"][1]
        widths.append(ci["accuracy"][1] - ci["accuracy"][0])
    assert widths[1] < widths[0] / 3


def test_cost_and_stability_through_the_cli(cli, project, tmp_path):
    """A replayed run on separable data: timed answers, models that stop changing."""
    answers = pd.read_csv(tmp_path / "answers.csv", dtype=str).set_index("id")["label"]
    proj = Project.open(project)
    assert cli("seed", "-p", project, "--size", "12").code == 0
    said = []
    for rnd in range(6):
        ids = pd.read_csv(project / "queue.csv", dtype=str)["id"].tolist()
        proj.append_labels([{"id": i, "label": answers[i], "annotator": "ana", "time": "2026-01-01T00:00:00+00:00",
                             "round": str(rnd), "seconds": 30.0, "note": "", "status": "labeled"} for i in ids])
        assert cli("retrain", "-p", project).code == 0
        r = cli("evaluate", "-p", project, "--json", "--stable-kappa", "0.95", "--patience", "2",
                "--max-minutes-per-point", "1")
        assert r.code in (0, 3), r.stderr
        d = r.json()
        said.append((d["stop"], d["stop_reason"]))
        assert d["labeling_minutes"] == pytest.approx(0.5 * len(pd.read_csv(project / "labels.csv")))
        assert d["accuracy_ci"][0] <= d["accuracy"] <= d["accuracy_ci"][1]
        if rnd:
            assert d["stability_kappa"] is not None
        assert cli("score", "-p", project).code == 0
        assert cli("query", "-p", project, "--size", "8").code == 0
    assert said[0] == (False, None) and said[-1][0]
    assert any(("kappa" in (r or "")) or ("minutes" in (r or "")) or ("did not improve" in (r or ""))
               for _, r in said)
    hist = pd.read_csv(project / "history.csv")
    assert hist["stability_kappa"].notna().sum() == 5
