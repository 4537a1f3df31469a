"""Commands that take the work away: export (the labeled set), predict (the model on
data). Each calls one use case (``al_cli.commands``) and renders text or ``--json``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from al_cli import console as con
from al_cli.cli.common import JsonOpt, ProjectOpt, app, counts, examples, handle, open_project


def _write_stdout(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _emitted(res, json_out: bool, said: str) -> bool:
    """Write a result whose ``text`` is set (output '-') to stdout, saying ``said`` on
    stderr, or the result as JSON (without ``text``); False when the caller prints text."""
    from al_cli import api

    if res.text is not None:
        _write_stdout(res.text)
        if said:
            con.message("info", said)
        return True
    if json_out:
        d = api.as_dict(res)
        d.pop("text", None)
        con.print_json(d)
        return True
    return False


# ----------------------------------------------------------------------------- export
@app.command(epilog=examples("al export -o labeled.csv",
                             "al export --with-data -o labeled.parquet",
                             "al export | head          (CSV on standard output)"))
@handle
def export(
    project: Optional[Path] = ProjectOpt,
    output: str = typer.Option("-", "--output", "-o", help="CSV, or Parquet by extension (.parquet); '-': CSV on standard output."),
    with_data: bool = typer.Option(False, "--with-data", help="Add the pool's columns to each row."),
    json_out: bool = JsonOpt,
) -> None:
    """The labeled set, one row per id: current label, who answered, disagreement, notes, tags."""
    from al_cli import api

    if json_out and output == "-":
        raise typer.BadParameter("-o - writes the CSV to standard output: give -o FILE with --json")
    res = api.export(open_project(project), output, with_data=with_data)
    if _emitted(res, json_out, f"wrote {res.n_rows} labeled row(s) to standard output"):
        return
    dis = f", {res.n_disagree} with disagreeing answers" if res.n_disagree else ""
    con.line(f"wrote {res.n_rows} labeled row(s){dis} to {res.path}")


# ----------------------------------------------------------------------------- predict
@app.command(epilog=examples("al predict -o pool_predictions.csv        (the whole pool)",
                             "al predict --data new_posts.csv -o new.csv",
                             "al predict --data - --model 3 < new.csv   (standard input, model 0003)",
                             "al predict --ranked -o review_list.csv   (discovery: unread documents, likeliest relevant first)"))
@handle
def predict(
    project: Optional[Path] = ProjectOpt,
    data: Optional[str] = typer.Option(None, "--data", help="New rows (CSV/Parquet, '-': standard input) with the columns the model was trained on. Default: the whole pool, labeled rows marked."),
    model: Optional[int] = typer.Option(None, "--model", min=1, help="Model version (default: the latest)."),
    output: str = typer.Option("-", "--output", "-o", help="CSV, or Parquet by extension; '-': CSV on standard output."),
    ranked: bool = typer.Option(False, "--ranked", help="Discovery: the review list, the unread documents (or the --data rows) from the likeliest relevant down, with a rank column."),
    json_out: bool = JsonOpt,
) -> None:
    """The model applied to new data or to the pool: predicted label, confidence, per-class probabilities."""
    from al_cli import api

    if json_out and output == "-":
        raise typer.BadParameter("-o - writes the CSV to standard output: give -o FILE with --json")
    res = api.predict(open_project(project), data=data, model=model, output=output, ranked=ranked)
    if _emitted(res, json_out, f"model {res.model_version:04d}: wrote {res.n_rows} prediction(s) to standard output"):
        return
    con.line(f"model {res.model_version:04d}: wrote {res.n_rows} prediction(s) for {res.source} to {res.path}")
    con.line(f"  predicted: {counts(res.predicted_counts)}")


# ----------------------------------------------------------------------------- explain
@app.command(epilog=examples("al explain", "al explain --json | jq '.summary[]'"))
@handle
def explain(
    project: Optional[Path] = ProjectOpt,
    top: int = typer.Option(10, "--top", min=1, help="Rows shown per table."),
    json_out: bool = JsonOpt,
) -> None:
    """Where the annotators corrected the model, and why it was confused: pairs, tags, notes, features."""
    from al_cli import api

    res = api.explain(open_project(project))
    if json_out:
        con.print_json(api.as_dict(res))
        return
    for sentence in res.summary:
        con.line(sentence)
    if res.n_answered_unchecked:
        con.message("info", f"{res.n_answered_unchecked} answered row(s) have no prediction recorded at query "
                            "time (the seed, imports of rows never queued, or rows queued before a model existed "
                            "or before al recorded predictions)")
    if not res.n_corrected:
        return
    pct = lambda x: f"{100 * x:.0f}%"  # noqa: E731
    con.table("corrections per round", ["round", "checked", "corrected", "rate"],
              [[r["round"], r["checked"], r["corrected"], pct(r["rate"])] for r in res.by_round][-top:])
    con.table("per answered class", ["label", "checked", "corrected", "rate"],
              [[r["label"], r["checked"], r["corrected"], pct(r["rate"])] for r in res.by_class])
    con.table("confusion pairs (answered <- predicted)", ["answered", "predicted", "count", "share"],
              [[r["true"], r["predicted"], r["count"], pct(r["share"])] for r in res.pairs[:top]])
    if res.tags:
        con.table("tags on corrections", ["tag", "corrections", "share", "top pair", "examples"],
                  [[t["tag"], t["count"], pct(t["share"]),
                    f"{t['pairs'][0]['predicted']} -> {t['pairs'][0]['true']}" if t["pairs"] else "",
                    ", ".join(t["examples"])] for t in res.tags[:top]])
    if res.note_words:
        con.table("words in notes of corrections", ["word", "count", "share"],
                  [[w["word"], w["count"], pct(w["share"])] for w in res.note_words[:top]])
    if res.drivers:
        con.table("what drove the wrong predictions", ["feature", "corrections", "top pair", "examples"],
                  [[d["feature"], d["count"], f"{d['pairs'][0]['predicted']} -> {d['pairs'][0]['true']}",
                    ", ".join(d["examples"])] for d in res.drivers[:top]])
    con.table("most confident corrections", ["id", "answered", "predicted", "confidence", "why predicted", "note"],
              [[c["id"], c["true"], c["predicted"], "" if c["confidence"] is None else f"{c['confidence']:.3f}",
                c["drivers"], c["note"][:50]] for c in res.corrections[:top]])


# ----------------------------------------------------------------------------- report
@app.command(epilog=examples("al report                     (report.html in the project)",
                             "al report -o ~/reports/moderation.html",
                             "al report --markdown -o REPORT.md"))
@handle
def report(
    project: Optional[Path] = ProjectOpt,
    output: Optional[str] = typer.Option(None, "--output", "-o", help="The file to write (default: report.html, or report.md, in the project); '-': standard output."),
    markdown: bool = typer.Option(False, "--markdown", help="Markdown instead of HTML (images embedded too)."),
    metric: str = typer.Option("accuracy", "--metric", help="accuracy or macro_f1: the metric the cost and stopping sections read."),
    json_out: bool = JsonOpt,
) -> None:
    """One self-contained file: learning curve, per-class scores, confusion, cost, annotators, explain, stopping."""
    from al_cli import api

    if metric not in ("accuracy", "macro_f1"):
        raise typer.BadParameter("--metric must be accuracy or macro_f1")
    if json_out and output == "-":
        raise typer.BadParameter("-o - writes the report to standard output: leave out --json")
    res = api.report(open_project(project), output, markdown=markdown, metric=metric)
    if _emitted(res, json_out, ""):
        return
    con.line(f"wrote {res.path} ({res.format}, {len(res.sections)} sections, {res.images} image(s))")


# ----------------------------------------------------------------------------- agreement
@app.command(epilog=examples("al agreement", "al agreement --json | jq .flagged"))
@handle
def agreement(project: Optional[Path] = ProjectOpt, json_out: bool = JsonOpt) -> None:
    """Agreement between annotators (Cohen's kappa per pair, Fleiss' kappa, Krippendorff's alpha) and who drifts."""
    from al_cli import api

    res = api.agreement(open_project(project))
    if json_out:
        con.print_json(api.as_dict(res))
        return
    ci = lambda c: "" if not c else f" [{c[0]:.3f}, {c[1]:.3f}]"  # noqa: E731
    num = lambda v, nd=3: "n/a" if v is None else f"{v:.{nd}f}"  # noqa: E731
    if not res.items:
        con.line("no item has answers from two or more annotators yet: nothing to compare "
                 "(labeling.overlap in al.yaml makes everyone label a share of each batch)")
    else:
        con.line(f"{res.items} item(s) answered by two or more annotators: Fleiss' kappa "
                 f"{num(res.fleiss_kappa)}{ci(res.fleiss_kappa_ci)}, Krippendorff's alpha "
                 f"{num(res.krippendorff_alpha)}{ci(res.krippendorff_alpha_ci)} (95% intervals)")
        con.table("pairs", ["annotators", "items", "agreement", "Cohen's kappa", "95% interval"],
                  [[f"{p['a']} / {p['b']}", p["items"], f"{p['agreement']:.3f}", num(p["kappa"]),
                    ci(p["kappa_ci"]).strip()] for p in res.pairs])
    if res.annotators:
        con.table("annotators (agreement with the others' majority)",
                  ["annotator", "items", "median s", "skip rate", "agreement", "early", "late", "flag"],
                  [[a["annotator"], a["items"], num(a["median_seconds"], 1), f"{a['skip_rate']:.2f}",
                    num(a["agreement_with_consensus"]), num(a["early"]), num(a["late"]),
                    "FLAGGED" if a["flagged"] else ""] for a in res.annotators])
    for a in res.annotators:
        if a["flagged"]:
            con.message("warning", f"{a['annotator']} agrees with the others' majority on "
                                   f"{a['agreement_with_consensus']:.0%} of {a['compared']} items, far below the "
                                   "rest: check their answers (al export shows who answered what)")
        if a.get("drift"):
            con.message("warning", f"{a['annotator']}: {a['drift']}")


# ----------------------------------------------------------------------------- suspects
@app.command(epilog=examples("al suspects", "al suspects --top 50 --export second_look.csv   (answer it again: al label --import)"))
@handle
def suspects(
    project: Optional[Path] = ProjectOpt,
    top: int = typer.Option(20, "--top", min=1, help="How many of the most suspect labels to list."),
    export: Optional[str] = typer.Option(None, "--export", help="Write those rows to a CSV ('-': standard output) with an empty label column, to answer again and import."),
    json_out: bool = JsonOpt,
) -> None:
    """Labels that are probably wrong (confident learning on out-of-fold probabilities), most suspect first."""
    from al_cli import api
    from al_cli.commands.suspects import frame
    from al_cli.commands.tables import write_table

    if json_out and export == "-":
        raise typer.BadParameter("--export - writes the CSV to standard output: leave out --json")
    proj = open_project(project)
    res = api.suspects(proj, top=top)
    if export is not None:
        f = frame(res)
        out = f[["id"]].assign(label="", annotator="", note="", given=f["label"], suggested=f["suggested"],
                               self_confidence=f["self_confidence"])
        path, text = write_table(out, export)
        if text is not None:
            _write_stdout(text)
            con.message("info", f"wrote {len(out)} suspect label(s) to standard output")
            return
        con.message("info", f"wrote {len(out)} suspect label(s) to {path}: fill 'label' and run "
                            f"'al label --import {path}'")
    if json_out:
        con.print_json(api.as_dict(res))
        return
    con.line(f"{res.n_issues} of {res.n_checked} training labels look wrong to a {res.folds}-fold "
             "out-of-fold model (confident learning); the most suspect:")
    con.table(None, ["id", "label", "suggested", "p(label)", "p(suggested)", "issue", "annotator", "note"],
              [[s["id"], s["label"], s["suggested"], f"{s['self_confidence']:.3f}",
                f"{s['suggested_confidence']:.3f}", "yes" if s["issue"] else "", s["annotator"], s["note"][:40]]
               for s in res.suspects])
