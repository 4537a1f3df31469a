"""The report's data as one self-contained HTML page (inline CSS, images as data: URIs)
or as Markdown (the same sections; images as data: URIs too, so the file stands alone).
Every piece of text from the project is escaped."""

from __future__ import annotations

import base64
import html
from typing import Any, Callable

SECTIONS = [("summary", "Summary"), ("learning-curve", "Learning curve"), ("per-class", "Per-class scores"),
            ("confusion", "Confusion matrix"), ("cost", "Cost of improvement"), ("annotators", "Annotators"),
            ("explain", "Where the model was corrected, and why"), ("stopping", "Stopping rules")]

CSS = """body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:980px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}h1{font-size:1.5em}h2{font-size:1.15em;border-bottom:1px solid #ddd;
padding-bottom:.2em;margin-top:1.8em}table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}th{background:#f4f4f4}
img{max-width:100%;height:auto;border:1px solid #eee}.muted{color:#777}ul{padding-left:1.3em}"""


def _pct(x: Any) -> str:
    return "" if x is None else f"{100 * float(x):.1f}%"


def _num(x: Any, nd: int = 4) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:.{nd}f}"
    return str(x)


def _content(data: dict[str, Any], table: Callable, image: Callable, para: Callable,
             bullets: Callable) -> dict[str, list[str]]:
    """Section id -> blocks, built with the format's primitives."""
    ev = data.get("evaluation")
    metric = data["metric"]
    out: dict[str, list[str]] = {}
    s = [para(f"Project {data['project']}: {data['pool_rows']} pool rows, {data['n_labeled']} labeled; "
              f"model {data['model']}, strategy {data['strategy']}; report of {data['created']}.")]
    s.append(table(["label", "labeled"], [[k, v] for k, v in data["labels_per_class"].items()]))
    if ev:
        s.append(para(f"Model {ev['model_version']:04d} on {ev['n_labeled']} labels, measured on {ev['source']} "
                      f"({ev['n_eval']} rows): accuracy {ev['accuracy']:.4f} (95% interval "
                      f"{ev['accuracy_ci'][0]:.3f}–{ev['accuracy_ci'][1]:.3f}), macro-F1 {ev['macro_f1']:.4f} "
                      f"({ev['macro_f1_ci'][0]:.3f}–{ev['macro_f1_ci'][1]:.3f})."))
    elif data.get("evaluation_error"):
        s.append(para(f"No evaluation: {data['evaluation_error']}"))
    else:
        s.append(para("No model yet: run 'al retrain' and 'al evaluate'."))
    s.append(bullets(data["explain"]["summary"]))
    out["summary"] = s
    lc = []
    if "learning_curve" in data["images"]:
        lc.append(image("learning_curve", "learning curve: accuracy and macro-F1 against labels and minutes of labeling"))
    lc.append(table(["model", "labels", "minutes", "accuracy", "macro-F1", "kappa vs previous"],
                    [[f"{p['model_version']:04d}", p["n_labeled"], _num(p["labeling_minutes"], 1), _num(p["accuracy"]),
                      _num(p["macro_f1"]), _num(p.get("stability_kappa"), 3)] for p in data["curve"]])
              if data["curve"] else para("No evaluation on this held-out set yet."))
    out["learning-curve"] = lc
    pc = []
    if ev and ev["per_class"]:
        pc.append(image("per_class", "precision, recall and F1 per class"))
        pc.append(table(["class", "precision", "recall", "F1", "support"],
                        [[k, _num(v["precision"]), _num(v["recall"]), _num(v["f1"]), v["support"]]
                         for k, v in ev["per_class"].items()]))
    else:
        pc.append(para("No evaluation yet."))
    out["per-class"] = pc
    cm = []
    if ev:
        cm.append(image("confusion", "confusion matrix (rows: true, columns: predicted)"))
        labs = ev["confusion"]["labels"]
        cm.append(table(["true \\ predicted", *labs], [[lab, *row] for lab, row in zip(labs, ev["confusion"]["matrix"])]))
    else:
        cm.append(para("No evaluation yet."))
    out["confusion"] = cm
    out["cost"] = [table(["models", "new labels", "minutes", f"points of {metric}", "labels per point",
                          "minutes per point"],
                         [[f"{c['from']:04d} → {c['to']:04d}", c["labels"], _num(c["minutes"], 1), _num(c["points"], 2),
                           _num(c["labels_per_point"], 1), _num(c["minutes_per_point"], 1)] for c in data["cost"]])
                   if data["cost"] else para("Needs two evaluations on the same held-out set."),
                   para("A point is 0.01 of the metric. Minutes count timed answers and skips in the "
                        "terminal; imported labels carry no time.")]
    ag = data["agreement"]
    an = [table(["annotator", "current answers", "skips", "minutes", "median seconds per answer"],
                [[a["annotator"], a["answers"], a["skips"], _num(a["minutes"], 1), _num(a["median_seconds"], 1)]
                 for a in data["annotators"]]) if data["annotators"] else para("No answers yet.")]
    an.append(para(f"Items answered by more than one annotator: {ag['shared_items']}"
                   + (f", agreeing on {ag['agreeing']} ({_pct(ag['rate'])})." if ag["shared_items"] else ".")
                   + f" Labeled items whose annotators disagree: {data['disagreements']}."))
    out["annotators"] = an
    ex = data["explain"]
    e = [para(f"{ex['n_corrected']} of {ex['n_checked']} answers checked against the model's prediction at "
              f"query time were corrections ({_pct(ex['correction_rate'])}).")]
    if ex["pairs"]:
        e.append(table(["answered", "predicted", "count", "share"],
                       [[p["true"], p["predicted"], p["count"], _pct(p["share"])] for p in ex["pairs"][:10]]))
    if ex["tags"]:
        e.append(table(["tag", "corrections", "share", "top pair (predicted → answered)", "examples"],
                       [[t["tag"], t["count"], _pct(t["share"]),
                         f"{t['pairs'][0]['predicted']} → {t['pairs'][0]['true']}" if t["pairs"] else "",
                         ", ".join(t["examples"])] for t in ex["tags"][:10]]))
    if ex["drivers"]:
        e.append(table(["feature", "wrong predictions driven", "top pair (predicted → answered)", "examples"],
                       [[d["feature"], d["count"], f"{d['pairs'][0]['predicted']} → {d['pairs'][0]['true']}",
                         ", ".join(d["examples"])] for d in ex["drivers"][:10]]))
    if ex["by_round"]:
        e.append(table(["round", "checked", "corrected", "rate"],
                       [[r["round"], r["checked"], r["corrected"], _pct(r["rate"])] for r in ex["by_round"]]))
    out["explain"] = e
    out["stopping"] = [table(["rule", "where it stands", "what it does"],
                             [[r["rule"], r["measure"], r["note"]] for r in data["stopping"]])
                       if data["stopping"] else para("No evaluation yet.")]
    return out


