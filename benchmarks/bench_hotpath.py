"""The hot path, side by side with modAL: `al score && al query --size 100` against the
plain script a modAL user writes (read the CSV, load the model, entropy_sampling, write
the batch), on a 1,000,000 x 50 numeric pool with al's feature cache warm. Plus start-up
figures: `al --help`, `al status` (this project and sample_projects/penguins) and the
labeler's first item screen on a 100,000-row pool.

    python benchmarks/bench_hotpath.py                      # 1,000,000 x 50, 3 repeats
    python benchmarks/bench_hotpath.py --rows 100000
    python benchmarks/bench_hotpath.py --keep               # reuse the project built last time
    python benchmarks/bench_hotpath.py --keep --profile     # + py-spy: where al's seconds go

Everything lands in benchmarks/out/hotpath/ (git-ignored): the pool and project per size,
the modAL script (modal_step.py) and its fitted pipeline, logs, result.json (the last run)
and result_<rows>x<cols>.json. The penguins project is built by its own Makefile with
P=benchmarks/out/hotpath/penguins_project, so sample_projects/ is left as it is.

Measuring, the same for both sides: each step is its own process, started by a small
launcher (see LAUNCHER); wall time is spawn to exit (interpreter start-up and imports
included), peak memory is the process's maximum RSS as the kernel reports it to its parent
(os.wait4's ru_maxrss). Each repeat runs al's pair and the modAL script back to back (the
order alternates between repeats) and the ratio is taken within the repeat; the table gives
the medians. Files are in the page cache for both sides (each was read in the warm-up).

Two configurations: this environment as it is (PyTorch installed by al's embeddings extra:
modAL imports it when present), and PyTorch hidden from both processes by an import hook,
as for a modAL user who never installed it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out" / "hotpath"
sys.path.insert(0, str(HERE))

from bench_pool import _cpu, make_pool  # noqa: E402

BIN = Path(sys.executable).parent
AL = str(BIN / "al") if (BIN / "al").exists() else shutil.which("al") or "al"
BATCH = 100
SEED = 300

NO_TORCH = '''\
import sys
class _NoTorch:  # as if torch were not installed (al's embeddings extra brings it)
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, _NoTorch())
'''

AL_WRAPPER = NO_TORCH + '''\
sys.argv = ["al", *sys.argv[1:]]
from al_cli._entry import main
main()
'''

MODAL_SCRIPT = '''\
"""What a modAL user runs for one step: read the pool, load the model, pick, write."""
import json, sys, time
t0 = time.perf_counter()
import joblib
import pandas as pd
from modAL.uncertainty import entropy_sampling
t1 = time.perf_counter()

POOL, LABELED, MODEL, OUT, N = {pool!r}, {labeled!r}, {model!r}, {out!r}, {n}
FEATURES = {features!r}

pool = pd.read_csv(POOL)
labeled = pd.read_csv(LABELED)
t2 = time.perf_counter()
model = joblib.load(MODEL)
t3 = time.perf_counter()
unlabeled = pool[~pool["id"].isin(labeled["id"])]
X = unlabeled[FEATURES]
t4 = time.perf_counter()
idx, _ = entropy_sampling(model, X, n_instances=N)
t5 = time.perf_counter()
pd.DataFrame({{"id": unlabeled["id"].to_numpy()[idx]}}).to_csv(OUT, index=False)
t6 = time.perf_counter()
sys.stderr.write("PHASES " + json.dumps({{
    "imports": t1 - t0, "read_csv": t2 - t1, "load_model": t3 - t2, "drop_labeled": t4 - t3,
    "entropy_sampling": t5 - t4, "write_batch": t6 - t5}}) + "\\n")
'''


# --------------------------------------------------------------------------- measuring

# A child forked from a big process reports that process's RSS as its own peak (Linux
# keeps the pre-exec high-water mark in ru_maxrss), and this benchmark holds the 1M-row
# pool in memory while building. So each command is started by this small launcher (a
# fresh, ~10 MB interpreter), which times it and reads its peak with wait4.
LAUNCHER = """\
import json, os, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
pid = os.posix_spawnp(cmd[0], cmd, os.environ)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t0
with open(out, "w") as fh:
    json.dump({"wall_s": wall, "maxrss_kb": ru.ru_maxrss, "rc": os.waitstatus_to_exitcode(status)}, fh)
