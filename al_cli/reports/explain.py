"""Why the model was confused, from the corrections: the answers that differed from what
the model predicted when the row was queued. Pure: a frame in, a plain dict out.

The frame has one row per checked item (an answered row with a recorded prediction):
``id, true, predicted, confidence, round, purpose, note, tags, drivers`` (``tags`` the
space-separated ``#tags`` of the notes, ``drivers`` the queried.csv cell).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from al_cli.reports.drivers import decode

EXAMPLES = 3
STOP_WORDS = set("""a an and are as at be but by for from has have i in is it its not of on or so
that the this to was were with no yes too very just also than then there these those they them
he she we you your our my me his her their what which who whom why how when where all any some
one two do does did done can could would should will may might must shall if about after again
against before into over out up down only more most other such own same because while through
during under above below off once here both each few nor now get got like""".split())
WORD = re.compile(r"[^\W\d_][\w'-]{2,}", re.UNICODE)


def _rate(corrected: int, checked: int) -> float:
    return round(corrected / checked, 4) if checked else 0.0


def _pairs(frame: pd.DataFrame) -> list[dict[str, Any]]:
    if frame.empty:
        return []
    c = frame.groupby(["true", "predicted"], sort=False).size().sort_values(ascending=False, kind="stable")
    total = int(c.sum())
    return [{"true": str(t), "predicted": str(p), "count": int(n), "share": _rate(int(n), total)}
            for (t, p), n in c.items()]


def _grouped(frame: pd.DataFrame, key: str) -> list[dict[str, Any]]:
    out = []
    for k, g in frame.groupby(key, sort=True):
        n_corr = int(g["corrected"].sum())
        out.append({key if key != "true" else "label": k if key != "round" else int(k), "checked": len(g),
                    "corrected": n_corr, "rate": _rate(n_corr, len(g))})
    return out


def _tags_of(cell: Any) -> list[str]:
    return list(dict.fromkeys(str(cell).split())) if isinstance(cell, str) and cell.strip() else []


def _by_tag(frame: pd.DataFrame, corr: pd.DataFrame) -> list[dict[str, Any]]:
    n_corr = len(corr)
    tagged_all = Counter(t for cell in frame["tags"] for t in _tags_of(cell))
    rows = []
    for tag in sorted({t for cell in corr["tags"] for t in _tags_of(cell)}):
        sub = corr[corr["tags"].map(lambda c, t=tag: t in _tags_of(c))]
        rows.append({"tag": tag, "count": len(sub), "share": _rate(len(sub), n_corr),
                     "tagged": int(tagged_all[tag]), "corrected_when_tagged": _rate(len(sub), int(tagged_all[tag])),
                     "pairs": _pairs(sub), "examples": sub["id"].astype(str).head(EXAMPLES).tolist()})
    rows.sort(key=lambda r: (-r["count"], r["tag"]))
    return rows


def _note_words(corr: pd.DataFrame, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Words of the notes (tags aside) that recur among corrections."""
    def words(note: Any) -> set[str]:
        text = re.sub(r"#[\w-]+", " ", note if isinstance(note, str) else "")
        return {w.lower() for w in WORD.findall(text)} - STOP_WORDS

    in_corr = Counter(w for n in corr["note"] for w in words(n))
    in_all = Counter(w for n in frame["note"] for w in words(n))
    rows = [{"word": w, "count": int(n), "share": _rate(int(n), len(corr)),
             "corrected_when_written": _rate(int(n), int(in_all[w]))}
            for w, n in in_corr.items() if n >= 2]
    rows.sort(key=lambda r: (-r["count"], r["word"]))
    return rows[:10]


