"""What the adaptive default costs: `al query --size 100 --strategy auto` against
`--strategy margin` on the 1,000,000 x 50 pool of bench_hotpath.py (scores.csv current,
features cached), each query its own process, alternating, median of the repeats.

    python benchmarks/bench_hotpath.py --rows 1000000      # builds the pool and project once
    python benchmarks/bench_auto_cost.py                   # then this (copies the project)

Two states: (1) one model: auto has no flip rate yet, so the whole batch explores and
the clustering runs (its costliest path); (2) two models: the flip rate is measured
(two models predict 20,000 rows) and the batch is composed from it.
Results: benchmarks/out/auto_cost.json; the table in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_hotpath import OUT, Paths, al, machine  # noqa: E402


def timed_pair(proj: Path, repeats: int) -> dict:
    out: dict[str, list[float]] = {"margin": [], "auto": []}
    peak: dict[str, list[float]] = {"margin": [], "auto": []}
    decision = None
    for i in range(repeats):
        order = ("margin", "auto") if i % 2 == 0 else ("auto", "margin")
        for name in order:
            r = al("query", "-p", str(proj), "--size", "100", "--strategy", name, "--json", "--explain",
                   log=f"auto_cost_{name}.log")
            out[name].append(r["wall_s"])
            peak[name].append(r["peak_mb"])
            if name == "auto":
                line = next((x for x in r["output"].splitlines() if x.startswith("{")), "{}")
                decision = (json.loads(line).get("auto") or {}).get("reason")
    med = {k: round(statistics.median(v), 2) for k, v in out.items()}
    return {"wall_s": med, "peak_mb": {k: round(statistics.median(v)) for k, v in peak.items()},
            "ratio_wall": round(med["auto"] / med["margin"], 2), "runs": out, "auto_decision": decision}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--cols", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    src = Paths(a.rows, a.cols)
    if not (src.proj / "models").exists():
        raise SystemExit(f"run 'python benchmarks/bench_hotpath.py --rows {a.rows}' first ({src.proj} missing)")
    proj = src.dir / "auto_cost_project"  # beside pool.csv: al.yaml names it relatively
    if proj.exists():
        shutil.rmtree(proj)
    shutil.copytree(src.proj, proj)
    versions = sorted(p for p in (proj / "models").glob("*.json"))
    for extra in versions[1:]:  # back to the one model the build made
        for f in (proj / "models").glob(extra.stem + "*"):
            f.unlink()
    al("score", "-p", str(proj), log="auto_cost_score.log")
    res = {"machine": machine(), "rows": a.rows, "cols": a.cols, "repeats": a.repeats}
    res["one_model"] = timed_pair(proj, a.repeats)
    al("query", "-p", str(proj), "--size", "100", "--strategy", "margin", log="auto_cost_q.log")
    al("label", "-p", str(proj), "--import", str(src.key), "--queued-only", log="auto_cost_label.log")
    al("retrain", "-p", str(proj), log="auto_cost_retrain.log")
    al("score", "-p", str(proj), log="auto_cost_score.log")
    res["two_models"] = timed_pair(proj, a.repeats)
    (HERE / "out").mkdir(exist_ok=True)
    (HERE / "out" / "auto_cost.json").write_text(json.dumps(res, indent=1) + "\n")
    for k in ("one_model", "two_models"):
        r = res[k]
        print(f"{k}: margin {r['wall_s']['margin']} s, auto {r['wall_s']['auto']} s (x{r['ratio_wall']}); "
              f"peak MB margin {r['peak_mb']['margin']}, auto {r['peak_mb']['auto']}; {r['auto_decision']}")


if __name__ == "__main__":
    main()
