"""Active-learning strategies: pure functions of probabilities (and features).

No I/O, no terminal; all randomness comes from an explicit
:class:`numpy.random.Generator`, so the same seed gives the same batch.
"""

from al_cli.strategies.base import check_proba, check_scores, ranked, top_k
from al_cli.strategies.committee import (
    committee_probas,
    committee_votes,
    fit_committee,
    kl_disagreement,
    vote_entropy,
)
from al_cli.strategies.cost import column_cost, learned_cost
from al_cli.strategies.density import density_weighted, representativeness
from al_cli.strategies.diversity import kcenter_greedy, kmeans_diverse
from al_cli.strategies.egl import EGL_SUPPORTED_MODELS, expected_gradient_length
from al_cli.strategies.seed import kmeans_seed, random_seed
from al_cli.strategies.select import (
    BASE_SCORES,
    DIVERSITY_METHODS,
    Batch,
    StrategySpec,
    base_scores,
    select_batch,
)
from al_cli.strategies.uncertainty import entropy, least_confidence, margin

__all__ = [
    "BASE_SCORES",
    "DIVERSITY_METHODS",
    "EGL_SUPPORTED_MODELS",
    "Batch",
    "StrategySpec",
    "base_scores",
    "check_proba",
    "check_scores",
    "column_cost",
    "committee_probas",
    "committee_votes",
    "density_weighted",
    "entropy",
    "expected_gradient_length",
    "fit_committee",
    "kcenter_greedy",
    "kl_disagreement",
    "kmeans_diverse",
    "kmeans_seed",
    "learned_cost",
    "least_confidence",
    "margin",
    "random_seed",
    "ranked",
    "representativeness",
    "select_batch",
    "top_k",
    "vote_entropy",
]
