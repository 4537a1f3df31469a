"""Noisy labels: does `al suspects` find them? (issue 10, item 5)

    python benchmarks/bench_suspects.py                       # digits, wine, penguins, screening
    python benchmarks/bench_suspects.py --datasets digits --noise 0.1 --seed 0

Per data set: a stratified 70/30 split (the 30% is the validation file); 10% of the 70%
get a wrong label (a different class, uniformly); every training row is imported, the model
retrained and evaluated (noisy). `al suspects --top K` (K = the number flipped) ranks the
labels; precision = the share of the top K that were flipped. The top K are then answered
again with their true label (the second look), the model retrained and evaluated (fixed);
a project with the true labels gives the clean accuracy. Recovered = (fixed - noisy) /
(clean - noisy).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from al_cli import api  # noqa: E402
from al_cli.report import collecting  # noqa: E402
from al_cli.store import Project  # noqa: E402

SAMPLES = ROOT / "sample_projects"


def dataset(name: str) -> tuple[pd.DataFrame, list[str], list[str]]:
    """(frame with id, features and label; text columns; feature columns)."""
    if name in ("digits", "wine", "breast_cancer"):
        from sklearn import datasets

        bunch = getattr(datasets, f"load_{name}")(as_frame=True)
        df = bunch.frame.copy()
        y = df.pop("target")
        df.columns = [str(c).replace(" ", "_").replace("/", "_") for c in df.columns]
        df["label"] = np.asarray(bunch.target_names)[y] if name != "digits" else y.astype(str)
        df.insert(0, "id", [f"r{i}" for i in range(len(df))])
        return df, [], [c for c in df.columns if c not in ("id", "label")]
    d = SAMPLES / name
    rows = pd.concat([pd.read_csv(d / "pool.csv", dtype={"id": str}).merge(
        pd.read_csv(d / "answers.csv", dtype=str), on="id"),
        pd.read_csv(d / "validation.csv", dtype={"id": str})], ignore_index=True)
    if "id" not in rows or rows["id"].isna().any():
        rows["id"] = [f"r{i}" for i in range(len(rows))]
    if name == "screening":
        return rows, ["title", "abstract"], []
    feats = ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex", "year"]
    return rows, [], feats


def project(tmp: Path, name: str, train: pd.DataFrame, val: pd.DataFrame, labels: list[str],
            text: list[str], feats: list[str]) -> Project:
    pool = tmp / f"{name}_pool.csv"
    train.drop(columns=["label"]).to_csv(pool, index=False)
    vfile = tmp / f"{name}_val.csv"
    if not vfile.exists():
        val.to_csv(vfile, index=False)
    folder = tmp / name
    api.init(folder, pool, id_column="id", text_columns=text, feature_columns=feats or None, labels=labels,
             validation=vfile, label_column="label")
    return Project.open(folder)


def accuracy(proj: Project) -> float:
    api.retrain(proj)
    return api.evaluate(proj).accuracy


def run(name: str, noise: float, seed: int) -> dict:
    df, text, feats = dataset(name)
    labels = sorted(df["label"].astype(str).unique())
    rng = np.random.default_rng(seed)
    from sklearn.model_selection import train_test_split

    train, val = train_test_split(df, test_size=0.3, stratify=df["label"], random_state=seed)
    train = train.reset_index(drop=True)
    noisy = train["label"].astype(str).to_numpy().copy()
    flip = rng.choice(len(train), int(round(noise * len(train))), replace=False)
    for i in flip:
        noisy[i] = rng.choice([c for c in labels if c != noisy[i]])
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, collecting():
        tmp = Path(tmp)
        clean = project(tmp, "clean", train, val, labels, text, feats)
        truth_file = tmp / "truth.csv"
        train[["id", "label"]].to_csv(truth_file, index=False)
        api.label_import(clean, truth_file)
        acc_clean = accuracy(clean)
        p = project(tmp, "noisy", train, val, labels, text, feats)
        pd.DataFrame({"id": train["id"], "label": noisy}).to_csv(tmp / "noisy.csv", index=False)
        api.label_import(p, tmp / "noisy.csv", annotator="first")
        acc_noisy = accuracy(p)
        res = api.suspects(p, top=len(flip))
        top = [s["id"] for s in res.suspects]
        flipped = set(train["id"].iloc[flip])
        precision = len(set(top) & flipped) / len(flip)
        fix = train[train["id"].isin(top)][["id", "label"]]
        fix.to_csv(tmp / "fix.csv", index=False)
        api.label_import(p, tmp / "fix.csv", annotator="second-look")
        acc_fixed = accuracy(p)
    lost = acc_clean - acc_noisy
    return {"data": name, "rows": len(train), "classes": len(labels), "flipped": len(flip),
            "issues": res.n_issues, "precision": precision, "clean": acc_clean, "noisy": acc_noisy,
            "fixed": acc_fixed, "recovered": (acc_fixed - acc_noisy) / lost if lost > 0 else float("nan"),
            "seconds": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="digits,wine,penguins,screening")
    ap.add_argument("--noise", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print("| data | training rows | classes | flipped (K) | issues found | precision@K | clean | noisy | "
          "top K fixed | recovered | s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.datasets.split(","):
        r = run(name, args.noise, args.seed)
        print(f"| {r['data']} | {r['rows']} | {r['classes']} | {r['flipped']} | {r['issues']} | "
              f"{r['precision']:.2f} | {r['clean']:.4f} | {r['noisy']:.4f} | {r['fixed']:.4f} | "
              f"{r['recovered']:.2f} | {r['seconds']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