"""


def run(cmd: list[str], log: Path | None = None, cwd: Path | None = None, check: bool = True) -> dict:
    """Run ``cmd`` through the launcher: wall (spawn to exit) and the command's peak RSS."""
    log = log or OUT / "logs" / "last.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    res = log.with_suffix(".rusage.json")
    res.unlink(missing_ok=True)
    with open(log, "w") as fh:
        fh.write("$ " + " ".join(cmd) + "\n")
        fh.flush()
        p = subprocess.run([sys.executable, "-I", "-S", "-c", LAUNCHER, str(res), *cmd], stdout=fh,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd)
    text = log.read_text(errors="replace")
    if p.returncode != 0 or not res.exists():
        raise SystemExit(f"launcher failed ({p.returncode}): {' '.join(cmd)}\n{text[-3000:]}")
    r = json.loads(res.read_text())
    if check and r["rc"] != 0:
        raise SystemExit(f"failed ({r['rc']}): {' '.join(cmd)}\n{text[-3000:]}")
    return {"wall_s": r["wall_s"], "peak_mb": r["maxrss_kb"] / 1024, "rc": r["rc"], "output": text}


def al(*args: str, log: str = "al.log", check: bool = True, cmd: list[str] | None = None) -> dict:
    return run([*(cmd or [AL]), *args], OUT / "logs" / log, check=check)


def med(xs: list[float]) -> float:
    return float(statistics.median(xs))


# --------------------------------------------------------------------------- building

class Paths:
    def __init__(self, rows: int, cols: int):
        self.dir = OUT / f"r{rows}x{cols}"
        self.pool = self.dir / "pool.csv"
        self.key = self.dir / "answers.csv"
        self.proj = self.dir / "project"
        self.labeled = self.dir / "labeled.csv"
        self.model = self.dir / "modal_pipeline.joblib"
        self.script = self.dir / "modal_step.py"
        self.script_nt = self.dir / "modal_step_notorch.py"
        self.al_nt = self.dir / "al_notorch.py"
        self.batch = self.dir / "modal_batch.csv"


def built(p: Paths) -> bool:
    return (p.pool.exists() and p.key.exists() and (p.proj / "cache" / "features.json").exists()
            and any((p.proj / "models").glob("*")) and p.model.exists() and p.labeled.exists())


def build(p: Paths, rows: int, cols: int) -> dict:
    """pool.csv, the al project (init, seed 300 k-means, import the answers, retrain), and
    the modAL user's pipeline fitted on the same 300 labeled rows."""
    times = {}
    if p.dir.exists():
        shutil.rmtree(p.dir)
    p.dir.mkdir(parents=True)
    t = time.perf_counter()
    make_pool(rows, cols, p.pool).to_csv(p.key, index=False)
    times["write pool.csv"] = time.perf_counter() - t
    feats = ",".join(f"f{i:02d}" for i in range(cols))
    times["al init"] = al("init", str(p.proj), "--data", str(p.pool), "--id-column", "id",
                          "--feature-columns", feats, "--labels", "low,mid,high", log="build_init.log")["wall_s"]
    times["al seed"] = al("seed", "-p", str(p.proj), "--size", str(SEED), log="build_seed.log")["wall_s"]
    times["al label --import"] = al("label", "-p", str(p.proj), "--import", str(p.key), "--queued-only",
                                    log="build_label.log")["wall_s"]
    times["al retrain"] = al("retrain", "-p", str(p.proj), log="build_retrain.log")["wall_s"]
    t = time.perf_counter()
    fit_modal_model(p, cols)
    times["fit modAL pipeline"] = time.perf_counter() - t
    return {k: round(v, 2) for k, v in times.items()}


def fit_modal_model(p: Paths, cols: int) -> None:
    """The modAL user's model: Pipeline(median imputation, standard scaling, logistic
    regression class_weight=balanced) fitted on al's labeled rows, saved with joblib."""
    import joblib
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    labels = pd.read_csv(p.proj / "labels.csv", dtype=str)
    labels = labels[labels["status"] == "labeled"].drop_duplicates("id", keep="last")[["id", "label"]]
    labels.to_csv(p.labeled, index=False)
    want = set(labels["id"])
    feats = [f"f{i:02d}" for i in range(cols)]
    parts = [c[c["id"].isin(want)] for c in pd.read_csv(p.pool, chunksize=200_000)]
    rows = pd.concat(parts).merge(labels, on="id")
    pipe = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler()),
                     ("lr", LogisticRegression(class_weight="balanced", max_iter=1000))])
    pipe.fit(rows[feats], rows["label"])
    joblib.dump(pipe, p.model)


