"""``al seed``: a small, diverse first batch (no model needed), and the audit sample."""

from __future__ import annotations

import numpy as np
import pandas as pd

from al_cli import strategies as strat
from al_cli.commands.batch import BatchResult
from al_cli.commands.snapshot import Snapshot
from al_cli.errors import ConfigError, DataError, ProjectError
from al_cli.store import Project
from al_cli.strategies.registry import SEED_STRATEGIES


def seed(proj: Project, *, size: int | None = None, fraction: float | None = None,
         strategy: str = "kmeans", validation_size: int = 0, force: bool = False) -> BatchResult:
    snap = Snapshot(proj)
    cfg = snap.cfg
    if strategy not in SEED_STRATEGIES:
        raise ConfigError(f"--strategy: seed strategies are {', '.join(SEED_STRATEGIES)}")
    if validation_size < 0:
        raise DataError("--validation-size must be >= 0")
    pf = snap.features
    audit_only = validation_size > 0 and size is None and fraction is None and not force
    if size is None and fraction is None:
        size = cfg.batch_size
    if fraction is not None:
        if not 0 < fraction <= 1:
            raise DataError("--fraction must be in (0, 1]")
        size = max(1, int(round(fraction * pf.n_rows)))
    assert size is not None
    if size < 1:
        raise DataError("--size must be >= 1")
    n_labeled = len(snap.labels)
    pending = snap.pending
    if (n_labeled or len(pending)) and audit_only:
        return _audit_only(snap, validation_size)
    if (n_labeled or len(pending)) and not force:
        raise ProjectError(
            f"{proj.root}: already seeded ({n_labeled} labeled, {len(pending)} queued); "
            "use 'al query' for the next batch, or 'al seed --force' to replace the queue"
        )
    with proj.lock():
        available = snap.available
        if not available.any():
            raise DataError("no pool row is left to seed: every row is labeled, held out for "
                            "audit, or in the validation file")
        rng = snap.stream("seed", n_labeled)
        distinct = _one_per_content(snap, available)
        if strategy == "kmeans":
            chosen = strat.kmeans_seed(pf.X, size, rng, available=distinct)
        else:
            chosen = strat.random_seed(pf.n_rows, size, rng, available=distinct)
        chosen = np.asarray(chosen, dtype=int)
        if validation_size:
            rest = available.copy()
            rest[chosen] = False
            audit_pos = strat.random_seed(pf.n_rows, validation_size, snap.stream("audit", n_labeled),
                                          available=rest)
            proj.add_audit(list(pf.ids[np.asarray(audit_pos, dtype=int)]))
            snap.__dict__.pop("audit_ids", None)
            snap.__dict__.pop("audit_set", None)
        audit_ids = snap.pending_audit()  # new and earlier unanswered audit rows
        q = pd.DataFrame({
            "id": [*pf.ids[chosen], *audit_ids],
            "purpose": ["train"] * len(chosen) + ["audit"] * len(audit_ids),
            "round": 0,
            "strategy": [f"seed:{strategy}"] * len(chosen) + ["audit:random"] * len(audit_ids),
        })
        proj.write_queue(q)
    return BatchResult(q["id"].tolist(), str(proj.queue_path), f"seed:{strategy}", len(audit_ids),
                       pf.cached, replaced=len(pending))


def _audit_only(snap, validation_size: int) -> BatchResult:
    """``al seed --validation-size M`` on a seeded project: M more random rows held out as
    the audit sample, queued after the unanswered batch (which stays as it is)."""
    proj, pf = snap.proj, snap.features
    pending = snap.pending
    with proj.lock():
        rest = snap.available.copy()
        pos, _ = snap.positions_of(pending["id"].to_numpy())
        rest[pos] = False
        if not rest.any():
            raise DataError("no pool row is left for an audit sample: every row is labeled, queued, "
                            "held out for audit, or in the validation file")
        audit_pos = strat.random_seed(pf.n_rows, validation_size,
                                      snap.stream("audit.more", len(snap.labels), len(snap.audit_ids)),
                                      available=rest)
        new_ids = list(pf.ids[np.asarray(audit_pos, dtype=int)])
        proj.add_audit(new_ids)
        snap.__dict__.pop("audit_ids", None)
        snap.__dict__.pop("audit_set", None)
        audit_ids = snap.pending_audit()
        queue = snap.queue
        train = queue[queue["purpose"] != "audit"] if "purpose" in queue else queue
        q = pd.concat([train, pd.DataFrame({"id": audit_ids, "purpose": "audit", "round": snap.round,
                                            "strategy": "audit:random"})], ignore_index=True)
        proj.write_queue(q)
    return BatchResult(q["id"].tolist(), str(proj.queue_path), "audit:random", len(audit_ids), pf.cached)


def _one_per_content(snap, available: np.ndarray) -> np.ndarray:
    """``available`` less exact twins (commands/twins.py): the first row of each content
    not yet labeled or held out. The same mask when the pool has no twins."""
    from al_cli.commands.twins import pool_groups, spread
    from al_cli.strategies.select import one_per_group

    groups = pool_groups(snap)
    mask = available & ~spread(groups, ~available)
    if not mask.any():
        return available
    return mask & one_per_group(groups, np.zeros(len(groups)), mask)
