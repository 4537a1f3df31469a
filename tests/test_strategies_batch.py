"""Diversity, density, cost and seeding: behaviour on planted structure, and scale."""

from __future__ import annotations


import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from al_cli.errors import StrategyError
from al_cli.strategies import (
    column_cost,
    density_weighted,
    kcenter_greedy,
    kmeans_diverse,
    kmeans_seed,
    learned_cost,
    random_seed,
    representativeness,
    select_batch,
)


def planted_pool(seed=0):
    """20 clusters x 50 near-identical points. Cluster 0 is the most uncertain,
    clusters 1-3 nearly as uncertain, the rest confidently predicted."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((20, 5)) * 10
    cluster = np.repeat(np.arange(20), 50)
    X = centres[cluster] + rng.standard_normal((1000, 5)) * 1e-3
    scores = rng.uniform(0.0, 0.2, size=1000)
    scores[cluster == 0] = rng.uniform(0.95, 0.99, size=50)
    for c in (1, 2, 3):
        scores[cluster == c] = rng.uniform(0.80, 0.94, size=50)
    return X, scores, cluster


@pytest.mark.parametrize("diversity", ["kmeans", "kcenter"])
def test_diversity_picks_fewer_near_duplicates(diversity):
    X, scores, cluster = planted_pool()
    plain = select_batch(scores, 10, rng=np.random.default_rng(1), X=X)
    diverse = select_batch(scores, 10, rng=np.random.default_rng(1), X=X, diversity=diversity)
    n_plain = len(set(cluster[plain.positions]))
    n_diverse = len(set(cluster[diverse.positions]))
    assert n_plain == 1  # all ten from the single most uncertain cluster
    assert n_diverse > n_plain
    assert n_diverse == 4  # every uncertain cluster, and nothing confidently predicted
    if diversity == "kmeans":
        assert (diverse.cluster >= 0).all() and "cluster" in diverse.reasons()[0]
    else:
        assert (diverse.cluster == -1).all()


def test_kcenter_with_reference_starts_away_from_labeled_rows():
    X, scores, cluster = planted_pool()
    labeled = np.flatnonzero(cluster == 0)[:5]
    available = np.ones(1000, dtype=bool)
    available[labeled] = False
    b = select_batch(scores, 3, rng=np.random.default_rng(0), X=X, diversity="kcenter",
                     available=available, reference=labeled, candidate_factor=100)
    assert 0 not in set(cluster[b.positions])
    assert len(set(cluster[b.positions])) == 3


def test_kmeans_diverse_and_kcenter_on_sparse_and_with_duplicates():
    rng = np.random.default_rng(0)
    Xd = np.repeat(rng.random((3, 6)), 10, axis=0)  # only 3 distinct rows
    X = sp.csr_matrix(Xd)
    cand = np.arange(5, 30)
    scores = rng.random(30)
    pos, cl = kmeans_diverse(cand, scores, X, 6, np.random.default_rng(1))
    assert len(set(pos.tolist())) == 6 and set(pos) <= set(cand) and len(cl) == 6
    pos2 = kcenter_greedy(cand, scores, X, 6, np.random.default_rng(1))
    assert len(set(pos2.tolist())) == 6 and set(pos2) <= set(cand)
    # The first three k-centre picks cover the three distinct rows.
    assert len({tuple(Xd[i]) for i in pos2[:3]}) == 3
    # Sparse and dense give the same k-centre batch.
    np.testing.assert_array_equal(pos2, kcenter_greedy(cand, scores, Xd, 6, np.random.default_rng(1)))
    # Candidate-aligned scores are accepted too.
    pos3 = kcenter_greedy(cand, scores[cand], Xd, 6, np.random.default_rng(1))
    np.testing.assert_array_equal(pos2, pos3)
    with pytest.raises(StrategyError, match="same row twice"):
        kcenter_greedy(np.array([1, 1]), scores, Xd, 1, np.random.default_rng(0))


@pytest.mark.parametrize("diversity", ["kmeans", "kcenter"])
def test_select_batch_with_sparse_features(diversity):
    X, scores, cluster = planted_pool()
    Xs = sp.csr_matrix(X)
    available = np.ones(1000, dtype=bool)
    available[:3] = False
    b = select_batch(scores, 8, rng=np.random.default_rng(0), X=Xs, diversity=diversity,
                     available=available, reference=np.arange(3), random_fraction=0.25)
    assert len(set(b.positions.tolist())) == 8 and available[b.positions].all()
    assert b.random_pick.sum() == 2


# -------------------------------------------------------------------- density


def test_representativeness_dense_marks_outliers():
    rng = np.random.default_rng(0)
    # A dense blob, plus four lone points far from it and from each other.
    outliers = np.array([[40.0, 0, 0], [0, 40.0, 0], [0, 0, 40.0], [-40.0, 0, 0]])
    X = np.vstack([rng.standard_normal((400, 3)), outliers])
    r = representativeness(X, np.random.default_rng(1), n_clusters=5)
    assert r.shape == (404,) and ((r > 0) & (r <= 1)).all() and r.max() == 1.0
    assert r[400:].max() < np.quantile(r[:400], 0.05)
    # The blob's centre is more typical than its fringe.
    norms = np.linalg.norm(X[:400], axis=1)
    assert r[:400][norms < 1].mean() > r[:400][norms > 2.5].mean()
    again = representativeness(X, np.random.default_rng(1), n_clusters=5)
    np.testing.assert_array_equal(r, again)


def test_representativeness_sparse_tfidf():
    common = ["cheap pills buy now", "buy cheap pills", "cheap cheap pills", "pills buy cheap now",
              "meeting at noon", "lunch meeting at noon"]
    docs = common * 8 + ["xylophone zebra quokka"]
    X = TfidfVectorizer().fit_transform(docs)
    r = representativeness(X, np.random.default_rng(0), n_clusters=3)
    assert r.shape == (49,) and ((r > 0) & (r <= 1)).all()
    assert r[-1] < r[:-1].min()  # the odd document out is the least typical
    assert r[0] > r[4]  # the spam theme is more common than the meeting theme
    empty = sp.csr_matrix((3, 5))  # rows with no terms at all
    assert ((representativeness(empty, np.random.default_rng(0)) > 0)).all()


def test_density_weighted():
    np.testing.assert_allclose(density_weighted([1.0, 0.5], [0.25, 1.0], weight=0.5), [0.5, 0.5])
    with pytest.raises(StrategyError, match=r"\(0, 1\]"):
        density_weighted([1.0], [0.0])


def test_large_pool_gives_a_valid_batch():
    # Scale is measured in benchmarks/ (1,000,000 rows); here only behaviour is asserted.
    rng = np.random.default_rng(0)
    n = 200_000
    X = rng.standard_normal((n, 50), dtype=np.float32)
    scores = rng.random(n)
    available = rng.random(n) > 0.001
    r = representativeness(X, np.random.default_rng(1))
    b = select_batch(scores, 100, rng=np.random.default_rng(2), available=available, X=X,
                     diversity="kcenter", density=r, random_fraction=0.1,
                     reference=np.flatnonzero(~available))
    b2 = select_batch(scores, 100, rng=np.random.default_rng(2), available=available, X=X,
                      diversity="kmeans")
    assert len(set(b.positions.tolist())) == 100 and available[b.positions].all()
    assert len(set(b2.positions.tolist())) == 100


# ----------------------------------------------------------------------- cost


def test_learned_cost_follows_the_timings():
    rng = np.random.default_rng(0)
    X = rng.random((60, 2))
    seconds = np.exp(1.0 + 3.0 * X[:, 0])  # longer rows take longer
    seconds[:5] = np.nan  # untimed labels are ignored
    pool = np.array([[0.05, 0.5], [0.95, 0.5]])
    cost, fitted = learned_cost(X, seconds, pool)
    assert fitted
    assert (cost > 0).all() and cost[1] > 3 * cost[0]


def test_learned_cost_needs_enough_timed_rows():
    X = np.ones((12, 2))
    seconds = np.full(12, np.nan)
    seconds[:9] = 5.0
    cost, fitted = learned_cost(X, seconds, np.ones((4, 2)), min_rows=10)
    assert not fitted and cost.tolist() == [1.0] * 4
    cost, fitted = learned_cost(sp.csr_matrix(X), np.full(12, 5.0), sp.csr_matrix(np.ones((4, 2))))
    assert fitted and np.allclose(cost, 5.0)
    with pytest.raises(StrategyError, match=r"row 3"):
        learned_cost(X, np.r_[5.0, 5.0, 5.0, -1.0, np.full(8, 5.0)], X)


@pytest.mark.parametrize(
    "values,message",
    [
        ([1.0, "slow", 2.0], r"numeric \(row 1: 'slow'\)"),
        ([1.0, 2.0, np.nan], r"missing or infinite value \(row 2\)"),
        ([1.0, 0.0, 2.0], r"positive \(row 1: 0\)"),
        ([1.0, -3.0], r"positive \(row 1: -3\)"),
        ([True, False], "numeric"),
    ],
)
def test_column_cost_errors_name_the_row(values, message):
    with pytest.raises(StrategyError, match=message):
        column_cost(values)


def test_column_cost_accepts_numbers_and_names_ids():
    np.testing.assert_array_equal(column_cost(["1.5", 2, 3.0]), [1.5, 2.0, 3.0])
    with pytest.raises(StrategyError, match=r"id 'doc-7'"):
        column_cost([1.0, None], ids=["doc-3", "doc-7"])


# ----------------------------------------------------------------------- seed


def test_kmeans_seed_is_diverse_distinct_deterministic_and_respects_available():
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((8, 4)) * 20
    group = np.repeat(np.arange(8), 30)
    X = centres[group] + rng.standard_normal((240, 4)) * 0.1
    available = np.ones(240, dtype=bool)
    available[::2] = False
    picks = kmeans_seed(X, 8, np.random.default_rng(3), available=available)
    assert len(set(picks.tolist())) == 8
    assert available[picks].all()
    assert len(set(group[picks])) == 8  # one per blob
    np.testing.assert_array_equal(picks, kmeans_seed(X, 8, np.random.default_rng(3), available=available))
    # Fewer available rows than asked: all of them.
    few = np.zeros(240, dtype=bool)
    few[[3, 9]] = True
    assert sorted(kmeans_seed(X, 8, np.random.default_rng(0), available=few).tolist()) == [3, 9]
    # Duplicate rows: still distinct picks (shortfall filled at random).
    dup = np.zeros((20, 3))
    p = kmeans_seed(dup, 5, np.random.default_rng(0))
    assert len(set(p.tolist())) == 5
    # Sparse input.
    ps = kmeans_seed(sp.csr_matrix(X), 8, np.random.default_rng(3))
    assert len(set(group[ps])) == 8
    with pytest.raises(StrategyError, match="at least 1"):
        kmeans_seed(X, 0, np.random.default_rng(0))


def test_random_seed():
    available = np.zeros(50, dtype=bool)
    available[10:20] = True
    p = random_seed(50, 5, np.random.default_rng(0), available=available)
    assert len(set(p.tolist())) == 5 and available[p].all()
    np.testing.assert_array_equal(p, random_seed(50, 5, np.random.default_rng(0), available=available))
    assert sorted(random_seed(50, 99, np.random.default_rng(0), available=available).tolist()) == list(range(10, 20))
