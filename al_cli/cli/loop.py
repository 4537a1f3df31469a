"""The loop's commands: init, seed, label, retrain, evaluate, score, query, status.

Each parses its options, calls one use case (``al_cli.commands``, imported when the
command runs) and renders the result as text or ``--json``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, List, Optional

import typer

from al_cli import console as con
from al_cli.cli.common import (
    JsonOpt,
    ProjectOpt,
    app,
    between,
    choice,
    counts,
    examples,
    handle,
    hint,
    model_names,
    text_extractors,
    names_help,
    open_project,
    spec_choice,
    split,
    strategy_names,
)
from al_cli.cli import run
from al_cli.errors import AlError

SchedulerOpt = typer.Option(None, "--scheduler", help="Score on a dask.distributed cluster: the scheduler's address (tcp://host:8786); over compute.scheduler in al.yaml. Needs the extra al-cli[dask].")
from al_cli.strategies.registry import DIVERSITY, SEED_STRATEGIES


# ----------------------------------------------------------------------------- init
@app.command(epilog=examples("al init moderation --data posts.csv --id-column post_id --text-column body "
                             "--labels ok,spam,abuse --validation held_out.csv --label-column label"))
@handle
def init(
    directory: Path = typer.Argument(..., help="Project folder to create."),
    data: Path = typer.Option(..., "--data", help="The pool: CSV or Parquet, read but never modified."),
    id_column: Optional[str] = typer.Option(None, "--id-column", help="Column with a unique id per row. Without it ids are 'row1', 'row2', ... by position (stable while rows are only appended)."),
    text_column: Optional[List[str]] = typer.Option(None, "--text-column", help="Text column(s) for TF-IDF; repeat or comma-separate."),
    feature_columns: Optional[str] = typer.Option(None, "--feature-columns", help="Comma-separated numeric/categorical columns. Default: every other column (free-text-looking columns are skipped)."),
    labels: Optional[str] = typer.Option(None, "--labels", help="Comma-separated label set; keys 1..9 follow this order."),
    validation: Optional[Path] = typer.Option(None, "--validation", help="Held-out labeled file for 'al evaluate'."),
    label_column: str = typer.Option("label", "--label-column", help="Label column of the validation file."),
    model: Optional[str] = typer.Option(None, "--model", callback=choice(model_names), help=names_help(model_names()) + ". Default: logistic_regression; relevance_lr for --task discovery."),
    strategy: Optional[str] = typer.Option(None, "--strategy", callback=choice(strategy_names), help="Default query strategy (see 'al query --help'): " + names_help(strategy_names()) + ". Default: auto (adaptive); relevance for --task discovery."),
    task: str = typer.Option("classification", "--task", callback=choice(("classification", "discovery")), help="classification, or discovery: find the documents of the --relevant label first (legal review, screening)."),
    relevant: Optional[str] = typer.Option(None, "--relevant", help="With --task discovery: the label sought."),
    text_features: Optional[str] = typer.Option(None, "--text-features", callback=choice(text_extractors), help="Features of the text columns: " + names_help(text_extractors()) + " (minilm: sentence embeddings, extra al-cli[embeddings]). Default: tfidf; tfidf_saturated for --task discovery."),
    image_column: Optional[List[str]] = typer.Option(None, "--image-column", help="Column(s) of image paths (relative: to the pool file's folder); features from the pixels, drawn in the labeler."),
    embedding_file: Optional[Path] = typer.Option(None, "--embedding-file", help="Your own vectors keyed by id (needs --id-column): .npz (arrays ids, embeddings), .parquet or .csv (id column + one column per dimension), or .npy (one row per pool row, in order)."),
    embedding_columns: Optional[str] = typer.Option(None, "--embedding-columns", help="Pool columns holding your own vectors: names or patterns, comma-separated (emb_*)."),
    batch_size: int = typer.Option(20, "--batch-size", min=1, help="Default batch size for seed/query."),
    random_state: int = typer.Option(0, "--random-state", min=0, max=2**32 - 1, help="Seed for every random choice."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing al.yaml (labels and models are kept)."),
    json_out: bool = JsonOpt,
) -> None:
    """Create a project folder and its al.yaml from a pool file."""
    from al_cli import api

    res = api.init(
        directory, data, id_column=id_column, text_columns=split(text_column),
        feature_columns=split([feature_columns]) if feature_columns is not None else None,
        labels=split([labels]) if labels else None, validation=validation,
        label_column=label_column, model=model, strategy=strategy, batch_size=batch_size,
        random_state=random_state, force=force, task=task, relevant=relevant, image_columns=split(image_column),
        embedding_columns=split([embedding_columns]) if embedding_columns else None, embedding_file=embedding_file,
        text_features=text_features,
    )
    if json_out:
        con.print_json(api.as_dict(res))
        return
    con.line(f"created {res.path}/al.yaml: {res.n_rows} pool rows, labels {', '.join(res.labels)}")
    if res.text_columns:
        con.line(f"  text: {', '.join(res.text_columns)} ({res.text_features})")
    if res.image_columns:
        con.line(f"  images: {', '.join(res.image_columns)}")
    if res.embedding_columns or res.embedding_file:
        n = len(res.embedding_columns)
        con.line("  embeddings: " + ", ".join(([f"{n} column(s)"] if n else [])
                                              + ([res.embedding_file] if res.embedding_file else [])))
    if res.feature_columns:
        cols = res.feature_columns
        shown = ", ".join(cols[:12]) + (f", ... ({len(cols)} columns)" if len(cols) > 12 else "")
        con.line(f"  features: {shown}")
    if res.validation:
        con.line(f"  validation: {res.validation} ({res.n_validation} rows)")
    hint(res.path, "seed", "--size", str(batch_size))


# ----------------------------------------------------------------------------- seed
@app.command(epilog=examples("al seed --size 40 --validation-size 100", "al seed --fraction 0.02 --strategy random"))
@handle
def seed(
    project: Optional[Path] = ProjectOpt,
    size: Optional[int] = typer.Option(None, "--size", "-n", min=1, help="Rows in the first batch (default: batch_size in al.yaml)."),
    fraction: Optional[float] = typer.Option(None, "--fraction", callback=between(0, 1, lo_open=True), help="Or a share of the pool, e.g. 0.02."),
    strategy: str = typer.Option("kmeans", "--strategy", callback=choice(SEED_STRATEGIES), help="kmeans (rows nearest k-means centres: coverage) or random."),
    validation_size: int = typer.Option(0, "--validation-size", min=0, help="Also queue a random audit sample of M rows, labeled like any batch but kept out of training."),
    force: bool = typer.Option(False, "--force", help="Seed again even though labels or a queue exist."),
    json_out: bool = JsonOpt,
) -> None:
    """Pick a small, diverse first batch (no model needed) into queue.csv."""
    from al_cli import api

    if size is not None and fraction is not None:
        raise typer.BadParameter("give --size or --fraction, not both")
    proj = open_project(project)
    res = api.seed(proj, size=size, fraction=fraction, strategy=strategy,
                  validation_size=validation_size, force=force)
    _batch_out(res, json_out, root=proj.root)


_batch_out = run.batch_out


# ----------------------------------------------------------------------------- label
@app.command(epilog=examples("al label                      (interactive, in a terminal)",
                             "al label --import answers.csv --annotator ana",
                             "al label --export batch.csv   (or - for standard output)",
                             "al label --adjudicate         (decide the items 'al query --adjudicate' queued)"))
@handle
def label(
    project: Optional[Path] = ProjectOpt,
    import_file: Optional[Path] = typer.Option(None, "--import", help="Read labels from a CSV ('-': standard input): columns id,label (optional annotator, note). Any bad row: nothing is imported; answers already recorded are not added again."),
    export_file: Optional[Path] = typer.Option(None, "--export", help="Write the unanswered batch to a CSV ('-': standard output) for an outside annotator; spreadsheet-safe."),
    queued_only: bool = typer.Option(False, "--queued-only", help="With --import: take only rows in the current batch (an answer key for the whole pool)."),
    adjudicate: bool = typer.Option(False, "--adjudicate", help="Adjudicate: in the terminal, decide the items 'al query --adjudicate' queued, seeing the earlier answers; with --import, the answers are adjudications. Either way a decision settles the item under any consensus rule."),
    show_names: bool = typer.Option(False, "--show-names", help="With --adjudicate in the terminal: show who gave each earlier answer (hidden by default)."),
    annotator: Optional[str] = typer.Option(None, "--annotator", help="Who labels (default: $AL_ANNOTATOR, then the login name)."),
    json_out: bool = JsonOpt,
) -> None:
    """Label the current batch: interactively in a terminal, or --import / --export CSV."""
    from al_cli import api

    if import_file and export_file:
        raise typer.BadParameter("give --import or --export, not both")
    if adjudicate and export_file:
        raise typer.BadParameter("--adjudicate works in the terminal or with --import, not with --export")
    if show_names and (not adjudicate or import_file):
        raise typer.BadParameter("--show-names goes with --adjudicate in the terminal")
    proj = open_project(project)
    if import_file:
        res = api.label_import(proj, import_file, annotator=annotator, queued_only=queued_only,
                               adjudicate=adjudicate)
        if json_out:
            con.print_json(api.as_dict(res))
            return
        con.line(f"imported {res.imported} label(s) from {res.path} as {res.annotator}"
                 + (f" ({res.ignored} row(s) not in the batch ignored)" if queued_only and res.ignored else ""))
        if res.unchanged:
            con.message("info", f"{res.unchanged} answer(s) were already recorded and are not added again")
        if res.unanswered:
            con.message("info", f"{res.unanswered} row(s) without a label are left unanswered")
        if res.conflicts and adjudicate:
            con.message("info", f"{res.conflicts} item(s) with disagreeing answers settled by adjudication")
        elif res.conflicts:
            rule = proj.config.labeling.consensus
            how = (f"{res.unresolved} of them unresolved under labeling.consensus '{rule}' and left out of "
                   "training until adjudicated ('al query --adjudicate', then 'al label --adjudicate')") if res.unresolved \
                else f"settled by labeling.consensus '{rule}'"
            con.message("warning", f"{res.conflicts} imported item(s) now have disagreeing answers from "
                                   f"different annotators: {how}; see 'al status'")
        con.line(f"labeled so far: {res.n_labeled} ({counts(res.labels_per_class)}); "
                 f"{res.queue_remaining} left in the batch")
        return
    if export_file:
        if json_out and str(export_file) == "-":
            raise typer.BadParameter("--export - writes the CSV to standard output: leave out --json")
        res = api.label_export(proj, export_file, annotator=annotator)
        if res.text is not None:
            sys.stdout.write(res.text)
            sys.stdout.flush()
            con.message("info", f"wrote {res.n_rows} unanswered row(s) to standard output")
            return
        if json_out:
            d = api.as_dict(res)
            d.pop("text", None)
            con.print_json(d)
            return
        if res.n_rows == 0:
            con.line(f"wrote {res.path} with no row: every row of the batch is answered")
            hint(proj.root, "status")
            return
        con.line(f"wrote {res.n_rows} unanswered row(s) to {res.path}; fill 'label' and run "
                 f"'al label --import {res.path}'")
        return
    if json_out:
        raise AlError("--json needs --import or --export (interactive labeling reports on screen)")
    run.label_terminal(project, annotator=annotator, adjudicate=adjudicate, show_names=show_names)


# ----------------------------------------------------------------------------- retrain
@app.command(epilog=examples("al retrain --json", "al retrain --force   (refit although nothing changed)"))
@handle
def retrain(
    project: Optional[Path] = ProjectOpt,
    force: bool = typer.Option(False, "--force", help="Fit a new version even when the latest model was fitted on exactly these labels and settings."),
    json_out: bool = JsonOpt,
) -> None:
    """Fit a new model version on every label so far (models/NNNN.joblib + NNNN.json);
    nothing when no label or setting changed since the latest model (exit 0)."""
    from al_cli import api

    proj = open_project(project)
    res = api.retrain(proj, force=force)
    if json_out:
        con.print_json(api.as_dict(res))
        return
    if not res.refitted:
        con.line(f"model {res.model_version:04d} is current: no label or setting changed since it was "
                 f"fitted on {res.n_labeled} labels (--force fits a new version anyway)")
        return
    con.line(f"model {res.model_version:04d}: {res.model} on {res.n_labeled} labels "
             f"({counts(res.class_counts)}) in {res.seconds:.2f}s -> {res.path}")
    if res.excluded_audit:
        con.line(f"  {res.excluded_audit} audit label(s) held out for evaluation")
    hint(proj.root, "evaluate")


# ----------------------------------------------------------------------------- evaluate
@app.command(epilog=examples("al evaluate --errors", "al evaluate --stop-at 0.9 --metric macro_f1 --json",
                             "until al evaluate --stop-at 0.95; do [ $? -eq 3 ] || break; al score && al query "
                             "&& al label && al retrain || break; done",
                             "al evaluate --stop-at-recall 0.95   (discovery: exit 0 when recall 0.95 is shown)"))
@handle
def evaluate(
    project: Optional[Path] = ProjectOpt,
    stop_at: Optional[float] = typer.Option(None, "--stop-at", callback=between(0, 1), help="Target for --metric: exit 0 when reached, 3 when not."),
    metric: str = typer.Option("accuracy", "--metric", callback=choice(("accuracy", "macro_f1")), help="accuracy or macro_f1 (for --stop-at / --min-gain)."),
    min_gain: Optional[float] = typer.Option(None, "--min-gain", help="Also stop when the metric gained less than this per 100 new labels over the last --patience evaluations."),
    max_minutes_per_point: Optional[float] = typer.Option(None, "--max-minutes-per-point", help="Also stop when a point (0.01) of the metric cost more than this many minutes of labeling over the last --patience evaluations (timed answers only)."),
    stable_kappa: Optional[float] = typer.Option(None, "--stable-kappa", help="Also stop when successive models' predictions on a fixed stop set agree at Cohen's kappa >= this (e.g. 0.99) for --patience evaluations."),
    patience: int = typer.Option(3, "--patience", min=1, help="Evaluations looked back over for --min-gain, --max-minutes-per-point and --stable-kappa."),
    errors: bool = typer.Option(False, "--errors", help="Also list the held-out rows the model gets wrong (true, predicted, confidence, fields)."),
    stop_at_recall: Optional[float] = typer.Option(None, "--stop-at-recall", callback=between(0, 1, lo_open=True, hi_open=True), help="Discovery: exit 0 when recall has reached this, 3 when not: by the recall sample's test ('al query --recall-sample N') at --confidence, else by the lower end of the model's estimate (no guarantee)."),
    confidence: float = typer.Option(0.95, "--confidence", callback=between(0, 1, lo_open=True, hi_open=True), help="Confidence of the recall sample's test (with --stop-at-recall)."),
    json_out: bool = JsonOpt,
) -> None:
    """Measure the latest model on held-out labels; track the learning curve; say when to stop."""
    from al_cli import api

    res = api.evaluate(open_project(project), stop_at=stop_at, metric=metric, min_gain=min_gain,
                       patience=patience, errors=errors, max_minutes_per_point=max_minutes_per_point,
                       stable_kappa=stable_kappa, stop_at_recall=stop_at_recall, confidence=confidence)
    if json_out:
        d = api.as_dict(res)
        if not errors:
            d.pop("errors", None)
        con.print_json(d)
    else:
        a_lo, a_hi = res.accuracy_ci
        f_lo, f_hi = res.macro_f1_ci
        con.line(f"model {res.model_version:04d} on {res.n_labeled} labels, {res.source} "
                 f"({res.n_eval} rows): accuracy {res.accuracy:.4f} [{a_lo:.3f}, {a_hi:.3f}], "
                 f"macro-F1 {res.macro_f1:.4f} [{f_lo:.3f}, {f_hi:.3f}] (95% intervals)")
        con.table(None, ["class", "precision", "recall", "f1", "support"],
                  [[k, v["precision"], v["recall"], v["f1"], v["support"]] for k, v in res.per_class.items()])
        labs = res.confusion["labels"]
        con.table("confusion (rows: true, columns: predicted)", ["", *labs],
                  [[lab, *row] for lab, row in zip(labs, res.confusion["matrix"])])
        if len(res.curve) > 1:
            acc = [p["accuracy"] for p in res.curve]
            con.line(f"learning curve ({res.curve[0]['n_labeled']} -> {res.curve[-1]['n_labeled']} labels): "
                     f"accuracy {con.sparkline(acc)} {acc[0]:.3f} -> {acc[-1]:.3f}")
        cost = []
        if res.labeling_minutes:
            cost.append(f"{res.labeling_minutes:.1f} min of labeling so far")
        if res.minutes_per_point is not None:
            cost.append(f"{res.minutes_per_point:.1f} min per point of {metric} over the last {patience} evaluations")
        elif res.labeling_minutes and res.points_gained is not None and res.points_gained <= 0:
            cost.append(f"no gain in {metric} over the last {patience} evaluations")
        if res.stability_kappa is not None:
            cost.append(f"agreement with the previous model kappa {res.stability_kappa:.3f}")
        if cost:
            con.line("; ".join(cost))
        if res.plot:
            con.message("info", f"learning curve drawn in {res.plot}")
        if res.errors is not None:
            _errors_out(res.errors, res.source)
        if res.recall is not None:
            r, rs = res.recall, res.recall["recall_sample"]
            est = (f"; estimated recall {r['estimated_recall']:.1%} (at least {r['recall_low']:.1%})"
                   if r.get("estimated_recall") is not None else "")
            con.line(f"discovery: {r['read']} read, {r['relevant_found']} relevant found{est}")
            if rs:
                con.line(f"recall sample: {rs['relevant_in_sample']} relevant in {rs['answered']} answers of "
                         f"{rs['sample_size']}, from {rs['urn']} unread; p = {rs['p_value']:.4f}")
        if res.rule_given:
            con.line(f"stop: yes, {res.stop_reason}" if res.stop else "stop: not yet")
    if res.rule_given and not res.stop:
        raise typer.Exit(3)


def _errors_out(errors: list[dict[str, Any]], source: str) -> None:
    if not errors:
        con.line(f"no errors on the {source} rows")
        return
    cols = list(dict.fromkeys(c for e in errors for c in e["fields"]))[:4]
    short = lambda v: ("" if v is None else str(v)).replace("\n", " ")[:60]  # noqa: E731
    con.table(f"{len(errors)} error(s) on the {source} rows, most confident first",
              ["id", "true", "predicted", "confidence", *cols],
              [[e["id"], e["true"], e["predicted"], f"{e['confidence']:.3f}", *[short(e["fields"].get(c)) for c in cols]]
               for e in errors])


# ----------------------------------------------------------------------------- score
@app.command(epilog=examples("al score", "al score --json"))
@handle
def score(project: Optional[Path] = ProjectOpt, scheduler: Optional[str] = SchedulerOpt,
          json_out: bool = JsonOpt) -> None:
    """Score every unlabeled row with the latest model into scores.csv."""
    run.score_command(project, scheduler, json_out)


# ----------------------------------------------------------------------------- query
@app.command(epilog=examples("al query --size 20",
                             "al query --strategy margin --diversity kmeans --random-fraction 0.1 --explain",
                             "al query --strategy margin+kcenter+rf0.2",
                             "al query --strategy entropy --diversity none --random-fraction 0   (the base score alone)",
                             "al query --adjudicate   (the unresolved conflicts, for 'al label --adjudicate')",
                             "al query --recall-sample 300   (discovery: a random sample to test recall)"))
@handle
def query(
    project: Optional[Path] = ProjectOpt,
    size: Optional[int] = typer.Option(None, "--size", "-n", min=1, help="Batch size (default: batch_size in al.yaml)."),
    strategy: Optional[str] = typer.Option(None, "--strategy", callback=spec_choice, help="A base score (" + names_help(strategy_names()) + "), or a whole spec such as margin+kcenter+rf0.2 (see docs/contract.md); the options below override it."),
    diversity: Optional[str] = typer.Option(None, "--diversity", callback=choice(DIVERSITY), help="none | kmeans | kcenter"),
    density: Optional[float] = typer.Option(None, "--density", min=0.0, help="Weight informativeness by representativeness^W (0 = off)."),
    random_fraction: Optional[float] = typer.Option(None, "--random-fraction", callback=between(0, 1, hi_open=True), help="Share of the batch drawn at random (default 0.1)."),
    cost_column: Optional[str] = typer.Option(None, "--cost-column", help="Pool column with the cost of labeling each row."),
    cost: Optional[str] = typer.Option(None, "--cost", callback=choice(("learned",)), help="'learned': predict cost from the seconds annotators spent so far."),
    explain: bool = typer.Option(False, "--explain", help="Say why each row was chosen."),
    adjudicate: bool = typer.Option(False, "--adjudicate", help="Queue the items in conflict that labeling.consensus leaves unresolved, for 'al label --adjudicate' (no model needed; the options above do not apply)."),
    recall_sample: Optional[int] = typer.Option(None, "--recall-sample", min=1, help="Discovery: draw N documents at random from the unread rest into the recall sample (N more when it exists) and queue its unanswered documents in place of the batch; 'al status' and 'al evaluate --stop-at-recall' then test recall on it (no model needed; the options above do not apply)."),
    scheduler: Optional[str] = SchedulerOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Choose the next batch from the scores into queue.csv (replaces the unanswered batch)."""
    from al_cli import api

    proj = open_project(project)
    if recall_sample is not None:
        given = [n for n, v in (("--size", size), ("--strategy", strategy), ("--diversity", diversity),
                                ("--density", density), ("--random-fraction", random_fraction),
                                ("--cost-column", cost_column), ("--cost", cost)) if v is not None]
        if given or explain or adjudicate:
            raise typer.BadParameter(f"--recall-sample draws at random: leave out "
                                     f"{(given + ['--explain', '--adjudicate'])[0]}")
        res = api.query(proj, recall_sample=recall_sample)
    elif adjudicate:
        given = [n for n, v in (("--size", size), ("--strategy", strategy), ("--diversity", diversity),
                                ("--density", density), ("--random-fraction", random_fraction),
                                ("--cost-column", cost_column), ("--cost", cost)) if v is not None]
        if given or explain:
            raise typer.BadParameter(f"--adjudicate queues every unresolved conflict: leave out "
                                     f"{(given + ['--explain'])[0]}")
        res = api.query(proj, adjudicate=True)
        if not res.ids:
            st = api.status(proj)
            if json_out:
                con.print_json(api.as_dict(res))
                return
            why = (f"; {st.conflicts} item(s) in conflict are settled by labeling.consensus '{st.consensus}' "
                   "(set it to 'adjudicated' to decide every conflict by hand)") if st.conflicts else ""
            con.line(f"nothing to adjudicate: no item in conflict is unresolved{why}; queue.csv is unchanged")
            return
    else:
        res = api.query(proj, size=size, strategy=strategy, diversity=diversity, density=density,
                        random_fraction=random_fraction, cost_column=cost_column, cost=cost, scheduler=scheduler)
    _batch_out(res, json_out, explain, root=proj.root)


# ----------------------------------------------------------------------------- status
@app.command(epilog=examples("al status", "al status --json"))
@handle
def status(project: Optional[Path] = ProjectOpt, json_out: bool = JsonOpt) -> None:
    """Labels so far, the queue, the model, the last metrics, and the next command."""
    run.status_command(project, json_out)


