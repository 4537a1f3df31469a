"""``al query`` with the adaptive default ``auto`` (:mod:`al_cli.strategies.adaptive`):
the evidence it needs from the project (the two latest models' predictions, the training
labels) and the batch."""

from __future__ import annotations

import numpy as np

from al_cli.commands.modeling import model_matrix, predict_labels
from al_cli.commands.proba import predict_proba_chunked
from al_cli.commands.scoring import pool_scores
from al_cli.commands.snapshot import Snapshot
from al_cli.errors import AlError
from al_cli.models.head import Head
from al_cli.strategies import adaptive


def flip_evidence(snap: Snapshot) -> tuple[float | None, str]:
    """The flip rate between the latest model and the latest one before it fitted on other
    labels, on a fixed sample of pool rows, and a note when it cannot be measured."""
    from al_cli.store.modelstore import LegacyModelError

    versions = snap.proj.models.versions()
    previous = _previous_version(snap, versions)
    if previous is None:
        return None, "first model"
    before = _head(snap, previous)
    if before is None:
        try:
            before, _ = snap.proj.load_model(previous, snap.trusted)
        except LegacyModelError:
            return None, "the previous model was saved by al 0.1.0"
        except AlError as exc:  # only evidence: an older model al cannot load is no reason to stop
            return None, f"model {previous:04d} cannot be loaded ({exc.message.split(': ')[-1]})"
    after = snap.head
    if after is None:
        _, after, _ = snap.model
    pf = snap.features
    if _feature_key(after) != pf.key:
        return None, "the pool or its features changed since the latest model was fitted"
    if _feature_key(before) != pf.key:
        return None, f"model {previous:04d} was fitted on other features"
    n = pf.n_rows
    rows = np.arange(n)
    if n > adaptive.FLIP_SAMPLE:  # the same rows every round (the stream's keys are fixed)
        rows = np.sort(snap.stream("auto.flip").choice(n, size=adaptive.FLIP_SAMPLE, replace=False))
    X = pf.X[rows]
    return adaptive.flip_rate(_labels(before, X), _labels(after, X)), ""


def _head(snap: Snapshot, version: int) -> Head | None:
    """``version``'s head (its probabilities without scikit-learn), or None: load the model."""
    data = snap.proj.load_head(version)
    if data is None:
        return None
    try:
        return Head.from_bytes(data)
    except ValueError:
        return None


def _feature_key(applied) -> str | None:
    return applied.feature_key if isinstance(applied, Head) else applied.get("feature_key")


def _labels(applied, X) -> np.ndarray:
    if isinstance(applied, Head):
        return np.asarray(applied.classes, dtype=object)[predict_proba_chunked(applied, X).argmax(axis=1)]
    return predict_labels(applied, X)


def _previous_version(snap: Snapshot, versions: list[int]) -> int | None:
    """The latest version before the latest one that was fitted on other labels (a
    'retrain --force' on the same labels gives the same model: no evidence of settling)."""
    if len(versions) < 2:
        return None

    def used(v: int):
        try:
            rows = snap.proj.load_manifest(v).get("labels_used")
        except Exception:  # noqa: BLE001 - an unreadable manifest: compare by version only
            return None
        return frozenset((str(r.get("id")), str(r.get("label"))) for r in rows) if isinstance(rows, list) else None

    last = used(versions[-1])
    for v in reversed(versions[:-1]):
        if last is None or used(v) != last:
            return v
    return None


def auto_batch(snap: Snapshot, n: int, available: np.ndarray, *, spec, groups, cost_arr, dens,
               reference, name: str, cost_unit: str, scores: np.ndarray | None = None):
    """(Batch, AutoPlan) for ``auto`` with the spec's diversity, density and cost on its
    margin part; ``scores``: margin over the pool when already computed (on a cluster)."""
    cfg = snap.cfg
    head = snap.head
    if head is not None and head.feature_key == snap.pool_key:  # the features as they are: no model load
        X = snap.features.X
    else:
        X = model_matrix(snap, snap.model[1])
    if scores is None:
        scores = pool_scores(snap, "margin", available)
    flip, note = flip_evidence(snap)
    pos, y, _, _ = snap.training
    batch, plan = adaptive.auto_batch(
        scores, n, rng=snap.stream("query.auto", snap.round, len(snap.labels)), available=available, X=X,
        labeled_pos=pos, labeled_y=y, flip=flip, random_fraction=spec.random_fraction, groups=groups,
        diversity=spec.diversity, candidate_factor=cfg.strategy.candidate_factor, density=dens,
        density_weight=spec.density or 1.0, cost=cost_arr, cost_lambda=cfg.strategy.cost_lambda,
        reference=reference, name=name, cost_unit=cost_unit)
    plan.note = note
    return batch, plan
