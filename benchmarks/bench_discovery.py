"""al's discovery mode on the two screening sets, side by side with ASReview 3 (issue 11).

    python benchmarks/bench_discovery.py                      # 20 seeds per set, al only
    python benchmarks/bench_discovery.py --seeds 0 1 2 3 4
    python benchmarks/bench_discovery.py --asreview /tmp/asr-venv/bin/asreview --timing-only

For each data set (default: benchmarks/data/nagtegaal_2019.csv and kitchenham_2010.csv) and
seed k it replays al's default discovery setting exactly as

    al simulate DATA.csv --task discovery --relevant 1 --text-column title,abstract

does for its repeat k (same code: al_cli.commands.discovery_sim): 1 relevant and 1
irrelevant document known at the start (drawn with seed k), one document per round, model
relevance_lr on tfidf_saturated features, refitted after every document. It records WSS@95,
WSS@100 (priors counted as read, as bench_discovery_asreview.py does), the recall after 10%
read, and for each stopping rule the documents read at its stop and the recall there,
then prints a markdown table next to ASReview's figures from
benchmarks/results/discovery/asreview.json (written by bench_discovery_asreview.py; its
seed k draws other priors than al's seed k, which is why means over seeds are compared).

Timing (--asreview PATH): on the same machine, one after the other, the wall time of one
``asreview simulate`` process (ASReview's default, seed 0) and of one ``al simulate --task
discovery --repeats 1`` process on the same file; each includes start-up and reading the
CSV. Runs are sequential so they do not compete for the cores.

Writes benchmarks/results/discovery/al.json (one dict per run) and, with --asreview,
benchmarks/results/discovery/timing.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE / "results" / "discovery"
DEFAULT_DATA = [HERE / "data" / "nagtegaal_2019.csv", HERE / "data" / "kitchenham_2010.csv"]
RULES = ("sample_test", "quant", "quant_ci", "knee", "irrelevant_in_a_row")


def al_runs(path: Path, seeds: list[int], n_jobs: int, params: dict | None = None, text_features: str | None = None,
            priors: dict[int, list[int]] | None = None) -> list[dict]:
    from al_cli.commands import discovery_sim as ds
    from al_cli.commands.simulate import load_data

    data = load_data(path, text_columns=["title", "abstract"])
    proto = ds.DiscoveryProtocol(relevant="1", model_params=params or {})
    if text_features:
        proto.text_features = text_features
    y = ds.check(data, proto)
    X = ds.features(data, proto.text_features)
    priors = priors or {}
    if n_jobs == 1:
        runs = [ds.run_one(X, y, proto, k, priors.get(k)) for k in seeds]
    else:
        from joblib import Parallel, delayed

        runs = Parallel(n_jobs=n_jobs)(delayed(ds.run_one)(X, y, proto, k, priors.get(k)) for k in seeds)
    out = []
    for run in runs:
        out.append({
            "dataset": path.stem, "seed": run.repeat, "n": run.n, "relevant": run.relevant,
            "wss95": round(run.wss(0.95), 4), "wss100": round(run.wss(1.0), 4),
            "recall_at_10pct": round(run.recall_after(0.10), 4), "read_for_95": run.read_for(0.95),
            "read_for_100": run.read_for(1.0), "seconds": round(run.seconds, 2),
            "rules": {r: run.rules[r].to_json() for r in RULES}, "sample_test": run.sample,
            "priors": [int(i) for i in run.order[:run.priors]],
        })
    return out


def timing(path: Path, asreview: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run([asreview, "simulate", str(path), "--ai", "elas_u4", "--n-prior-included", "1",
                        "--n-prior-excluded", "1", "--prior-seed", "0", "--seed", "0", "--n-query", "1",
                        "-o", "t.asreview"], cwd=tmp, check=True, capture_output=True)
        t_asr = time.perf_counter() - t0
        al = [sys.executable, "-m", "al_cli", "simulate", str(path), "--task", "discovery", "--relevant", "1",
              "--text-column", "title,abstract", "--repeats", "1", "--out", str(Path(tmp) / "sim")]
        t0 = time.perf_counter()
        subprocess.run(al, cwd=tmp, check=True, capture_output=True)
        t_al = time.perf_counter() - t0
    return {"dataset": path.stem, "asreview_seconds": round(t_asr, 1), "al_seconds": round(t_al, 1),
            "al_command": "al simulate DATA --task discovery --relevant 1 --text-column title,abstract --repeats 1",
            "asreview_command": "asreview simulate DATA --ai elas_u4 --n-prior-included 1 --n-prior-excluded 1 "
                                "--prior-seed 0 --seed 0 --n-query 1 -o t.asreview"}


def _mean(xs):
    return float(np.mean(xs)) if xs else float("nan")


def table(al: list[dict], asr: list[dict]) -> str:
    lines = ["| data set | tool | seeds | WSS@95 mean (min-max) | WSS@100 | recall@10% | s/run |",
             "|---|---|---|---|---|---|---|"]
    for name in dict.fromkeys(r["dataset"] for r in al):
        for tool, rows in (("ASReview 3.0.8 elas_u4", [r for r in asr if r["dataset"] == name]),
                           ("al", [r for r in al if r["dataset"] == name])):
            for label, runs in (("0-4", [r for r in rows if r["seed"] < 5]), (f"0-{len(rows) - 1}", rows)):
                if not runs or (label == "0-4" and len(runs) == len(rows)):
                    continue
                w = [r["wss95"] for r in runs]
                lines.append(f"| {name} | {tool} | {label} | {_mean(w):.4f} ({min(w):.4f}-{max(w):.4f}) | "
                             f"{_mean([r['wss100'] for r in runs]):.4f} | "
                             f"{_mean([r['recall_at_10pct'] for r in runs]):.3f} | "
                             f"{_mean([r['seconds'] for r in runs]):.1f} |")
    paired = []
    for name in dict.fromkeys(r["dataset"] for r in al):
        a = {r["seed"]: r for r in asr if r["dataset"] == name}
        same = [(r, a[r["seed"]]) for r in al if r["dataset"] == name and r["seed"] in a
                and r.get("priors") == a[r["seed"]].get("prior_rows")]
        if same:
            d = [x["wss95"] - y["wss95"] for x, y in same]
            paired.append(f"| {name} | {len(same)} | {_mean(d):+.4f} | {sum(v >= 0 for v in d)}/{len(d)} |")
    if paired:
        lines += ["", "Run by run, the same two starting documents:", "",
                  "| data set | seeds | WSS@95 al - ASReview (mean) | al at or above |", "|---|---|---|---|",
                  *paired]
    lines += ["", "| data set | rule | stopped | recall >= 0.95 | mean recall (min) | read at stop | reading saved |",
              "|---|---|---|---|---|---|---|"]
    for name in dict.fromkeys(r["dataset"] for r in al):
        runs = [r for r in al if r["dataset"] == name]
        n = runs[0]["n"]
        for rule in RULES:
            st = [r["rules"][rule] for r in runs if r["rules"][rule]["read"] is not None]
            if not st:
                lines.append(f"| {name} | {rule} | 0/{len(runs)} | | | | |")
                continue
            rec = [s["recall"] for s in st]
            read = [s["read"] for s in st]
            lines.append(f"| {name} | {rule} | {len(st)}/{len(runs)} | {sum(x >= 0.95 for x in rec)}/{len(st)} | "
                         f"{_mean(rec):.3f} ({min(rec):.3f}) | {_mean(read):.0f} of {n} | {1 - _mean(read) / n:.1%} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", nargs="+", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--seeds", nargs="+", type=int, default=list(range(20)))
    ap.add_argument("--n-jobs", type=int, default=1, help="parallel runs (the s/run column then competes for cores)")
    ap.add_argument("--asreview", help="path of an asreview 3 executable: also time one run of each tool")
    ap.add_argument("--timing-only", action="store_true")
    ap.add_argument("--params", type=json.loads, default=None,
                    help='model params over the defaults, as JSON (tuning): \'{"C": 3, "ratio": 30}\'')
    ap.add_argument("--text-features", help="text extractor (tuning; default: the discovery default)")
    ap.add_argument("--presence-share", type=float,
                    help="tfidf_saturated's share of term presence (tuning; 0: tfidf_all, 1: binary TF-IDF)")
    ap.add_argument("--tag", default="al", help="results file name: results/discovery/TAG.json")
    ap.add_argument("--table-only", action="store_true", help="print the table of results/discovery/TAG.json")
    ap.add_argument("--asreview-priors", action="store_true",
                    help="seeds that ASReview ran (asreview.json) start from the same two prior documents")
    args = ap.parse_args()
    if args.presence_share is not None:  # the features are built in this process, before the runs
        from al_cli.features.builtin import SaturatedTfidf

        SaturatedTfidf.presence_share = args.presence_share
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{time.strftime('%Y-%m-%d')}", file=sys.stderr)
    if args.asreview:
        t = [timing(p, args.asreview) for p in args.data]
        (OUT_DIR / "timing.json").write_text(json.dumps(t, indent=1))
        for r in t:
            print(f"{r['dataset']}: asreview simulate {r['asreview_seconds']} s, al simulate {r['al_seconds']} s")
        if args.timing_only:
            return
    asr_path = OUT_DIR / "asreview.json"
    asr = json.loads(asr_path.read_text()) if asr_path.exists() else []
    if args.table_only:
        print(table(json.loads((OUT_DIR / f"{args.tag}.json").read_text()), asr))
        return
    al = []
    for p in args.data:
        pri = ({r["seed"]: r["prior_rows"] for r in asr if r["dataset"] == p.stem}
               if args.asreview_priors else None)
        al += al_runs(p, args.seeds, args.n_jobs, args.params, args.text_features, pri)
    for r in al:
        r["params"] = args.params or {}
        r["text_features"] = args.text_features or "default"
        if args.presence_share is not None:
            r["presence_share"] = args.presence_share
    (OUT_DIR / f"{args.tag}.json").write_text(json.dumps(al, indent=1))
    print(table(al, asr))


if __name__ == "__main__":
    main()
