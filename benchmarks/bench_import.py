"""Time and peak memory of a large `al label --import`, a re-import, and `al status` after.

    python benchmarks/bench_import.py                 # 1,000,000 answers
    python benchmarks/bench_import.py --rows 100000   # a quicker run

Builds a pool of ROWS rows (an id and two numbers), an answer key for every row, runs
`al init`, then each step in a fresh process: the import (checked row by row, one
append), the same import again (a no-op: every answer is already recorded), and
`al status` (reads the whole label log). Results: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pool import step  # noqa: E402 - the same fresh-process runner


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="al-bench-import-") as tmp:
        root = Path(tmp)
        n = args.rows
        ids = np.char.add("doc-", np.arange(n).astype(str))
        x = rng.standard_normal(n).round(4)
        pd.DataFrame({"id": ids, "x": x, "z": rng.standard_normal(n).round(4)}).to_csv(root / "pool.csv", index=False)
        pd.DataFrame({"id": ids, "label": np.where(x > 0, "pos", "neg"),
                      "note": np.where(np.arange(n) % 50 == 0, "checked twice, #unsure", "")}).to_csv(
            root / "answers.csv", index=False)
        p = str(root / "p")
        rows = [("init", step(["init", p, "--data", str(root / "pool.csv"), "--id-column", "id",
                               "--labels", "pos,neg"]))]
        rows.append((f"label --import ({n:,} answers)", step(["label", "-p", p, "--import", str(root / "answers.csv"),
                                                             "--annotator", "key"])))
        rows.append(("label --import again (no-op)", step(["label", "-p", p, "--import", str(root / "answers.csv"),
                                                          "--annotator", "key"])))
        rows.append(("status", step(["status", "-p", p])))
        size = (root / "p" / "labels.csv").stat().st_size
    print(f"machine: {platform.machine()}, {platform.python_version()}, {n:,} rows, labels.csv {size / 1e6:.0f} MB")
    print("| step | wall (s) | in command (s) | peak RSS (MB) |\n|---|---:|---:|---:|")
    for name, r in rows:
        print(f"| {name} | {r['wall_s']} | {r['in_command_s']} | {r['peak_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
