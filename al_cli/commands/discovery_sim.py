"""``al simulate --task discovery``: replay a review on a fully labeled collection.

Discovery reads the collection itself (no held-out part): the reviewer starts from a few
known documents (``prior_relevant`` relevant, ``prior_irrelevant`` not, drawn at random per
repeat), then reads ``batch`` documents per round, the likeliest relevant first, the model
refitted on every answer so far (continuous active learning). The replay keeps going until
every relevant document is found and every stopping rule has spoken (or the collection is
read), and records for each repeat the order of reading, the recall curve, WSS@95 and
WSS@100 and, for each stopping rule, the documents read when it said stop and the recall
then.

It uses the project's own pieces (the feature extractors of :mod:`al_cli.features`, the
model registry, the ``relevance`` score: P(relevant)) but keeps the loop in memory: a real
project writes a model version per round, which for one document per round on a 2,000-
document collection would mean 2,000 model files. The order it produces is what ``al query
--size 1`` gives on the same labels; ``tests/test_discovery_sim.py`` checks that.

Stopping rules replayed (see :mod:`al_cli.reports.recall`):

- ``sample_test``: the rule with a statistical guarantee. When the Quant estimate first says
  the target is reached, or ``in_a_row`` irrelevant documents came in a row (whichever is
  first), the review switches to reading documents drawn at random from the unread rest
  and stops when the hypergeometric test of Callaghan & Müller-Hansen (2020) rejects
  "recall < target" at the confidence (or when everything is read). The guarantee holds
  wherever the switch is; the switch only decides the cost: switching early leaves a
  large urn to sample from, switching late reads more of the ranking.
- ``quant``: stop when found / (found + sum of P(relevant) over the unread) >= target (Yang,
  Lewis & Frieder 2021); ``quant_ci``: the same with the upper end of the 95% interval.
- ``knee``: the knee method (Cormack & Grossman 2016), checked after every round.
- ``irrelevant_in_a_row``: N irrelevant documents read in a row (N = ``in_a_row``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from al_cli import config as config_mod
from al_cli.commands.simulate import SimData
from al_cli.errors import DataError
from al_cli.features.registry import DISCOVERY_TEXT
from al_cli.reports import recall as rc

RULES = ("sample_test", "quant", "quant_ci", "knee", "irrelevant_in_a_row")
OTHER = "(other)"


@dataclass
class DiscoveryProtocol:
    relevant: str
    prior_relevant: int = 1
    prior_irrelevant: int = 1
    batch: int = 1
    model: str = "relevance_lr"
    text_features: str = DISCOVERY_TEXT
    model_params: dict = field(default_factory=dict)   # over the model's defaults (benchmarks)
    target: float = 0.95
    confidence: float = 0.95
    in_a_row: int = 100


@dataclass
class RuleStop:
    read: int | None       # documents read when the rule said stop (None: it never did)
    found: int | None
    recall: float | None

    def to_json(self) -> dict[str, Any]:
        return {"read": self.read, "found": self.found, "recall": self.recall}


@dataclass
class DiscoveryRun:
    repeat: int
    order: list[int]             # row positions in reading order (priors first)
    found: np.ndarray            # relevant found after each document read
    n: int
    relevant: int
    priors: int
    rules: dict[str, RuleStop]
    sample: dict[str, Any]       # the guaranteed rule: where it switched, how much it drew
    seconds: float

    def wss(self, recall: float) -> float:
        return rc.wss(self.full_curve(), self.relevant, recall)

    def full_curve(self) -> np.ndarray:
        """Relevant found after each document read, to the end of the collection."""
        out = np.full(self.n, self.relevant, dtype=int)
        out[:len(self.found)] = self.found
        return out

    def read_for(self, recall: float) -> int:
        need = math.ceil(recall * self.relevant - 1e-9)
        hit = np.flatnonzero(self.full_curve() >= need)
        return int(hit[0]) + 1 if len(hit) else self.n

    def recall_after(self, share: float) -> float:
        k = max(1, int(math.floor(share * self.n)))
        return float(self.full_curve()[k - 1] / self.relevant)


def check(data: SimData, protocol: DiscoveryProtocol) -> np.ndarray:
    """The boolean relevant column; errors name what is wrong."""
    if protocol.relevant not in data.labels:
        raise DataError(f"{data.source}: --relevant {protocol.relevant!r} is not a label of column "
                        f"'{data.label_column}' ({', '.join(data.labels[:12])})")
    y = data.y == protocol.relevant
    n_rel, n_other = int(y.sum()), int((~y).sum())
    if protocol.prior_relevant < 1 or protocol.prior_irrelevant < 0 or protocol.batch < 1:
        raise DataError("--prior-relevant and --batch must be >= 1, --prior-irrelevant >= 0")
    if protocol.prior_relevant > n_rel:
        raise DataError(f"{data.source}: --prior-relevant {protocol.prior_relevant}, but only {n_rel} "
                        f"document(s) are {protocol.relevant!r}")
    if protocol.prior_irrelevant > n_other:
        raise DataError(f"{data.source}: --prior-irrelevant {protocol.prior_irrelevant}, but only "
                        f"{n_other} document(s) are not {protocol.relevant!r}")
    if not 0 < protocol.target < 1 or not 0 < protocol.confidence < 1:
        raise DataError("--target-recall and --confidence must be between 0 and 1")
    if protocol.in_a_row < 1:
        raise DataError("--irrelevant-in-a-row must be >= 1")
    return y


def features(data: SimData, text_features: str = DISCOVERY_TEXT):
    """The feature matrix of the whole collection, as a project over it would build it."""
    from al_cli.features.transform import fit_transform

    text = list(data.text_columns)
    if data.feature_columns is not None:
        feats = list(data.feature_columns)
    else:  # as 'al init': every column but the id, the label and the text columns, and
        # but object columns that look like free text (one-hot, they would be noise)
        from al_cli.commands.init import _looks_like_free_text
        from al_cli.report import warn

        feats = [c for c in data.frame.columns if c not in {data.id_column, data.label_column, *text}]
        dropped = [c for c in feats if _looks_like_free_text(data.frame[c])]
        if dropped:
            warn(f"{data.source}: column(s) {', '.join(dropped)} look like free text or ids and are not "
                 "used as features; name them with --text-column or --feature-columns")
            feats = [c for c in feats if c not in dropped]
    if not text and not feats:
        raise DataError(f"{data.source}: no text or feature column to rank by; name the text with --text-column")
    cfg = config_mod.Config(data=config_mod.DataConfig(path="", id_column=data.id_column, text_columns=text,
                                                       feature_columns=feats),
                            labels=["relevant", OTHER],
                            features=config_mod.FeaturesConfig(text=text_features))
    _, X = fit_transform(data.frame, cfg, data.source)
    if hasattr(X, "tocsr"):  # once, rather than in every fit
        X = X.tocsr().astype(np.float64)
    return X


def model_config(protocol: DiscoveryProtocol) -> config_mod.ModelConfig:
    """The project's model settings for the replay (``relevance_lr`` told which label is sought)."""
    params = {"relevant": "relevant"} if protocol.model == "relevance_lr" else {}
    return config_mod.ModelConfig(name=protocol.model, params={**protocol.model_params, **params})


