"""A fast replica of bench_peers.py's protocol, to try variants of ``auto`` before a full run.

    python benchmarks/bench_auto_replica.py --methods auto,margin,random --datasets dna,letter --repeats 8
    python benchmarks/bench_auto_replica.py --methods "auto,auto?SETTLED_FLIPS=0.2" --datasets vowel
    python benchmarks/bench_auto_replica.py --methods auto --datasets dna --repeats 1 --trace

Same splits, features and first 20 labels as bench_peers.py (its ``_context``, cached in
benchmarks/out/replica/), batches of 10, 20 rounds, al's logistic regression; the query
runs in process on the feature matrix: ``auto`` is al's own ``auto_batch`` (with
``?NAME=value`` overriding one of adaptive.py's constants for the run), ``margin``,
``entropy`` with al's 10% random share, ``random``, and ``badge`` (k-means++ on the
gradient embeddings, Ash et al. 2020; measured below margin on DNA and vowel). Its numbers
are not the official ones (random draws differ from ``al simulate``'s): use it to rank
variants, then run bench_peers.py. ``--trace`` prints, per round of the first repeat, the
flip rate and, per kind of picked row, how often the querying model was wrong on it.
"""
from __future__ import annotations
import sys, pickle, tempfile, time, argparse, json
from pathlib import Path
import numpy as np
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE)); sys.path.insert(0, str(HERE.parent))
import bench_peers as bp
from al_cli import models
from al_cli.reports.metrics import metrics
from al_cli.strategies import adaptive as ad
from al_cli.strategies.select import select_batch
from al_cli.strategies.uncertainty import margin as margin_score, entropy as entropy_score

CACHE = HERE / "out" / "replica"

def ctx_for(name, repeat):
    CACHE.mkdir(parents=True, exist_ok=True)
    f = CACHE / f"{name}_{repeat}.pkl"
    if f.exists():
        return pickle.loads(f.read_bytes())
    data = bp.load_dataset(name, Path(tempfile.mkdtemp()))
    proto = bp.protocol_for(data, 20, 10, 20)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = bp._context(data, repeat, proto, Path(tmp))
    ctx = {k: ctx[k] for k in ("X", "y", "Xt", "yt", "init", "labels", "model")}
    ctx["rounds"] = proto.rounds
    f.write_bytes(pickle.dumps(ctx))
    return ctx

def proba_of(est, X):
    return models.predict_proba("logistic_regression", est, X)

def badge_pick(est, X, avail, n, rng, labeled=None):
    P = proba_of(est, X[avail])
    cls = P.argmax(1)
    A = P.copy(); A[np.arange(len(cls)), cls] -= 1.0
    Xa = X[avail]
    Xa = Xa.toarray() if hasattr(Xa, "toarray") else np.asarray(Xa)
    Xa = np.hstack([Xa, np.ones((Xa.shape[0], 1))])
    G = (A[:, :, None] * Xa[:, None, :]).reshape(Xa.shape[0], -1).astype(np.float64)
    sq = (G * G).sum(1)
    first = int(np.argmax(sq)); picks = [first]
    d2 = sq + sq[first] - 2 * G @ G[first]
    d2 = np.maximum(d2, 0)
    for _ in range(n - 1):
        p = d2 / d2.sum() if d2.sum() > 0 else None
        j = int(rng.choice(len(d2), p=p))
        picks.append(j)
        d2 = np.minimum(d2, np.maximum(sq + sq[j] - 2 * G @ G[j], 0))
    return np.flatnonzero(avail)[picks]

