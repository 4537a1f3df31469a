"""al agreement (issue 10, item 2): kappa and alpha equal hand-worked values and the
reference packages; a random-answering annotator is flagged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from al_cli.reports.agreement import count_matrix, fleiss_kappa, krippendorff_alpha, pairwise

SAMPLES = Path(__file__).resolve().parents[1] / "sample_projects"

# Fleiss (1971) as worked on Wikipedia ("Fleiss' kappa", worked example): 10 items, 14 raters.
FLEISS_TABLE = np.array([[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
                         [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]], float)


def test_hand_worked_values():
    assert fleiss_kappa(FLEISS_TABLE) == pytest.approx(0.20993, abs=1e-5)
    # two raters, four items: p_o = 0.75, p_e = 0.5*0.25 + 0.5*0.75 = 0.5, kappa = 0.5
    df = pd.DataFrame({"id": list("1234") * 2, "annotator": ["a"] * 4 + ["b"] * 4,
                       "label": list("xxyy") + list("xyyy")})
    p = pairwise(df, np.random.default_rng(0))[0]
    assert p["kappa"] == pytest.approx(0.5, abs=1e-9) and p["agreement"] == 0.75 and p["items"] == 4
    # Krippendorff's alpha, nominal: coincidences o_xx = 2, o_xy = o_yx = 1, o_yy = 4, so
    # n_x = 3, n_y = 5, n = 8 and alpha = 1 - (n - 1) * 2 / (n^2 - 3^2 - 5^2) = 1 - 14/30
    c, _ = count_matrix(df)
    assert krippendorff_alpha(c) == pytest.approx(1 - (8 - 1) * 2 / (8 * 8 - 3 ** 2 - 5 ** 2), abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31), st.integers(5, 40), st.floats(0.0, 0.6))
def test_alpha_and_fleiss_match_the_reference_packages(seed, n_items, missing):
    krippendorff = pytest.importorskip("krippendorff")
    sm = pytest.importorskip("statsmodels.stats.inter_rater")
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_items):
        truth = rng.integers(0, 3)
        for a in range(4):
            if rng.random() >= missing:
                rows.append((f"i{i}", f"u{a}", str(truth if rng.random() < 0.7 else rng.integers(0, 3))))
    df = pd.DataFrame(rows, columns=["id", "annotator", "label"])
    c, cats = count_matrix(df)
    pairable = c[c.sum(axis=1) >= 2]
    if len(pairable) == 0 or len(cats) < 2:
        return
    wide = df.pivot(index="annotator", columns="id", values="label").astype(float).to_numpy()
    ref = krippendorff.alpha(reliability_data=wide, level_of_measurement="nominal")
    if ref != ref:  # the pairable answers are all one label: the package divides 0 by 0,
        assert (pairable > 0).sum(axis=0).astype(bool).sum() == 1  # al says 1.0 (none disagree)
        assert krippendorff_alpha(c) == 1.0
    else:
        assert krippendorff_alpha(c) == pytest.approx(ref, abs=1e-6)
    full = c[c.sum(axis=1) == 4]
    if len(full) >= 2:
        ref_f = sm.fleiss_kappa(full)
        if ref_f == ref_f:
            assert fleiss_kappa(full) == pytest.approx(ref_f, abs=1e-6)


def test_a_random_answering_annotator_is_flagged(cli, tmp_path):
    """Three annotators label real data (the penguins answer key); C answers at random 30% of the time."""
    src = SAMPLES / "penguins"
    truth = pd.read_csv(src / "answers.csv", dtype=str)
    p = tmp_path / "p"
    assert cli("init", p, "--data", src / "pool.csv", "--id-column", "id", "--labels",
               "Adelie,Chinstrap,Gentoo").code == 0
    rng = np.random.default_rng(7)
    labels = np.array(["Adelie", "Chinstrap", "Gentoo"])
    for who, noise in (("A", 0.03), ("B", 0.03), ("C", 0.30)):
        lab = truth["label"].to_numpy().copy()
        flip = rng.random(len(lab)) < noise
        lab[flip] = rng.choice(labels, flip.sum())
        pd.DataFrame({"id": truth["id"], "label": lab}).to_csv(tmp_path / f"{who}.csv", index=False)
        assert cli("label", "-p", p, "--import", tmp_path / f"{who}.csv", "--annotator", who).code == 0
    r = cli("agreement", "-p", p, "--json")
    assert r.code == 0, r.stderr
    d = r.json()
    assert d["flagged"] == ["C"] and d["items"] == len(truth)
    by = {a["annotator"]: a for a in d["annotators"]}
    assert by["C"]["agreement_with_consensus"] < by["A"]["agreement_with_consensus"] - 0.1
    pairs = {(x["a"], x["b"]): x for x in d["pairs"]}
    assert pairs[("A", "B")]["kappa"] > pairs[("A", "C")]["kappa"]
    lo, hi = d["krippendorff_alpha_ci"]
    assert lo <= d["krippendorff_alpha"] <= hi
    r = cli("agreement", "-p", p)
    assert r.code == 0 and "FLAGGED" in r.stdout and "warning: C agrees" in r.stderr


def test_agreement_without_shared_items_says_so(cli, project):
    r = cli("agreement", "-p", project)
    assert r.code == 0 and "no item has answers from two or more annotators" in r.stdout
    assert cli("agreement", "-p", project, "--json").json()["items"] == 0
