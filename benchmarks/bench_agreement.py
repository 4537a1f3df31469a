"""Three annotators on real labeled data, one answering at random part of the time: does
`al agreement` flag that one, and what do kappa and alpha say? (issue 10)

    python benchmarks/bench_agreement.py            # penguins (tabular) and screening (text)
    python benchmarks/bench_agreement.py --noise 0.3 --seed 1

Each annotator labels every row of the sample's answer key through `al label --import`;
annotators A and B replace 3% of their answers by a random label, C replaces 30%.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = {"penguins": ("tabular", ["--labels", "Adelie,Chinstrap,Gentoo"]),
           "screening": ("text", ["--text-column", "title", "--text-column", "abstract",
                                  "--labels", "include,exclude"])}


def al(*args: str) -> str:
    r = subprocess.run([sys.executable, "-m", "al_cli", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"al {' '.join(args)} failed: {r.stderr}")
    return r.stdout


def run(name: str, noise: float, seed: int) -> dict:
    kind, init_args = SAMPLES[name]
    src = ROOT / "sample_projects" / name
    truth = pd.read_csv(src / "answers.csv", dtype=str)
    labels = sorted(truth["label"].unique())
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "p"
        al("init", str(p), "--data", str(src / "pool.csv"), "--id-column", "id", *init_args)
        for who, rate in (("A", 0.03), ("B", 0.03), ("C", noise)):
            lab = truth["label"].to_numpy().copy()
            flip = rng.random(len(lab)) < rate
            lab[flip] = rng.choice(labels, int(flip.sum()))
            f = Path(tmp) / f"{who}.csv"
            pd.DataFrame({"id": truth["id"], "label": lab}).to_csv(f, index=False)
            al("label", "-p", str(p), "--import", str(f), "--annotator", who)
        d = json.loads(al("agreement", "-p", str(p), "--json"))
    by = {a["annotator"]: a for a in d["annotators"]}
    pairs = {f"{x['a']}/{x['b']}": x["kappa"] for x in d["pairs"]}
    return {"data": f"{name} ({kind}, {len(truth)} items, {len(labels)} labels)", "flagged": d["flagged"],
            "fleiss": d["fleiss_kappa"], "alpha": d["krippendorff_alpha"], "alpha_ci": d["krippendorff_alpha_ci"],
            "pairs": pairs, "agree": {k: v["agreement_with_consensus"] for k, v in by.items()}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--noise", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    for name in SAMPLES:
        r = run(name, args.noise, args.seed)
        print(f"| {r['data']} | {', '.join(r['flagged']) or 'none'} | {r['fleiss']:.3f} | {r['alpha']:.3f} "
              f"[{r['alpha_ci'][0]:.3f}, {r['alpha_ci'][1]:.3f}] | "
              + ", ".join(f"{k} {v:.3f}" for k, v in r["pairs"].items()) + " | "
              + ", ".join(f"{k} {v:.3f}" for k, v in r["agree"].items()) + " |")


if __name__ == "__main__":
    main()
