"""The loop on one big pool, step by step: wall time and peak memory of each command.

    python benchmarks/bench_big.py --rows 10000000      # 10M x 50 (pool.csv about 4 GB)
    python benchmarks/bench_big.py --rows 2000000
    python benchmarks/bench_big.py --rows 10000000 --keep   # reuse pool.csv and answers.csv

The pool is the one of bench_pool.py (numeric columns, three classes from a hidden linear
rule), written a chunk at a time so that making it needs little memory. Each step is its
own `al` process started by a small launcher that reads the process's peak RSS with wait4
(bench_hotpath.py explains why). Results: benchmarks/README.md, "10,000,000 rows on one
machine".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from bench_hotpath import LAUNCHER  # the launcher that reads a step's own peak RSS (this folder)

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "big"
AL = shutil.which("al") or "al"
CHUNK = 500_000


def make_pool(rows: int, cols: int, pool: Path, key: Path) -> None:
    """pool.csv (id, f00.., cost) and answers.csv (id, label), CHUNK rows at a time, written
    by pyarrow's CSV writer (numbers rounded to 4 decimals)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(0)
    w = rng.standard_normal(cols)
    names = ["id", *[f"f{i:02d}" for i in range(cols)], "cost"]
    with pa.OSFile(str(pool), "wb") as fp, pa.OSFile(str(key), "wb") as fk:
        wp = wk = None
        for a in range(0, rows, CHUNK):
            n = min(CHUNK, rows - a)
            X = rng.standard_normal((n, cols), dtype=np.float32)
            ids = pa.array(np.char.add("r", np.arange(a, a + n).astype(str)))
            logits = X @ w
            y = np.where(logits > 1.0, "high", np.where(logits < -1.0, "low", "mid"))
            Xr = np.round(X.astype(np.float64), 4)
            t = pa.table([ids, *[pa.array(Xr[:, j]) for j in range(cols)],
                          pa.array(np.round(rng.uniform(5, 60, n), 1))], names=names)
            k = pa.table([ids, pa.array(y)], names=["id", "label"])
            if wp is None:
                opts = pacsv.WriteOptions(quoting_style="none", include_header=False)
                fp.write((",".join(names) + "\n").encode())
                fk.write(b"id,label\n")
                wp = pacsv.CSVWriter(fp, t.schema, write_options=opts)
                wk = pacsv.CSVWriter(fk, k.schema, write_options=opts)
            wp.write_table(t)
            wk.write_table(k)
            print(f"  pool: {a + n:,} rows", file=sys.stderr, end="\r")
        wp.close()
        wk.close()
    print(file=sys.stderr)


def to_parquet(src: Path, dst: Path) -> None:
    """pool.csv as Parquet (row groups of CHUNK rows), streamed: little memory."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    reader = pacsv.open_csv(src, read_options=pacsv.ReadOptions(block_size=64 << 20),
                            convert_options=pacsv.ConvertOptions(column_types={"id": "string"}))
    with pq.ParquetWriter(dst, reader.schema) as w:
        for batch in reader:
            w.write_batch(batch, row_group_size=CHUNK)


def run(args: list[str], log: Path) -> dict:
    res = log.with_suffix(".rusage.json")
    res.unlink(missing_ok=True)
    with open(log, "w") as fh:
        fh.write("$ al " + " ".join(args) + "\n")
        fh.flush()
        subprocess.run([sys.executable, "-I", "-S", "-c", LAUNCHER, str(res), AL, *args], stdout=fh,
                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, check=True)
    r = json.loads(res.read_text())
    if r["rc"] != 0:
        raise SystemExit(f"al {' '.join(args)} failed ({r['rc']}):\n{log.read_text()[-3000:]}")
    return {"wall_s": round(r["wall_s"], 2), "peak_mb": round(r["maxrss_kb"] / 1024)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--cols", type=int, default=50)
    ap.add_argument("--keep", action="store_true", help="reuse pool.csv and answers.csv if there")
    ap.add_argument("--parquet", action="store_true", help="run the steps on pool.parquet (made from pool.csv)")
    a = ap.parse_args()
    d = OUT / f"r{a.rows}x{a.cols}"
    pool, key, proj, logs = d / "pool.csv", d / "answers.csv", d / "project", d / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    if not (a.keep and pool.exists() and key.exists()):
        t = time.perf_counter()
        make_pool(a.rows, a.cols, pool, key)
        print(f"wrote {pool} ({pool.stat().st_size / 2**30:.2f} GiB) in {time.perf_counter() - t:.0f} s",
              file=sys.stderr)
    if a.parquet:
        pq_pool = d / "pool.parquet"
        if not (a.keep and pq_pool.exists()):
            to_parquet(pool, pq_pool)
        pool, proj, logs = pq_pool, d / "project_parquet", d / "logs_parquet"
        logs.mkdir(parents=True, exist_ok=True)
    if proj.exists():
        shutil.rmtree(proj)
    feats = ",".join(f"f{i:02d}" for i in range(a.cols))
    steps = [
        ("init", ["init", str(proj), "--data", str(pool), "--id-column", "id", "--feature-columns", feats,
                  "--labels", "low,mid,high"]),
        ("seed --size 300 (builds the features)", ["seed", "-p", str(proj), "--size", "300"]),
        ("label --import (300 answers)", ["label", "-p", str(proj), "--import", str(key), "--queued-only"]),
        ("retrain", ["retrain", "-p", str(proj)]),
        ("score", ["score", "-p", str(proj)]),
        ("query --size 100 (auto, the default)", ["query", "-p", str(proj), "--size", "100"]),
        ("query --size 100 --strategy margin", ["query", "-p", str(proj), "--size", "100", "--strategy", "margin"]),
        ("status", ["status", "-p", str(proj)]),
    ]
    res = {}
    for i, (name, args) in enumerate(steps):
        res[name] = run(args, logs / f"{i}.log")
        print(f"{name}: {res[name]['wall_s']} s, {res[name]['peak_mb']} MB", file=sys.stderr)
    meta = {"rows": a.rows, "cols": a.cols, "pool": pool.name, "pool_bytes": pool.stat().st_size, "date": time.strftime("%Y-%m-%d"),
            "machine": f"{os.cpu_count()} cores, {platform.machine()}", "python": platform.python_version()}
    (d / ("result_parquet.json" if a.parquet else "result.json")).write_text(json.dumps({"meta": meta, "steps": res}, indent=2))
    print(json.dumps(meta))
    print("\n| step | wall (s) | peak RSS (MB) |\n|---|---:|---:|")
    for k, v in res.items():
        print(f"| {k} | {v['wall_s']} | {v['peak_mb']} |")


if __name__ == "__main__":
    main()
