"""ASReview 3's default simulation on the two screening sets: the reference side of issue 11.

asreview is a benchmark tool only, never a dependency of al. It pins its own
dependencies, so give it a virtualenv of its own:

    python3 -m venv /tmp/asr-venv
    /tmp/asr-venv/bin/pip install asreview==3.0.8

Then, from the repository root, with any Python that has numpy (al's own will do):

    python benchmarks/bench_discovery_asreview.py --asreview /tmp/asr-venv/bin/asreview --seeds 0 1 2 3 4

(--data FILE ... picks other CSVs; the defaults are the two screening sets in
benchmarks/data; --keep DIR keeps the .asreview project files.)

For each data set and seed k this runs, as its own process, and times:

    asreview simulate DATA.csv --ai elas_u4 --n-prior-included 1 --n-prior-excluded 1 \
        --prior-seed k --seed k --n-query 1 -o NAME_seedk.asreview

that is ASReview's default model (elas_u4: TF-IDF of title + abstract, word 1-2 grams,
sublinear tf, max_df 0.95; a linear SVM, C=0.11, squared hinge; relevant records weighted
9.8 times the irrelevant ones in total; the highest-scoring record next; retrained after
every record), one random relevant and one random irrelevant record as prior knowledge,
one record per query, and ASReview's default stop: when the last relevant record is
found. The labeling order is read from the results table of the project file (a zip with
a SQLite database) and checked against the labels of the CSV.

Metrics, N = all records, R = all relevant, "read" counts the two prior records:

- wss95, wss100: WSS@r = 1 - read/N - (1 - r), read = records read when ceil(r*R)
  relevant records were found.
- wss95_excl_priors, wss100_excl_priors: the same without the two priors (N-2 records,
  R-1 relevant, reading starts after the priors), as ASReview's metrics tool
  (asreview-insights, `asreview metrics`) counts by default.
- wss95_insights: asreview-insights' own WSS@95 formula (priors excluded; the
  floor(0.95*R)-th relevant record compared with a rounded random-reading curve), for
  comparison with numbers reported with that tool.
- recall_at_10pct: share of R found in the first floor(0.1*N) records read (priors
  included).
- seconds: wall time of the `asreview simulate` process (start-up, reading the CSV,
  simulation, writing the project file).

What the seed does: --prior-seed k picks the two priors (each from a fresh
RandomState(k)); --seed k seeds numpy's global generator, which only reaches liblinear's
coordinate-descent shuffling: another --seed with the same priors changed the order of two
neighbouring records at most, never a metric. Without any prior option asreview starts
by reading the file top-down until both classes are present; sr_kitchenham_2010.csv lists
its 45 relevant records first (rows 0-44), so such a run "finds" all of them in 45 records
without a model. Here the priors are always given.

Runs are sequential so that timings do not compete for the cores. Writes
benchmarks/results/discovery/asreview.json (one dict per run), the order of records
read per run (0-based row positions in the CSV, priors first, up to the last relevant
record) to benchmarks/results/discovery/asreview_orders/<dataset>_seed<k>.json, and
prints a markdown table.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE / "results" / "discovery"
DATA_DIR = HERE / "data"  # copies of ../shared/data/screening (see data/README.md)
DEFAULT_DATA = [DATA_DIR / "nagtegaal_2019.csv", DATA_DIR / "kitchenham_2010.csv"]


def dataset_name(path: Path) -> str:
    name = path.stem
    return name[3:] if name.startswith("sr_") else name


def read_labels(path: Path) -> list[int]:
    csv.field_size_limit(sys.maxsize)
    with open(path, newline="", encoding="utf-8") as f:
        return [int(row["label"]) for row in csv.DictReader(f)]


def simulate_command(asreview: str, data: Path, seed: int, out_name: str) -> list[str]:
    return [
        asreview, "simulate", str(data),
        "--ai", "elas_u4",
        "--n-prior-included", "1", "--n-prior-excluded", "1",
        "--prior-seed", str(seed), "--seed", str(seed),
        "--n-query", "1",
        "-o", out_name,
    ]


def read_order(project_file: Path, workdir: Path) -> tuple[list[int], list[int], int]:
    """(row positions in reading order, labels in that order, number of priors)."""
    with zipfile.ZipFile(project_file) as z:
        z.extract("results.db", workdir)
    con = sqlite3.connect(workdir / "results.db")
    try:
        rows = con.execute(
            "SELECT rec.dataset_row, res.label, res.training_set "
            "FROM results AS res JOIN record AS rec ON rec.record_id = res.record_id "
            "ORDER BY res.rowid"
        ).fetchall()
        n_results = con.execute("SELECT count(*) FROM results").fetchone()[0]
    finally:
        con.close()
    if len(rows) != n_results:
        raise RuntimeError("results rows without a matching record")
    priors = [i for i, r in enumerate(rows) if r[2] is None]
    if priors != list(range(len(priors))):
        raise RuntimeError(f"prior records are not the first ones read: {priors}")
    return [int(r[0]) for r in rows], [int(r[1]) for r in rows], len(priors)


def wss(labels_read: list[int], n: int, r_total: int, recall: float) -> float:
    """1 - read/N - (1 - recall), read = records read when ceil(recall*R) were found."""
    target = math.ceil(recall * r_total - 1e-9)
    found = 0
    for read, y in enumerate(labels_read, start=1):
        found += y
        if found >= target:
            return 1 - read / n - (1 - recall)
    raise RuntimeError("the simulation stopped before reaching the recall target")


def wss_insights(labels_read: list[int], n: int, recall: float) -> float:
    """asreview-insights 1.6.1 WSS (algorithms._wss_values + metrics._slice_metric)."""
    labels = list(labels_read) + [0] * (n - len(labels_read))
    n_pos = sum(labels)
    docs_found = np.cumsum(labels)
    docs_found_random = np.round(np.linspace(0, n_pos, n))
    when_found = np.searchsorted(docs_found, np.arange(1, n_pos + 1))
    when_found_random = np.searchsorted(docs_found_random, np.arange(1, n_pos + 1))
    y = (when_found_random - when_found) / n
    x = np.arange(1, n_pos + 1) / n_pos
    return float(y[np.searchsorted(x, recall, side="right") - 1])


def run_one(asreview: str, data: Path, seed: int, keep: Path | None, version: str) -> tuple[dict, list[int]]:
    name = dataset_name(data)
    truth = read_labels(data)
    n, r_total = len(truth), sum(truth)
    out_name = f"{name}_seed{seed}.asreview"
    cmd = simulate_command(asreview, data, seed, out_name)
    with tempfile.TemporaryDirectory(prefix="bench-asr-") as tmp:
        tmp = Path(tmp)
        with open(tmp / "log.txt", "wb") as log:
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, cwd=tmp, stdout=log, stderr=subprocess.STDOUT)
            seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            sys.stderr.write((tmp / "log.txt").read_text(errors="replace")[-3000:])
            raise RuntimeError(f"asreview exited with {proc.returncode}: {shlex.join(cmd)}")
        order, labels_read, n_priors = read_order(tmp / out_name, tmp)
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(tmp / out_name, keep / out_name)

    if [truth[i] for i in order] != labels_read:
        raise RuntimeError("labels in the results table differ from the CSV's")
    if len(set(order)) != len(order) or sum(labels_read) != r_total:
        raise RuntimeError("the simulation did not read every relevant record exactly once")
    if n_priors != 2 or sorted(labels_read[:2]) != [0, 1]:
        raise RuntimeError(f"expected 1 relevant + 1 irrelevant prior, got {labels_read[:n_priors]}")

    after = labels_read[n_priors:]
    n10 = int(0.1 * n)
    row = {
        "dataset": name,
        "seed": seed,
        "wss95": round(wss(labels_read, n, r_total, 0.95), 4),
        "wss100": round(wss(labels_read, n, r_total, 1.0), 4),
        "recall_at_10pct": round(sum(labels_read[:n10]) / r_total, 4),
        "seconds": round(seconds, 2),
        "n": n,
        "relevant": r_total,
        "command": shlex.join(cmd),
        "wss95_excl_priors": round(wss(after, n - n_priors, r_total - 1, 0.95), 4),
        "wss100_excl_priors": round(wss(after, n - n_priors, r_total - 1, 1.0), 4),
        "wss95_insights": round(wss_insights(after, n - n_priors, 0.95), 4),
        "read_until_last_relevant": len(order),
        "prior_rows": order[:n_priors],
        "asreview_version": version,
    }
    return row, order


def summary_table(rows: list[dict]) -> str:
    cols = [("wss95", "WSS@95"), ("wss100", "WSS@100"), ("recall_at_10pct", "recall@10%"),
            ("seconds", "seconds"), ("wss95_excl_priors", "WSS@95 excl. priors"),
            ("wss95_insights", "WSS@95 (insights)")]
    lines = ["| data set | seed | " + " | ".join(c[1] for c in cols) + " |",
             "|---|---:|" + "---:|" * len(cols)]
    for r in rows:
        lines.append(f"| {r['dataset']} | {r['seed']} | "
                     + " | ".join(f"{r[k]:.3f}" if k != "seconds" else f"{r[k]:.1f}" for k, _ in cols) + " |")
    for name in dict.fromkeys(r["dataset"] for r in rows):
        sub = [r for r in rows if r["dataset"] == name]
        cells = []
        for k, _ in cols:
            v = [r[k] for r in sub]
            fmt = "{:.1f}" if k == "seconds" else "{:.3f}"
            cells.append(f"**{fmt.format(sum(v) / len(v))}** ({fmt.format(min(v))}-{fmt.format(max(v))})")
        lines.append(f"| {name} | mean (min-max), {len(sub)} seeds | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--data", type=Path, nargs="+", default=DEFAULT_DATA)
    p.add_argument("--asreview", default="asreview", help="the asreview executable (default: on PATH)")
    p.add_argument("--out", type=Path, default=OUT_DIR / "asreview.json")
    p.add_argument("--keep", type=Path, default=None, help="keep the .asreview project files here")
    args = p.parse_args(argv)

    exe = shutil.which(args.asreview) or args.asreview
    # asreview runs only in temporary directories: importing it leaves a requests
    # cache (synergy_cache.sqlite) in its working directory.
    with tempfile.TemporaryDirectory() as tmp:
        version = subprocess.run([exe, "--version"], capture_output=True, text=True,
                                 check=True, cwd=tmp).stdout.strip()
    print(f"{version}; {platform.python_version()} here; {os.cpu_count()} cores; "
          f"{platform.machine()}", file=sys.stderr)

    orders_dir = args.out.parent / "asreview_orders"
    orders_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for data in args.data:
        for seed in args.seeds:
            row, order = run_one(args.asreview, data, seed, args.keep, version)
            rows.append(row)
            print(f"{row['dataset']} seed {seed}: WSS@95 {row['wss95']:.3f}, WSS@100 {row['wss100']:.3f}, "
                  f"recall@10% {row['recall_at_10pct']:.3f}, {row['seconds']:.1f} s", file=sys.stderr)
            (orders_dir / f"{row['dataset']}_seed{seed}.json").write_text(json.dumps(
                {"dataset": row["dataset"], "seed": seed, "command": row["command"],
                 "note": "0-based CSV row positions in reading order, the 2 priors first, "
                         "up to the last relevant record (asreview's default stop)",
                 "order": order}) + "\n")
            args.out.write_text(json.dumps(rows, indent=1) + "\n")  # after every run
    print(summary_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
