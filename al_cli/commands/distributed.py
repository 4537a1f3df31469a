"""``compute.backend: dask``: the pool scored in partitions on a dask.distributed cluster.

The model is sent to the workers once (scattered, broadcast); the pool's feature matrix is
cut into partitions of ``compute.partition_rows`` rows, each sent to a worker, which
computes the model's probabilities and the base scores there and keeps them. For ``al
query`` each partition returns only its candidates: every available row whose score reaches
the partition's k-th best (ties at the edge included), k being as many rows as the
selection may take. The global k best are among them, so the batch, chosen on the client
exactly as the local path chooses it (same seeded tie-breaking over the whole pool), is the
same batch; the random picks' scores and ranks are then asked of the partitions that hold
them. ``al score`` gathers every row's probabilities and scores for scores.csv.

Only base scores that need the probabilities alone run on the cluster (least_confidence,
margin, entropy, relevance); a committee or gradient score, density weighting, costs and
pools with exact twins are computed on the client as before, and an ``info`` line says so.
Dask is an optional extra: ``pip install 'al-cli[dask]'``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from al_cli.errors import ConfigError, DataError

PROBA_ONLY = ("proba",)
from al_cli.config import SCHEDULER_RE  # noqa: E402


def address(cfg, scheduler: str | None) -> str | None:
    """The scheduler to score on: ``--scheduler``, else al.yaml's when compute.backend is
    dask; None: score here."""
    if scheduler:
        return scheduler.strip()
    if cfg.compute.backend != "dask":
        return None
    if not cfg.compute.scheduler:
        raise ConfigError("al.yaml: compute.backend is dask but compute.scheduler is not set "
                          "(the scheduler's address, e.g. tcp://10.0.0.5:8786; or give --scheduler)")
    return cfg.compute.scheduler.strip()


def runs_on_cluster(name: str) -> bool:
    from al_cli.strategies.registry import STRATEGIES

    return tuple(STRATEGIES.get(name).needs) == PROBA_ONLY


def connect(address: str):
    """A client of the scheduler at ``address``; one error line when it cannot be had."""
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("compute.backend dask needs the dask extra: pip install 'al-cli[dask]'") from None
    if not SCHEDULER_RE.match(address or ""):
        raise ConfigError(f"scheduler address {address!r} is not one: give tcp://HOST:PORT (or tls://)")
    try:
        return Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise DataError(f"cannot reach the Dask scheduler at {address} ({type(exc).__name__}: {exc}); "
                        "check compute.scheduler in al.yaml or --scheduler") from None


def _scores_on_worker(model: dict[str, Any], X, names: list[str], with_proba: bool):
    """Runs on a worker: one partition's probabilities (when asked) and base scores."""
    from al_cli.commands.scoring import quantise
    from al_cli.models.fitting import predict_proba
    from al_cli.strategies.base import check_scores
    from al_cli.strategies.registry import STRATEGIES, ScoreContext

    proba = predict_proba(model["model_name"], model["estimator"], X)
    out: dict[str, Any] = {"proba": proba} if with_proba else {}
    for name in names:
        ctx = ScoreContext(proba=proba, classes=list(model["classes"]), X=None, rng=np.random.default_rng(0),
                           model_name=model["model_name"], estimator=model["estimator"],
                           relevant=model.get("relevant"))
        out[name] = quantise(check_scores(STRATEGIES.get(name).run(ctx), n_rows=len(proba), name=f"{name} scores"))
    return out


def _candidates(part: dict[str, Any], name: str, available, keep: int):
    """Runs on a worker: the available rows whose score reaches the partition's keep-th best."""
    s = part[name]
    rows = np.flatnonzero(available)
    if len(rows) > keep:
        kth = -np.partition(-s[rows], keep - 1)[keep - 1]
        rows = rows[s[rows] >= kth]
    return rows, s[rows]


def _values_at(part: dict[str, Any], name: str, rows):
    return part[name][rows]


def _count_above(part: dict[str, Any], name: str, available, values):
    s = part[name][available]
    return np.array([(s > v).sum() for v in values], dtype=np.int64)


