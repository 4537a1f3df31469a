"""Does a decision threshold fix macro-F1 on the rare-positive tables? (issue 13, item 3)

A numpy replica of bench_peers' protocol on ticdata and lending_club (stratified 70/30, 20
random first labels, batches of 10 for 20 rounds, balanced logistic regression; margin with
one row in ten at random, or random alone; 5 repeats), scoring each model on the test part
three ways: the argmax (what al predicts today), and the threshold on P(positive) that makes
the pool's predicted positive rate equal the prevalence estimated (a) from the rows drawn at
random so far (the 20 first and the random share: unbiased) or (b) from every label (biased
toward the boundary). Prints the AULC (mean over the 21 points) of accuracy and macro-F1.

    python benchmarks/bench_threshold.py                   # both sets, about 2 minutes
    python benchmarks/bench_threshold.py --datasets ticdata

Features: numeric columns median-imputed and standardised, the rest one-hot (close to al's
defaults, not al's code: this is a feasibility check, not al's path).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).resolve().parent


def load(name: str):
    d = pd.read_csv(HERE / "data" / f"{name}.csv.gz")
    y = d.pop("label").to_numpy()
    num, cat = d.select_dtypes("number"), d.select_dtypes(exclude="number")
    parts = [StandardScaler().fit_transform(num.fillna(num.median()))]
    if len(cat.columns):
        parts.append(pd.get_dummies(cat.astype(str)).to_numpy(float))
    return np.hstack(parts), y


def run(X, y, strategy: str, rep: int) -> dict[str, float]:
    pos = min(np.unique(y), key=lambda c: (y == c).sum())
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=rep)
    rng = np.random.default_rng(rep)
    lab = list(rng.choice(len(ytr), 20, replace=False))
    drawn = set(lab)  # rows drawn at random
    res: dict[str, list[float]] = {f"{m}_{r}": [] for r in ("argmax", "random_prev", "all_prev")
                                   for m in ("accuracy", "macro_f1")}

    def record(rule: str, pred) -> None:
        res[f"accuracy_{rule}"].append(accuracy_score(yte, pred))
        res[f"macro_f1_{rule}"].append(f1_score(yte, pred, average="macro"))

    for _ in range(21):
        yl = ytr[lab]
        unl = np.setdiff1d(np.arange(len(ytr)), lab)
        if len(set(yl)) < 2:
            for rule in ("argmax", "random_prev", "all_prev"):
                record(rule, np.full(len(yte), yl[0]))
            nxt = rng.choice(unl, 10, replace=False)
            drawn |= set(nxt)
            lab += list(nxt)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = LogisticRegression(max_iter=2000, class_weight="balanced").fit(Xtr[lab], yl)
        j = list(est.classes_).index(pos)
        other = est.classes_[1 - j]
        p_test, p_pool = est.predict_proba(Xte)[:, j], est.predict_proba(Xtr)[:, j]
        record("argmax", np.where(p_test >= 0.5, pos, other))
        for rule, sample in (("random_prev", sorted(drawn)), ("all_prev", lab)):
            prev = ((ytr[sample] == pos).sum() + 1) / (len(sample) + 2)
            record(rule, np.where(p_test >= np.quantile(p_pool, 1 - prev), pos, other))
        if strategy == "random":
            nxt = rng.choice(unl, 10, replace=False)
            drawn |= set(nxt)
        else:
            P = np.sort(est.predict_proba(Xtr[unl]), axis=1)
            top = unl[np.argsort(-(1 - (P[:, -1] - P[:, -2])))[:9]]
            extra = rng.choice(np.setdiff1d(unl, top), 1, replace=False)
            drawn |= set(extra)
            nxt = np.concatenate([top, extra])
        lab += list(nxt)
    return {k: float(np.mean(v)) for k, v in res.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default="ticdata,lending_club")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    print("| data set | queried by | rule | AULC accuracy | AULC macro-F1 |")
    print("|---|---|---|---:|---:|")
    for name in args.datasets.split(","):
        X, y = load(name)
        for strategy in ("margin", "random"):
            mean = pd.DataFrame([run(X, y, strategy, rep) for rep in range(args.repeats)]).mean()
            for rule in ("argmax", "random_prev", "all_prev"):
                print(f"| {name} | {strategy} | {rule} | {mean[f'accuracy_{rule}']:.3f} | "
                      f"{mean[f'macro_f1_{rule}']:.3f} |")


if __name__ == "__main__":
    main()