def write_scripts(p: Paths, cols: int) -> None:
    """modal_step.py (the modAL user's script), and the same two steps as if torch were not
    installed: modal_step_notorch.py and al_notorch.py (al's console script behind the
    same import hook)."""
    body = MODAL_SCRIPT.format(pool=str(p.pool), labeled=str(p.labeled), model=str(p.model),
                               out=str(p.batch), n=BATCH, features=[f"f{i:02d}" for i in range(cols)])
    p.script.write_text(body)
    p.script_nt.write_text(NO_TORCH + body)
    p.al_nt.write_text(AL_WRAPPER)


CONFIGS = {  # name: (al's command, the modAL script)
    "as installed (torch importable)": (lambda p: [AL], lambda p: p.script),
    "torch hidden from both": (lambda p: [sys.executable, str(p.al_nt)], lambda p: p.script_nt),
}


# --------------------------------------------------------------------------- the hot path

def snapshot_state(proj: Path) -> dict[str, bytes]:
    """The project's top-level files (the state 'al score' and 'al query' start from)."""
    return {f.name: f.read_bytes() for f in proj.iterdir() if f.is_file() and f.name != "scores.csv"}


def restore_state(proj: Path, state: dict[str, bytes]) -> None:
    """Back to the snapshot, with no scores: scores.csv and cache/scores.{json,npz} gone so
    that 'al score' really scores; the feature cache stays."""
    for f in proj.iterdir():
        if f.is_file() and f.name not in state:
            f.unlink()
    for name, data in state.items():
        f = proj / name
        if not f.exists() or f.read_bytes() != data:
            f.write_bytes(data)
    for name in ("scores.json", "scores.npz"):
        (proj / "cache" / name).unlink(missing_ok=True)


def al_step(p: Paths, i: int, cmd: list[str]) -> dict:
    s = al("score", "-p", str(p.proj), log=f"score_{i}.log", cmd=cmd)
    q = al("query", "-p", str(p.proj), "--size", str(BATCH), "--strategy", "entropy",
           "--random-fraction", "0", "--diversity", "none", log=f"query_{i}.log", cmd=cmd)
    return {"score_wall": s["wall_s"], "score_peak": s["peak_mb"], "query_wall": q["wall_s"],
            "query_peak": q["peak_mb"], "wall": s["wall_s"] + q["wall_s"],
            "peak": max(s["peak_mb"], q["peak_mb"])}


def modal_step(p: Paths, i: int, script: Path) -> dict:
    r = run([sys.executable, str(script)], OUT / "logs" / f"modal_{i}.log")
    line = [ln for ln in r["output"].splitlines() if ln.startswith("PHASES ")]
    phases = json.loads(line[-1][7:]) if line else {}
    return {"wall": r["wall_s"], "peak": r["peak_mb"], "phases": phases}


def overlap(p: Paths) -> int:
    q = pd.read_csv(p.proj / "queue.csv", dtype=str)
    m = pd.read_csv(p.batch, dtype=str)
    return len(set(q.loc[q["purpose"] == "train", "id"]) & set(m["id"]))


# --------------------------------------------------------------------------- start-up

def penguins_project() -> Path:
    """sample_projects/penguins' Makefile, run with its project folder in out/hotpath."""
    proj = OUT / "penguins_project"
    if not (proj / "al.yaml").exists() or not any((proj / "models").glob("*")):
        r = run(["make", "-C", str(ROOT / "sample_projects" / "penguins"), f"AL={AL}", f"P={proj}"],
                OUT / "logs" / "penguins_make.log")
        print(f"  make -C sample_projects/penguins P={proj}: {r['wall_s']:.1f} s", file=sys.stderr)
    return proj


