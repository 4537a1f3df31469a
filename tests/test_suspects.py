"""al suspects (issue 10, item 5): confident learning as cleanlab does it; flipped labels
found through the CLI."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from al_cli.reports.suspects import confident_joint, rank, round_rows


def _noisy_probs(seed: int, n: int, k: int):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)
    logits = rng.normal(0, 1, (n, k))
    logits[np.arange(n), truth] += 2.5
    P = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = truth.copy()
    flip = rng.random(n) < 0.15
    y[flip] = (y[flip] + rng.integers(1, k, flip.sum())) % k
    return P, y, flip


def test_confident_joint_by_hand():
    P = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.2, 0.8]])
    y = np.array([0, 0, 1, 1, 1])
    C, best, t = confident_joint(P, y)
    assert t == pytest.approx([0.85, (0.7 + 0.4 + 0.8) / 3])
    assert best.tolist() == [0, -1, 1, -1, 1] and C.tolist() == [[1, 0], [0, 2]]
    # row totals kept, rounding half to even first (cleanlab's rule)
    got = round_rows(np.array([[1.4, 1.4, 0.2], [0.5, 0.5, 0.0]]))
    assert got.sum(axis=1).tolist() == [3, 1] and got[0, 2] == 0 and got[1].tolist() in ([1, 0, 0], [0, 1, 0])


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 6), st.integers(0, 2**31), st.booleans())
def test_rounding_is_cleanlabs(k, seed, halves):
    util = pytest.importorskip("cleanlab.internal.util")
    rng = np.random.default_rng(seed)
    m = rng.integers(0, 40, size=(k, k)) / (2.0 if halves else rng.uniform(1, 7))  # .5 ties when halved
    assert round_rows(m).tolist() == util.round_preserving_row_totals(m).tolist()


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31), st.sampled_from([2, 3, 5]))
def test_same_issues_as_cleanlab(seed, k):
    filt = pytest.importorskip("cleanlab.filter")
    P, y, _ = _noisy_probs(seed, 300, k)
    if len(np.unique(y)) < k:
        return
    order, issue, _ = rank(P, y)
    ref = filt.find_label_issues(y, P, filter_by="both", return_indices_ranked_by="self_confidence", n_jobs=1)
    ours = set(np.flatnonzero(issue))
    overlap = len(ours & set(ref)) / max(1, len(ours | set(ref)))
    if k == 2:  # the same rows in the same order
        assert ours == set(ref) and order[:len(ref)].tolist() == list(ref)
    else:  # cleanlab also rebalances its prune counts per class (_keep_at_least_n_per_class)
        assert overlap >= 0.8


def test_issues_come_first_and_find_flips():
    P, y, flip = _noisy_probs(3, 2000, 3)
    order, issue, suggested = rank(P, y)
    n = int(issue.sum())
    assert issue[order[:n]].all() and not issue[order[n:]].any()
    top = order[:int(flip.sum())]
    assert flip[top].mean() >= 0.6
    assert (suggested[issue] != y[issue]).all()


def test_suspects_through_the_cli(cli, project, tmp_path):
    answers = pd.read_csv(tmp_path / "answers.csv", dtype=str)
    noisy = answers.copy()
    flip = noisy.index[::10]  # every tenth label is wrong
    noisy.loc[flip, "label"] = noisy.loc[flip, "label"].map({"a": "b", "b": "c", "c": "a"})
    noisy.to_csv(tmp_path / "noisy.csv", index=False)
    assert cli("label", "-p", project, "--import", tmp_path / "noisy.csv").code == 0
    r = cli("suspects", "-p", project, "--top", str(len(flip)), "--json")
    assert r.code == 0, r.stderr
    d = r.json()
    top = [s["id"] for s in d["suspects"]]
    flipped = set(noisy.loc[flip, "id"])
    assert len(set(top) & flipped) / len(flip) >= 0.6 and d["n_checked"] == 150
    truth = answers.set_index("id")["label"]
    assert all(s["suggested"] == truth[s["id"]] for s in d["suspects"] if s["issue"] and s["id"] in flipped)
    r = cli("suspects", "-p", project, "--top", "5", "--export", "-")
    assert r.code == 0
    second = pd.read_csv(io.StringIO(r.stdout), dtype=str, keep_default_na=False)
    assert list(second.columns[:4]) == ["id", "label", "annotator", "note"] and len(second) == 5
    second["label"] = truth[second["id"]].to_numpy()
    second.to_csv(tmp_path / "second.csv", index=False)
    r = cli("label", "-p", project, "--import", tmp_path / "second.csv", "--annotator", "reviewer")
    assert r.code == 0 and "disagreeing answers" in r.stderr  # the second look is a second opinion
    r = cli("suspects", "-p", project)
    assert r.code == 0 and "training labels look wrong" in r.stdout


def test_suspects_needs_labels(cli, project):
    r = cli("suspects", "-p", project)
    assert r.code == 1 and r.stderr.startswith("error: cannot look for suspect labels")