def query(method, est, prev_pred, ctx, labeled, batch, rng, state):
    X, y = ctx["X"], ctx["y"]
    n = X.shape[0]
    avail = np.ones(n, bool); avail[labeled] = False
    P = proba_of(est, X)
    pred = np.asarray(est.classes_, dtype=object)[P.argmax(1)]
    flip = None if prev_pred is None else float(np.mean(prev_pred != pred))
    state["pred"] = pred
    m = margin_score(P)
    base, _, opts = method.partition("?")
    kw = dict(o.split("=") for o in opts.split("&") if o)
    if base == "margin":
        return select_batch(m, batch, rng=rng, available=avail, random_fraction=0.1).positions
    if base == "entropy":
        return select_batch(entropy_score(P), batch, rng=rng, available=avail, random_fraction=0.1).positions
    if base == "random":
        return rng.choice(np.flatnonzero(avail), size=batch, replace=False)
    if base == "badge":
        nr = 1
        b = badge_pick(est, X, avail, batch - nr, rng)
        avail[b] = False
        r = rng.choice(np.flatnonzero(avail), size=nr, replace=False)
        return np.concatenate([b, r])
    if base == "auto":
        old = {}
        for k, v in kw.items():
            old[k] = getattr(ad, k); setattr(ad, k, type(old[k])(float(v)) if not isinstance(old[k], int) else int(float(v)))
        try:
            b, plan = ad.auto_batch(m, batch, rng=rng, available=avail, X=X, labeled_pos=labeled,
                                    labeled_y=y[labeled], flip=flip, random_fraction=0.1)
        finally:
            for k, v in old.items(): setattr(ad, k, v)
        err = {}
        for kind in ("margin", "typical", "random", "explore"):
            sel = b.positions[b.kind == kind]
            if len(sel): err[kind] = (round(float(np.mean(pred[sel] != y[sel])), 2), len(sel))
        state.setdefault("plans", []).append((len(labeled), round(flip or -1, 3), err))
        return b.positions
    raise ValueError(method)

def run(method, name, repeat):
    ctx = ctx_for(name, repeat)
    rng = np.random.default_rng([repeat, 11])
    labeled = np.array(ctx["init"], int)
    pts = []; prev = None; state = {}
    for r in range(ctx["rounds"] + 1):
        ylab = ctx["y"][labeled]
        est = None
        if len(set(ylab)) >= 2:
            est = bp._fit(ctx, labeled, repeat)
            P = proba_of(est, ctx["Xt"])
            pred = np.asarray(est.classes_, dtype=object)[P.argmax(1)]
        else:
            pred = np.full(len(ctx["yt"]), ylab[0], dtype=object)
        acc, f1, _, _ = metrics(ctx["yt"], pred, ctx["labels"])
        pts.append((len(labeled), acc, f1))
        if r == ctx["rounds"]: break
        if est is None:
            unl = np.setdiff1d(np.arange(ctx["X"].shape[0]), labeled)
            pick = rng.choice(unl, size=10, replace=False); prev = None
        else:
            pick = query(method, est, prev, ctx, labeled, 10, rng, state)
            prev = state["pred"]
        assert len(pick) == 10 and not len(np.intersect1d(pick, labeled)), (method, len(pick))
        labeled = np.concatenate([labeled, np.asarray(pick, int)])
    return pts, state.get("plans", [])

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--methods"); ap.add_argument("--datasets"); ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--n-jobs", type=int, default=2); ap.add_argument("--trace", action="store_true")
    a = ap.parse_args()
    from joblib import Parallel, delayed
    methods = a.methods.split(","); sets = a.datasets.split(",")
    for s in sets:  # build caches serially
        for k in range(a.repeats): ctx_for(s, k)
    jobs = [(m, s, k) for s in sets for m in methods for k in range(a.repeats)]
    t0 = time.time()
    out = Parallel(n_jobs=a.n_jobs)(delayed(run)(m, s, k) for m, s, k in jobs)
    res = {}
    for (m, s, k), (pts, plans) in zip(jobs, out):
        res.setdefault((s, m), []).append(pts)
        if a.trace and k == 0: print(s, m, plans)
    for s in sets:
        line = [f"{s:14s}"]
        for m in methods:
            arr = np.array(res[(s, m)])  # repeats x points x 3
            line.append(f"{m}: acc {arr[:,:,1].mean():.4f} f1 {arr[:,:,2].mean():.4f}")
        print(" | ".join(line), flush=True)
    print(f"{time.time()-t0:.0f}s")
    (CACHE / "last.json").write_text(json.dumps({f"{s}|{m}": v for (s, m), v in res.items()}))

if __name__ == "__main__":
    main()