def labeler_project(n_pool: int) -> Path:
    root = OUT / f"labeler_{n_pool}"
    if (root / "proj" / "al.yaml").exists():
        return root / "proj"
    from bench_label_latency import build as build_label  # the latency benchmark's 100k pool

    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    return build_label(root, n_pool, 20)


def labeler_first_screen(project: Path) -> float:
    """Spawn `al label` in a PTY; seconds until the first whole item screen."""
    import pexpect
    from bench_label_latency import HEADER

    env = {**os.environ, "TERM": "xterm-256color"}
    t0 = time.perf_counter()
    child = pexpect.spawn(AL, ["label", "-p", str(project), "--annotator", "bench"], env=env,
                          dimensions=(40, 120), encoding="utf-8", timeout=120, maxread=65536)
    child.expect(HEADER)
    child.expect("q quit")
    took = time.perf_counter() - t0
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    return took


def startup(p: Paths, repeats: int, label_pool: int) -> dict:
    res: dict[str, dict] = {}

    def timed(name: str, fn) -> None:
        walls, peaks = [], []
        for _ in range(repeats):
            r = fn()
            walls.append(r["wall_s"]) if isinstance(r, dict) else walls.append(r)
            if isinstance(r, dict):
                peaks.append(r["peak_mb"])
        res[name] = {"wall_s": walls, "peak_mb": peaks}

    al("--help", log="help.log")  # warm the page cache once
    timed("al --help", lambda: al("--help", log="help.log"))
    timed(f"al status (this {p.dir.name} project)", lambda: al("status", "-p", str(p.proj), log="status.log"))
    peng = penguins_project()
    al("status", "-p", str(peng), log="status_penguins.log")
    timed("al status (sample_projects/penguins)", lambda: al("status", "-p", str(peng), log="status_penguins.log"))

    def edited(proj: Path, log: str):
        """'al status' right after a hand edit: labels.csv touched, the memo stale."""
        os.utime(proj / "labels.csv")
        return al("status", "-p", str(proj), log=log)

    timed(f"al status after a hand edit (this {p.dir.name} project)", lambda: edited(p.proj, "status_edit.log"))
    timed("al status after a hand edit (sample_projects/penguins)", lambda: edited(peng, "status_edit_penguins.log"))
    lp = labeler_project(label_pool)
    labeler_first_screen(lp)  # warm-up
    timed(f"al label: first item screen ({label_pool:,}-row pool, PTY)", lambda: labeler_first_screen(lp))
    return res


# --------------------------------------------------------------------------- profile

# Where al's time goes: py-spy samples `al score` and `al query` (each its own process, as
# measured above); a sample counts for the deepest of these frames on its stack (imports
# first: any sample under an import is an import). Order matters only for the name shown.
PROFILE_CATEGORIES = [
    ("imports (interpreter start excluded)", ["_find_and_load"]),
    ("read feature cache (bytes, sha256, np.load, ids)", ["_load (al_cli/features/cache.py"]),
    ("load model (skops)", ["Snapshot.model (", "load (al_cli/store/safeio.py"]),
    ("labels, ids index, available rows, state key", ["Snapshot.", "state_key ("]),
    ("X[rows] copy", ["PoolScorer.proba ("]),
    ("predict_proba", ["predict_proba_chunked ("]),
    ("compute scores (entropy, margin, lc, checks)", ["PoolScorer.score (", "quantise ("]),
    ("build the scores table", ["_assemble (", "_frame ("]),
    ("format scores.csv (DataFrame.to_csv)", ["csv_text ("]),
    ("write scores.csv (write, fsync, rename)", ["atomic_write_csv ("]),
    ("sha256 of the written files", ["sha256_file ("]),
    ("write cache/scores.npz", ["_write_binary ("]),
    ("write cache/scores.json", ["atomic_write_json ("]),
    ("read scores back (scores.npz / scores.csv)", ["cached_scores ("]),
    ("twin groups (cache/twins.npy)", ["pool_groups ("]),
    ("select the batch", ["select_batch ("]),
    ("write queue.csv, queried.csv", ["write_queue (", "append_queried (", "records (al_cli/commands/queried"]),
]


