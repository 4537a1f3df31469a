"""Composition used by ``al query``: base score -> density -> cost -> diversity -> random mix.

``final = score * density ** density_weight / cost ** cost_lambda`` (each factor
only when given). The ``n - n_random`` informative rows are the top rows by
``final`` (ties broken by a seeded permutation), or, with diversity, the best
``candidate_factor * n_informative`` rows thinned by :func:`kmeans_diverse` or
:func:`kcenter_greedy`. The ``n_random`` rows (``round(n * random_fraction)``,
with ``n`` the batch size actually returned, at least 1 when
``random_fraction > 0`` and ``n >= 2``) are then drawn uniformly
from the rest of the available rows, as a check on what the model ignores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from al_cli.errors import StrategyError
from al_cli.strategies.base import check_features, check_rng, check_scores, top_k
from al_cli.strategies.density import density_weighted
from al_cli.strategies.diversity import kcenter_greedy, kmeans_diverse
from al_cli.strategies.registry import DIVERSITY as DIVERSITY_METHODS


def base_scores(
    name: str,
    *,
    proba=None,
    member_probas=None,
    member_votes=None,
    X=None,
    fit_intercept: bool = True,
    rng: np.random.Generator,
    n_classes: int | None = None,
    classes: list[str] | None = None,
    relevant: str | None = None,
) -> np.ndarray:
    """Informativeness of every pool row under the named base score (higher = better),
    from precomputed inputs: the pure interface to the strategy registry.

    ``n_classes`` (vote entropy) defaults to the class count of ``member_probas``
    or ``proba``, else ``max(vote) + 1``.
    """
    from al_cli.strategies.registry import STRATEGIES, ScoreContext

    check_rng(rng)
    if name not in STRATEGIES:
        raise StrategyError(f"unknown strategy {name!r}; valid strategies: {', '.join(STRATEGIES.names())}")
    ctx = ScoreContext(proba=proba, classes=list(classes or []), X=X, rng=rng, model_name="", estimator=None,
                       n_classes=n_classes or 0, member_probas=member_probas,
                       member_votes=member_votes, fit_intercept=fit_intercept, relevant=relevant)
    return check_scores(STRATEGIES.get(name).run(ctx), name=f"{name} scores")


@dataclass
class Batch:
    """The chosen rows, in pick order, with what the strategy computed for each."""

    positions: np.ndarray  # int positions into the pool arrays, in pick order
    score: np.ndarray  # base informativeness of each chosen row
    final_score: np.ndarray  # after density and cost
    cluster: np.ndarray  # k-means cluster id (diversity="kmeans"), else -1
    random_pick: np.ndarray  # bool: chosen by the random mix
    cost: np.ndarray  # cost used (1.0 when no cost)
    rank: np.ndarray = field(default=None)  # 1-based rank of final_score among available rows
    density: np.ndarray = field(default=None)  # representativeness used (nan when none)
    strategy: str = "score"
    cost_unit: str = ""
    kind: np.ndarray = field(default=None)  # auto: margin | typical | explore | random (else None)

    def __post_init__(self) -> None:
        k = len(self.positions)
        if self.rank is None:
            self.rank = np.zeros(k, dtype=np.int64)
        if self.density is None:
            self.density = np.full(k, np.nan)

    def __len__(self) -> int:
        return len(self.positions)

    def reasons(self) -> list[str]:
        """One short human sentence per chosen row, in pick order."""
        out = []
        for i in range(len(self.positions)):
            if self.kind is not None and self.kind[i] == "explore":
                parts = [f"random pick to explore (the model still changes); {self.strategy} {self.score[i]:.3g}"]
            elif self.random_pick[i]:
                parts = [f"random pick (outlier check); {self.strategy} {self.score[i]:.3g}"]
            elif self.kind is not None and self.kind[i] == "typical":
                parts = [f"typical row of a cluster with few labels (cold start); {self.strategy} "
                         f"{self.score[i]:.3g}"]
            else:
                parts = [f"{self.strategy} {self.score[i]:.3g}"
                         + (f" (rank {int(self.rank[i])})" if self.rank[i] > 0 else "")]
            if not np.isnan(self.density[i]):
                parts.append(f"density {self.density[i]:.2f}")
            if self.cluster[i] >= 0:
                parts.append(f"cluster {int(self.cluster[i])}")
            if self.cost[i] != 1.0:
                parts.append(f"cost {self.cost[i]:.1f}{self.cost_unit}")
            out.append(", ".join(parts))
        return out


def _check_mask(available, n_rows: int) -> np.ndarray:
    if available is None:
        return np.ones(n_rows, dtype=bool)
    mask = np.asarray(available)
    if mask.ndim != 1 or mask.shape[0] != n_rows:
        raise StrategyError(
            f"available mask has {mask.size} entries, expected one per pool row ({n_rows})"
        )
    if mask.dtype != bool:
        if mask.size and not np.isin(mask, (0, 1)).all():
            raise StrategyError("available must be a boolean mask (True = may be chosen)")
        mask = mask.astype(bool)
    return mask


def _check_number(value, what: str, lo: float, hi: float = np.inf) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise StrategyError(f"{what} must be a number, got {value!r}") from None
    if not np.isfinite(v) or v < lo or v > hi:
        bound = f"between {lo:g} and {hi:g}" if np.isfinite(hi) else f">= {lo:g}"
        raise StrategyError(f"{what} must be {bound}, got {value!r}")
    return v


def _check_int(value, what: str, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise StrategyError(f"{what} must be a whole number, got {value!r}")
    value = int(value)
    if value < lo:
        raise StrategyError(f"{what} must be at least {lo}, got {value}")
    return value


def one_per_group(groups, final: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mask keeping, of the ``mask`` rows, the best-``final`` row of each group (the
    first by position on ties)."""
    g = np.asarray(groups)
    if g.shape != mask.shape or not np.issubdtype(g.dtype, np.integer):
        raise StrategyError(f"groups must be one whole number per pool row ({mask.shape[0]})")
    pos = np.flatnonzero(mask)
    if pos.size == 0:
        return mask
    order = pos[np.lexsort((pos, -final[pos], g[pos]))]
    first = np.ones(order.size, dtype=bool)
    first[1:] = g[order][1:] != g[order][:-1]
    keep = np.zeros_like(mask)
    keep[order[first]] = True
    return keep