def _fit_scores(mc, X, read: np.ndarray, y_read: np.ndarray, unread: np.ndarray, seed: int) -> np.ndarray:
    """P(relevant) of the unread documents from a model fitted on the read ones."""
    from al_cli.models import fitting

    if y_read.all() or not y_read.any():  # one class read so far: nothing to rank by yet
        return np.full(len(unread), 0.5)
    labels = np.where(y_read, "relevant", OTHER).astype(object)
    est = fitting.fit(mc, X[read], labels, seed)
    P = fitting.predict_proba(mc.name, est, X[unread])
    return P[:, list(est.classes_).index("relevant")]


def run_one(X, y: np.ndarray, protocol: DiscoveryProtocol, repeat: int,
            priors: list[int] | None = None) -> DiscoveryRun:
    """One replayed review, seeded by ``repeat`` (``priors``: the row positions known at the
    start, instead of a random draw; benchmarks replay another tool's priors with it).

    Until the last relevant document is read the model is refitted after every round. From
    then on nothing the reviewer reads can change recall (every unread document is
    irrelevant), so the rules that look only at the reading order (knee, N in a row) are
    worked out without fitting, and the model-based ones (Quant) are checked after a refit
    every 1% of the collection: where they stop is exact to within that step (never earlier).
    """
    t0 = time.perf_counter()
    n, R = len(y), int(y.sum())
    rng = np.random.default_rng([repeat, 11])
    rel_pos, other_pos = np.flatnonzero(y), np.flatnonzero(~y)
    drawn = [*rng.choice(rel_pos, protocol.prior_relevant, replace=False).tolist(),
             *rng.choice(other_pos, protocol.prior_irrelevant, replace=False).tolist()]
    priors = [int(i) for i in priors] if priors is not None else drawn
    tiebreak = rng.permutation(n)  # equal scores: a random order, never the file's order
    mc = model_config(protocol)
    is_read = np.zeros(n, dtype=bool)
    is_read[priors] = True
    order = list(priors)
    found = list(np.cumsum(y[priors]))
    stops: dict[str, RuleStop] = {}
    step = max(1, n // 100)
    settled = False
    while len(order) < n:
        got = int(found[-1])
        done = got == R
        if done:
            if not settled:  # once: nothing read from here on changes them
                _order_rules_after_last(stops, np.asarray(y[order]), got, n, protocol)
                settled = True
            if "quant" in stops and "quant_ci" in stops:
                break
        unread = np.flatnonzero(~is_read)
        read = np.asarray(order)
        p = _fit_scores(mc, X, read, y[read], unread, repeat)
        _model_rules(stops, p, got, len(order), protocol)
        take = step if done else protocol.batch
        picked = unread[np.lexsort((tiebreak[unread], -p))[:take]]
        for i in picked:
            order.append(int(i))
            found.append(found[-1] + int(y[i]))
        is_read[picked] = True
        if not done:
            _order_rules(stops, np.asarray(y[order]), found, protocol)
    if not settled:
        _order_rules_after_last(stops, np.asarray(y[order]), int(found[-1]), n, protocol)
    for r in RULES:
        stops.setdefault(r, RuleStop(None, None, None))
    # the guaranteed rule switches to sampling where the first of Quant and N-in-a-row stops
    at = [stops[r].read for r in ("quant", "irrelevant_in_a_row") if stops[r].read is not None]
    switch = None
    if at:
        k0 = min(at)
        if k0 > len(order):  # past the last relevant document: any unread ones will do
            rest = np.flatnonzero(~is_read)
            order += rest[np.argsort(tiebreak[rest])][:k0 - len(order)].tolist()
            found += [found[-1]] * (k0 - len(found))
        switch = {"read": k0, "found": int(found[k0 - 1])}
    sample = _sample_rule(y, order, switch, protocol, rng, stops)
    for r in RULES:  # the recall each rule stopped at
        s = stops[r]
        if s.read is not None and s.found is not None:
            s.recall = round(s.found / R, 6)
    return DiscoveryRun(repeat, order, np.asarray(found, dtype=int), n, R, len(priors), stops, sample,
                        time.perf_counter() - t0)


def _model_rules(stops: dict[str, RuleStop], p: np.ndarray, got: int, read: int, protocol) -> None:
    if got == 0:
        return
    q = rc.quant_estimate(got, p)
    if "quant" not in stops and q.recall >= protocol.target:
        stops["quant"] = RuleStop(read, got, None)
    if "quant_ci" not in stops and q.recall_low >= protocol.target:
        stops["quant_ci"] = RuleStop(read, got, None)


def _order_rules(stops: dict[str, RuleStop], flags: np.ndarray, found: list[int], protocol) -> None:
    read = len(flags)
    if "knee" not in stops and rc.knee(flags).stop:
        stops["knee"] = RuleStop(read, int(found[-1]), None)
    if "irrelevant_in_a_row" not in stops and found[-1] > 0 and rc.irrelevant_in_a_row(flags) >= protocol.in_a_row:
        stops["irrelevant_in_a_row"] = RuleStop(read, int(found[-1]), None)


def _order_rules_after_last(stops: dict[str, RuleStop], flags: np.ndarray, got: int, n: int, protocol) -> None:
    """Where knee and N-in-a-row stop when every document still to be read is irrelevant."""
    read = len(flags)
    if "irrelevant_in_a_row" not in stops:
        at = read + max(0, protocol.in_a_row - rc.irrelevant_in_a_row(flags))
        if at <= n:
            stops["irrelevant_in_a_row"] = RuleStop(at, got, None)
    if "knee" not in stops:
        for extra in range(0, n - read + 1):
            if rc.knee(np.concatenate([flags, np.zeros(extra)])).stop:
                stops["knee"] = RuleStop(read + extra, got, None)
                break


def _sample_rule(y, order, switch, protocol, rng, stops) -> dict[str, Any]:
    """From the switch point, read documents drawn at random from the unread rest until the
    test rejects 'recall < target' (or nothing is left)."""
    n = len(y)
    if switch is None:  # the Quant estimate never reached the target: everything is read
        switch = {"read": n, "found": int(y.sum())}
    k0, got0 = switch["read"], switch["found"]
    rest = np.setdiff1d(np.arange(n), np.asarray(order[:k0]), assume_unique=False)
    draws = rng.permutation(rest)
    urn = len(draws)
    k = 0
    drawn = 0
    test = rc.sample_test(max(urn, 1), 0, 0, got0, protocol.target, protocol.confidence) if urn else None
    while urn and drawn < urn:
        k += int(y[draws[drawn]])
        drawn += 1
        test = rc.sample_test(urn, drawn, k, got0, protocol.target, protocol.confidence)
        if test.stop:
            break
    # documents of the ranked reading before the switch plus the sample; what the sample
    # found is found; the unread rest is not
    stops["sample_test"] = RuleStop(k0 + drawn, got0 + k, None)
    return {"switched_at": k0, "found_at_switch": got0, "urn": urn, "drawn": drawn, "relevant_in_sample": k,
            "p_value": test.p_value if test else 0.0,
            "certified": bool(test.stop) if test else True}


@dataclass
class DiscoveryResult:
    runs: list[DiscoveryRun]
    protocol: DiscoveryProtocol
    n: int
    relevant: int
    source: str
    seconds: float
    files: dict[str, str] = field(default_factory=dict)

    def mean_curve(self, points: int) -> list[float]:
        """Mean recall at ``points`` evenly spaced shares of the collection read."""
        at = [max(1, int(round(self.n * (i + 1) / points))) for i in range(points)]
        return [float(np.mean([run.full_curve()[k - 1] / self.relevant for run in self.runs])) for k in at]

    def summary(self) -> dict[str, Any]:
        def mean(xs):
            xs = [x for x in xs if x is not None]
            return round(float(np.mean(xs)), 6) if xs else None

        runs = self.runs
        rules = {}
        for r in RULES:
            stops = [run.rules[r] for run in runs]
            said = [s for s in stops if s.read is not None]
            rules[r] = {
                "stopped": len(said), "of": len(stops),
                "read": mean([s.read for s in said]), "read_share": mean([s.read / self.n for s in said]),
                "recall": mean([s.recall for s in said]),
                "min_recall": round(min(s.recall for s in said), 6) if said else None,
                "reached_target": sum(1 for s in said if s.recall is not None and s.recall >= self.protocol.target),
            }
        return {
            "wss95": mean([run.wss(0.95) for run in runs]), "wss100": mean([run.wss(1.0) for run in runs]),
            "recall_at_10pct": mean([run.recall_after(0.10) for run in runs]),
            "read_for_95": mean([run.read_for(0.95) for run in runs]),
            "read_for_100": mean([run.read_for(1.0) for run in runs]),
            "rules": rules,
        }

    def to_json(self) -> dict[str, Any]:
        p = self.protocol
        return {
            "task": "discovery", "n_rows": self.n, "relevant": self.relevant, "relevant_label": p.relevant,
            "protocol": {"prior_relevant": p.prior_relevant, "prior_irrelevant": p.prior_irrelevant,
                         "batch": p.batch, "model": p.model, "target": p.target, "confidence": p.confidence,
                         "irrelevant_in_a_row": p.in_a_row, "repeats": len(self.runs), "data": self.source},
            **self.summary(),
            "repeats": [{
                "repeat": run.repeat, "wss95": round(run.wss(0.95), 6), "wss100": round(run.wss(1.0), 6),
                "recall_at_10pct": round(run.recall_after(0.10), 6), "read_for_95": run.read_for(0.95),
                "read_for_100": run.read_for(1.0), "seconds": round(run.seconds, 2),
                "rules": {r: run.rules[r].to_json() for r in RULES}, "sample_test": run.sample,
            } for run in self.runs],
            "seconds": round(self.seconds, 2), "files": self.files,
        }


def run(data: SimData, protocol: DiscoveryProtocol, *, repeats: int = 5, n_jobs: int = 1,
        progress: Callable[[int], None] | None = None, out: Path | None = None,
        plot: bool = True) -> DiscoveryResult:
    """Replay ``repeats`` reviews (repeat k seeded by k); with ``out``, write curves.csv
    (repeat, read, found, recall per document read), summary.json (as ``--json``) and
    recall_curve.png there."""
    t0 = time.perf_counter()
    y = check(data, protocol)
    if repeats < 1:
        raise DataError("--repeats must be >= 1")
    X = features(data, protocol.text_features)
    runs: list[DiscoveryRun] = []
    if n_jobs == 1 or repeats == 1:
        for k in range(repeats):
            runs.append(run_one(X, y, protocol, k))
            if progress:
                progress(1)
    else:
        from joblib import Parallel, delayed

        for res in Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
                delayed(run_one)(X, y, protocol, k) for k in range(repeats)):
            runs.append(res)
            if progress:
                progress(1)
    runs.sort(key=lambda r: r.repeat)
    res = DiscoveryResult(runs, protocol, len(y), int(y.sum()), data.source, time.perf_counter() - t0)
    if out is not None:
        write_outputs(res, Path(out), plot=plot)
    return res


