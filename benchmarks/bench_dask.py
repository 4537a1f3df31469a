"""`al score` and `al query` on a dask.distributed cluster of 1 and of 2 workers, against the
local path, on the same project (issue 12, item 6).

    python benchmarks/bench_dask.py                    # 1,000,000 rows x 50, batch 100
    python benchmarks/bench_dask.py --rows 200000      # a quicker run

Builds the pool and project of bench_pool.py (k-means seed of 300 labels from a hidden
linear rule, logistic regression) in benchmarks/out/dask/ (kept: --rebuild to start
again), then times, each step a fresh `al` process: `al score` and `al query --size 100
--strategy entropy` (no scores.csv, so query scores itself) locally, then with
`--scheduler` on a LocalCluster (127.0.0.1, processes, one thread each) of 1 and of 2
workers. Checks that every queue equals the local one. Prints a table; results in
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "dask"
sys.path.insert(0, str(HERE))

from bench_pool import make_pool  # noqa: E402


def al(*args: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "al_cli", *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def build(rows: int, cols: int) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    pool = OUT / "pool.csv"
    answers = make_pool(rows, cols, pool)  # id,label: the hidden rule's answer key
    answers.to_csv(OUT / "answers.csv", index=False)
    proj = OUT / "project"
    feats = ",".join(f"f{i:02d}" for i in range(cols))
    al("init", str(proj), "--data", str(pool), "--id-column", "id", "--feature-columns", feats,
       "--labels", "high,mid,low", "--force")
    al("seed", "-p", str(proj), "--size", "300", "--force")
    al("label", "-p", str(proj), "--import", str(OUT / "answers.csv"), "--queued-only")
    al("retrain", "-p", str(proj))
    al("score", "-p", str(proj))  # builds the feature cache
    return proj


def clean(proj: Path) -> None:
    for f in (proj / "scores.csv", proj / "cache" / "scores.json", proj / "cache" / "scores.npz"):
        f.unlink(missing_ok=True)


def measure(proj: Path, scheduler: list[str], repeats: int) -> dict:
    score, query, queues = [], [], []
    for _ in range(repeats):
        clean(proj)
        score.append(al("score", "-p", str(proj), *scheduler))
        clean(proj)
        query.append(al("query", "-p", str(proj), "--size", "100", "--strategy", "entropy", *scheduler))
        queues.append((proj / "queue.csv").read_bytes())
    return {"score": sorted(score)[len(score) // 2], "query": sorted(query)[len(query) // 2],
            "queue": queues[-1]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--cols", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--partition-rows", type=int, default=250_000)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--model", default="logistic_regression",
                    help="retrain with this model first (random_forest: prediction costs more than shipping rows)")
    args = ap.parse_args()
    from distributed import LocalCluster

    proj = OUT / "project"
    if args.rebuild or not (proj / "models").exists():
        t = time.perf_counter()
        proj = build(args.rows, args.cols)
        print(f"built {args.rows:,} x {args.cols} in {time.perf_counter() - t:.0f} s")
    yml = proj / "al.yaml"
    text = yml.read_text()
    import re

    text = re.sub(r"partition_rows: \d+", f"partition_rows: {args.partition_rows}", text)
    text = re.sub(r"(model:\n  name: )\w+", rf"\g<1>{args.model}", text)
    yml.write_text(text)
    al("retrain", "-p", str(proj))
    results = {"local": measure(proj, [], args.repeats)}
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                          processes=True) as cluster:
            results[f"{workers} worker(s)"] = measure(proj, ["--scheduler", cluster.scheduler_address],
                                                      args.repeats)
    same = all(r["queue"] == results["local"]["queue"] for r in results.values())
    print(f"\nmodel {args.model}; {args.rows:,} x {args.cols}, partitions of {args.partition_rows:,} rows, median of {args.repeats}; "
          f"every queue equals the local one: {same}\n")
    print("| where | al score (s) | al query --size 100 (s) |\n|---|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {r['score']:.2f} | {r['query']:.2f} |")
    meta = {"model": args.model, "rows": args.rows, "cols": args.cols, "partition_rows": args.partition_rows, "repeats": args.repeats,
            "same_queue": same, "nproc": os.cpu_count(), "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d"), "load_avg": os.getloadavg(),
            "results": {k: {"score": v["score"], "query": v["query"]} for k, v in results.items()}}
    (OUT / "result.json").write_text(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
