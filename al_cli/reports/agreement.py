"""Inter-annotator agreement: pure functions of an item × annotator table of answers.

``answers`` is a DataFrame with columns ``id``, ``annotator``, ``label`` (one current
answer per annotator and item). Cohen's kappa per pair is scikit-learn's
(:func:`sklearn.metrics.cohen_kappa_score`); Fleiss' kappa (Fleiss 1971, with the
number of raters allowed to vary per item) and Krippendorff's alpha (nominal, missing
answers allowed; Krippendorff 2011, "Computing Krippendorff's alpha-reliability") are
written here from their definitions and tested against statsmodels and the
``krippendorff`` package. Intervals: percentile bootstrap over items.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any, Callable

import numpy as np
import pandas as pd

BOOT = 1000


def count_matrix(answers: pd.DataFrame, categories: list[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """(items × categories counts, the categories): how many annotators gave each label."""
    cats = categories or sorted(answers["label"].astype(str).unique())
    t = pd.crosstab(answers["id"], answers["label"].astype(str)).reindex(columns=cats, fill_value=0)
    return t.to_numpy(dtype=float), cats


def fleiss_kappa(counts: np.ndarray) -> float:
    """Fleiss' kappa over items with at least two answers (rows of ``counts``)."""
    n_i = counts.sum(axis=1)
    keep = n_i >= 2
    counts, n_i = counts[keep], n_i[keep]
    if len(counts) == 0:
        return float("nan")
    p_i = ((counts ** 2).sum(axis=1) - n_i) / (n_i * (n_i - 1))
    p_bar = p_i.mean()
    p_j = counts.sum(axis=0) / n_i.sum()
    p_e = (p_j ** 2).sum()
    if p_e >= 1:
        return 1.0 if p_bar >= 1 else float("nan")
    return float((p_bar - p_e) / (1 - p_e))


def krippendorff_alpha(counts: np.ndarray) -> float:
    """Krippendorff's alpha, nominal metric, from items × categories counts (an item with
    fewer than two answers is not pairable and is dropped)."""
    m_u = counts.sum(axis=1)
    keep = m_u >= 2
    counts, m_u = counts[keep], m_u[keep]
    if len(counts) == 0:
        return float("nan")
    # coincidence matrix o_ck = sum_u n_uc (n_uk - [c == k]) / (m_u - 1)
    o = np.einsum("uc,uk->ck", counts / (m_u - 1)[:, None], counts)
    o -= np.diag((counts / (m_u - 1)[:, None]).sum(axis=0))
    n_c = o.sum(axis=1)
    n = n_c.sum()
    d_o = o.sum() - np.trace(o)
    d_e = (n * n - (n_c ** 2).sum()) / (n - 1)
    if d_e == 0:
        return 1.0 if d_o == 0 else float("nan")
    return float(1 - d_o / d_e)


def _bootstrap(stat: Callable[[np.ndarray], float], n_items: int, rng: np.random.Generator,
               n_boot: int = BOOT) -> list[float] | None:
    if n_items < 2:
        return None
    vals = []
    for _ in range(n_boot):
        v = stat(rng.integers(0, n_items, n_items))
        if v == v:
            vals.append(v)
    if not vals:
        return None
    lo, hi = np.percentile(vals, [2.5, 97.5])
    return [round(float(lo), 4), round(float(hi), 4)]


