"""Exact twins (issue 15, item 3): the same displayed content never fills two places of a
batch, is not asked again once answered, and may share its answer at training time."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from al_cli.commands.twins import content_keys, groups_of, shared_labels, spread
from al_cli.strategies.select import one_per_group, select_batch

TEXTS = ["win a free prize now", "are we still on for lunch", "call me when you land",
         "URGENT your account is locked", "see you at eight", "thanks for the lovely dinner"]


def test_content_keys_ignore_white_space_runs_and_float_form_but_not_case():
    df = pd.DataFrame({"t": ["a  b", " a b ", "A b", None, ""], "x": [3.0, 3.0, 3.0, np.nan, np.nan]})
    k = content_keys(df)
    assert k[0] == k[1] != k[2]
    assert k[3] == k[4]  # missing and empty are shown alike
    ints = content_keys(pd.DataFrame({"t": ["a b"], "x": [3]}))
    assert ints[0] == k[0]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=60), st.integers(1, 20), st.integers(0, 2**31))
def test_a_batch_never_holds_two_rows_of_one_group(groups, n, seed):
    g = np.asarray(groups, dtype=np.int64)
    scores = np.random.default_rng(seed).random(len(g))
    b = select_batch(scores, n, rng=np.random.default_rng(seed), groups=g, random_fraction=0.2)
    chosen = g[b.positions]
    assert len(set(chosen)) == len(chosen)
    assert len(chosen) == min(n, len(set(g)))  # every group can still be reached


def test_the_best_scored_twin_stands_for_its_group():
    g = np.array([0, 0, 1, 1, 1])
    final = np.array([0.1, 0.9, 0.5, 0.5, 0.2])
    keep = one_per_group(g, final, np.array([True, True, True, True, True]))
    assert keep.tolist() == [False, True, True, False, False]  # ties: first by position
    keep = one_per_group(g, final, np.array([True, False, False, True, True]))
    assert keep.tolist() == [True, False, False, True, False]


def test_shared_labels_skip_groups_whose_answers_disagree():
    g = groups_of(np.array([7, 7, 7, 8, 8, 8, 9], dtype=np.uint64))
    eligible = np.ones(7, dtype=bool)
    eligible[2] = False  # e.g. held out
    pos, lab = shared_labels(g, np.array([0, 3, 4]), np.array(["spam", "ham", "spam"], dtype=object), eligible)
    assert pos.tolist() == [1] and lab.tolist() == ["spam"]
    assert spread(g, np.array([1, 0, 0, 0, 0, 0, 0], dtype=bool)).tolist() == [True] * 3 + [False] * 4


def _twin_project(cli, tmp_path, share=False):
    rows = []
    for i in range(60):
        rows.append({"id": f"m{i:02d}", "text": TEXTS[i % len(TEXTS)] + ("" if i < 30 else f" #{i}")})
    pool = pd.DataFrame(rows)
    pool.loc[5, "text"] = "  " + TEXTS[5].replace(" ", "   ")  # white space differs, still a twin
    pool.to_csv(tmp_path / "pool.csv", index=False)
    r = cli("init", tmp_path / "p", "--data", tmp_path / "pool.csv", "--id-column", "id",
            "--text-column", "text", "--labels", "spam,ham", "--batch-size", "12")
    assert r.code == 0, r.stderr
    if share:
        import yaml

        cfg = yaml.safe_load((tmp_path / "p" / "al.yaml").read_text())
        cfg["labeling"]["share_twin_labels"] = True
        (tmp_path / "p" / "al.yaml").write_text(yaml.safe_dump(cfg))
    return tmp_path / "p", pool


def _texts(pool, ids):
    t = pool.set_index("id")["text"].str.split().str.join(" ")
    return [t[i] for i in ids]


def _answer(pool, ids):
    return pd.DataFrame({"id": ids, "label": ["spam" if "prize" in t or "URGENT" in t else "ham"
                                              for t in _texts(pool, ids)]})


def test_query_keeps_exact_twins_out_of_a_batch_and_out_of_later_rounds(cli, tmp_path):
    proj, pool = _twin_project(cli, tmp_path)
    assert cli("seed", "-p", proj, "--size", "6").code == 0
    seeded = pd.read_csv(proj / "queue.csv", dtype=str)["id"].tolist()
    _answer(pool, seeded).to_csv(tmp_path / "a.csv", index=False)
    assert cli("label", "-p", proj, "--import", tmp_path / "a.csv").code == 0
    assert cli("retrain", "-p", proj).code == 0
    r = cli("query", "-p", proj, "--json")
    assert r.code == 0, r.stderr
    ids = r.json()["ids"]
    texts = _texts(pool, ids)
    assert len(set(texts)) == len(texts) == 12
    assert not set(texts) & set(_texts(pool, seeded))  # answered content is not asked again


def test_share_twin_labels_trains_on_the_unlabeled_twins(cli, tmp_path):
    proj, pool = _twin_project(cli, tmp_path, share=True)
    _answer(pool, ["m00", "m01"]).to_csv(tmp_path / "a.csv", index=False)
    r = cli("label", "-p", proj, "--import", tmp_path / "a.csv")
    assert r.code == 0, r.stderr
    assert cli("retrain", "-p", proj).code == 0
    man = json.loads((proj / "models" / "0001.json").read_text())
    used = {d["id"]: d["label"] for d in man["labels_used"]}
    twins_of_m00 = [f"m{i:02d}" for i in range(0, 30, 6)]  # the same text as m00
    assert {i: used.get(i) for i in twins_of_m00} == {i: "spam" for i in twins_of_m00}
    assert used["m01"] == "ham" and used["m07"] == "ham" and "m02" not in used
    assert man["n_labeled"] == 10