def classify(frames: list[str]) -> str:
    if not frames or frames == [""]:
        return "no Python frame (start-up before main, teardown)"
    if any("_find_and_load" in f for f in frames):
        return PROFILE_CATEGORIES[0][0]
    for f in reversed(frames):
        for name, marks in PROFILE_CATEGORIES[1:]:
            if any(m in f for m in marks):
                return name
    return "rest of al (CLI, config, messages)" if any("al_cli/" in f for f in frames) else "other"


def profile(p: Paths, state: dict[str, bytes], repeats: int, rate: int = 250) -> dict:
    """Sampled profile of `al score` and `al query` (seconds per category, mean of repeats)."""
    spy = shutil.which("py-spy") or str(BIN / "py-spy")
    if not Path(spy).exists():
        print("py-spy not found (pip install py-spy): no profile", file=sys.stderr)
        return {}
    out = OUT / "profile"
    out.mkdir(parents=True, exist_ok=True)
    steps = {"al score": ["score", "-p", str(p.proj)],
             "al query": ["query", "-p", str(p.proj), "--size", str(BATCH), "--strategy", "entropy",
                          "--random-fraction", "0", "--diversity", "none"]}
    res: dict[str, dict] = {k: {} for k in steps}
    walls: dict[str, list[float]] = {k: [] for k in steps}
    for i in range(repeats):
        restore_state(p.proj, state)
        (p.proj / "scores.csv").unlink(missing_ok=True)
        for step, args in steps.items():
            raw = out / f"{step.split()[1]}_{p.dir.name}_{i}.raw"
            t0 = time.perf_counter()
            subprocess.run([spy, "record", "-r", str(rate), "--nonblocking", "--format", "raw", "-o", str(raw),
                            "--", AL, *args], check=True, capture_output=True)
            walls[step].append(time.perf_counter() - t0)
            for line in raw.read_text().splitlines():
                stack, n = line.rsplit(" ", 1)
                cat = classify(stack.split(";"))
                res[step][cat] = res[step].get(cat, 0.0) + int(n) / rate / repeats
    order = [c for c, _ in PROFILE_CATEGORIES] + ["rest of al (CLI, config, messages)", "other",
                                                  "no Python frame (start-up before main, teardown)"]
    return {step: {"wall_under_py_spy_s": med(walls[step]),
                   "seconds": {c: round(res[step][c], 3) for c in order if c in res[step]}} for step in steps}


# --------------------------------------------------------------------------- report

def machine() -> dict:
    import sklearn
    from importlib.metadata import version

    mem = ""
    try:
        kb = int(next(ln for ln in open("/proc/meminfo") if ln.startswith("MemTotal")).split()[1])
        mem = f"{kb / 2**20:.0f} GiB"
    except (OSError, StopIteration):
        pass
    return {"nproc": len(os.sched_getaffinity(0)), "cpu": _cpu(), "arch": platform.machine(), "memory": mem,
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
            "sklearn": sklearn.__version__, "numpy": np.__version__, "pandas": pd.__version__,
            "modAL": version("modAL-python"), "joblib": version("joblib")}


