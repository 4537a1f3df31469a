"""``al query``: the next batch from the scores into queue.csv (replaces the unanswered
batch). Deterministic: the same project state gives the same batch."""

from __future__ import annotations

import numpy as np
import pandas as pd

from al_cli import data as data_mod
from al_cli.commands import queried
from al_cli.commands.batch import BatchResult, overlap_kept
from al_cli.commands.scoring import pool_scores
from al_cli.commands.snapshot import Snapshot
from al_cli.commands.twins import pool_groups, spread
from al_cli.errors import AlError, DataError, ProjectError
from al_cli.report import warn
from al_cli.store import Project
from al_cli.strategies.cost import column_cost, learned_cost
from al_cli.strategies.density import representativeness
from al_cli.strategies.registry import STRATEGIES
from al_cli.strategies.select import select_batch
from al_cli.strategies.spec import QuerySpec


def query(proj: Project, *, size: int | None = None, strategy: str | None = None,
          diversity: str | None = None, density: float | None = None,
          random_fraction: float | None = None, cost_column: str | None = None,
          cost: str | None = None, adjudicate: bool = False, recall_sample: int | None = None,
          scheduler: str | None = None) -> BatchResult:
    if recall_sample is not None:
        return queue_recall_sample(proj, recall_sample)
    if adjudicate:  # the unresolved conflicts, for an adjudicator (no model needed)
        from al_cli.commands.adjudicate import queue_adjudication

        return queue_adjudication(proj)
    snap = Snapshot(proj)
    cfg = snap.cfg
    spec = QuerySpec.from_config(cfg.strategy)
    if strategy is not None:  # a base name, or a whole spec: 'margin+kcenter+rf0.2'
        spec = QuerySpec.parse(strategy, start=spec)
    spec = spec.with_options(diversity=diversity, density=density, random_fraction=random_fraction,
                             cost_column=cost_column, cost=cost)
    n = size if size is not None else cfg.batch_size
    if n < 1:
        raise DataError("--size must be >= 1")
    pending = snap.pending
    available = snap.available
    if not available.any():
        raise ProjectError("every pool row is labeled or held out: nothing left to query")
    groups = pool_groups(snap)
    if groups.size and int(groups.max()) == groups.size - 1:
        groups = None  # every row its own group (no twins): nothing to spread or thin out
    # rows whose content is answered or held out already
    twins_out = np.zeros_like(available) if groups is None else available & spread(groups, ~available)
    available = available & ~twins_out
    if not available.any():
        raise ProjectError(f"every pool row is labeled or held out, or an exact twin of one "
                           f"({int(twins_out.sum())} twin(s)): nothing left to query")
    cost_arr = _cost(snap, spec)  # checked before the (slower) scoring
    version = snap.round
    dens = None
    if spec.density is not None:
        dens = representativeness(snap.features.X, snap.stream("density", snap.n_rows))
    reference = None
    if spec.diversity == "kcenter":
        tp = snap.training[0]
        reference = tp if len(tp) else None

    def choose(scores_all):
        return select_batch(
            scores_all, n, rng=snap.stream("query.select", version, len(snap.labels)), available=available,
            X=snap.features.X if spec.diversity != "none" else None,  # the matrix only where needed
            diversity=spec.diversity, candidate_factor=cfg.strategy.candidate_factor, density=dens,
            density_weight=spec.density or 1.0, random_fraction=spec.random_fraction, cost=cost_arr,
            cost_lambda=cfg.strategy.cost_lambda, reference=reference, name=STRATEGIES.get(spec.base).title,
            cost_unit="s" if spec.cost_learned and not spec.cost_column else "", groups=groups,
        )

    auto = None
    if spec.base == "auto":  # the adaptive default: its own composition of the batch
        from al_cli.commands.adaptive import auto_batch

        batch, plan = auto_batch(snap, n, available, spec=spec, groups=groups, cost_arr=cost_arr, dens=dens,
                                 scores=_cluster_margin(snap, available, scheduler),
                                 reference=reference, name=STRATEGIES.get("margin").title,
                                 cost_unit="s" if spec.cost_learned and not spec.cost_column else "")
        auto = plan.as_dict()
    else:
        batch = _on_cluster(snap, spec, n, available, groups, cost_arr, choose, scheduler)
        if batch is None:
            batch = choose(pool_scores(snap, spec.base, available))
    positions = np.asarray(batch.positions, dtype=int)
    label = spec.format()
    q = pd.DataFrame({
        "id": snap.ids_at(positions),
        "purpose": "train",
        "round": version,
        "strategy": np.where(batch.random_pick, "random", label),
        "score": np.round(batch.score, 6),
        "final_score": np.round(batch.final_score, 6),
        "cluster": batch.cluster,
        "random_pick": batch.random_pick,
        "cost": np.round(batch.cost, 4),
        "reason": batch.reasons(),
    })
    explain = q[["id", "score", "final_score", "cluster", "random_pick", "cost", "reason"]].to_dict("records")
    audit_left = snap.pending_audit()
    audit = pd.concat([pd.DataFrame({"id": audit_left, "purpose": "audit", "round": version,
                                     "strategy": "audit:random"}), _sample_rows(snap)], ignore_index=True)
    held = audit["id"].tolist()
    # unanswered audit and recall-sample rows stay queued (a held-out or random sample must
    # be labeled), and so do overlap items short of their annotators (answered already)
    recs = queried.records(snap, [*q["id"], *held], [*q["purpose"], *audit["purpose"]])
    kept = overlap_kept(snap)
    new_ids = q["id"].tolist()
    q = pd.concat([f for f in (q, kept, audit) if len(f)], ignore_index=True)
    with proj.lock():
        proj.write_queue(q)
        if recs is not None:
            proj.append_queried(recs)
    kept_purposes = ["audit", "recall_sample"]  # queued again, not replaced
    replaced = int((~pending["purpose"].isin(kept_purposes)).sum()) if "purpose" in pending else len(pending)
    return BatchResult(new_ids + kept["id"].tolist() + held, str(proj.queue_path), label,
                       len(audit_left), snap.features_cached, explain, replaced=replaced, n_overlap=len(kept),
                       n_recall_sample=len(held) - len(audit_left), auto=auto)


