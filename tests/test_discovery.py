"""Discovery task (issue 11, first step): init records it, the relevance strategy ranks the
likeliest relevant documents first."""

from __future__ import annotations

import pandas as pd
import yaml

SPAMMY = ["win cash prize now", "free prize claim now", "cash bonus win today", "claim your free cash"]
PLAIN = ["lunch at noon", "see you at home", "meeting moved to three", "running late again",
         "dinner was lovely", "call me later", "report due monday", "happy birthday friend"]


def _pool(tmp_path):
    rows = [(f"d{i:03d}", (SPAMMY if i % 5 == 0 else PLAIN)[i % 4 if i % 5 == 0 else i % 8] + f" n{i}")
            for i in range(100)]
    df = pd.DataFrame(rows, columns=["id", "text"])
    df.to_csv(tmp_path / "pool.csv", index=False)
    pd.DataFrame({"id": df["id"], "label": ["relevant" if i % 5 == 0 else "other" for i in range(100)]}).to_csv(
        tmp_path / "answers.csv", index=False)
    return df


def test_discovery_project_ranks_likeliest_relevant_first(cli, tmp_path):
    _pool(tmp_path)
    p = tmp_path / "p"
    r = cli("init", p, "--data", tmp_path / "pool.csv", "--id-column", "id", "--text-column", "text",
            "--labels", "relevant,other", "--task", "discovery", "--relevant", "relevant")
    assert r.code == 0, r.stderr
    cfg = yaml.safe_load((p / "al.yaml").read_text())
    assert cfg["task"] == "discovery" and cfg["relevant"] == "relevant" and cfg["strategy"]["name"] == "relevance"
    assert cli("seed", "-p", p, "--size", "20").code == 0
    assert cli("label", "-p", p, "--import", tmp_path / "answers.csv", "--queued-only").code == 0
    assert cli("retrain", "-p", p).code == 0
    assert cli("score", "-p", p).code == 0
    scores = pd.read_csv(p / "scores.csv", dtype={"id": str}).set_index("id")
    assert "relevance" in scores.columns
    assert scores["relevance"].round(6).equals(scores["p_relevant"].round(6))
    r = cli("query", "-p", p, "--size", "10", "--random-fraction", "0", "--json")
    assert r.code == 0, r.stderr
    got = r.json()["ids"]
    best = scores["relevance"].sort_values(ascending=False, kind="stable")
    assert set(got) == set(best.index[:10]) or scores.loc[got, "relevance"].min() >= best.iloc[9] - 1e-9
    answers = pd.read_csv(tmp_path / "answers.csv").set_index("id")["label"]
    assert (answers[got] == "relevant").mean() >= 0.8  # the ranking brings the relevant ones forward
    # status estimates the relevant documents still unread from scores.csv (Quant)
    d = cli("status", "-p", p, "--json").json()["discovery"]
    labeled = pd.read_csv(p / "labels.csv", dtype=str)
    found = int((labeled["label"] == "relevant").sum())
    unread = scores  # scores.csv holds the unlabeled rows only
    assert d["read"] == 20 and d["relevant_found"] == found
    assert abs(d["estimated_relevant"] - (found + unread["p_relevant"].sum())) < 0.01
    lo, hi = d["estimated_relevant_interval"]
    assert lo <= d["estimated_relevant"] <= hi and 0 < d["recall_low"] <= d["estimated_recall"] <= 1
    assert "discovery: 20 read" in cli("status", "-p", p).stdout
    assert cli("label", "-p", p, "--import", tmp_path / "answers.csv", "--queued-only").code == 0
    assert cli("retrain", "-p", p).code == 0
    d = cli("status", "-p", p, "--json").json()["discovery"]
    assert d["estimated_relevant"] is None and "older model" in d["note"]


def test_discovery_setup_errors(cli, tmp_path, project):
    d = tmp_path / "d"
    d.mkdir()
    _pool(d)
    args = ["init", tmp_path / "q", "--data", d / "pool.csv", "--id-column", "id", "--text-column", "text"]
    r = cli(*args, "--labels", "relevant,other", "--task", "discovery")
    assert r.code == 1 and "--relevant LABEL" in r.stderr and not (tmp_path / "q").exists()
    r = cli(*args, "--labels", "a,b,c", "--task", "discovery", "--relevant", "a")
    assert r.code == 1 and "two labels" in r.stderr
    r = cli(*args, "--labels", "a,b", "--relevant", "a")
    assert r.code == 1 and "--task discovery" in r.stderr
    cfg = yaml.safe_load((project / "al.yaml").read_text())
    cfg["relevant"] = "a"
    (project / "al.yaml").write_text(yaml.safe_dump(cfg))
    r = cli("status", "-p", project)
    assert r.code == 1 and "field 'relevant'" in r.stderr
    cfg.pop("relevant")
    (project / "al.yaml").write_text(yaml.safe_dump(cfg))
    assert cli("seed", "-p", project, "--size", "15").code == 0
    assert cli("label", "-p", project, "--import", tmp_path / "answers.csv", "--queued-only").code == 0
    assert cli("retrain", "-p", project).code == 0
    r = cli("query", "-p", project, "--strategy", "relevance")
    assert r.code == 1 and "for discovery projects" in r.stderr