def pairwise(answers: pd.DataFrame, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Cohen's kappa and raw agreement for each pair of annotators over the items both answered."""
    from sklearn.metrics import cohen_kappa_score

    wide = answers.pivot(index="id", columns="annotator", values="label")
    out = []
    for a, b in combinations(sorted(wide.columns, key=str), 2):
        both = wide[[a, b]].dropna()
        if len(both) == 0:
            continue
        x, y = both[a].astype(str).to_numpy(), both[b].astype(str).to_numpy()
        k = float(cohen_kappa_score(x, y)) if not (x == y).all() else 1.0
        out.append({"a": str(a), "b": str(b), "items": int(len(both)), "agreement": round(float((x == y).mean()), 4),
                    "kappa": None if k != k else round(k, 6), "kappa_ci": _kappa_ci(x, y, rng)})
    return out


def _kappa_ci(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, n_boot: int = BOOT) -> list[float] | None:
    """Bootstrap interval of Cohen's kappa over items: kappa depends on the items only
    through the two annotators' confusion matrix, so a resample is a multinomial draw of it."""
    n = len(x)
    if n < 2:
        return None
    cats = sorted(set(x) | set(y))
    code = {c: i for i, c in enumerate(cats)}
    m = len(cats)
    cells = np.bincount(np.array([code[v] for v in x]) * m + np.array([code[v] for v in y]), minlength=m * m)
    draws = rng.multinomial(n, cells / n, size=n_boot).reshape(n_boot, m, m).astype(float)
    po = np.einsum("bii->b", draws) / n
    pe = (draws.sum(axis=2) * draws.sum(axis=1)).sum(axis=1) / n ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        kappa = np.where(pe < 1, (po - pe) / (1 - pe), np.where(po >= 1, 1.0, np.nan))
    kappa = kappa[~np.isnan(kappa)]
    if not len(kappa):
        return None
    lo, hi = np.percentile(kappa, [2.5, 97.5])
    return [round(float(lo), 4), round(float(hi), 4)]


def overall(answers: pd.DataFrame, rng: np.random.Generator) -> dict[str, Any]:
    counts, cats = count_matrix(answers)
    multi = counts[counts.sum(axis=1) >= 2]
    fk, ka = fleiss_kappa(multi), krippendorff_alpha(multi)
    return {"items": int(len(multi)), "categories": cats,
            "fleiss_kappa": None if fk != fk else round(fk, 6),
            "fleiss_kappa_ci": _bootstrap(lambda i: fleiss_kappa(multi[i]), len(multi), rng),
            "krippendorff_alpha": None if ka != ka else round(ka, 6),
            "krippendorff_alpha_ci": _bootstrap(lambda i: krippendorff_alpha(multi[i]), len(multi), rng)}


def others_majority(answers: pd.DataFrame) -> pd.Series:
    """For each (id, annotator): the label most of the *other* annotators gave the item
    (NaN when the others tie or there are none): a consensus that does not count the
    annotator's own vote."""
    counts = answers.groupby(["id", "label"]).size()
    out = {}
    for (item, who), own in answers.set_index(["id", "annotator"])["label"].items():
        c = counts.loc[item].copy()
        c[own] -= 1
        c = c[c > 0]
        if len(c) and (c == c.max()).sum() == 1:
            out[(item, who)] = c.idxmax()
    return pd.Series(out, dtype=object)


def per_annotator(answers: pd.DataFrame, log: pd.DataFrame, session_gap_minutes: float = 30.0) -> list[dict[str, Any]]:
    """Items, median seconds, skip rate, agreement with the others' majority, and drift:
    that agreement over the first and second half of the annotator's answers (in time) and
    early vs late within a session (answers less than ``session_gap_minutes`` apart)."""
    maj = others_majority(answers)
    rows = []
    for who, mine in answers.groupby("annotator", sort=True):
        events = log[log["annotator"] == who]
        secs = pd.to_numeric(events.loc[events["status"] == "labeled", "seconds"], errors="coerce")
        secs = secs[secs > 0]
        n_skip = int((events["status"] == "skipped").sum())
        mine = mine.copy()
        mine["ref"] = [maj.get((i, who), np.nan) for i in mine["id"]]
        scored = mine[mine["ref"].notna()].copy()
        scored["ok"] = (scored["label"].astype(str) == scored["ref"].astype(str)).to_numpy()
        t = pd.to_datetime(scored["time"], errors="coerce", utc=True) if "time" in scored else pd.Series(dtype="datetime64[ns, UTC]")
        scored = scored.assign(_t=t).sort_values("_t", kind="stable")
        half = len(scored) // 2
        gap = scored["_t"].diff().dt.total_seconds().div(60).fillna(np.inf) > session_gap_minutes
        scored["pos"] = scored.groupby(gap.cumsum()).cumcount()
        med_pos = scored["pos"].median() if len(scored) else 0

        def rate(frame):
            return None if len(frame) == 0 else round(float(frame["ok"].mean()), 4)

        rows.append({"annotator": str(who), "items": int(len(mine)),
                     "median_seconds": None if secs.empty else round(float(secs.median()), 2),
                     "skip_rate": round(n_skip / (n_skip + len(events[events["status"] == "labeled"])), 4)
                     if n_skip + len(events) else 0.0,
                     "compared": int(len(scored)), "agreement_with_consensus": rate(scored),
                     "early": rate(scored.iloc[:half]) if half else None,
                     "late": rate(scored.iloc[half:]) if half else None,
                     "early_in_session": rate(scored[scored["pos"] <= med_pos]) if len(scored) >= 4 else None,
                     "late_in_session": rate(scored[scored["pos"] > med_pos]) if len(scored) >= 4 else None})
    _flag(rows)
    return rows


def _flag(rows: list[dict[str, Any]], min_items: int = 10, gap: float = 0.1) -> None:
    """Flag an annotator whose agreement with the consensus is at least ``gap`` below the
    median of the others (over at least ``min_items`` compared items)."""
    for r in rows:
        others = [o["agreement_with_consensus"] for o in rows
                  if o is not r and o["agreement_with_consensus"] is not None]
        mine = r["agreement_with_consensus"]
        r["flagged"] = bool(mine is not None and others and r["compared"] >= min_items
                            and mine <= float(np.median(others)) - gap)
        drift = None
        if r["early"] is not None and r["late"] is not None and r["late"] <= r["early"] - gap:
            drift = f"agreement fell from {r['early']:.2f} to {r['late']:.2f} over their work"
        elif (r["early_in_session"] is not None and r["late_in_session"] is not None
              and r["late_in_session"] <= r["early_in_session"] - gap):
            drift = (f"agreement falls late in a session ({r['early_in_session']:.2f} -> "
                     f"{r['late_in_session']:.2f}): tiredness?")
        r["drift"] = drift
