"""Active-learning strategies: pure functions of probabilities (and features), and the
registry of base scores (:mod:`al_cli.strategies.registry`).

No I/O, no terminal; all randomness comes from an explicit
:class:`numpy.random.Generator`, so the same seed gives the same batch. Names are
imported on first use, so importing the registry does not load numpy or scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "check_proba": "base", "check_scores": "base", "ranked": "base", "top_k": "base",
    "committee_probas": "committee", "committee_votes": "committee", "fit_committee": "committee",
    "kl_disagreement": "committee", "vote_entropy": "committee",
    "column_cost": "cost", "learned_cost": "cost",
    "density_weighted": "density", "representativeness": "density",
    "kcenter_greedy": "diversity", "kmeans_diverse": "diversity",
    "EGL_SUPPORTED_MODELS": "egl", "expected_gradient_length": "egl",
    "kmeans_seed": "seed", "random_seed": "seed",
    "Batch": "select", "base_scores": "select", "select_batch": "select",
    "DIVERSITY_METHODS": "select",
    "entropy": "uncertainty", "least_confidence": "uncertainty", "margin": "uncertainty",
    "BaseScore": "registry", "ScoreContext": "registry", "STRATEGIES": "registry",
    "QuerySpec": "spec",
}

__all__ = sorted([*_EXPORTS, "BASE_SCORES"])


def __getattr__(name: str) -> Any:
    if name == "BASE_SCORES":  # al's own base scores, by name
        from al_cli.strategies.registry import STRATEGIES

        return STRATEGIES.builtins()
    if name in _EXPORTS:
        mod = importlib.import_module(f"al_cli.strategies.{_EXPORTS[name]}")
        return getattr(mod, name)
    raise AttributeError(f"module 'al_cli.strategies' has no attribute {name!r}")