def select_batch(
    scores,
    n: int,
    *,
    rng: np.random.Generator,
    available=None,
    X=None,
    diversity: str = "none",
    candidate_factor: int = 10,
    density=None,
    density_weight: float = 1.0,
    random_fraction: float = 0.0,
    cost=None,
    cost_lambda: float = 1.0,
    reference=None,
    name: str = "score",
    cost_unit: str = "",
    groups=None,
) -> Batch:
    """Choose up to ``n`` distinct available rows (see the module docstring).

    ``scores``, ``available``, ``density`` (representativeness in (0, 1]),
    ``cost`` (> 0) and the rows of ``X`` are aligned with the pool. ``reference``
    (row positions, e.g. labeled rows) seeds k-centre distances. ``name`` and
    ``cost_unit`` only label :meth:`Batch.reasons`. Same inputs and seed give the
    same batch. With fewer available rows than ``n`` every available row is returned.
    ``groups`` (an int per pool row) marks exact twins: at most one row of a group is
    chosen, the available one with the best final score (the first on ties).
    """
    check_rng(rng)
    s = check_scores(scores)
    n_rows = s.shape[0]
    n = _check_int(n, "batch size", 1)
    candidate_factor = _check_int(candidate_factor, "candidate factor", 1)
    random_fraction = _check_number(random_fraction, "random fraction", 0.0, 1.0)
    if diversity is None:
        diversity = "none"
    if diversity not in DIVERSITY_METHODS:
        raise StrategyError(
            f"unknown diversity {diversity!r}; valid: {', '.join(DIVERSITY_METHODS)}"
        )
    mask = _check_mask(available, n_rows)
    if X is not None:
        X = check_features(X, n_rows=n_rows)
    elif diversity != "none":
        raise StrategyError(f"diversity {diversity!r} needs the feature matrix (X)")

    final = s
    dens = None
    if density is not None:
        density_weight = _check_number(density_weight, "density weight", 0.0)
        dens = check_scores(density, n_rows=n_rows, name="density")
        final = density_weighted(final, dens, density_weight)
    cost_arr = np.ones(n_rows)
    if cost is not None:
        cost_lambda = _check_number(cost_lambda, "cost lambda", 0.0)
        cost_arr = check_scores(cost, n_rows=n_rows, name="cost")
        bad = cost_arr <= 0
        if bad.any():
            i = int(np.argmax(bad))
            raise StrategyError(f"cost must be positive (row {i}: {cost_arr[i]:g})")
        final = final / cost_arr**cost_lambda
        if not np.isfinite(final).all():
            raise StrategyError("cost weighting overflowed; use a smaller cost lambda")

    if groups is not None:
        mask = mask & one_per_group(groups, final, mask)
    avail_pos = np.flatnonzero(mask)
    n_avail = avail_pos.shape[0]
    n_take = min(n, n_avail)
    n_random = int(round(n_take * random_fraction))
    if random_fraction > 0 and n_take >= 2:
        n_random = max(n_random, 1)
    n_random = min(n_random, n_take)
    n_inf = n_take - n_random

    f_av = final[avail_pos]
    cluster_of_pick = np.empty(0, dtype=np.intp)
    if n_inf == 0:
        informative = np.empty(0, dtype=np.intp)
    elif diversity == "none":
        informative = avail_pos[top_k(f_av, n_inf, rng)]
        cluster_of_pick = np.full(n_inf, -1, dtype=np.intp)
    else:
        n_cand = min(n_avail, candidate_factor * n_inf)
        cand = avail_pos[top_k(f_av, n_cand, rng)]
        if diversity == "kmeans":
            informative, cluster_of_pick = kmeans_diverse(cand, final, X, n_inf, rng)
        else:
            informative = kcenter_greedy(cand, final, X, n_inf, rng, reference=reference)
            cluster_of_pick = np.full(informative.shape[0], -1, dtype=np.intp)

    if n_random:
        rest = np.ones(n_rows, dtype=bool)
        rest[informative] = False
        rest &= mask
        rest_pos = np.flatnonzero(rest)
        randoms = rest_pos[rng.choice(rest_pos.shape[0], size=n_random, replace=False)]
    else:
        randoms = np.empty(0, dtype=np.intp)

    positions = np.concatenate([informative, randoms]).astype(np.intp)
    is_random = np.zeros(positions.shape[0], dtype=bool)
    is_random[informative.shape[0]:] = True
    cluster = np.concatenate([cluster_of_pick, np.full(randoms.shape[0], -1, dtype=np.intp)])
    # 1-based rank by final score among available rows (ties share the best rank).
    sorted_desc = -np.sort(-f_av) if positions.size else f_av
    rank = np.searchsorted(-sorted_desc, -final[positions], side="left") + 1
    return Batch(
        positions=positions,
        score=s[positions].copy(),
        final_score=final[positions].copy(),
        cluster=cluster,
        random_pick=is_random,
        cost=cost_arr[positions].copy(),
        rank=rank.astype(np.int64),
        density=dens[positions].copy() if dens is not None else np.full(positions.shape[0], np.nan),
        strategy=name,
        cost_unit=cost_unit,
    )
