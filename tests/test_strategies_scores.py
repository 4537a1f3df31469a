"""Known values, computed by hand, for every score; committee fitting and alignment."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.naive_bayes import GaussianNB

from al_cli.errors import StrategyError
from al_cli.strategies import uncertainty as U
from al_cli.strategies import (
    EGL_SUPPORTED_MODELS,
    base_scores,
    check_proba,
    committee_probas,
    committee_votes,
    entropy,
    expected_gradient_length,
    fit_committee,
    kl_disagreement,
    least_confidence,
    margin,
    ranked,
    vote_entropy,
)

PROBA = np.array(
    [
        [0.7, 0.2, 0.1],
        [0.5, 0.5, 0.0],
        [1.0, 0.0, 0.0],
    ]
)


def test_least_confidence_by_hand():
    # 1 - max: 1-0.7, 1-0.5, 1-1
    np.testing.assert_allclose(least_confidence(PROBA), [0.3, 0.5, 0.0])


def test_margin_by_hand():
    # 1 - (top1 - top2): 1-(0.7-0.2), 1-(0.5-0.5), 1-(1-0)
    np.testing.assert_allclose(margin(PROBA), [0.5, 1.0, 0.0])


def test_entropy_by_hand():
    # row 0: 0.7*ln(1/0.7) + 0.2*ln(1/0.2) + 0.1*ln(1/0.1)
    #      = 0.7*0.356675 + 0.2*1.609438 + 0.1*2.302585 = 0.249672 + 0.321888 + 0.230259
    # row 1: ln 2 (0*ln 0 counts as 0); row 2: 0
    np.testing.assert_allclose(entropy(PROBA), [0.801819, np.log(2), 0.0], atol=1e-6)


def test_single_class_scores_are_zero():
    one = np.ones((4, 1))
    for fn in (least_confidence, margin, entropy):
        np.testing.assert_array_equal(fn(one), np.zeros(4))


def test_check_proba_accepts_rounding_noise_and_lists():
    out = check_proba([[0.5 + 5e-5, 0.5], [1 + 5e-7, -5e-7]])
    assert out.dtype == float and out.shape == (2, 2)
    with pytest.raises(StrategyError, match="row 0 sums to"):
        check_proba([[0.6, 0.6]])
    with pytest.raises(StrategyError, match="not numeric"):
        check_proba([["a", "b"]])


def test_ranked_breaks_ties_with_the_documented_permutation():
    scores = np.array([1.0, 3.0, 3.0, 2.0, 3.0])
    perm = np.random.default_rng(5).permutation(5)
    expected = perm[np.argsort(-scores[perm], kind="stable")]
    np.testing.assert_array_equal(ranked(scores, np.random.default_rng(5)), expected)
    assert set(expected[:3]) == {1, 2, 4} and expected[3] == 3 and expected[4] == 0


def test_vote_entropy_by_hand():
    # Member votes per row (3 members): row 0 = [0, 0, 1] -> q = (2/3, 1/3)
    #   H = 2/3*ln(3/2) + 1/3*ln 3 = 0.270310 + 0.366204 = 0.636514
    # row 1 = [2, 2, 2] -> unanimous -> 0; row 2 = [0, 1, 2] -> ln 3
    votes = np.array([[0, 2, 0], [0, 2, 1], [1, 2, 2]])
    np.testing.assert_allclose(vote_entropy(votes, 3), [0.636514, 0.0, np.log(3)], atol=1e-6)


def test_kl_disagreement_by_hand():
    # Two members on one row: p1 = (0.8, 0.2), p2 = (0.4, 0.6); consensus = (0.6, 0.4)
    # KL(p1||c) = 0.8 ln(0.8/0.6) + 0.2 ln(0.2/0.4) = 0.230146 - 0.138629 = 0.091516
    # KL(p2||c) = 0.4 ln(0.4/0.6) + 0.6 ln(0.6/0.4) = 0.2 ln 1.5 = 0.081093
    # mean = 0.086305. A second row where both agree scores 0.
    members = np.array([[[0.8, 0.2], [0.3, 0.7]], [[0.4, 0.6], [0.3, 0.7]]])
    np.testing.assert_allclose(kl_disagreement(members), [0.086305, 0.0], atol=1e-6)


def test_kl_disagreement_handles_zeros_and_names_the_member():
    members = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    # consensus (0.5, 0.5); each KL = 1*ln(1/0.5) = ln 2
    np.testing.assert_allclose(kl_disagreement(members), [np.log(2)])
    with pytest.raises(StrategyError, match="committee member 1: .*NaN.*row 0"):
        kl_disagreement(np.array([[[1.0, 0.0]], [[np.nan, 1.0]]]))


def test_egl_multiclass_by_hand():
    # x = (4, 8), intercept -> x~ = (4, 8, 1), ||x~|| = sqrt(16 + 64 + 1) = 9
    # p = (0.5, 0.3, 0.2), ||p||^2 = 0.38, ||p - e_y||^2 = 1.38 - 2 p_y = 0.38, 0.78, 0.98
    # EGL = 9 * (0.5*sqrt(0.38) + 0.3*sqrt(0.78) + 0.2*sqrt(0.98))
    #     = 9 * (0.308221 + 0.264953 + 0.197990) = 9 * 0.771163 = 6.940469
    p = np.array([[0.5, 0.3, 0.2]])
    X = np.array([[4.0, 8.0]])
    np.testing.assert_allclose(expected_gradient_length(p, X), [6.940469], atol=1e-5)
    # Without the intercept, ||x|| = sqrt(80).
    np.testing.assert_allclose(
        expected_gradient_length(p, X, fit_intercept=False), [0.771163 * np.sqrt(80)], atol=1e-5
    )


def test_egl_binary_by_hand():
    # One weight vector: gradient (p1 - y) x~; EGL = p0*|p1|*9 + p1*|p1 - 1|*9 = 2*p0*p1*9
    #   p = (0.25, 0.75): 2 * 0.25 * 0.75 * 9 = 3.375
    p = np.array([[0.25, 0.75], [1.0, 0.0]])
    X = np.array([[4.0, 8.0], [4.0, 8.0]])
    np.testing.assert_allclose(expected_gradient_length(p, X), [3.375, 0.0])
    # Treated as a two-row multinomial model: ||p - e_0|| = 0.75 sqrt 2, ||p - e_1|| = 0.25 sqrt 2
    #   EGL = (0.25*0.75 sqrt2 + 0.75*0.25 sqrt2) * 9 = 0.375 * sqrt2 * 9 = 4.772971
    np.testing.assert_allclose(
        expected_gradient_length(p, X, binary_single_vector=False), [4.772971, 0.0], atol=1e-6
    )


def test_egl_matches_the_true_gradient_of_sklearn_log_loss():
    # Check the formula against an explicit gradient: sum_y p_y ||(p - e_y) outer x~||_F.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 4))
    y = np.arange(30) % 3
    model = LogisticRegression().fit(X, y)
    p = model.predict_proba(X)
    Xt = np.hstack([X, np.ones((30, 1))])
    brute = np.array(
        [sum(p[i, c] * np.linalg.norm(np.outer(p[i] - np.eye(3)[c], Xt[i])) for c in range(3))
         for i in range(30)]
    )
    np.testing.assert_allclose(expected_gradient_length(p, X), brute)


def test_egl_sparse_equals_dense_and_checks_shapes():
    rng = np.random.default_rng(1)
    X = sp.random(20, 6, density=0.3, format="csr", random_state=1)
    p = rng.dirichlet(np.ones(3), size=20)
    np.testing.assert_allclose(expected_gradient_length(p, X), expected_gradient_length(p, X.toarray()))
    with pytest.raises(StrategyError, match="features for 19 rows"):
        expected_gradient_length(p, X[:19])
    assert EGL_SUPPORTED_MODELS == ("logistic_regression",)


def test_base_scores_for_committee_and_egl():
    rng = np.random.default_rng(0)
    votes = np.array([[0, 1], [0, 1], [1, 1]])
    np.testing.assert_allclose(
        base_scores("qbc_vote_entropy", member_votes=votes, n_classes=2, rng=rng), [0.636514, 0.0],
        atol=1e-6,
    )
    with pytest.raises(StrategyError, match="needs the feature matrix"):
        base_scores("egl", proba=PROBA, rng=rng)


# ------------------------------------------------------------------ committee


def _data(rare_class=True):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 3))
    y = np.array(["a"] * 20 + ["b"] * 19 + (["c"] if rare_class else ["b"]))
    X[y == "b"] += 2
    return X, y


def test_fit_committee_every_member_sees_every_class():
    X, y = _data()  # "c" has a single row: a plain bootstrap misses it ~37% of the time
    members = fit_committee(lambda: LogisticRegression(max_iter=200), X, y, 8, np.random.default_rng(0))
    assert len(members) == 8
    for m in members:
        assert list(m.classes_) == ["a", "b", "c"]
    seeds = {m.random_state for m in members}
    assert len(seeds) == 8, "each member draws its own random_state from rng"


def test_fit_committee_is_deterministic_and_accepts_estimators_without_random_state():
    X, y = _data()
    a = fit_committee(GaussianNB, X, y, 3, np.random.default_rng(4))
    b = fit_committee(GaussianNB, X, y, 3, np.random.default_rng(4))
    for ma, mb in zip(a, b):
        np.testing.assert_array_equal(ma.theta_, mb.theta_)
    with pytest.raises(StrategyError, match="at least 1"):
        fit_committee(GaussianNB, X, y, 0, np.random.default_rng(0))
    # A DataFrame is resampled by row, not by column.
    import pandas as pd

    df_members = fit_committee(GaussianNB, pd.DataFrame(X), y, 2, np.random.default_rng(4))
    np.testing.assert_array_equal(df_members[0].theta_, a[0].theta_)


def test_vote_entropy_rejects_non_integer_votes():
    with pytest.raises(StrategyError, match="integer class indices"):
        vote_entropy(np.array([[0.5, 1.0]]), 2)
    with pytest.raises(StrategyError, match="integer class indices"):
        vote_entropy(np.array([["a", "b"]], dtype=object), 2)
    np.testing.assert_allclose(vote_entropy(np.array([[0.0], [1.0]]), 2), [np.log(2)])


class _Fixed:
    """A fitted stand-in that knows only some classes."""

    def __init__(self, classes, proba):
        self.classes_ = np.array(classes)
        self._proba = np.array(proba, dtype=float)

    def predict_proba(self, X):
        return np.tile(self._proba, (X.shape[0], 1))

    def predict(self, X):
        return np.repeat(self.classes_[np.argmax(self._proba)], X.shape[0])


def test_committee_probas_and_votes_align_columns():
    classes = ["a", "b", "c"]
    members = [_Fixed(["b", "c"], [0.3, 0.7]), _Fixed(["a", "b", "c"], [0.6, 0.3, 0.1]), _Fixed(["a"], [1.0])]
    X = np.zeros((2, 1))
    P = committee_probas(members, X, classes)
    assert P.shape == (3, 2, 3)
    np.testing.assert_allclose(P[0, 0], [0.0, 0.3, 0.7])
    np.testing.assert_allclose(P[1, 1], [0.6, 0.3, 0.1])
    np.testing.assert_allclose(P[2, 0], [1.0, 0.0, 0.0])
    V = committee_votes(members, X, classes)
    np.testing.assert_array_equal(V, [[2, 2], [0, 0], [0, 0]])
    assert kl_disagreement(P).shape == (2,)
    with pytest.raises(StrategyError, match="'z'"):
        committee_probas([_Fixed(["z"], [1.0])], X, classes)
    with pytest.raises(StrategyError, match="'z'"):
        committee_votes([_Fixed(["z"], [1.0])], X, classes)


def test_a_checked_read_only_matrix_is_not_checked_again_and_a_writable_one_always_is():
    from al_cli.errors import StrategyError
    from al_cli.strategies import base

    P = np.array([[0.2, 0.8], [0.5, 0.5]])
    P.setflags(write=False)
    assert base.check_proba(P) is P and base._passed(P)
    W = np.array([[0.2, 0.8], [0.5, 0.5]])
    base.check_proba(W)
    assert not base._passed(W)  # may change: checked every time
    W[0, 0] = 3.0
    with pytest.raises(StrategyError, match="row 0"):
        base.check_proba(W)
    bad = np.array([[0.2, 0.2]])
    bad.setflags(write=False)
    for _ in range(2):  # a matrix that failed is never remembered
        with pytest.raises(StrategyError, match="sum to 1"):
            base.check_proba(bad)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30), st.integers(2, 5), st.integers(0, 2**16))
def test_margin_and_entropy_equal_their_textbook_forms(n, k, seed):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.full(k, 0.3), size=n)
    P[rng.random((n, k)) < 0.2] = 0.0  # zeros: 0 ln 0 = 0
    P[P.sum(axis=1) == 0, 0] = 1.0
    P /= P.sum(axis=1, keepdims=True)
    s = np.sort(P, axis=1)
    assert np.array_equal(U.margin(P), np.clip(1.0 - (s[:, -1] - s[:, -2]), 0.0, 1.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        want = -np.where(P > 0, P * np.log(np.where(P > 0, P, 1.0)), 0.0).sum(axis=1)
    assert np.array_equal(U.entropy(P), np.maximum(want, 0.0))
