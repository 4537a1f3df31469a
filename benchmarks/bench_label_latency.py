"""Keypress -> next item on screen, for `al label` in a pseudo-terminal.

Builds a project over a 100,000-row pool (text + numeric + categorical columns) in a
temporary folder, queues a batch, starts `python -m al_cli label` in a PTY (pexpect)
and, for each answer, times from writing the key to the PTY until the whole next item
screen has been read back (its header and its key-map line). Each measured step
includes the fsynced append to labels.csv and the claim of the next item.

    python benchmarks/bench_label_latency.py                 # print the numbers
    python benchmarks/bench_label_latency.py --write         # also update benchmarks/README.md

Not a test: timings depend on the machine and its disk.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pexpect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from al_cli import api as wf  # noqa: E402
from al_cli.store import Project, atomic_write_csv  # noqa: E402

HEADER = r"item (\d+) of (\d+) · id (\w+)"
WORDS = np.array("the of and a to in is was for on that with as by at from an be this are which "
                 "penguin bill flipper island colony ice fish krill dive nest egg chick".split())


def build(root: Path, n_pool: int, n_queue: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    lens = rng.integers(20, 200, n_pool)
    words = rng.choice(WORDS, int(lens.sum()))
    cuts = np.cumsum(lens)[:-1]
    texts = [" ".join(w) for w in np.split(words, cuts)]
    df = pd.DataFrame({
        "id": [f"p{i:06d}" for i in range(n_pool)],
        "title": [t[:60] for t in texts],
        "abstract": texts,
        "length": rng.normal(40, 5, n_pool).round(1),
        "site": rng.choice(["north", "south", "east", "west"], n_pool),
    })
    df.to_csv(root / "pool.csv", index=False)
    wf.init(root / "proj", root / "pool.csv", id_column="id", text_columns=["title", "abstract"],
            feature_columns=["length", "site"], labels=["include", "exclude", "maybe"])
    proj = Project.open(root / "proj")
    picks = rng.choice(n_pool, n_queue, replace=False)
    atomic_write_csv(proj.queue_path, pd.DataFrame(
        {"id": df["id"].to_numpy()[picks], "purpose": "train", "round": 0, "strategy": "bench"}))
    return root / "proj"


def measure(project: Path, n_keys: int, rows: int, cols: int) -> tuple[list[float], float]:
    env = {**os.environ, "TERM": "xterm-256color"}
    t_start = time.perf_counter()
    child = pexpect.spawn(sys.executable, ["-m", "al_cli", "label", "-p", str(project), "--annotator", "bench"],
                          env=env, dimensions=(rows, cols), encoding="utf-8", timeout=60,
                          maxread=65536)
    child.delaybeforesend = 0
    child.expect(HEADER)
    child.expect("q quit")
    startup = time.perf_counter() - t_start
    lat = []
    keys = "123"
    for k in range(n_keys):
        want = k + 2
        t0 = time.perf_counter()
        child.send(keys[k % 3])
        child.expect(rf"item {want} of \d+ · id \w+")
        child.expect("q quit")
        lat.append(time.perf_counter() - t0)
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    return lat, startup


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"nproc {len(os.sched_getaffinity(0))}, {cpu}, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def fs_type(path: str) -> str:
    """The filesystem holding ``path`` (from /proc/mounts; fsync cost depends on it)."""
    best, kind = "", "unknown"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) > 2 and path.startswith(parts[1]) and len(parts[1]) > len(best):
                best, kind = parts[1], parts[2]
    except OSError:
        pass
    return kind


def write_readme(text: str) -> None:
    path = ROOT / "benchmarks" / "README.md"
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## Labeling latency\n.*?(?=^## |\Z)", re.S | re.M)
    new = pattern.sub(lambda _: text, old) if pattern.search(old) else old.rstrip("\n") + "\n\n" + text
    path.write_text(new)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pool", type=int, default=100_000)
    ap.add_argument("--keys", type=int, default=200, help="answers to time")
    ap.add_argument("--rows", type=int, default=40)
    ap.add_argument("--cols", type=int, default=120)
    ap.add_argument("--write", action="store_true", help="update the section in benchmarks/README.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="al-bench-") as d:
        t = time.perf_counter()
        project = build(Path(d), args.pool, args.keys + 5)
        t_build = time.perf_counter() - t
        lat, startup = measure(project, args.keys, args.rows, args.cols)
    ms = sorted(x * 1000 for x in lat)
    med = statistics.median(ms)
    p90 = ms[int(0.9 * (len(ms) - 1))]
    p99 = ms[int(0.99 * (len(ms) - 1))]
    date = dt.date.today().isoformat()
    lines = [
        "## Labeling latency",
        "",
        "Time from a keypress (an answer) to the next item fully drawn, for `al label` in a "
        f"pseudo-terminal ({args.cols}x{args.rows}) on a project whose pool has {args.pool:,} rows "
        "(two text columns, a number, a category). Each step includes the fsynced append to "
        "labels.csv and the claim of the next item. Measured by "
        "`python benchmarks/bench_label_latency.py --write`.",
        "",
        f"- machine: {machine()}",
        f"- date: {date}; project in {tempfile.gettempdir()} ({fs_type(tempfile.gettempdir())})",
        f"- answers timed: {len(ms)}",
        f"- **median: {med:.1f} ms** (p90 {p90:.1f} ms, p99 {p99:.1f} ms, max {ms[-1]:.1f} ms); aim: under 50 ms",
        f"- start-up (process start to the first item, pool read once): {startup:.2f} s",
        f"- building the benchmark project: {t_build:.1f} s",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_readme(text)
        print(f"updated {ROOT / 'benchmarks' / 'README.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
