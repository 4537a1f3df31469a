"""How many relevant documents are still unread, and may the review stop? (issue 11)

Pure estimators and stopping rules for discovery (technology-assisted review), each from
its paper:

- :func:`qbcb_needed` / :func:`certify`: a rule with a statistical guarantee, the
  quantile binomial coefficient bound (QBCB) of Lewis, Yang & Frieder (2021, "Certifying
  one-phase technology-assisted reviews", CIKM). A random sample of the collection is
  labeled; of its ``r`` relevant documents, the review must have passed ``j`` of them (all
  documents ranked above the j-th were read), with ``j`` the least such that a review whose
  recall is below the target would pass ``j`` of ``r`` with probability at most 1 - confidence.
- :func:`quant_estimate`: a model-based estimate that needs no extra labels, the *Quant*
  rule of Yang, Lewis & Frieder (2021, "Heuristic stopping rules for technology-assisted
  review", DocEng): the unread documents hold ``sum p_i`` relevant ones in expectation
  (``p_i`` the model's probability of relevance), with variance ``sum p_i (1 - p_i)``.
- :func:`knee`: the knee method of Cormack & Grossman (2016, "Engineering quality and
  reliability in technology-assisted review", SIGIR): stop once the slope of the gain curve
  after its knee has fallen to 1/ρ of the slope before it, ρ = 156 − min(relevant, 150),
  after at least 150 documents.
- :func:`irrelevant_in_a_row`: the reviewers' heuristic, N irrelevant documents in a row.
- :func:`sample_test`: the random-sample stopping test of Callaghan & Müller-Hansen (2020,
  "Statistical stopping criteria for automated screening in systematic reviews", Systematic
  Reviews 9:273). After ranked reading, documents are drawn at random from the unread rest
  (the urn); H0 "recall is below the target" means the urn holds at least
  ``K = floor(found / target - found_before) + 1`` relevant documents, and the hypergeometric
  probability of finding at most ``k`` of them in ``n`` draws is the p-value. The review may
  stop once it falls below 1 - confidence. Unlike QBCB, the sample is drawn from what is
  left, where relevant documents are rare, so it stays small even on small collections.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def _binom_sf(j: int, n: int, p: float) -> float:
    """P(Binomial(n, p) >= j)."""
    if j <= 0:
        return 1.0
    if j > n:
        return 0.0
    return float(sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(j, n + 1)))


def qbcb_needed(r: int, target: float = 0.95, confidence: float = 0.95) -> int | None:
    """The least ``j`` such that, were the review's recall below ``target``, it would pass
    ``j`` or more of the sample's ``r`` relevant documents with probability at most
    ``1 - confidence``; None when even all ``r`` are not enough (the sample is too small)."""
    alpha = 1 - confidence
    for j in range(1, r + 1):
        if _binom_sf(j, r, target) <= alpha:
            return j
    return None


def min_sample_positives(target: float = 0.95, confidence: float = 0.95) -> int:
    """The fewest relevant documents a sample needs for the rule to certify at all."""
    r = 1
    while qbcb_needed(r, target, confidence) is None:
        r += 1
    return r


@dataclass
class Certificate:
    sample_relevant: int       # r: relevant documents in the random sample
    needed: int | None         # j: how many of them the review must pass (None: sample too small)
    passed: int                # how many it has passed
    to_read: int | None        # unread documents ranked above the j-th sample document
    certified: bool


def certify(sample_scores: np.ndarray, unread_scores: np.ndarray, reviewed_sample: np.ndarray,
            target: float = 0.95, confidence: float = 0.95) -> Certificate:
    """QBCB on a ranking. ``sample_scores``: the model's relevance score of each *relevant*
    document of the random sample; ``reviewed_sample``: whether the review itself has read
    it (then it is passed whatever its score); ``unread_scores``: the scores of the documents
    the review has not read. A sample document is passed when no unread document outranks
    it; certified when ``needed`` of them are passed."""
    s = np.asarray(sample_scores, dtype=float)
    u = np.asarray(unread_scores, dtype=float)
    rev = np.asarray(reviewed_sample, dtype=bool)
    r = len(s)
    j = qbcb_needed(r, target, confidence)
    # unread documents at or above each sample document's score
    above = len(u) - np.searchsorted(np.sort(u), s, side="left")
    above = np.where(rev, 0, above)
    passed = int((above == 0).sum())
    if j is None:
        return Certificate(r, None, passed, None, False)
    # to pass the j best-ranked sample documents, read everything above the j-th of them
    to_read = int(np.sort(above)[j - 1])
    return Certificate(r, j, passed, to_read, to_read == 0)


@dataclass
class QuantEstimate:
    found: int
    expected_unread: float     # sum of p over unread documents
    total: float               # estimated relevant in the collection
    total_interval: tuple[float, float]
    recall: float              # found / total
    recall_low: float          # found / upper end of the interval


def quant_estimate(found: int, unread_probs: np.ndarray, z: float = 1.96) -> QuantEstimate:
    p = np.clip(np.asarray(unread_probs, dtype=float), 0.0, 1.0)
    mu = float(p.sum())
    sd = float(np.sqrt((p * (1 - p)).sum()))
    total = found + mu
    lo, hi = found + max(0.0, mu - z * sd), found + mu + z * sd
    recall = found / total if total > 0 else 1.0
    recall_low = found / hi if hi > 0 else 1.0
    return QuantEstimate(found, round(mu, 4), round(total, 4), (round(lo, 4), round(hi, 4)),
                         round(recall, 6), round(recall_low, 6))


@dataclass
class Knee:
    stop: bool
    knee_at: int | None        # documents read at the knee
    ratio: float | None        # slope before the knee / slope after it
    needed_ratio: float


def knee(relevant_flags: np.ndarray, min_read: int = 150) -> Knee:
    """The knee method on the review order: ``relevant_flags[i]`` whether the i-th document
    read was relevant."""
    flags = np.asarray(relevant_flags, dtype=float)
    n = len(flags)
    gain = np.cumsum(flags)
    rel = int(gain[-1]) if n else 0
    needed = 156 - min(rel, 150)
    if n < 2 or rel == 0:
        return Knee(False, None, None, needed)
    x = np.arange(1, n + 1, dtype=float)
    # the knee: the point farthest from the line from (0, 0) to (n, rel)
    dist = np.abs(rel * x - n * gain) / math.hypot(n, rel)
    k = int(np.argmax(dist))
    kx, ky = x[k], gain[k]
    before = ky / kx
    after = (rel - ky + 1) / (n - kx) if n > kx else float("inf")
    ratio = before / after if after > 0 else float("inf")
    return Knee(bool(n >= min_read and ratio >= needed), int(kx), round(float(ratio), 4), needed)


def irrelevant_in_a_row(relevant_flags: np.ndarray) -> int:
    """How many of the last documents read, in a row, were irrelevant."""
    flags = np.asarray(relevant_flags, dtype=bool)
    if not flags.any():
        return len(flags)
    return int(len(flags) - 1 - np.flatnonzero(flags)[-1])


def wss(recall_curve_found: np.ndarray, total_relevant: int, recall: float) -> float:
    """Work saved over sampling at ``recall``: 1 - (documents read to reach it) / N - (1 - recall)
    (Cohen et al. 2006), from the cumulative relevant found after each document read."""
    found = np.asarray(recall_curve_found)
    n = len(found)
    need = math.ceil(recall * total_relevant - 1e-9)
    hit = np.flatnonzero(found >= need)
    read = int(hit[0]) + 1 if len(hit) else n
    return 1 - read / n - (1 - recall)


@dataclass
class SampleTest:
    urn: int                   # unread documents when the sample began (it is drawn from them)
    drawn: int                 # n: sample documents read
    relevant_in_sample: int    # k
    found_before: int          # relevant documents found by ranked reading
    needed_under_h0: int       # K: the fewest relevant left in the urn if recall were below target
    p_value: float
    stop: bool                 # p_value < 1 - confidence
    target: float
    confidence: float


def sample_test(urn: int, drawn: int, relevant_in_sample: int, found_before: int,
                target: float = 0.95, confidence: float = 0.95) -> SampleTest:
    """The hypergeometric test of Callaghan & Müller-Hansen (2020) on a random sample of
    ``drawn`` documents from the ``urn`` documents left unread after ranked reading, which
    found ``found_before`` relevant ones; the sample found ``relevant_in_sample``."""
    from scipy.stats import hypergeom

    if not 0 < target < 1 or not 0 < confidence < 1:
        raise ValueError("target and confidence must be in (0, 1)")
    if not 0 <= relevant_in_sample <= drawn <= urn:
        raise ValueError("need 0 <= relevant_in_sample <= drawn <= urn")
    found = found_before + relevant_in_sample
    k_h0 = int(math.floor(found / target - found_before + 1e-12)) + 1
    k_h0 = max(k_h0, relevant_in_sample + 1)  # H0 leaves at least one relevant unseen
    if k_h0 > urn:  # the urn cannot hold that many: recall is above the target for sure
        p = 0.0
    elif drawn == 0:
        p = 1.0
    else:
        p = float(hypergeom.cdf(relevant_in_sample, urn, k_h0, drawn))
    # unrounded p against alpha (1 - 0.95 is 0.05000000000000004 in floating point)
    return SampleTest(urn, drawn, relevant_in_sample, found_before, k_h0, round(p, 6),
                      bool(p < round(1 - confidence, 12)), target, confidence)


def sample_size_bound(urn: int, found_before: int, target: float = 0.95, confidence: float = 0.95) -> int:
    """The fewest draws that can end the test when the sample finds no relevant document
    (the cost of the check when recall is already high); the urn size when none can."""
    from scipy.stats import hypergeom

    k_h0 = int(math.floor(found_before / target - found_before + 1e-12)) + 1
    if k_h0 > urn:
        return 0
    lo, hi = 1, urn
    alpha = round(1 - confidence, 12)
    if hypergeom.cdf(0, urn, k_h0, hi) >= alpha:
        return urn
    while lo < hi:
        mid = (lo + hi) // 2
        if hypergeom.cdf(0, urn, k_h0, mid) < alpha:
            hi = mid
        else:
            lo = mid + 1
    return lo