def write_outputs(res: DiscoveryResult, out: Path, plot: bool = True) -> None:
    import pandas as pd

    from al_cli.store import atomic_write_csv, atomic_write_json

    if out.exists() and not out.is_dir():
        raise DataError(f"{out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    frames = [pd.DataFrame({"repeat": run.repeat, "read": np.arange(1, run.n + 1), "found": run.full_curve()})
              for run in res.runs]
    curves = pd.concat(frames, ignore_index=True)
    curves["recall"] = (curves["found"] / max(res.relevant, 1)).round(6)
    atomic_write_csv(out / "curves.csv", curves)
    res.files = {"curves": str(out / "curves.csv"), "summary": str(out / "summary.json")}
    if plot:
        from al_cli.reports.plots import recall_curve_png
        from al_cli.store.atomic import atomic_write_bytes

        rules = res.summary()["rules"]
        stops = {r: v["read_share"] for r, v in rules.items() if v["read_share"] is not None}
        png = recall_curve_png([run.full_curve() for run in res.runs], res.relevant, target=res.protocol.target,
                               stops=stops, title=f"{Path(res.source).name}: {res.relevant} relevant of {res.n}, "
                                               f"{len(res.runs)} repeats")
        atomic_write_bytes(out / "recall_curve.png", png)
        res.files["plot"] = str(out / "recall_curve.png")
    atomic_write_json(out / "summary.json", res.to_json())