def git_state() -> dict:
    def g(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    dirty = g("status", "--porcelain", "--untracked-files=no", "--", "al_cli")
    return {"head": g("rev-parse", "--short", "HEAD"), "al_cli_modified": dirty.splitlines(),
            "al_cli_diff_sha": __import__("hashlib").sha256(g("diff", "--", "al_cli").encode()).hexdigest()[:12]}


def print_profile(prof: dict, a) -> None:
    print(f"\nWhere al's time goes (py-spy, {a.repeats} run(s) each, mean seconds; a sample counts for "
          "the deepest listed part on its stack)\n")
    steps = list(prof)
    print("| part | " + " | ".join(steps) + " |\n|---|" + "---:|" * len(steps))
    known = [c for c, _ in PROFILE_CATEGORIES]
    cats = sorted({c for st in prof.values() for c in st["seconds"]},
                  key=lambda c: known.index(c) if c in known else len(known))
    for c in cats:
        print(f"| {c} | " + " | ".join(f"{prof[st]['seconds'].get(c, 0):.2f}" for st in steps) + " |")
    print("| **total sampled** | " + " | ".join(f"**{sum(prof[st]['seconds'].values()):.2f}**" for st in steps) + " |")
    print("| wall under py-spy (median) | " + " | ".join(f"{prof[st]['wall_under_py_spy_s']:.2f}" for st in steps) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--cols", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3, help="report the median of this many runs")
    ap.add_argument("--keep", action="store_true", help="reuse the project built last time, when there")
    ap.add_argument("--label-pool", type=int, default=100_000, help="rows in the labeler's pool")
    ap.add_argument("--no-startup", action="store_true", help="skip the start-up figures")
    ap.add_argument("--startup-only", action="store_true", help="only the start-up figures (with --keep)")
    ap.add_argument("--profile", action="store_true",
                    help="also sample al score and al query with py-spy: seconds per part")
    ap.add_argument("--profile-only", action="store_true", help="only the profile (with --keep)")
    a = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()
    git0 = git_state()
    started = dt.datetime.now().isoformat(timespec="seconds")
    p = Paths(a.rows, a.cols)

    build_times = None
    if a.keep and built(p):
        print(f"reusing {p.dir}", file=sys.stderr)
    else:
        print(f"building {p.dir} ({a.rows:,} x {a.cols}) ...", file=sys.stderr)
        build_times = build(p, a.rows, a.cols)
        print(f"  {build_times}", file=sys.stderr)
    write_scripts(p, a.cols)
    # al's own bytecode, as 'pip install' compiles it (an editable install in an environment
    # with PYTHONDONTWRITEBYTECODE=1 would otherwise compile al's modules in every process,
    # about 0.1 s each, while modAL's and scikit-learn's come compiled from their wheels)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "al_cli")], check=True)
    state_file = p.dir / "state.json"
    if build_times is not None or not state_file.exists():
        # warm-up: the feature cache (and every file) read once; the state to return to
        al("score", "-p", str(p.proj), log="warmup_score.log")
        run([sys.executable, str(p.script)], OUT / "logs" / "warmup_modal.log")
        for f in (p.proj / "scores.csv", p.proj / "cache" / "scores.json", p.proj / "cache" / "scores.npz"):
            f.unlink(missing_ok=True)
        state = snapshot_state(p.proj)
        state_file.write_text(json.dumps({k: v.decode("utf-8", "surrogateescape") for k, v in state.items()}))
    state = {k: v.encode("utf-8", "surrogateescape") for k, v in json.loads(state_file.read_text()).items()}

    if a.startup_only:
        st = startup(p, a.repeats, a.label_pool)
        print(f"\nStart-up, median of {a.repeats} (wall: spawn to exit; label: spawn to the first item screen)\n")
        print("| command | wall (s) | all runs (s) |\n|---|---:|---|")
        for name, r in st.items():
            print(f"| {name} | {med(r['wall_s']):.2f} | {', '.join(f'{w:.2f}' for w in r['wall_s'])} |")
        return

    if a.profile_only:
        prof = profile(p, state, a.repeats)
        print_profile(prof, a)
        (OUT / f"profile_{a.rows}x{a.cols}.json").write_text(json.dumps(prof, indent=2))
        return

    runs = {c: {"al": [], "modal": [], "overlap": []} for c in CONFIGS}
    for i in range(a.repeats):
        names = list(CONFIGS) if i % 2 == 0 else list(CONFIGS)[::-1]
        for j, c in enumerate(names):
            al_cmd, script = CONFIGS[c][0](p), CONFIGS[c][1](p)
            restore_state(p.proj, state)
            (p.proj / "scores.csv").unlink(missing_ok=True)
            p.batch.unlink(missing_ok=True)
            if (i + j) % 2 == 0:
                ra, rm = al_step(p, i, al_cmd), modal_step(p, i, script)
            else:
                rm, ra = modal_step(p, i, script), al_step(p, i, al_cmd)
            runs[c]["al"].append(ra)
            runs[c]["modal"].append(rm)
            runs[c]["overlap"].append(overlap(p))
            print(f"  repeat {i + 1}, {c}: al {ra['wall']:.2f} s ({ra['score_wall']:.2f} + {ra['query_wall']:.2f}), "
                  f"{ra['peak']:.0f} MB; modAL {rm['wall']:.2f} s, {rm['peak']:.0f} MB", file=sys.stderr)

    summary = {}
    for c, r in runs.items():
        al_runs, modal_runs = r["al"], r["modal"]
        wall_ratios = [x["wall"] / y["wall"] for x, y in zip(al_runs, modal_runs)]
        peak_ratios = [x["peak"] / y["peak"] for x, y in zip(al_runs, modal_runs)]
        summary[c] = {
            "steps": {
                "al score": {"al_wall": med([x["score_wall"] for x in al_runs]),
                             "al_peak": med([x["score_peak"] for x in al_runs])},
                "al query --size 100 (entropy)": {"al_wall": med([x["query_wall"] for x in al_runs]),
                                                 "al_peak": med([x["query_peak"] for x in al_runs])},
                "score + query vs modAL script": {
                    "al_wall": med([x["wall"] for x in al_runs]), "al_peak": med([x["peak"] for x in al_runs]),
                    "modal_wall": med([x["wall"] for x in modal_runs]),
                    "modal_peak": med([x["peak"] for x in modal_runs]),
                    "wall_ratio": med(wall_ratios), "peak_ratio": med(peak_ratios)},
            },
            "paired": {"wall": wall_ratios, "peak": peak_ratios},
            "modal_phases_median": {k: med([x["phases"].get(k, float("nan")) for x in modal_runs])
                                    for k in (modal_runs[0]["phases"] or {})},
            "overlap_of_batches": r["overlap"],
        }

    st = {} if a.no_startup else startup(p, a.repeats, a.label_pool)
    prof = profile(p, state, a.repeats) if a.profile else {}
    load_end = os.getloadavg()

    for c, sm in summary.items():
        print(f"\nHot path on a {a.rows:,} x {a.cols} pool, batch {BATCH}, {c}; median of {a.repeats} "
              f"(ratio = median of the paired al/modAL ratios)\n")
        print("| step | al wall (s) | modAL wall (s) | al/modAL wall | al peak (MB) | modAL peak (MB) | al/modAL peak |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name, s in sm["steps"].items():
            mw = f"{s['modal_wall']:.2f}" if "modal_wall" in s else "–"
            mp = f"{s['modal_peak']:.0f}" if "modal_peak" in s else "–"
            wr = f"**{s['wall_ratio']:.2f}**" if "wall_ratio" in s else "–"
            pr = f"**{s['peak_ratio']:.2f}**" if "peak_ratio" in s else "–"
            print(f"| {name} | {s['al_wall']:.2f} | {mw} | {wr} | {s['al_peak']:.0f} | {mp} | {pr} |")
        print(f"\npaired ratios per repeat: wall {[round(x, 2) for x in sm['paired']['wall']]}, "
              f"peak {[round(x, 2) for x in sm['paired']['peak']]}")
        print("modAL script phases (s, median): "
              + ", ".join(f"{k} {v:.2f}" for k, v in sm["modal_phases_median"].items()))
        print(f"same rows chosen by both (of {BATCH}): {sm['overlap_of_batches']}")
    if st:
        print(f"\nStart-up, median of {a.repeats} (wall: spawn to exit; label: spawn to the first item screen)\n")
        print("| command | wall (s) | peak (MB) |\n|---|---:|---:|")
        for name, s in st.items():
            pk = f"{med(s['peak_mb']):.0f}" if s["peak_mb"] else "–"
            print(f"| {name} | {med(s['wall_s']):.2f} | {pk} |")
    if prof:
        print_profile(prof, a)
    print(f"\nload average (1, 5, 15 min): start {tuple(round(x, 2) for x in load_start)}, "
          f"end {tuple(round(x, 2) for x in load_end)}")

    git1 = git_state()
    result = {
        "date": started, "ended": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": machine(), "git_start": git0, "git_end": git1,
        "load_average": {"start": load_start, "end": load_end},
        "rows": a.rows, "cols": a.cols, "batch": BATCH, "seed_labels": SEED, "repeats": a.repeats,
        "build_s": build_times, "summary": summary, "runs": runs, "startup": st, "profile": prof,
        "method": "each step a fresh process, posix_spawn'ed by a small launcher interpreter; "
                  "wall = spawn to exit; peak = os.wait4 ru_maxrss of that process",
    }
    text = json.dumps(result, indent=2)
    (OUT / "result.json").write_text(text)
    (OUT / f"result_{a.rows}x{a.cols}.json").write_text(text)
    print(f"\nwrote {OUT / 'result.json'}", file=sys.stderr)


if __name__ == "__main__":
    main()