class Cluster:
    """The pool's partitions scored on the cluster; their scores stay on the workers until
    the client is closed, so the query can ask them again (the random picks' scores and
    ranks) without sending the partitions twice."""

    def __init__(self, snap, bundle: dict[str, Any], X, address: str, partition_rows: int):
        self.snap, self.bundle, self.X = snap, bundle, X
        self.address, self.step = address, max(1, int(partition_rows))
        self.client = None
        self.parts: list[tuple[int, int, Any]] = []  # (start, stop, future of the scores)

    def __enter__(self) -> Cluster:
        self.client = connect(self.address)
        return self

    def __exit__(self, *exc) -> None:
        if self.client is not None:
            self.client.close()

    def _gather(self, futures: list, what: str) -> list:
        from al_cli.report import progress

        out = []
        try:
            with progress(len(futures), what) as advance:
                for f in futures:
                    out.append(f.result())
                    advance(1)
        except (OSError, TimeoutError) as exc:
            raise DataError(f"the Dask cluster at {self.address} failed ({type(exc).__name__}: {exc})") from None
        return out

    def score(self, rows: np.ndarray, names: list[str], with_proba: bool) -> None:
        """Scores ``rows`` (pool positions, in order) in partitions; the model sent once."""
        model = {"model_name": self.bundle["model_name"], "estimator": self.bundle["estimator"],
                 "classes": list(self.bundle["classes"]), "relevant": self.snap.cfg.relevant}
        remote = self.client.scatter(model, broadcast=True)
        self.rows = rows
        self.parts = [(a, min(a + self.step, len(rows)),
                       self.client.submit(_scores_on_worker, remote, self.X[rows[a:a + self.step]], names,
                                          with_proba, pure=False))
                      for a in range(0, len(rows), self.step)]

    def gathered(self, names: list[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(probabilities, {name: scores}) of every row scored, in order (for scores.csv)."""
        got = self._gather([f for _, _, f in self.parts], f"scoring {len(self.rows):,} rows on the cluster")
        if not got:
            return np.zeros((0, len(self.bundle["classes"]))), {n: np.zeros(0) for n in names}
        proba = np.vstack([g["proba"] for g in got]) if "proba" in got[0] else None
        return proba, {n: np.concatenate([g[n] for g in got]) for n in names}

    def candidate_scores(self, name: str, available: np.ndarray, keep: int) -> np.ndarray:
        """Scores over the pool in which only each partition's candidates carry their score
        and every other row a value below them all. Rows must be the whole pool, in order."""
        futures = [self.client.submit(_candidates, f, name, available[a:b], keep, pure=False)
                   for a, b, f in self.parts]
        got = self._gather(futures, f"scoring {len(available):,} rows on the cluster")
        cand = np.concatenate([a + r for (a, _, _), (r, _) in zip(self.parts, got)]) if got else np.zeros(0, int)
        vals = np.concatenate([v for _, v in got]) if got else np.zeros(0)
        out = np.full(len(available), (vals.min() if len(vals) else 0.0) - 1.0)
        out[cand] = vals
        self.available, self.name = available, name
        return out

    def settle_random_picks(self, batch) -> None:
        """The random picks' true scores and ranks (1 + available rows scoring higher), asked
        of the partitions that hold them: what the local path reports for them."""
        picks = np.flatnonzero(batch.random_pick)
        if not len(picks):
            return
        pos = np.asarray(batch.positions)[picks]
        futures = []
        for a, b, f in self.parts:
            mine = (pos >= a) & (pos < b)
            if mine.any():
                futures.append((mine, self.client.submit(_values_at, f, self.name, pos[mine] - a, pure=False)))
        values = np.zeros(len(pos))
        for mine, got in zip([m for m, _ in futures], self._gather([f for _, f in futures], "random picks")):
            values[mine] = got
        counts = self._gather([self.client.submit(_count_above, f, self.name, self.available[a:b], values, pure=False)
                               for a, b, f in self.parts], "ranks")
        above = np.sum(counts, axis=0) if counts else np.zeros(len(pos), dtype=np.int64)
        batch.score[picks] = values
        batch.final_score[picks] = values
        batch.rank[picks] = above + 1
