"""Base scores over the pool, shared by ``al score`` and ``al query``.

Both compute a score the same way, from the same random streams (keyed by model
version and label count, see :mod:`al_cli.rng`), quantised to 1e-6 as scores.csv
stores them; so ``al query`` gives the same batch whether it reads a fresh scores.csv
or scores the pool itself. ``cache/scores.json`` records the state scores.csv was
computed from; a scores.csv from another state is not used.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from typing import Any

import numpy as np

from al_cli.commands.proba import predict_proba_chunked
from al_cli.commands.snapshot import Snapshot
from al_cli.errors import ConfigError
from al_cli.models.apply import prepare_X, spec_of
from al_cli.models.head import Head
from al_cli.report import info
from al_cli.sparse import issparse
from al_cli.strategies.base import check_scores
from al_cli.strategies.registry import STRATEGIES, UNCERTAINTY_COLUMNS, ScoreContext

DECIMALS = 6
DENSE_LIMIT = 2_000  # columns up to which sparse features are densified for a dense-only score
SCORES_MANIFEST = "scores.json"
SCORES_BINARY = "scores.npz"  # scores.csv's score columns by pool position, for al query


def quantise(values: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(values, dtype=float), DECIMALS)


def state_key(snap: Snapshot, *, rows: bool = True) -> str:
    """What the scores of this project state depend on (model, labels, settings, pool rows).
    ``rows=False``: the same but for the rows appended since (the rows the scores of the
    earlier rows do not depend on), with the rows that may not be scored (labeled, audit,
    validation, recall sample) instead: what must hold to score only the new rows."""
    pos, y, _, _ = snap.training
    body = {"model_version": snap.latest_version, "n_labeled": len(snap.labels),
            "random_state": snap.cfg.random_state, "committee_size": snap.cfg.strategy.committee_size,
            "model": [snap.cfg.model.name, snap.cfg.model.class_weight, snap.cfg.model.params],
            "training": hashlib.sha256("\n".join(f"{p}\t{lab}" for p, lab in zip(pos, y)).encode()).hexdigest(),
            "n_rows": snap.n_rows, "pool": snap.pool_key}
    if not rows:
        del body["n_rows"]
        excluded = sorted(map(str, snap.labeled_ids | snap.audit_set | snap.validation_ids
                              | set(snap.recall_sample_ids)))
        body["excluded"] = hashlib.sha256("\n".join(excluded).encode()).hexdigest()
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:24]


# built-in scores computed from the probabilities alone: a linear model's head suffices
PROBA_ONLY = (*UNCERTAINTY_COLUMNS, "auto", "relevance")


class PoolScorer:
    """Scores the ``rows`` (pool positions) of a snapshot, each score computed once. The
    probabilities come from the model's head when it has one (no scikit-learn, no skops
    twin loaded; see :mod:`al_cli.models.head`), else from the estimator."""

    def __init__(self, snap: Snapshot, rows: np.ndarray):
        self.snap = snap
        self.rows = rows
        self._proba: np.ndarray | None = None
        self._X = None
        self._committee: list | None = None
        self.version = snap.latest_version or 0
        self.n_labeled = len(snap.labels)

    @property
    def bundle(self) -> dict[str, Any]:
        return self.snap.model[1]

    @property
    def applied(self):
        """What computes the probabilities: the head, or the bundle."""
        head = self.snap.head
        return head if head is not None and head.feature_key == self.snap.pool_key else self.bundle

    @property
    def classes(self) -> list:
        """The classes, in the probabilities' column order."""
        return _name_classes(self.applied)[1]

    @property
    def X(self):
        if self._X is None:
            from al_cli.commands.modeling import model_matrix

            self._X = self.snap.features.X if isinstance(self.applied, Head) else model_matrix(self.snap, self.bundle)
        return self._X

    @property
    def proba(self) -> np.ndarray:
        if self._proba is None:
            X, rows = self.X, self.rows
            if len(rows) >= 0.5 * X.shape[0]:  # most of the pool: no copy of its rows, chunks of it
                self._proba = predict_proba_chunked(self.applied, X, rows)
            else:
                self._proba = predict_proba_chunked(self.applied, X[rows])
            self._proba.setflags(write=False)  # checked once by the first score, not by each
        return self._proba

    def committee(self) -> list:
        if self._committee is None:
            from al_cli.models.fitting import factory
            from al_cli.strategies.committee import fit_committee

            snap, cfg = self.snap, self.snap.cfg
            pos, y, _, _ = snap.training
            self._committee = fit_committee(
                factory(cfg.model, cfg.random_state), prepare_X(cfg.model.name, self.X[pos]), y,
                cfg.strategy.committee_size, snap.stream("committee", self.version, self.n_labeled))
        return self._committee

    def score(self, name: str) -> np.ndarray:
        """Quantised scores of ``name`` for the rows."""
        spec = STRATEGIES.get(name)
        rng = self.snap.stream("score." + name, self.version, self.n_labeled)
        if not spec.needs:
            ctx = ScoreContext(proba=None, classes=list(self.snap.cfg.labels), X=None, rng=rng,
                               model_name=self.snap.cfg.model.name, estimator=None, rows=self.rows)
        else:
            applied = self.applied if name in PROBA_ONLY else self.bundle
            model_name, classes = _name_classes(applied)
            mspec = spec_of(model_name)
            spec.check_model(model_name, mspec.family, len(classes))
            Xr = prepare_X(model_name, self.X[self.rows]) if {"committee", "features"} & set(spec.needs) \
                else None
            if Xr is not None and not spec.sparse and issparse(Xr):
                if Xr.shape[1] > DENSE_LIMIT:
                    raise ConfigError(f"strategy {name!r} needs dense features, but there are "
                                      f"{Xr.shape[1]} (text?); choose another strategy")
                Xr = Xr.toarray()
            ctx = ScoreContext(proba=self.proba, classes=list(classes), X=Xr, rng=rng,
                               model_name=model_name, estimator=None if isinstance(applied, Head) else applied["estimator"],
                               committee=self.committee if "committee" in spec.needs else None,
                               rows=self.rows, relevant=self.snap.cfg.relevant)
        out = check_scores(spec.run(ctx), n_rows=len(self.rows), name=f"{name} scores")
        return quantise(out)


