"""Sanity check, scikit-learn only: does accuracy rise under active learning?

    python sample_projects/simulate.py penguins  [--seed-size 8 --batch 8 --rounds 5]
    python sample_projects/simulate.py screening [--seed-size 20 --batch 20 --rounds 5]

Seed = the pool rows nearest to k-means centroids; then ROUNDS rounds of
least-confidence picks answered from answers.csv; logistic regression (median /
mode imputation, scaling, one-hot; TF-IDF for text); accuracy and macro-F1 on
validation.csv after each round. Independent of `al`; only a reference curve.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

HERE = Path(__file__).resolve().parent


def features(pool: pd.DataFrame):
    if "title" in pool.columns:   # text project
        join = FunctionTransformer(lambda d: (d["title"].fillna("") + " " + d["abstract"].fillna("")).tolist())
        return make_pipeline(join, TfidfVectorizer(sublinear_tf=True, min_df=2, stop_words="english"))
    X = pool.drop(columns="id")
    cat = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    num = [c for c in X.columns if c not in cat]
    return ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), num),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), cat)])


def run(name: str, seed: int, seed_size: int, batch: int, rounds: int) -> list[tuple[int, float, float]]:
    folder = HERE / name
    pool = pd.read_csv(folder / "pool.csv")
    val = pd.read_csv(folder / "validation.csv")
    answers = pd.read_csv(folder / "answers.csv").set_index("id")["label"]
    y = answers.loc[pool["id"]].to_numpy()
    X, Xv, yv = pool.drop(columns="id"), val.drop(columns=["id", "label"]), val["label"].to_numpy()
    rng = np.random.default_rng(seed)

    Z = features(pool).fit_transform(X)
    km = KMeans(seed_size, n_init=10, random_state=seed).fit(Z)
    dist = km.transform(Z)
    chosen: list[int] = []
    for k in range(seed_size):
        order = np.argsort(dist[:, k])
        chosen.append(int(next(i for i in order if i not in chosen)))

    out = []
    for r in range(rounds + 1):
        model = make_pipeline(features(pool), LogisticRegression(max_iter=2000, class_weight="balanced"))
        if len(set(y[chosen])) < 2:
            out.append((len(chosen), float("nan"), float("nan")))
            model = None
        else:
            model.fit(X.iloc[chosen], y[chosen])
            pred = model.predict(Xv)
            out.append((len(chosen), accuracy_score(yv, pred), f1_score(yv, pred, average="macro")))
        if r == rounds:
            break
        rest = np.setdiff1d(np.arange(len(X)), chosen)
        if model is None:
            pick = rng.choice(rest, batch, replace=False)
        else:
            conf = model.predict_proba(X.iloc[rest]).max(axis=1) + rng.random(len(rest)) * 1e-9
            pick = rest[np.argsort(conf)[:batch]]
        chosen += [int(i) for i in pick]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("project", choices=["penguins", "screening"])
    ap.add_argument("--seed-size", type=int)
    ap.add_argument("--batch", type=int)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=3, help="how many random seeds to try")
    a = ap.parse_args()
    default = 8 if a.project == "penguins" else 20
    for s in range(a.seeds):
        curve = run(a.project, s, a.seed_size or default, a.batch or default, a.rounds)
        print(f"seed {s}: " + "  ".join(f"n={n} acc={acc:.3f} f1={f1:.3f}" for n, acc, f1 in curve))


if __name__ == "__main__":
    main()
