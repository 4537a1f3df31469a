"""Recall estimators and stopping rules for discovery (issue 11, first step): each on
constructed cases with a known answer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from al_cli.reports.recall import (_binom_sf, certify, irrelevant_in_a_row, knee, min_sample_positives,
                                   qbcb_needed, quant_estimate, wss)


def test_qbcb_thresholds_by_hand():
    # all r sample positives must be passed: 0.95**r <= 0.05 first holds at r = 59
    assert min_sample_positives(0.95, 0.95) == 59
    assert qbcb_needed(58) is None and qbcb_needed(59) == 59
    # P(Bin(100, 0.95) >= j) <= 0.05: the least such j, checked against the sum itself
    j = qbcb_needed(100)
    assert _binom_sf(j, 100, 0.95) <= 0.05 < _binom_sf(j - 1, 100, 0.95)
    assert qbcb_needed(10, target=0.5, confidence=0.95) == 9  # P(Bin(10,.5) >= 9) = 11/1024
    assert _binom_sf(9, 10, 0.5) == pytest.approx(11 / 1024)


def test_the_guarantee_holds_in_simulation():
    """Reviews whose true recall is below the target are certified at most 5% of the time."""
    rng = np.random.default_rng(0)
    r, j = 120, qbcb_needed(120)
    false_certs = 0
    for _ in range(2000):
        passed = rng.binomial(r, 0.93)  # each sample positive passed with probability = true recall
        false_certs += passed >= j
    assert false_certs / 2000 <= 0.05


def test_certify_counts_what_is_left_to_read():
    sample = np.array([0.9, 0.8] + [0.7] * 57)  # 59 relevant sample documents: all must be passed
    unread = np.array([0.95, 0.75, 0.72, 0.1])
    c = certify(sample, unread, np.zeros(59, dtype=bool))
    assert (c.sample_relevant, c.needed, c.certified) == (59, 59, False)
    assert c.to_read == 3 and c.passed == 0  # 0.95, 0.75 and 0.72 outrank the lowest sample document
    c = certify(sample, np.array([0.1, 0.2]), np.zeros(59, dtype=bool))
    assert c.certified and c.to_read == 0 and c.passed == 59
    c = certify(sample[:10], unread, np.zeros(10, dtype=bool))
    assert c.needed is None and not c.certified  # too few sample positives to certify anything


def test_quant_estimate_on_known_probabilities():
    q = quant_estimate(90, np.array([0.5] * 20))
    assert q.expected_unread == 10 and q.total == 100 and q.recall == pytest.approx(0.9)
    sd = math.sqrt(20 * 0.25)
    assert q.total_interval == (pytest.approx(100 - 1.96 * sd, abs=1e-4), pytest.approx(100 + 1.96 * sd, abs=1e-4))
    assert q.recall_low == pytest.approx(90 / (100 + 1.96 * sd), abs=1e-6)
    assert quant_estimate(5, np.zeros(100)).recall == 1.0


def test_knee_stops_after_the_gain_flattens_and_not_before():
    flags = np.zeros(400, dtype=int)
    flags[:100:2] = 1  # 50 relevant in the first 100 documents, then none
    k = knee(flags)
    assert k.stop and k.knee_at is not None and 80 <= k.knee_at <= 110 and k.needed_ratio == 106
    assert not knee(flags[:120]).stop  # fewer than 150 documents read
    steady = (np.arange(400) % 4 == 0).astype(int)  # a steady rate: no knee worth stopping at
    assert not knee(steady).stop
    assert irrelevant_in_a_row(flags) == 301 and irrelevant_in_a_row([1, 0, 0]) == 2
    assert irrelevant_in_a_row([0, 0]) == 2


def test_wss_by_hand():
    found = np.cumsum([1, 1, 0, 1, 0, 0, 0, 0, 0, 0])  # 3 relevant, all found after 4 of 10
    assert wss(found, 3, 1.0) == pytest.approx(1 - 4 / 10)
    assert wss(found, 3, 0.95) == pytest.approx(1 - 4 / 10 - 0.05)


# ----------------------------------------------------------------------------- sample test
def test_sample_test_by_hand():
    from al_cli.reports.recall import sample_test

    # 95 found before; H0 (recall < .95) means at least floor(95/.95 - 95) + 1 = 6 left in the urn
    t = sample_test(1000, 0, 0, 95)
    assert t.needed_under_h0 == 6 and t.p_value == 1.0 and not t.stop
    # none of them in 400 draws: p = C(994, 400) / C(1000, 400)
    t = sample_test(1000, 400, 0, 95)
    assert t.p_value == pytest.approx(math.comb(994, 400) / math.comb(1000, 400), abs=1e-6)
    assert t.stop == (t.p_value < 0.05)
    # a relevant document in the sample raises the bar: found 96, H0 needs floor(96/.95 - 95) + 1 = 7
    t = sample_test(1000, 400, 1, 95)
    assert t.needed_under_h0 == 7
    p = sum(math.comb(7, i) * math.comb(993, 400 - i) for i in range(2)) / math.comb(1000, 400)
    assert t.p_value == pytest.approx(p, abs=1e-6)
    # an urn too small to hold what H0 needs: recall is above the target for sure
    assert sample_test(5, 0, 0, 95).stop
    with pytest.raises(ValueError):
        sample_test(10, 5, 6, 3)


def test_sample_test_guarantee_in_simulation():
    """Reviews whose recall is below the target are let stop at most 5% of the time (fixed
    sample size), over urns of several sizes."""
    from al_cli.reports.recall import sample_test

    rng = np.random.default_rng(1)
    wrong = trials = 0
    for urn, left, found in ((500, 6, 90), (2000, 3, 40), (300, 10, 150)):
        assert found / (found + left) < 0.95
        for _ in range(400):
            k = int(rng.hypergeometric(left, urn - left, 150))
            trials += 1
            wrong += sample_test(urn, 150, k, found).stop
    assert wrong / trials <= 0.05


def test_sample_size_bound_is_the_least_that_stops():
    from al_cli.reports.recall import sample_size_bound, sample_test

    for urn, found in ((1500, 95), (1000, 43), (400, 20)):
        n = sample_size_bound(urn, found)
        assert sample_test(urn, n, 0, found).stop and not sample_test(urn, n - 1, 0, found).stop
    assert sample_size_bound(1500, 95) == 589


def test_urn_relevant_interval_matches_a_brute_force_search():
    from scipy.stats import hypergeom

    from al_cli.commands.recall_sample import urn_relevant_interval

    for urn, n, k in ((80, 62, 0), (1000, 100, 5), (300, 40, 40), (50, 10, 3), (995, 600, 1)):
        inside = [K for K in range(k, urn - (n - k) + 1)
                  if hypergeom.cdf(k, urn, K, n) > 0.025 and hypergeom.sf(k - 1, urn, K, n) > 0.025]
        assert urn_relevant_interval(urn, n, k) == (min(inside), max(inside)), (urn, n, k)