def _name_classes(applied) -> tuple[str, list]:
    if isinstance(applied, Head):
        return applied.model_name, list(applied.classes)
    return applied["model_name"], list(applied["classes"])


def read_binary(proj, man: dict | None, names: list[str] | None = None) -> dict[str, np.ndarray] | None:
    """cache/scores.npz as written by al score (checked against ``man`` when given, else
    against scores.json), or None; with ``names``, only ``rows`` and those arrays (read in
    place from a memory map when the file is the very one al score wrote)."""
    if man is None:
        man_path = proj.cache_dir / SCORES_MANIFEST
        man = proj.read_json(man_path, default=None) if man_path.exists() else None
    meta = man.get("binary") if isinstance(man, dict) else None
    path = proj.cache_dir / SCORES_BINARY
    if not isinstance(meta, dict) or not path.exists():
        return None
    try:
        st = path.stat()
        # the very file al score wrote (size, time, inode) needs no hash; a copied or touched one does
        if meta.get("written") == [st.st_size, st.st_mtime_ns, st.st_ino] and names is not None:
            from al_cli.features.cache import map_file, npz_array

            data = map_file(path)
            out = {k: npz_array(data, k) for k in ("rows", *names)}
        else:
            data = path.read_bytes()
            if meta.get("written") != [st.st_size, st.st_mtime_ns, st.st_ino] \
                    and hashlib.sha256(data).hexdigest() != meta.get("sha256"):
                return None
            import io

            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                out = {k: z[k] for k in z.files if names is None or k in ("rows", *names)}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None
    return out if "rows" in out and all(len(v) == len(out["rows"]) for v in out.values()) else None


def cached_scores(snap: Snapshot, name: str, available: np.ndarray) -> np.ndarray | None:
    """Scores of ``name`` over the pool from scores.csv (its binary twin cache/scores.npz
    when that is there), when it is from this state."""
    proj = snap.proj
    man_path = proj.cache_dir / SCORES_MANIFEST
    man = proj.read_json(man_path, default=None) if man_path.exists() else None
    if isinstance(man, dict) and man.get("key") == state_key(snap) and proj.scores_path.exists():
        binary = read_binary(proj, man, [f"s_{name}"])
        if binary is not None and f"s_{name}" in binary:
            rows = binary["rows"]
            if rows.size and (rows.min() < 0 or rows.max() >= snap.n_rows):
                binary = None
            else:
                covered = np.zeros(snap.n_rows, dtype=bool)
                covered[rows] = True
                if not (available & ~covered).any():
                    out = np.zeros(snap.n_rows)
                    out[rows] = binary[f"s_{name}"]
                    out[~available] = 0.0
                    return out
    sc = proj.read_csv(proj.scores_path)
    if sc is None:
        info("no scores.csv yet; scoring the pool now")
        return None
    if not isinstance(man, dict) or man.get("key") != state_key(snap):
        if "model_version" in sc.columns and len(sc) and sc["model_version"].iloc[0] != snap.latest_version:
            info(f"scores.csv is from model {sc['model_version'].iloc[0]}, the latest is "
                 f"{snap.latest_version}; scoring now")
        else:
            info("scores.csv is from another project state (labels, settings or pool rows changed); scoring now")
        return None
    if name not in sc.columns:
        return None
    import pandas as pd

    s = pd.Series(sc[name].to_numpy(dtype=float), index=sc["id"].astype(str))
    got = s.reindex(snap.pool_ids[available])
    if got.isna().any():
        info("scores.csv does not cover every unlabeled row (new rows?); scoring them now")
        return None
    out = np.zeros(snap.n_rows)
    out[available] = got.to_numpy()
    return out


def pool_scores(snap: Snapshot, name: str, available: np.ndarray) -> np.ndarray:
    """Base scores of ``name`` over the pool (0 where unavailable)."""
    spec = STRATEGIES.get(name)
    if spec.needs:
        snap.require_model()  # no model: say so before anything else
    if spec.needs and name in (*UNCERTAINTY_COLUMNS, *written_columns(snap)):
        hit = cached_scores(snap, name, available)
        if hit is not None:
            return hit
    out = np.zeros(snap.n_rows)
    rows = np.flatnonzero(available)
    out[rows] = PoolScorer(snap, rows).score(name)
    return out


def written_columns(snap: Snapshot) -> list[str]:
    """Score columns 'al score' writes besides the uncertainty ones: the configured
    strategy's, when it needs a model and is not one of them."""
    name = snap.cfg.strategy.name
    spec = STRATEGIES.get(name)
    return [name] if spec.needs and name not in (*UNCERTAINTY_COLUMNS, "auto") else []
