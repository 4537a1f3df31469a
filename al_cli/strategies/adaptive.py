"""``auto``, the adaptive default: cover the data while the model is unsettled, then margin.

Uncertainty sampling trusts the model's probabilities. While few labels are in, the
model changes a lot from round to round and its uncertain rows are mostly its own
mistakes of the moment (on a 26-class letter set margin sampling falls below random);
what helps then is coverage: typical rows of the parts of the data no label speaks for
yet (TypiClust, Hacohen, Dekel & Weinshall 2022). ``auto`` decides between the two each
round from the project's own evidence, never from a round count:

1. **Is the model settled?** ``flip rate`` = the share of pool rows (a fixed sample of at
   most :data:`FLIP_SAMPLE`) whose predicted label changed between the previous model and
   this one. The exploring share of the batch is ``min(1, flip_rate / SETTLED_FLIPS)``:
   all of it while a tenth of the predictions still flip, none once they hold still.
   With no previous model there is no evidence yet: the batch explores.
2. **Do clusters speak for labels?** The exploring rows are typical rows of the clusters
   with the fewest labels where the model is least sure (of those clusters, the one
   whose rows have the highest mean margin score; in it, the row with the highest
   typicality x margin score), when the labeled rows that share a
   cluster share a label more often than chance (a chance-corrected pairwise agreement,
   shrunk towards 0 while few pairs share a cluster: ``kappa * pairs / (pairs + 10)``,
   at least :data:`AGREEMENT_GATE`). When at least :data:`NO_AGREEMENT_PAIRS` pairs show no
   agreement at all (unshrunk, below :data:`NO_AGREEMENT`: TF-IDF text and hard tables,
   where covering clusters teaches nothing), those rows go by margin too; on weaker
   evidence either way they are drawn at random. On the benchmark, agreement was 0 on
   lending_club and ticdata (where margin beat random rows) and 0.045 to 0.09 shrunk
   (0.08 to 0.2 unshrunk) on letter, vowel, vehicle and DNA in their early rounds, over
   6 to 26 pairs (where random rows beat margin). On sparse features (TF-IDF text) there
   is no clustering: the exploring rows go by margin at once (clusters of TF-IDF's SVD
   never followed the labels on the benchmark's four text sets, and the random exploring
   rows of the first rounds, before 20 pairs could show it, cost there: fortunes 0.328 ->
   0.346, screening's macro-F1 0.598 -> 0.612).
3. The rest of the batch goes by margin (with the spec's diversity, density and cost),
   and the project's random share is drawn at random as for every strategy.

The clustering runs on a uniform sample of at most :data:`CLUSTER_SAMPLE` available rows
(plus the labeled rows), on the features as they are up to 100 dense columns, else a
truncated SVD to 50 (sparse TF-IDF included), so its cost does not grow with the pool; it
is k-means in numpy (:mod:`al_cli.strategies.kmeans`: no scikit-learn import on dense
features, a fraction of MiniBatchKMeans' time). Same inputs and seed: same batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from al_cli.sparse import issparse
from al_cli.strategies.base import check_rng, random_state_from
from al_cli.strategies.density import SMALL_FIT
from al_cli.strategies.kmeans import kmeans, knn_mean_distance
from al_cli.strategies.select import Batch, select_batch

#: flip rate at and above which the whole batch explores
SETTLED_FLIPS = 0.10
#: cluster-label agreement (shrunk) from which exploring rows are typical, not random
AGREEMENT_GATE = 0.10
#: chance-corrected agreement (not shrunk) below which, over at least NO_AGREEMENT_PAIRS
#: pairs, the clusters are taken as unrelated to the labels: the exploring rows then go by
#: margin (weaker evidence either way: they are drawn at random)
NO_AGREEMENT = 0.025
NO_AGREEMENT_PAIRS = 20
#: pairs of labeled rows in one cluster that count as much as the prior of no agreement
AGREEMENT_PRIOR_PAIRS = 10
#: pool rows compared between the two latest models
FLIP_SAMPLE = 20_000
#: available rows clustered (a uniform sample of them past this)
CLUSTER_SAMPLE = 20_000
MAX_CLUSTERS = 500
#: at least this many rows per cluster on average; smaller clusters are picked last
MIN_CLUSTER_ROWS = 5
EMBED_DIMS = 50
#: Lloyd iterations at most (a clustering of 20,000 rows into 500 clusters: 0.6 s on 2 cores)
KMEANS_ITER = 20
KNN = 20


@dataclass
class AutoPlan:
    """What ``auto`` decided this round, and the evidence."""

    flip_rate: float | None      # None: no previous model
    explore: float               # share of the informative rows that explore
    agreement: float | None      # shrunk cluster-label agreement (None: not measured)
    pairs: int                   # labeled pairs sharing a cluster
    n_uncertain: int = 0
    n_typical: int = 0
    n_explore_random: int = 0
    n_random: int = 0            # the project's random share
    note: str = ""               # why there is no flip rate (first model, features changed)
    sparse: bool = False         # sparse (text) features: the exploring rows went by margin

    @property
    def mode(self) -> str:
        if self.n_typical and not self.n_uncertain:
            return "cover"
        if self.n_explore_random and not self.n_uncertain:
            return "explore"
        return "margin" if not (self.n_typical or self.n_explore_random) else "mixed"

    def explain(self) -> str:
        """One sentence for people: which strategy, and why."""
        if self.flip_rate is None:
            why = f"{self.note or 'no previous model'}: no evidence the model has settled"
        else:
            rate = f"{self.flip_rate:.1%}" if 0 < self.flip_rate < 0.01 else f"{self.flip_rate:.0%}"
            why = f"{rate} of predictions changed since the previous model"
            why += " (settled below 10%)" if self.explore < 1 else " (unsettled: 10% or more)"
        parts = []
        if self.n_uncertain:
            parts.append(f"{self.n_uncertain} by margin")
        if self.n_typical:
            parts.append(f"{self.n_typical} typical of uncovered clusters")
        if self.n_explore_random:
            parts.append(f"{self.n_explore_random} random to explore")
        if self.n_random:
            parts.append(f"{self.n_random} random check")
        text = f"auto: {why}; " + ", ".join(parts)
        if self.sparse:
            text += "; sparse text features: margin rows, clusters of TF-IDF do not follow labels"
        elif self.agreement is None and self.n_explore_random:
            text += "; too few rows to compare clusters with labels: random rows"
        elif self.agreement is not None and self.explore > 0:
            if self.n_typical:
                verdict = f">= {AGREEMENT_GATE:g}: typical rows"
            elif self.n_explore_random:
                verdict = f"< {AGREEMENT_GATE:g}: random rows"
            else:
                verdict = f"none over {self.pairs} pairs: margin rows, clusters do not follow labels"
            text += f"; labels agree within clusters {self.agreement:.2f} ({verdict})"
        return text

    def as_dict(self) -> dict:
        return {"mode": self.mode, "flip_rate": self.flip_rate, "explore_share": round(self.explore, 4),
                "cluster_agreement": self.agreement, "pairs": self.pairs, "n_margin": self.n_uncertain,
                "n_typical": self.n_typical, "n_explore_random": self.n_explore_random,
                "n_random": self.n_random, "reason": self.explain()}


def explore_share(flip_rate: float | None) -> float:
    """Share of the informative rows that explore, from the flip rate (None: all)."""
    if flip_rate is None or not np.isfinite(flip_rate):
        return 1.0
    return float(min(1.0, max(0.0, flip_rate) / SETTLED_FLIPS))


def flip_rate(before, after) -> float | None:
    """Share of rows whose predicted label differs between two predictions."""
    a, b = np.asarray(before, dtype=object), np.asarray(after, dtype=object)
    if a.shape != b.shape or a.size == 0:
        return None
    return float(np.mean(a != b))


def cluster_agreement(clusters, labels, prior: int = AGREEMENT_PRIOR_PAIRS) -> tuple[float, int]:
    """Chance-corrected agreement of labels among labeled rows sharing a cluster.

    ``(P(same label | same cluster) - P(same label)) / (1 - P(same label))`` over all
    pairs, clipped to [0, 1] and multiplied by ``pairs / (pairs + prior)``. Returns it
    with the number of same-cluster pairs. Computed from counts: O(rows + clusters x labels).
    """
    c = np.asarray(clusters)
    y = np.asarray(labels, dtype=object)
    n = c.shape[0]
    if n < 2:
        return 0.0, 0
    _, yi = np.unique(y.astype(str), return_inverse=True)
    _, ci = np.unique(c, return_inverse=True)
    pairs2 = lambda k: k * (k - 1) / 2  # noqa: E731
    all_pairs = pairs2(n)
    same_y = pairs2(np.bincount(yi)).sum()
    same_c = pairs2(np.bincount(ci)).sum()
    joint = np.zeros((ci.max() + 1, yi.max() + 1))
    np.add.at(joint, (ci, yi), 1)
    same_both = pairs2(joint).sum()
    p_all = same_y / all_pairs
    if same_c == 0 or p_all >= 1:
        return 0.0, int(same_c)
    kappa = (same_both / same_c - p_all) / (1 - p_all)
    m = int(same_c)
    return float(np.clip(kappa, 0.0, 1.0) * m / (m + prior)), m


def no_agreement(agreement: float | None, pairs: int, prior: int = AGREEMENT_PRIOR_PAIRS) -> bool:
    """Whether the evidence says clusters are unrelated to the labels: the agreement before
    its shrinking (which pulls thin evidence towards 0, the wrong way for this question)
    under NO_AGREEMENT, over at least NO_AGREEMENT_PAIRS same-cluster pairs."""
    if agreement is None or pairs < NO_AGREEMENT_PAIRS:
        return False
    return agreement * (pairs + prior) / pairs < NO_AGREEMENT


def embed(X, rng: np.random.Generator) -> np.ndarray:
    """Dense float rows for clustering: as they are up to EMBED_DIMS * 2 columns, else a
    truncated SVD to EMBED_DIMS (sparse TF-IDF included)."""
    if not issparse(X) and X.shape[1] <= 2 * EMBED_DIMS:
        return np.asarray(X, dtype=np.float32)
    from sklearn.decomposition import TruncatedSVD

    k = min(EMBED_DIMS, X.shape[1] - 1, X.shape[0] - 1)
    if k < 1:
        return np.asarray(X.toarray() if issparse(X) else X, dtype=np.float32)
    return TruncatedSVD(k, random_state=random_state_from(rng)).fit_transform(X).astype(np.float32)


def _typicality(Z: np.ndarray) -> np.ndarray:
    """1 / mean distance to the KNN nearest rows (of the same cluster)."""
    if Z.shape[0] < 2:
        return np.ones(Z.shape[0])
    return 1.0 / (knn_mean_distance(Z, KNN) + 1e-12)


def typical_picks(Z: np.ndarray, clusters: np.ndarray, labeled: np.ndarray, available: np.ndarray,
                  k: int, uncertainty=None) -> np.ndarray:
    """``k`` rows (indices into ``Z``): each from the cluster with the fewest labeled rows
    (preferring clusters of at least MIN_CLUSTER_ROWS rows; a picked row counts as a label).

    Without ``uncertainty``: TypiClust's rule, the largest such cluster (then the lowest
    id) and its most typical available row. With ``uncertainty`` (the model's margin
    score of each row of ``Z``): of the clusters with the fewest labels, the one whose
    available rows the model is least sure of on average, and in it the row with the
    highest typicality x uncertainty: coverage where the model has not learnt yet rather
    than where it already predicts with confidence.
    """
    n_c = int(clusters.max()) + 1 if clusters.size else 0
    covered = np.bincount(clusters[labeled], minlength=n_c).astype(float)
    sizes = np.bincount(clusters, minlength=n_c)
    unc = None
    if uncertainty is not None:  # + a tiny floor: where the model is sure of every row, typicality decides
        unc = np.maximum(np.nan_to_num(np.asarray(uncertainty, dtype=float)), 0.0) + 1e-9
    avail = available.copy()
    typ: dict[int, np.ndarray] = {}
    out: list[int] = []
    for _ in range(k):
        n_left = np.bincount(clusters[avail], minlength=n_c)
        left = n_left > 0
        if not left.any():
            break
        big = left & (sizes >= MIN_CLUSTER_ROWS)
        cand = np.flatnonzero(big if big.any() else left)
        if unc is None:
            second = -sizes[cand]
        else:
            second = -np.bincount(clusters[avail], weights=unc[avail], minlength=n_c)[cand] / n_left[cand]
        c = int(cand[np.lexsort((cand, second, covered[cand]))[0]])
        members = np.flatnonzero(clusters == c)
        if c not in typ:
            typ[c] = _typicality(Z[members])
            if unc is not None:
                typ[c] = typ[c] * unc[members]
        t = np.where(avail[members], typ[c], -np.inf)
        j = int(members[int(np.argmax(t))])
        out.append(j)
        avail[j] = False
        covered[c] += 1
    return np.asarray(out, dtype=np.intp)


def _cluster(Z: np.ndarray, n_clusters: int, rng: np.random.Generator) -> np.ndarray:
    """k-means labels (numpy, :mod:`al_cli.strategies.kmeans`); one draw of ``rng`` seeds it."""
    return kmeans(Z, n_clusters, np.random.default_rng(random_state_from(rng)),
                  n_init=3 if Z.shape[0] <= SMALL_FIT else 1, max_iter=KMEANS_ITER)


def auto_batch(margin_scores, n: int, *, rng: np.random.Generator, available, X, labeled_pos,
               labeled_y, flip: float | None, random_fraction: float = 0.1, groups=None,
               **select_kw) -> tuple[Batch, AutoPlan]:
    """The batch of ``auto`` (see the module docstring) and the plan behind it.

    ``margin_scores``, ``available`` and the rows of ``X`` are aligned with the pool;
    ``labeled_pos``/``labeled_y`` are the training rows and their labels; ``flip`` the
    flip rate (None: no previous model). ``select_kw`` (diversity, density, cost, ...)
    apply to the margin part, as :func:`select_batch` takes them.
    """
    check_rng(rng)
    scores = np.asarray(margin_scores, dtype=float)
    final, cost = _weighted(scores, select_kw)
    avail = np.asarray(available, dtype=bool).copy()
    if groups is not None:  # one row per twin group stays: the best final score, as select_batch keeps
        from al_cli.strategies.select import one_per_group

        avail &= one_per_group(groups, final, avail)
    n_take = min(int(n), int(avail.sum()))
    n_random = int(round(n_take * random_fraction))
    if random_fraction > 0 and n_take >= 2:
        n_random = max(n_random, 1)
    n_random = min(n_random, n_take)
    n_inf = n_take - n_random
    share = explore_share(flip)
    n_explore = int(round(n_inf * share))
    plan = AutoPlan(flip_rate=flip, explore=share, agreement=None, pairs=0, n_random=n_random)
    parts: list[tuple[np.ndarray, str]] = []

    n_unc = n_inf - n_explore
    if n_unc:
        b = select_batch(margin_scores, n_unc, rng=rng, available=avail, X=X, random_fraction=0.0,
                         **select_kw)
        plan.n_uncertain = len(b)
        avail[b.positions] = False
        parts.append((b.positions, "margin"))
    else:
        b = None
    if n_explore and avail.any() and X is not None and issparse(X):
        # sparse features (TF-IDF text): clusters of their SVD never followed the labels on
        # the benchmark's text sets (agreement 0.0 +/- 0.1), and random exploring rows cost
        # there; the exploring rows go by margin at once, with no clustering
        plan.sparse = True
        more = select_batch(margin_scores, n_explore, rng=rng, available=avail, X=X, random_fraction=0.0,
                            **select_kw)
        plan.n_uncertain += len(more)
        avail[more.positions] = False
        parts.append((more.positions, "margin"))
    elif n_explore and avail.any():
        typ = _explore_typical(X, avail, np.asarray(labeled_pos, dtype=np.intp), labeled_y,
                               n_explore, rng, plan, scores)
        if typ is not None:
            plan.n_typical = len(typ)
            avail[typ] = False
            parts.append((typ, "typical"))
        elif no_agreement(plan.agreement, plan.pairs):  # clusters unrelated to the labels
            more = select_batch(margin_scores, n_explore, rng=rng, available=avail, X=X, random_fraction=0.0,
                                **select_kw)
            plan.n_uncertain += len(more)
            avail[more.positions] = False
            parts.append((more.positions, "margin"))
        else:  # weak or no evidence about the clusters yet: random rows
            plan.n_explore_random = n_explore
    n_rand = n_take - sum(len(p) for p, _ in parts)
    pos = np.flatnonzero(avail)
    rand = pos[rng.choice(pos.shape[0], size=min(n_rand, pos.shape[0]), replace=False)]
    plan.n_explore_random = min(plan.n_explore_random, len(rand))
    plan.n_random = len(rand) - plan.n_explore_random
    parts.append((rand[:plan.n_explore_random], "explore"))
    parts.append((rand[plan.n_explore_random:], "random"))
    return _as_batch(parts, b, scores, final, cost, select_kw.get("name", "margin"),
                     select_kw.get("cost_unit", "")), plan


def _weighted(scores: np.ndarray, kw: dict) -> tuple[np.ndarray, np.ndarray]:
    """(final score, cost) of every row as select_batch weighs them (density, then cost)."""
    final = scores
    if kw.get("density") is not None:
        from al_cli.strategies.density import density_weighted

        final = density_weighted(final, kw["density"], kw.get("density_weight", 1.0))
    cost = np.ones(scores.shape[0])
    if kw.get("cost") is not None:
        cost = np.asarray(kw["cost"], dtype=float)
        final = final / cost ** float(kw.get("cost_lambda", 1.0))
    return final, cost


def _explore_typical(X, avail: np.ndarray, labeled_pos: np.ndarray, labeled_y, k: int,
                     rng: np.random.Generator, plan: AutoPlan, scores: np.ndarray) -> np.ndarray | None:
    """Typical rows of uncovered clusters where the model is unsure (``scores``: margin,
    aligned with the pool), or None when clusters do not follow the labels (the caller
    then explores at random)."""
    pos = np.flatnonzero(avail)
    if pos.shape[0] > CLUSTER_SAMPLE:
        pos = np.sort(rng.choice(pos, size=CLUSTER_SAMPLE, replace=False))
    lab = np.asarray(labeled_pos, dtype=np.intp)
    labeled_y = np.asarray(labeled_y, dtype=object)
    if lab.shape[0] > CLUSTER_SAMPLE:  # as many labeled rows as available ones at most
        keep = np.sort(rng.choice(lab.shape[0], size=CLUSTER_SAMPLE, replace=False))
        lab, labeled_y = lab[keep], labeled_y[keep]
    rows = np.concatenate([pos, lab])
    if rows.shape[0] < 2 * MIN_CLUSTER_ROWS or lab.shape[0] < 2:
        return None  # too few rows to cluster: agreement not measured (None), explore at random
    Z = embed(X[rows], rng)
    n_clusters = max(2, min(lab.shape[0] + k, MAX_CLUSTERS, rows.shape[0] // MIN_CLUSTER_ROWS))
    clusters = _cluster(Z, n_clusters, rng)
    is_lab = np.zeros(rows.shape[0], dtype=bool)
    is_lab[pos.shape[0]:] = True
    plan.agreement, plan.pairs = cluster_agreement(clusters[is_lab], labeled_y)
    plan.agreement = round(plan.agreement, 4)
    if plan.agreement < AGREEMENT_GATE:
        return None
    picks = typical_picks(Z, clusters, np.flatnonzero(is_lab), ~is_lab, k, scores[rows])
    return rows[picks]


def _as_batch(parts, margin_batch: Batch | None, scores: np.ndarray, final_all: np.ndarray,
              cost_all: np.ndarray, name: str, cost_unit: str) -> Batch:
    positions = np.concatenate([p for p, _ in parts]).astype(np.intp) if parts else np.empty(0, np.intp)
    kinds = np.concatenate([np.full(len(p), k, dtype=object) for p, k in parts]) if parts else np.empty(0, object)
    k = positions.shape[0]
    final = final_all[positions].copy()
    rank = np.zeros(k, dtype=np.int64)
    cost = cost_all[positions].copy()
    density = np.full(k, np.nan)
    cluster = np.full(k, -1, dtype=np.intp)
    if margin_batch is not None and len(margin_batch):
        m = len(margin_batch)
        final[:m], rank[:m], cost[:m] = margin_batch.final_score, margin_batch.rank, margin_batch.cost
        density[:m], cluster[:m] = margin_batch.density, margin_batch.cluster
    return Batch(positions=positions, score=scores[positions].copy(), final_score=final, cluster=cluster,
                 random_pick=(kinds == "random") | (kinds == "explore"), cost=cost, rank=rank, density=density,
                 strategy=name, cost_unit=cost_unit, kind=kinds)