def _drivers(corr: pd.DataFrame) -> list[dict[str, Any]]:
    """Features that drove wrong predictions: in how many corrections each was among the
    top drivers, with the confusion pairs it drove."""
    seen: dict[str, list[tuple[str, str, str]]] = {}
    for r in corr.itertuples():
        for f in decode(r.drivers):
            seen.setdefault(f, []).append((str(r.id), str(r.true), str(r.predicted)))
    rows = []
    for f, hits in seen.items():
        pairs = Counter((t, p) for _, t, p in hits).most_common()
        rows.append({"feature": f, "count": len(hits), "share": _rate(len(hits), len(corr)),
                     "pairs": [{"true": t, "predicted": p, "count": n} for (t, p), n in pairs],
                     "examples": [i for i, _, _ in hits[:EXAMPLES]]})
    rows.sort(key=lambda r: (-r["count"], r["feature"]))
    return rows[:15]


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _sentences(n_checked: int, corr: pd.DataFrame, pairs, tags, drivers, by_class, words) -> list[str]:
    n = len(corr)
    if n_checked == 0:
        return ["No answered row has a recorded prediction yet: corrections are counted for rows "
                "queued by 'al query' once a model exists."]
    if n == 0:
        return [f"The model's prediction at query time matched every one of the {n_checked} answers "
                "checked: no correction to explain."]
    out = [f"{n} of {n_checked} answers ({_pct(n / n_checked)}) corrected the model's prediction at query time."]
    if pairs:
        top = pairs[0]
        out.append(f"The most common correction is {top['predicted']} -> {top['true']} (predicted "
                   f"{top['predicted']}, answered {top['true']}): {top['count']} of {n} ({_pct(top['share'])}).")
    for t in tags[:3]:
        if t["count"] < 2 and n >= 4:
            continue
        pair = t["pairs"][0] if t["pairs"] else None
        how = ""
        if pair:
            dominance = pair["count"] / t["count"]
            lead = "all" if dominance == 1 else "nearly all" if dominance >= 0.8 else "most" if dominance > 0.5 else "mostly"
            how = f", {lead} {pair['predicted']} -> {pair['true']}"
        out.append(f"{_pct(t['share'])} of corrections are tagged {t['tag']}{how}.")
    for d in drivers[:2]:
        if d["count"] < 2:
            continue
        pair = d["pairs"][0]
        out.append(f"'{d['feature']}' pushed {d['count']} of the wrong predictions ({_pct(d['share'])}), "
                   f"mostly toward {pair['predicted']} when the answer was {pair['true']}.")
    worst = max(by_class, key=lambda r: (r["rate"], r["checked"]), default=None)
    if worst and worst["corrected"] >= 2 and len(by_class) > 1:
        out.append(f"Rows answered {worst['label']} were corrected most often: {worst['corrected']} of "
                   f"{worst['checked']} ({_pct(worst['rate'])}).")
    if words:
        w = words[0]
        out.append(f"The notes of corrections often say '{w['word']}' ({w['count']} of {n}).")
    return out


def explain(frame: pd.DataFrame) -> dict[str, Any]:
    """The report (see the module docstring for ``frame``)."""
    frame = frame.copy()
    frame["corrected"] = (frame["true"].astype(str) != frame["predicted"].astype(str)).to_numpy()
    corr = frame[frame["corrected"]]
    pairs = _pairs(corr)
    tags = _by_tag(frame, corr)
    drivers = _drivers(corr)
    by_class = _grouped(frame, "true")
    words = _note_words(corr, frame)
    items = [{"id": str(r.id), "true": str(r.true), "predicted": str(r.predicted),
              "confidence": None if r.confidence != r.confidence else round(float(r.confidence), 6),
              "round": int(r.round), "tags": _tags_of(r.tags), "note": r.note if isinstance(r.note, str) else "",
              "drivers": r.drivers if isinstance(r.drivers, str) else ""}
             for r in corr.sort_values("confidence", ascending=False, kind="stable").itertuples()]
    return {
        "n_checked": int(len(frame)),
        "n_corrected": int(len(corr)),
        "correction_rate": _rate(len(corr), len(frame)),
        "by_round": _grouped(frame, "round"),
        "by_class": by_class,
        "pairs": pairs,
        "tags": tags,
        "note_words": words,
        "drivers": drivers,
        "corrections": items,
        "summary": _sentences(len(frame), corr, pairs, tags, drivers, by_class, words),
        "mean_confidence_corrected": None if corr.empty else round(float(np.nanmean(corr["confidence"])), 4),
    }
