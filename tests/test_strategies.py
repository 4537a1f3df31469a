"""One contract for every registered base score x diversity x random mix.

Every combination must: return exactly N distinct rows (or all that remain),
never an unavailable row, the same batch for the same seed, cope with a one-row
pool and a pool smaller than N, and reject bad probabilities with a clear
StrategyError.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from al_cli.errors import StrategyError
from al_cli.strategies import BASE_SCORES, DIVERSITY_METHODS, base_scores, select_batch

N_CLASSES = 3
N_MEMBERS = 4


def make_inputs(n_rows: int, seed: int = 0, n_classes: int = N_CLASSES):
    """Probabilities, committee outputs and features for a random pool."""
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.ones(n_classes), size=n_rows)
    member_probas = rng.dirichlet(np.ones(n_classes), size=(N_MEMBERS, n_rows))
    member_votes = member_probas.argmax(axis=2)
    X = rng.standard_normal((n_rows, 4))
    return dict(proba=proba, member_probas=member_probas, member_votes=member_votes, X=X,
                classes=[f"c{i}" for i in range(n_classes)], relevant="c1")


def run(name, diversity, random_fraction, n, inputs, available=None, seed=7):
    scores = base_scores(name, rng=np.random.default_rng(seed), **inputs)
    return select_batch(
        scores,
        n,
        rng=np.random.default_rng(seed),
        available=available,
        X=inputs["X"],
        diversity=diversity,
        random_fraction=random_fraction,
        candidate_factor=3,
    )


def check_batch(batch, n, available):
    pos = batch.positions
    expected = min(n, int(available.sum()))
    assert len(pos) == expected
    assert len(np.unique(pos)) == len(pos), "duplicate rows in batch"
    assert available[pos].all(), "picked an unavailable row"
    for arr in (batch.score, batch.final_score, batch.cluster, batch.random_pick, batch.cost):
        assert len(arr) == len(pos)
    assert np.isfinite(batch.score).all()
    assert len(batch.reasons()) == len(pos)


COMBOS = [
    (name, div, rf)
    for name in BASE_SCORES
    for div in DIVERSITY_METHODS
    for rf in (0.0, 0.2)
]


@pytest.mark.parametrize("name,diversity,random_fraction", COMBOS)
def test_strategy_contract(name, diversity, random_fraction):
    n_rows, n = 60, 10
    inputs = make_inputs(n_rows)
    available = np.ones(n_rows, dtype=bool)
    available[::3] = False  # "labeled" rows

    # Exactly N distinct available rows.
    batch = run(name, diversity, random_fraction, n, inputs, available)
    check_batch(batch, n, available)
    if random_fraction > 0:
        assert batch.random_pick.sum() == 2
        assert all("random pick" in r for r, is_r in zip(batch.reasons(), batch.random_pick) if is_r)
    else:
        assert not batch.random_pick.any()

    # Same seed, same batch.
    again = run(name, diversity, random_fraction, n, inputs, available)
    np.testing.assert_array_equal(batch.positions, again.positions)
    np.testing.assert_array_equal(batch.final_score, again.final_score)
    np.testing.assert_array_equal(batch.cluster, again.cluster)
    assert batch.reasons() == again.reasons()

    # A one-row pool.
    one = make_inputs(1)
    b1 = run(name, diversity, random_fraction, n, one)
    assert b1.positions.tolist() == [0]

    # A pool smaller than N (after masking): everything that remains.
    few = np.zeros(n_rows, dtype=bool)
    few[[4, 17, 33]] = True
    b2 = run(name, diversity, random_fraction, n, inputs, few)
    assert sorted(b2.positions.tolist()) == [4, 17, 33]

    # Nothing available: an empty batch, not a crash.
    b3 = run(name, diversity, random_fraction, n, inputs, np.zeros(n_rows, dtype=bool))
    assert len(b3.positions) == 0


BAD_PROBAS = {
    "nan": (np.array([[0.5, 0.5, 0.0], [np.nan, 0.5, 0.5]]), r"NaN.*row 1"),
    "sum": (np.array([[0.5, 0.5, 0.0], [0.2, 0.2, 0.2]]), r"sum to 1.*row 1"),
    "negative": (np.array([[1.2, -0.2, 0.0], [0.2, 0.3, 0.5]]), r"\[0, 1\].*row 0"),
    "1-D": (np.array([0.5, 0.5]), r"2-D"),
}


@pytest.mark.parametrize("name", [n for n in BASE_SCORES if n != "qbc_vote_entropy"])
@pytest.mark.parametrize("bad", list(BAD_PROBAS))
def test_invalid_probabilities_raise(name, bad):
    proba, message = BAD_PROBAS[bad]
    spec = BASE_SCORES[name]
    kwargs = {}
    if "committee" in spec.needs:  # qbc_vote_entropy takes votes: see test_bad_votes_raise
        kwargs["member_probas"] = np.stack([proba, proba]) if proba.ndim == 2 else proba
        if proba.ndim != 2:
            message = r"3-D"
    else:
        kwargs["proba"] = proba
        kwargs["X"] = np.ones((proba.shape[0], 2))
    with pytest.raises(StrategyError, match=message):
        base_scores(name, rng=np.random.default_rng(0), **kwargs)


def test_bad_votes_raise():
    with pytest.raises(StrategyError, match="class index"):
        base_scores("qbc_vote_entropy", member_votes=np.array([[0, 5]]), n_classes=3,
                    rng=np.random.default_rng(0))
    with pytest.raises(StrategyError, match="needs committee votes"):
        base_scores("qbc_vote_entropy", proba=np.eye(2), rng=np.random.default_rng(0))


def test_unknown_strategy_lists_valid_names():
    with pytest.raises(StrategyError, match="valid strategies: least_confidence, margin"):
        base_scores("bald", proba=np.eye(2), rng=np.random.default_rng(0))


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(n=0), "batch size"),
        (dict(n=-3), "batch size"),
        (dict(n=2.5), "whole number"),
        (dict(random_fraction=-0.1), "random fraction"),
        (dict(random_fraction=1.5), "random fraction"),
        (dict(candidate_factor=0), "candidate factor"),
        (dict(diversity="dpp"), "unknown diversity"),
        (dict(diversity="kmeans", X=None), "needs the feature matrix"),
        (dict(available=np.ones(3, dtype=bool)), "available mask"),
        (dict(density=np.full(10, 2.0)), r"\(0, 1\]"),
        (dict(cost=np.r_[np.ones(9), 0.0]), r"cost must be positive \(row 9"),
        (dict(density_weight=-1, density=np.ones(10)), "density weight"),
        (dict(scores=np.r_[np.ones(9), np.nan]), r"NaN.*row 9"),
        (dict(scores=np.ones((10, 2))), "1-D"),
        (dict(X=np.ones((9, 2))), "9 rows, expected 10"),
        (dict(rng=np.random.RandomState(0)), "Generator"),
    ],
)
def test_select_batch_rejects_bad_arguments(kwargs, message):
    args = dict(scores=np.linspace(0, 1, 10), n=3, rng=np.random.default_rng(0), X=np.ones((10, 2)))
    args.update(kwargs)
    with pytest.raises(StrategyError, match=message):
        select_batch(args.pop("scores"), args.pop("n"), **args)


def test_ties_are_broken_by_seed_not_position():
    scores = np.zeros(1000)
    picks = {tuple(select_batch(scores, 5, rng=np.random.default_rng(s)).positions) for s in range(5)}
    assert len(picks) == 5
    # ...and by a stable order: the same seed always gives the same picks.
    a = select_batch(scores, 5, rng=np.random.default_rng(3)).positions
    b = select_batch(scores, 5, rng=np.random.default_rng(3)).positions
    np.testing.assert_array_equal(a, b)


def test_top_k_matches_full_ranking_on_large_pool():
    from al_cli.strategies import ranked, top_k

    scores = np.random.default_rng(0).integers(0, 50, size=20000).astype(float)
    a = top_k(scores, 30, np.random.default_rng(9))
    b = ranked(scores, np.random.default_rng(9))[:30]
    np.testing.assert_array_equal(a, b)


def test_plain_selection_takes_the_top_scores_and_reports_them():
    scores = np.array([0.1, 0.9, 0.5, 0.8, 0.7])
    available = np.array([True, True, True, False, True])
    b = select_batch(scores, 2, rng=np.random.default_rng(0), available=available, name="entropy",
                     cost=np.array([1.0, 1.0, 1.0, 1.0, 12.0]), cost_lambda=0.0, cost_unit="s")
    assert b.positions.tolist() == [1, 4]
    assert b.rank.tolist() == [1, 2]
    assert b.reasons() == ["entropy 0.9 (rank 1)", "entropy 0.7 (rank 2), cost 12.0s"]


def test_cost_and_density_reorder_the_batch():
    scores = np.array([1.0, 0.9, 0.8])
    b = select_batch(scores, 1, rng=np.random.default_rng(0), cost=np.array([10.0, 1.0, 1.0]))
    assert b.positions.tolist() == [1]
    assert b.final_score[0] == pytest.approx(0.9)
    b = select_batch(scores, 1, rng=np.random.default_rng(0), density=np.array([0.1, 0.5, 1.0]),
                     density_weight=1.0)
    assert b.positions.tolist() == [2]
    assert b.final_score[0] == pytest.approx(0.8)


# ---------------------------------------------------------------- properties


@st.composite
def pools(draw):
    n_rows = draw(st.integers(1, 40))
    n_classes = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.full(n_classes, draw(st.sampled_from([0.1, 1.0, 10.0]))), size=n_rows)
    available = rng.random(n_rows) < draw(st.floats(0.0, 1.0))
    n = draw(st.integers(1, 15))
    return proba, available, n, seed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pool=pools(),
    name=st.sampled_from(["least_confidence", "margin", "entropy", "random", "egl"]),
    diversity=st.sampled_from(list(DIVERSITY_METHODS)),
    random_fraction=st.sampled_from([0.0, 0.2, 0.5]),
)
def test_batch_invariants_hold_for_random_pools(pool, name, diversity, random_fraction):
    proba, available, n, seed = pool
    X = np.random.default_rng(seed + 1).standard_normal((proba.shape[0], 3))
    scores = base_scores(name, proba=proba, X=X, rng=np.random.default_rng(seed))
    assert scores.shape == (proba.shape[0],)
    assert np.isfinite(scores).all() and (scores >= 0).all()

    def pick():
        return select_batch(scores, n, rng=np.random.default_rng(seed), available=available, X=X,
                            diversity=diversity, random_fraction=random_fraction, candidate_factor=2)

    batch = pick()
    check_batch(batch, n, available)
    np.testing.assert_array_equal(batch.positions, pick().positions)


@settings(max_examples=60, deadline=None)
@given(n_rows=st.integers(1, 20), n_classes=st.integers(1, 5), seed=st.integers(0, 10**6))
def test_uncertainty_scores_are_bounded(n_rows, n_classes, seed):
    from al_cli.strategies import entropy, least_confidence, margin

    proba = np.random.default_rng(seed).dirichlet(np.full(n_classes, 0.5), size=n_rows)
    lc, mg, en = least_confidence(proba), margin(proba), entropy(proba)
    assert ((0 <= lc) & (lc <= 1 - 1 / n_classes + 1e-9)).all()
    assert ((0 <= mg) & (mg <= 1 + 1e-12)).all()
    assert ((0 <= en) & (en <= np.log(n_classes) + 1e-9)).all()


@settings(max_examples=40, deadline=None)
@given(n_rows=st.integers(2, 30), seed=st.integers(0, 10**6),
       row=st.integers(0, 29), bad=st.sampled_from(["nan", "scale", "negative", "inf"]))
def test_any_bad_row_is_named(n_rows, seed, row, bad):
    from al_cli.strategies import check_proba

    row = row % n_rows
    proba = np.random.default_rng(seed).dirichlet(np.ones(3), size=n_rows)
    if bad == "nan":
        proba[row, 1] = np.nan
    elif bad == "inf":
        proba[row, 0] = np.inf
    elif bad == "scale":
        proba[row] *= 0.5
    else:
        proba[row] = [1.5, -0.5, 0.0]
    with pytest.raises(StrategyError, match=rf"row {row}\b"):
        check_proba(proba)