def _on_cluster(snap: Snapshot, spec, n: int, available, groups, cost_arr, choose, scheduler):
    """The batch with the base scores computed on a dask.distributed cluster (see
    :mod:`al_cli.commands.distributed`); None: score here (no cluster asked for, scores.csv
    is current, or the score needs more than the probabilities)."""
    from al_cli.commands import distributed as dist
    from al_cli.commands.modeling import model_matrix
    from al_cli.commands.scoring import cached_scores
    from al_cli.report import info

    where = dist.address(snap.cfg, scheduler)
    if where is None:
        return None
    name = spec.base
    if not STRATEGIES.get(name).needs:
        return None  # random: nothing to compute
    if not dist.runs_on_cluster(name):
        info(f"{name} needs more than the probabilities: scoring here, not on the cluster")
        return None
    _, bundle, _ = snap.model
    hit = cached_scores(snap, name, available)
    if hit is not None:
        return choose(hit)
    rows = np.arange(snap.n_rows)
    plain = spec.density is None and cost_arr is None and (groups is None or len(np.unique(groups)) == len(groups))
    with dist.Cluster(snap, bundle, model_matrix(snap, bundle), where, snap.cfg.compute.partition_rows) as c:
        c.score(rows, [name], with_proba=False)
        if not plain:  # density, cost or twins: every score is needed to choose
            scores = np.where(available, c.gathered([name])[1][name], 0.0)
            return choose(scores)
        keep = n * (snap.cfg.strategy.candidate_factor if spec.diversity != "none" else 1)
        batch = choose(c.candidate_scores(name, available, keep))
        c.settle_random_picks(batch)
        return batch


def _cluster_margin(snap: Snapshot, available, scheduler) -> np.ndarray | None:
    """auto's margin scores of the pool from a dask.distributed cluster when one is asked
    for (the flip rate and the clustering use samples, here); None: score here."""
    from al_cli.commands import distributed as dist
    from al_cli.commands.modeling import model_matrix
    from al_cli.commands.scoring import cached_scores

    where = dist.address(snap.cfg, scheduler)
    if where is None:
        return None
    hit = cached_scores(snap, "margin", available)
    if hit is not None:
        return hit
    _, bundle, _ = snap.model
    with dist.Cluster(snap, bundle, model_matrix(snap, bundle), where, snap.cfg.compute.partition_rows) as c:
        c.score(np.arange(snap.n_rows), ["margin"], with_proba=False)
        return np.where(available, c.gathered(["margin"])[1]["margin"], 0.0)


def _sample_rows(snap: Snapshot) -> pd.DataFrame:
    left = snap.pending_recall_sample()
    return pd.DataFrame({"id": left, "purpose": "recall_sample", "round": snap.round,
                         "strategy": "recall_sample:random"})


def queue_recall_sample(proj: Project, n: int) -> BatchResult:
    """Draw ``n`` more documents into the recall sample and queue every unanswered one (with
    the unanswered audit rows) in place of the unanswered batch."""
    from al_cli.commands import recall_sample as rs

    got = rs.draw(proj, n)
    snap = Snapshot(proj)
    pending = snap.pending
    audit_left = snap.pending_audit()
    sample = _sample_rows(snap)
    q = pd.concat([f for f in (sample, pd.DataFrame({"id": audit_left, "purpose": "audit", "round": snap.round,
                                                     "strategy": "audit:random"})) if len(f)], ignore_index=True)
    with proj.lock():
        proj.write_queue(q)
    replaced = int((~pending["purpose"].isin(["audit", "recall_sample"])).sum()) if "purpose" in pending else 0
    return BatchResult(q["id"].tolist(), str(proj.queue_path), f"recall_sample ({got['sample_size']} of "
                       f"{got['urn']} unread)", len(audit_left), snap.features_cached, [], replaced=replaced)


def _cost(snap: Snapshot, spec: QuerySpec) -> np.ndarray | None:
    path = snap.proj.pool_path
    if spec.cost_column:
        col = data_mod.read_column(path, spec.cost_column, "cost")
        if len(col) != snap.n_rows:
            raise DataError(f"{path}: the pool changed while querying; run 'al score' again")
        try:
            return column_cost(pd.to_numeric(col, errors="coerce").to_numpy(dtype=float), ids=snap.pool_ids)
        except AlError as exc:
            raise DataError(f"{path}: cost column '{spec.cost_column}': {exc.message}") from None
    if spec.cost_learned:
        pf = snap.features
        log = snap.log.frame
        timed = log[(log["status"] == "labeled") & (log["seconds"] > 0)]
        timed = timed.drop_duplicates("id", keep="last")
        pos, found = snap.positions_of(timed["id"].to_numpy())
        cost_arr, fitted = learned_cost(pf.X[pos], timed["seconds"].to_numpy(dtype=float)[found], pf.X)
        if not fitted:
            warn(f"--cost learned: only {int(found.sum())} timed label(s) so far; treating every row as equal cost")
        return cost_arr
    return None