def render_html(data: dict[str, Any]) -> tuple[str, list[str]]:
    esc = html.escape

    def table(head, rows) -> str:
        h = "".join(f"<th>{esc(str(c))}</th>" for c in head)
        b = "".join("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in r) + "</tr>" for r in rows)
        return f"<table><thead><tr>{h}</tr></thead><tbody>{b}</tbody></table>"

    def image(key, alt) -> str:
        png = data["images"].get(key)
        if png is None:
            return ""
        return f'<p><img alt="{esc(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}"></p>'

    def para(text) -> str:
        return f"<p>{esc(text)}</p>"

    def bullets(items) -> str:
        return "<ul>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>" if items else ""

    blocks = _content(data, table, image, para, bullets)
    body = [f"<h1>al report: {esc(data['project'])}</h1>"]
    for sid, title in SECTIONS:
        body.append(f'<section id="{sid}"><h2>{esc(title)}</h2>{"".join(blocks[sid])}</section>')
    page = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>al report: {esc(data['project'])}</title><style>{CSS}</style></head><body>"
            + "".join(body) + "</body></html>\n")
    return page, [sid for sid, _ in SECTIONS]


def render_markdown(data: dict[str, Any]) -> tuple[str, list[str]]:
    def cell(v) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    def table(head, rows) -> str:
        lines = ["| " + " | ".join(cell(c) for c in head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
        return "\n".join(lines)

    def image(key, alt) -> str:
        png = data["images"].get(key)
        return "" if png is None else f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})"

    def para(text) -> str:
        return cell(text)

    def bullets(items) -> str:
        return "\n".join(f"- {cell(i)}" for i in items)

    blocks = _content(data, table, image, para, bullets)
    parts = [f"# al report: {cell(data['project'])}"]
    for sid, title in SECTIONS:
        parts.append(f"## {title}")
        parts.extend(b for b in blocks[sid] if b)
    return "\n\n".join(parts) + "\n", [sid for sid, _ in SECTIONS]
