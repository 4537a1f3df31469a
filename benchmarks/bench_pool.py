"""Time and peak memory of `al score` and `al query` (every strategy) on a large pool.

    python benchmarks/bench_pool.py                    # 1,000,000 rows x 50 numeric columns
    python benchmarks/bench_pool.py --rows 100000      # a quicker run

Builds a synthetic numeric pool (the CLI does not care where numbers come from; real
tabular pools of this size are what the benchmark stands for), labels 300 rows from a
hidden linear rule, retrains, then runs each step in a fresh process and reports wall
time and the process's peak RSS. Results: benchmarks/README.md.
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

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"

QUERIES = [
    ("least_confidence", []),
    ("margin", []),
    ("entropy", []),
    ("random", []),
    ("qbc_vote_entropy", []),
    ("qbc_kl", []),
    ("egl", []),
    ("entropy", ["--diversity", "kmeans"]),
    ("entropy", ["--diversity", "kcenter"]),
    ("entropy", ["--density", "1"]),
    ("entropy", ["--cost-column", "cost"]),
]


def make_pool(rows: int, cols: int, path: Path) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((rows, cols), dtype=np.float32)
    df = pd.DataFrame(X, columns=[f"f{i:02d}" for i in range(cols)])
    df.insert(0, "id", np.char.add("r", np.arange(rows).astype(str)))
    df["cost"] = np.round(rng.uniform(5, 60, rows), 1)
    w = rng.standard_normal(cols)
    logits = X @ w
    y = np.where(logits > 1.0, "high", np.where(logits < -1.0, "low", "mid"))
    df.to_csv(path, index=False, float_format="%.4f")
    return pd.DataFrame({"id": df["id"], "label": y})


def step(args: list[str]) -> dict:
    """Run `al ARGS` in a fresh process; wall time and that process's peak RSS."""
    code = (
        "import resource, sys, time\n"
        "from al_cli.cli import app\n"
        "t = time.perf_counter()\n"
        "try:\n"
        f"    app({args!r}, standalone_mode=False)\n"
        "finally:\n"
        "    sys.stderr.write('BENCH %f %d\\n' % (time.perf_counter() - t,\n"
        "        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))\n"
    )
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    line = [ln for ln in p.stderr.splitlines() if ln.startswith("BENCH ")]
    if p.returncode != 0 or not line:
        raise SystemExit(f"al {' '.join(args)} failed:\n{p.stderr[-2000:]}")
    _, inner, rss = line[-1].split()
    return {"wall_s": round(wall, 2), "in_command_s": round(float(inner), 2),
            "peak_rss_mb": round(int(rss) / 1024, 0)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--cols", type=int, default=50)
    ap.add_argument("--batch", type=int, default=100)
    a = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    pool = OUT / f"pool_{a.rows}x{a.cols}.csv"
    key = OUT / f"answers_{a.rows}x{a.cols}.csv"
    if not pool.exists() or not key.exists():
        print(f"writing {pool} ...", file=sys.stderr)
        make_pool(a.rows, a.cols, pool).to_csv(key, index=False)
    proj = OUT / f"project_{a.rows}x{a.cols}"
    if proj.exists():
        import shutil

        shutil.rmtree(proj)
    feats = ",".join(f"f{i:02d}" for i in range(a.cols))
    res: dict[str, dict] = {}
    res["init"] = step(["init", str(proj), "--data", str(pool), "--id-column", "id",
                        "--feature-columns", feats, "--labels", "low,mid,high"])
    res["seed (kmeans, 300) + feature build"] = step(["seed", "-p", str(proj), "--size", "300"])
    step(["label", "-p", str(proj), "--import", str(key), "--queued-only"])
    res["retrain (300 labels)"] = step(["retrain", "-p", str(proj)])
    # cold: no feature cache
    for f in (proj / "cache").iterdir():
        f.unlink()
    res["score (cold: reads CSV, builds features)"] = step(["score", "-p", str(proj)])
    res["score (warm: cached features)"] = step(["score", "-p", str(proj)])
    for name, extra in QUERIES:
        label = f"query {name}" + (" " + " ".join(extra) if extra else "")
        res[label] = step(["query", "-p", str(proj), "--size", str(a.batch), "--strategy", name,
                           "--random-fraction", "0", *([] if extra else ["--diversity", "none"]), *extra])
    res["query entropy (default: + random 0.1)"] = step(["query", "-p", str(proj), "--size", str(a.batch)])
    meta = {
        "rows": a.rows, "cols": a.cols, "batch": a.batch, "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, {_cpu()}",
        "python": platform.python_version(),
    }
    print(json.dumps({"meta": meta, "results": res}, indent=2))
    print("\n| step | wall (s) | in command (s) | peak RSS (MB) |\n|---|---:|---:|---:|")
    for k, v in res.items():
        print(f"| {k} | {v['wall_s']} | {v['in_command_s']} | {v['peak_rss_mb']:.0f} |")


def _cpu() -> str:
    try:
        for ln in open("/proc/cpuinfo"):
            if ln.startswith("model name"):
                return ln.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
