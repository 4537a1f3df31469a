"""The whole loop through the CLI on each bundled sample project (issue 2 acceptance)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from al_cli.store import LABEL_COLUMNS

SAMPLES = {
    # name: (init args, batch, metric that must rise)
    "penguins": (["--id-column", "id", "--feature-columns",
                  "island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex,year",
                  "--labels", "Adelie,Chinstrap,Gentoo"], 8, "accuracy"),
    "screening": (["--id-column", "id", "--text-column", "title", "--text-column", "abstract",
                   "--labels", "include,exclude"], 20, "accuracy"),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_full_loop_through_cli(name, sample, cli):
    src = sample(name)
    init_args, batch, metric = SAMPLES[name]
    p = src / "project"
    r = cli("init", p, "--data", src / "pool.csv", "--validation", src / "validation.csv",
            "--label-column", "label", *init_args, "--json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["n_rows"] == len(pd.read_csv(src / "pool.csv"))

    r = cli("seed", "-p", p, "--size", batch, "--json")
    assert r.code == 0, r.stderr
    seeded = r.json()
    assert len(seeded["ids"]) == batch and seeded["path"].endswith("queue.csv")
    answers = src / "answers.csv"
    r = cli("label", "-p", p, "--import", answers, "--queued-only", "--annotator", "key", "--json")
    assert r.code == 0, r.stderr
    assert r.json()["imported"] == batch

    evals, queues = [], []
    for _ in range(5):
        r = cli("retrain", "-p", p, "--json")
        assert r.code == 0, r.stderr
        r = cli("evaluate", "-p", p, "--json")
        assert r.code == 0, r.stderr
        ev = r.json()
        for key in ("model_version", "n_labeled", "accuracy", "macro_f1", "per_class", "stop"):
            assert key in ev
        for stats in ev["per_class"].values():
            assert set(stats) >= {"precision", "recall", "f1", "support"}
        evals.append(ev)
        r = cli("score", "-p", p, "--json")
        assert r.code == 0, r.stderr
        r = cli("query", "-p", p, "--size", batch, "--json")
        assert r.code == 0, r.stderr
        q = r.json()
        assert set(q) >= {"ids", "path"} and len(q["ids"]) == batch
        queues.append(q["ids"])
        r = cli("label", "-p", p, "--import", answers, "--queued-only", "--annotator", "key")
        assert r.code == 0, r.stderr
    r = cli("retrain", "-p", p)
    assert r.code == 0
    r = cli("evaluate", "-p", p, "--json")
    evals.append(r.json())

    first, last = evals[0], evals[-1]
    assert last[metric] > first[metric], [e[metric] for e in evals]
    assert [e["n_labeled"] for e in evals] == [batch * (i + 1) for i in range(6)]

    # labels.csv: one row per answer, each id once, all from the answer key
    log = pd.read_csv(p / "labels.csv", dtype=str)
    assert list(log.columns) == LABEL_COLUMNS
    assert len(log) == batch * 6 and log["id"].is_unique
    key = pd.read_csv(answers, dtype=str).set_index("id")["label"]
    assert (log["label"].to_numpy() == key.loc[log["id"]].to_numpy()).all()
    assert set(log["annotator"]) == {"key"} and set(log["status"]) == {"labeled"}
    # queries never repeat a labeled row
    flat = [i for q in queues for i in q]
    assert len(set(flat)) == len(flat)
    # queue.csv holds the last batch, all answered now
    queue = pd.read_csv(p / "queue.csv", dtype={"id": str})
    assert queue["id"].tolist() == queues[-1]
    # models/: one joblib + manifest per retrain
    manifests = sorted((p / "models").glob("*.json"))
    assert [m.stem for m in manifests] == [f"{i:04d}" for i in range(1, 7)]
    man = json.loads(manifests[-1].read_text())
    assert man["n_labeled"] == batch * 6 and len(man["labels_used"]) == batch * 6
    assert set(man["library_versions"]) >= {"scikit-learn", "numpy", "pandas"}
    assert len(man["sha256"]) == 64
    # history.csv: one row per retrain and per evaluate
    hist = pd.read_csv(p / "history.csv")
    assert (hist["event"] == "retrain").sum() == 6 and (hist["event"] == "evaluate").sum() == 6
    r = cli("status", "-p", p, "--json")
    st = r.json()
    assert st["n_labeled"] == batch * 6 and st["queue_size"] == 0 and st["model_version"] == 6
    assert st["last_metrics"]["accuracy"] == pytest.approx(last["accuracy"])
    assert set(st) >= {"n_labeled", "labels_per_class", "queue_size", "model_version",
                       "last_metrics", "next_command"}
