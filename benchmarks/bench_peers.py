"""al's strategies against modAL and scikit-activeml on the same protocol.

    pip install -e '.[bench]'            # modAL-python, scikit-activeml
    python benchmarks/bench_peers.py --n-jobs 2            # everything, ~30 min on 2 cores
    python benchmarks/bench_peers.py --datasets digits,wine --repeats 2   # a quick look
    python benchmarks/bench_peers.py --time-digits         # wall time of one 'al simulate'

Protocol (the same for every method): for each repeat k, the stratified 70/30 split
of ``al simulate`` seeded by k; al's feature matrix of the training part (scaling and
one-hot for tables, TF-IDF for text, fitted on the training part); the same
initial 20 labels (al's random seed for repeat k); batches of 10; 20 rounds (fewer
where the training part is smaller: wine); al's logistic regression
(class_weight=balanced, C=1); accuracy and macro-F1 on the test part after every
retrain. al's strategies run through ``al simulate`` itself (al_cli.commands.simulate.run: the
real commands in temporary projects). The peers run their own query code on the
same matrices with the same estimator; while only one class is labeled, every
method queries at random and predicts that class (al's rule, see simulate.py).

Writes benchmarks/results/<dataset>/curves.csv (method, repeat, n_labeled,
accuracy, macro_f1), benchmarks/results/summary.json and benchmarks/results/table.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from al_cli import data as data_mod  # noqa: E402
from al_cli import api as wf  # noqa: E402
from al_cli import models  # noqa: E402
from al_cli.features.cache import load_features  # noqa: E402
from al_cli.features.transform import transform as transform_rows  # noqa: E402
from al_cli.commands import simulate as sim  # noqa: E402
from al_cli.reports.metrics import metrics  # noqa: E402
from al_cli.strategies.spec import QuerySpec  # noqa: E402
from al_cli.report import collecting  # noqa: E402

RESULTS = HERE / "results"
SAMPLES = ROOT / "sample_projects"

AL_STRATEGIES = [
    "entropy",          # al's default: entropy, 10% of each batch at random
    "entropy+rf0",
    "margin",
    "margin+rf0",
    "least_confidence+rf0",
    "margin+kcenter",
    "entropy+kmeans",
    "qbc_kl",
    "random",
    "margin+kmeans",
    "margin+density",
]
# Both text sets are binary, where margin, entropy and least confidence rank rows alike;
# qbc_kl (weakest on digits, 5 fits a round) is left out there to keep the run short.
AL_STRATEGIES_TEXT = ["entropy", "entropy+rf0", "margin", "margin+kcenter", "entropy+kmeans", "random"]
PEERS = [
    "modAL:least_confidence",
    "modAL:margin",
    "modAL:entropy",
    "skactiveml:uncertainty",
    "skactiveml:qbc",
    "skactiveml:coreset",
    "skactiveml:typiclust",
]
DATASETS = ["digits", "breast_cancer", "wine", "penguins", "screening", "kitchenham", "fortunes", "austen",
            "letter", "satellite", "dna", "vehicle", "vowel", "ticdata", "lending_club"]
#: tables exported from Debian's R packages (benchmarks/data/README.md: source, licence)
R_SETS = ("letter", "satellite", "dna", "vehicle", "vowel", "ticdata", "lending_club")
#: rare-positive sets (under 10% positives): macro-F1 matters as much as accuracy
RARE = ("screening", "kitchenham", "ticdata", "lending_club")


# =========================================================================== data sets
def _sklearn_csv(name: str, folder: Path) -> Path:
    from sklearn import datasets

    loader = {"digits": datasets.load_digits, "breast_cancer": datasets.load_breast_cancer,
              "wine": datasets.load_wine, "iris": datasets.load_iris}[name]
    bunch = loader(as_frame=True)
    df = bunch.frame.copy()
    target = df.pop("target")
    names = getattr(bunch, "target_names", None)
    df.columns = [str(c).replace(" ", "_") for c in df.columns]
    df["label"] = np.asarray(names)[target] if names is not None and name != "digits" else target
    path = folder / f"{name}.csv"
    df.to_csv(path, index=False)
    return path


def load_dataset(name: str, folder: Path) -> sim.SimData:
    """The data set as ``al simulate`` would read it (see the README for the commands)."""
    if name in ("digits", "breast_cancer", "wine", "iris"):
        return sim.load_data(_sklearn_csv(name, folder), label_column="label")
    if name == "penguins":
        d = SAMPLES / "penguins"
        return sim.load_data([d / "pool.csv", d / "validation.csv"], answers=d / "answers.csv",
                             id_column="id", label_column="label")
    if name == "screening":
        d = SAMPLES / "screening"
        return sim.load_data([d / "pool.csv", d / "validation.csv"], answers=d / "answers.csv",
                             id_column="id", label_column="label", text_columns=["title", "abstract"])
    if name == "kitchenham":
        return sim.load_data(HERE / "data" / "kitchenham_2010.csv", label_column="label",
                             text_columns=["title", "abstract"])
    if name in ("fortunes", "austen"):
        return sim.load_data(HERE / "data" / f"{name}.csv", label_column="label", text_columns=["text"])
    if name in R_SETS:
        path = folder / f"{name}.csv"
        pd.read_csv(HERE / "data" / f"{name}.csv.gz", dtype=str, keep_default_na=False).to_csv(path, index=False)
        return sim.load_data(path, label_column="label")
    raise SystemExit(f"unknown data set {name!r} (known: {', '.join(DATASETS)})")


def protocol_for(data: sim.SimData, initial: int, batch: int, rounds: int) -> sim.Protocol:
    n_train = len(data.frame) - int(np.ceil(0.3 * len(data.frame)))
    fit = max(0, (n_train - initial) // batch)
    return sim.Protocol(initial=initial, batch=batch, rounds=min(rounds, fit), test_size=0.3)


# =========================================================================== peers
def _context(data: sim.SimData, repeat: int, protocol: sim.Protocol, tmp: Path) -> dict:
    """Split, features, initial labels and test set exactly as al simulate builds them."""
    with collecting():
        train, test = sim.split(data, repeat, protocol.test_size)
        files = sim.write_split_files(tmp / "data", data, train, test)
        proj = sim.make_project(tmp / "project", data, files, model=protocol.model, random_state=repeat)
        pf = load_features(proj)
        cfg = proj.config
        q = wf.seed(proj, size=protocol.initial, strategy=protocol.seed_strategy)
        vdf = data_mod.read_labels_file(files["validation"], cfg.validation.label_column, cfg.labels, None)
        Xt = transform_rows(pf.transformer, vdf, cfg)
    answers = pd.read_csv(files["answers"], dtype=str).set_index("id")["label"]
    y = answers.reindex(pf.ids).to_numpy(dtype=object)
    pos = pd.Series(np.arange(pf.n_rows), index=pf.ids)
    init = pos.reindex(q.ids).astype(int).to_numpy()
    return {"X": pf.X, "y": y, "Xt": Xt, "yt": vdf[cfg.validation.label_column].to_numpy(dtype=object),
            "init": init, "init_ids": list(q.ids), "labels": cfg.labels, "model": cfg.model}


def _fit(ctx, idx, repeat):
    est = models.make_estimator(ctx["model"], repeat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(ctx["X"][idx], ctx["y"][idx])
    return est


def _peer_query(method: str, est, ctx, labeled: np.ndarray, batch: int, repeat: int) -> np.ndarray:
    X = ctx["X"]
    n = X.shape[0]
    unl = np.setdiff1d(np.arange(n), labeled)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method.startswith("modAL:"):
            from modAL.uncertainty import entropy_sampling, margin_sampling, uncertainty_sampling

            fn = {"least_confidence": uncertainty_sampling, "margin": margin_sampling,
                  "entropy": entropy_sampling}[method.split(":")[1]]
            out = fn(est, X[unl], n_instances=batch)
            idx = out[0] if isinstance(out, tuple) else out
            return unl[np.asarray(idx, dtype=int)]
        from sklearn.base import clone
        from sklearn.ensemble import BaggingClassifier
        from skactiveml.classifier import SklearnClassifier
        from skactiveml.pool import CoreSet, QueryByCommittee, TypiClust, UncertaintySampling

        classes = np.arange(len(ctx["labels"]))
        code = {lab: i for i, lab in enumerate(ctx["labels"])}
        y_nan = np.full(n, np.nan)
        y_nan[labeled] = [code[v] for v in ctx["y"][labeled]]
        # scikit-activeml's query strategies take dense arrays only ("Sparse data was passed,
        # but dense data is required"): give them the same TF-IDF matrix, densified.
        X = Xd = X.toarray() if hasattr(X, "toarray") else X
        base = models.make_estimator(ctx["model"], repeat)
        kind = method.split(":")[1]
        if kind == "uncertainty":
            qs = UncertaintySampling(method="least_confident", random_state=repeat)
            idx = qs.query(X, y_nan, clf=SklearnClassifier(clone(base), classes=classes, random_state=repeat),
                           batch_size=batch)
        elif kind == "qbc":
            qs = QueryByCommittee(random_state=repeat)
            ens = SklearnClassifier(BaggingClassifier(clone(base), n_estimators=5, random_state=repeat),
                                    classes=classes, random_state=repeat)
            idx = qs.query(X, y_nan, ensemble=ens, batch_size=batch)
        elif kind == "coreset":
            idx = CoreSet(random_state=repeat).query(Xd, y_nan, batch_size=batch)
        elif kind == "typiclust":
            idx = TypiClust(random_state=repeat).query(Xd, y_nan, batch_size=batch)
        else:
            raise ValueError(method)
        return np.asarray(idx, dtype=int)


def run_peer(method: str, ctx: dict, protocol: sim.Protocol, repeat: int, budget: float) -> list[dict]:
    rng = np.random.default_rng([repeat, 7])
    t0 = time.perf_counter()
    labeled = np.array(ctx["init"], dtype=int)
    points = []
    for r in range(protocol.rounds + 1):
        ylab = ctx["y"][labeled]
        est = None
        if len(set(ylab)) >= 2:
            est = _fit(ctx, labeled, repeat)
            proba = models.predict_proba("logistic_regression", est, ctx["Xt"])
            pred = np.asarray(est.classes_, dtype=object)[proba.argmax(axis=1)]
        else:
            pred = np.full(len(ctx["yt"]), ylab[0], dtype=object)
        acc, f1, _, _ = metrics(ctx["yt"], pred, ctx["labels"])
        points.append({"method": method, "repeat": repeat, "n_labeled": len(labeled),
                       "accuracy": acc, "macro_f1": f1})
        if r == protocol.rounds:
            break
        if time.perf_counter() - t0 > budget:
            raise TimeoutError(f"stopped after {time.perf_counter() - t0:.0f}s at {len(labeled)} labels "
                               f"(budget {budget:g}s per repeat)")
        if est is None:
            unl = np.setdiff1d(np.arange(ctx["X"].shape[0]), labeled)
            pick = rng.choice(unl, size=protocol.batch, replace=False)
        else:
            pick = _peer_query(method, est, ctx, labeled, protocol.batch, repeat)
        pick = np.asarray(pick, dtype=int)
        if len(pick) != protocol.batch or len(np.intersect1d(pick, labeled)) or len(set(pick)) != len(pick):
            raise RuntimeError(f"{method} returned {len(pick)} rows, {len(np.intersect1d(pick, labeled))} "
                               "already labeled")
        labeled = np.concatenate([labeled, pick])
    return points


def peers_for_repeat(data: sim.SimData, repeat: int, protocol: sim.Protocol, methods: list[str],
                     budget: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="al-bench-") as tmp:
        ctx = _context(data, repeat, protocol, Path(tmp))
    out: dict = {"repeat": repeat, "init_ids": ctx["init_ids"], "points": [], "errors": {}, "seconds": {}}
    for m in methods:
        t0 = time.perf_counter()
        try:
            out["points"].extend(run_peer(m, ctx, protocol, repeat, budget))
        except Exception as exc:  # noqa: BLE001 - a failing peer keeps its row, with the error
            out["errors"][m] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:200]
            if os.environ.get("BENCH_DEBUG"):
                traceback.print_exc()
        out["seconds"][m] = time.perf_counter() - t0
    return out


# =========================================================================== one data set
def bench_dataset(name: str, args, folder: Path, prev: dict | None = None) -> dict:
    """Run al's strategies and the peers on one data set. With ``prev`` (--update), only
    the methods given are run and merged into the earlier results for the data set."""
    from joblib import Parallel, delayed

    data = load_dataset(name, folder)
    protocol = protocol_for(data, args.initial, args.batch, args.rounds)
    al_list = args.al_text if data.text_columns and args.al_text is not None else args.al
    specs = [QuerySpec.parse(s) for s in al_list]
    print(f"[{name}] {len(data.frame)} rows, {len(data.labels)} labels, rounds {protocol.rounds}", flush=True)
    t0 = time.perf_counter()
    res = None
    curves = pd.DataFrame(columns=["method", *sim.CURVE_COLUMNS[1:]])
    if specs:
        res = sim.run(data, strategies=specs, protocol=protocol, repeats=args.repeats, n_jobs=args.n_jobs,
                      plot=False)
        curves = res.curves.rename(columns={"strategy": "method"}).copy()
        curves["method"] = "al:" + curves["method"]
    al_seconds = time.perf_counter() - t0
    print(f"[{name}] al: {al_seconds:.0f}s", flush=True)
    t0 = time.perf_counter()
    peer_runs = Parallel(n_jobs=args.n_jobs)(
        delayed(peers_for_repeat)(data, k, protocol, args.peers, args.peer_budget) for k in range(args.repeats))
    peer_seconds = time.perf_counter() - t0
    print(f"[{name}] peers: {peer_seconds:.0f}s", flush=True)
    if res is not None:
        for run in peer_runs:  # the peers started from al's initial labels
            assert sorted(run["init_ids"]) == sorted(res.initial_ids[run["repeat"]]), (name, run["repeat"])
    peer_pts = pd.DataFrame([p for r in peer_runs for p in r["points"]])
    errors: dict[str, str] = {}
    for r in peer_runs:
        for m, e in r["errors"].items():
            errors.setdefault(m, e)
    peer_pts = peer_pts[~peer_pts["method"].isin(list(errors))] if len(peer_pts) else peer_pts
    new_methods = [f"al:{s}" for s in al_list] + list(args.peers)
    all_curves = pd.concat([c for c in (curves, peer_pts) if len(c)], ignore_index=True)
    order = new_methods
    peer_time = {m: round(sum(r["seconds"].get(m, 0) for r in peer_runs), 1) for m in args.peers}
    seconds = {"al_total": round(al_seconds, 1), "peers_total": round(peer_seconds, 1), **peer_time}
    if res is not None:
        full_d = dict(res.full_data)
        n_train, n_test, proto = res.n_train, res.n_test, res.protocol
    if prev is not None:
        old = pd.read_csv(RESULTS / name / "curves.csv")
        old = old[~old["method"].isin(new_methods)]
        all_curves = pd.concat([old, all_curves], ignore_index=True)
        order = [m for m in [*prev["methods"], *prev["errors"]] if m not in new_methods] + new_methods
        errors = {**{m: e for m, e in prev["errors"].items() if m not in new_methods}, **errors}
        if res is None:
            full_d, n_train, n_test, proto = prev["full_data"], prev["n_train"], prev["n_test"], prev["protocol"]
        seconds = {**prev.get("seconds", {}), **seconds}
    full = pd.DataFrame([{"repeat": 0, "n_labeled": full_d["n_labeled"], "accuracy": full_d["accuracy"],
                          "macro_f1": full_d["macro_f1"]}])
    present = set(all_curves["method"])
    summ, full_d = sim.summarise(all_curves.rename(columns={"method": "strategy"}), full,
                                 [m for m in order if m in present and m not in errors])
    out_dir = RESULTS / name
    out_dir.mkdir(parents=True, exist_ok=True)
    c = all_curves.copy()
    c[["accuracy", "macro_f1"]] = c[["accuracy", "macro_f1"]].astype(float).round(6)
    c.to_csv(out_dir / "curves.csv", index=False)
    return {
        "dataset": name, "rows": len(data.frame), "labels": data.labels, "n_train": n_train,
        "n_test": n_test, "protocol": proto, "full_data": full_d,
        "methods": {m: {"aulc_accuracy": s.aulc_accuracy, "aulc_macro_f1": s.aulc_macro_f1,
                        "aulc_accuracy_sd": s.aulc_accuracy_sd, "aulc_macro_f1_sd": s.aulc_macro_f1_sd,
                        "final_accuracy": s.final_accuracy, "final_macro_f1": s.final_macro_f1,
                        "labels_to_95": s.labels_to_95, "labels_to_99": s.labels_to_99}
                    for m, s in summ.items()},
        "errors": {m: errors[m] for m in order if m in errors},
        "seconds": seconds,
    }


# =========================================================================== report
def table_md(results: list[dict], default: str) -> str:
    lines = []
    names = [r["dataset"] for r in results]
    methods = list(dict.fromkeys(m for r in results for m in [*r["methods"], *r["errors"]]))
    mark = lambda m: f"**{m}** (default)" if m == f"al:{default}" else m  # noqa: E731

    def cell(r, m, key, fmt="{:.3f}"):
        if m in r["errors"] and m not in r["methods"]:
            return "error"
        s = r["methods"].get(m)
        if s is None:
            return "–"
        v = s[key]
        if key.startswith("labels_to"):
            return "not reached" if v is None else str(v)
        best = max(x[key] for x in r["methods"].values())
        txt = fmt.format(v)
        return f"**{txt}**" if abs(v - best) < 5e-4 else txt

    for key, title in (("aulc_accuracy", "AULC of accuracy"), ("aulc_macro_f1", "AULC of macro-F1"),
                       ("labels_to_95", "Labels to reach 95% of the full-data model's accuracy")):
        lines.append(f"#### {title}\n")
        lines.append("| method | " + " | ".join(names) + " |")
        lines.append("|---|" + "---|" * len(names))
        for m in methods:
            lines.append(f"| {mark(m)} | " + " | ".join(cell(r, m, key) for r in results) + " |")
        if key == "labels_to_95":
            lines.append("| full-data model (accuracy) | " + " | ".join(
                f"{r['full_data']['accuracy']:.3f} ({r['n_train']} labels)" for r in results) + " |")
        lines.append("")
    errs = [(r["dataset"], m, e) for r in results for m, e in r["errors"].items()]
    if errs:
        lines.append("Errors: " + "; ".join(f"{m} on {d}: `{e}`" for d, m, e in errs) + "\n")
    return "\n".join(lines)


def verdict_md(results: list[dict], default: str) -> str:
    """Issue 13's acceptance per data set: the default against the best peer (minus 0.002)
    and al's random, on accuracy AULC and (rare-positive sets) macro-F1 AULC; and the labels
    to reach 95% of the full-data accuracy, default vs random."""
    lines = ["| data set | metric | default | best peer | gap | al random | ≥ best peer − 0.002 | ≥ random |",
             "|---|---|---|---|---|---|---|---|"]
    l95 = {"default": 0, "random": 0, "sets": []}
    for r in results:
        m = r["methods"]
        if default not in m:
            continue
        keys = ["aulc_accuracy"] + (["aulc_macro_f1"] if r["dataset"] in RARE else [])
        for key in keys:
            peers = {k: v[key] for k, v in m.items() if not k.startswith("al:")}
            if not peers:
                continue
            bp = max(peers, key=peers.get)
            d, rnd = m[default][key], m.get("al:random", {}).get(key, float("nan"))
            lines.append(f"| {r['dataset']} | {key.replace('aulc_', '')} | {d:.3f} | {peers[bp]:.3f} ({bp}) | "
                         f"{d - peers[bp]:+.3f} | {rnd:.3f} | {'yes' if d >= peers[bp] - 0.002 else '**no**'} | "
                         f"{'yes' if d >= rnd else '**no**'} |")
        a, b = m[default].get("labels_to_95"), m.get("al:random", {}).get("labels_to_95")
        if b is not None:
            l95["sets"].append(r["dataset"])
            l95["random"] += b
            l95["default"] += a if a is not None else r["n_train"]
    lines.append("")
    if l95["sets"]:
        lines.append(f"Labels to 95% of the full-data accuracy, summed over the {len(l95['sets'])} sets where "
                     f"random reaches it ({', '.join(l95['sets'])}): default {l95['default']}, random "
                     f"{l95['random']} (ratio {l95['default'] / l95['random']:.2f}; a set the default never "
                     "reaches counts its whole training part).")
    return "\n".join(lines) + "\n"


def time_digits(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = _sklearn_csv("digits", Path(tmp))
        for jobs in (1, 2):
            cmd = ["al", "simulate", str(path), "--label-column", "label", "--repeats", "5",
                   "--out", str(Path(tmp) / f"out{jobs}"), "--n-jobs", str(jobs)]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            print(f"{' '.join(cmd[:2])} digits.csv --label-column label --repeats 5 --n-jobs {jobs}: "
                  f"{time.perf_counter() - t0:.1f}s wall", flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--al", default=",".join(AL_STRATEGIES), help="al strategies (al simulate syntax)")
    ap.add_argument("--al-text", default=",".join(AL_STRATEGIES_TEXT),
                    help="al strategies on the text data sets (binary: margin = entropy = least confidence)")
    ap.add_argument("--peers", default=",".join(PEERS))
    ap.add_argument("--peer-budget", type=float, default=120,
                    help="seconds per peer method and repeat; past it the method is stopped and marked")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--initial", type=int, default=20)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--update", action="store_true",
                    help="run only the methods given and merge them into the earlier results")
    ap.add_argument("--time-digits", action="store_true", help="only time 'al simulate' on digits")
    ap.add_argument("--out", type=Path, default=None,
                    help="results folder (default benchmarks/results; the adaptive-default run of issue 13: "
                         "benchmarks/results/adaptive)")
    args = ap.parse_args(argv)
    global RESULTS
    if args.out is not None:
        RESULTS = args.out.resolve()
    if args.time_digits:
        time_digits(args)
        return
    args.al = [s for s in args.al.split(",") if s]
    args.al_text = [s for s in args.al_text.split(",") if s] if args.al_text != "-" else None
    args.peers = [s for s in args.peers.split(",") if s]
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = []
    summary_path = RESULTS / "summary.json"
    previous = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    with tempfile.TemporaryDirectory(prefix="al-bench-data-") as tmp:
        for name in [d for d in args.datasets.split(",") if d]:
            t0 = time.perf_counter()
            prev = previous.get("datasets", {}).get(name) if args.update else None
            r = bench_dataset(name, args, Path(tmp), prev)
            print(f"[{name}] done in {time.perf_counter() - t0:.0f}s", flush=True)
            results.append(r)
            previous.setdefault("datasets", {})[name] = r
            previous["default_strategy"] = sim.default_strategy_name()
            summary_path.write_text(json.dumps(previous, indent=1, default=float) + "\n")
    ordered = [previous["datasets"][d] for d in DATASETS if d in previous.get("datasets", {})]
    (RESULTS / "verdict.md").write_text(verdict_md(ordered, f"al:{sim.default_strategy_name()}"))
    md = table_md(ordered, sim.default_strategy_name())
    (RESULTS / "table.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
