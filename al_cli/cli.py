"""The typer app: parse -> call one workflow function -> render.

This is the one place where errors become exit codes: an :class:`AlError` is one
``error: ...`` line on stderr and exit code 1; usage errors are exit code 2.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any, Callable, List, Optional

import typer

from al_cli import __version__
from al_cli import console as con
from al_cli.config import BASE_STRATEGIES, DIVERSITY, MODEL_NAMES, SEED_STRATEGIES
from al_cli.errors import AlError
from al_cli.report import set_reporter

app = typer.Typer(
    name="al",
    help="Active learning with a human in the loop: the model asks for the labels it needs most.\n\n"
    "The loop: al init -> al seed -> al label -> al retrain -> al evaluate -> al score -> "
    "al query -> al label -> ...  Run 'al status' to see where a project stands.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

ProjectOpt = typer.Option(None, "--project", "-p", help="Project folder (default: this folder or the first parent with al.yaml).")
JsonOpt = typer.Option(False, "--json", help="Print exactly one JSON object on stdout; messages go to stderr.")


def _split(values: Optional[List[str]]) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


# typer's own exits and usage errors (exit code 2) pass through untouched; newer typer
# versions vendor click, so both exception families are listed.
def _passthrough() -> tuple[type[BaseException], ...]:
    kinds: list[type[BaseException]] = [typer.Exit, typer.Abort, SystemExit]
    try:  # typer before 0.26 uses click itself
        from click import ClickException

        kinds.append(ClickException)
    except ImportError:
        pass
    try:  # typer 0.26+ vendors click; its usage errors derive from TyperException
        from typer.exceptions import TyperException

        kinds.append(TyperException)
    except ImportError:
        pass
    return tuple(kinds)


_PASSTHROUGH = _passthrough()


def _choice(*values: str) -> Callable[[Any], Any]:
    """Option callback: a value outside ``values`` is a usage error (exit code 2)."""

    def check(value: Any) -> Any:
        if value is not None and value not in values:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(values)}")
        return value

    return check


def _between(lo: float, hi: float, hi_open: bool = False) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value is not None and not (lo <= value and (value < hi if hi_open else value <= hi)):
            raise typer.BadParameter(f"{value:g} is not in [{lo:g}, {hi:g}{')' if hi_open else ']'}")
        return value

    return check


def handle(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn AlError into 'error: ...' + exit 1; never show a traceback for a user mistake."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        con.reset()
        set_reporter(con.message)
        try:
            return fn(*args, **kwargs)
        except AlError as exc:
            con.error(exc.message)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            con.error("interrupted")
            raise typer.Exit(130) from None
        except _PASSTHROUGH:
            raise
        except MemoryError:
            con.error("out of memory; try a smaller pool or fewer text features")
            raise typer.Exit(1) from None
        except Exception as exc:  # noqa: BLE001 - last resort: one line, details on request
            if os.environ.get("AL_DEBUG"):
                raise
            con.error(f"unexpected {type(exc).__name__}: {exc} (set AL_DEBUG=1 for the traceback)")
            raise typer.Exit(1) from None

    return wrapper


def _open(project: Optional[Path]):
    from al_cli.project import Project

    return Project.open(project)


def _version(value: bool) -> None:
    if value:
        print(f"al {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    pass


# ----------------------------------------------------------------------------- init
@app.command(epilog="Example: al init moderation --data posts.csv --id-column post_id "
             "--text-column body --labels ok,spam,abuse --validation held_out.csv --label-column label")
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
    model: str = typer.Option("logistic_regression", "--model", callback=_choice(*MODEL_NAMES), help="logistic_regression | linear_svm | naive_bayes | random_forest | hist_gradient_boosting"),
    strategy: str = typer.Option("margin", "--strategy", callback=_choice(*BASE_STRATEGIES), help="Default query strategy (see 'al query --help')."),
    batch_size: int = typer.Option(20, "--batch-size", min=1, help="Default batch size for seed/query."),
    random_state: int = typer.Option(0, "--random-state", help="Seed for every random choice."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing al.yaml (labels and models are kept)."),
    json_out: bool = JsonOpt,
) -> None:
    """Create a project folder and its al.yaml from a pool file."""
    from al_cli import workflow as wf

    res = wf.init(
        directory, data, id_column=id_column, text_columns=_split(text_column),
        feature_columns=_split([feature_columns]) if feature_columns is not None else None,
        labels=_split([labels]) if labels else None, validation=validation,
        label_column=label_column, model=model, strategy=strategy, batch_size=batch_size,
        random_state=random_state, force=force,
    )
    if json_out:
        con.print_json(wf.as_dict(res))
        return
    con.line(f"created {res.path}/al.yaml: {res.n_rows} pool rows, labels {', '.join(res.labels)}")
    if res.text_columns:
        con.line(f"  text: {', '.join(res.text_columns)}")
    if res.feature_columns:
        cols = res.feature_columns
        shown = ", ".join(cols[:12]) + (f", ... ({len(cols)} columns)" if len(cols) > 12 else "")
        con.line(f"  features: {shown}")
    if res.validation:
        con.line(f"  validation: {res.validation} ({res.n_validation} rows)")
    con.line(f"next: al seed -p {res.path} --size {batch_size}")


# ----------------------------------------------------------------------------- seed
@app.command(epilog="Example: al seed --size 40 --validation-size 100")
@handle
def seed(
    project: Optional[Path] = ProjectOpt,
    size: Optional[int] = typer.Option(None, "--size", "-n", min=1, help="Rows in the first batch (default: batch_size in al.yaml)."),
    fraction: Optional[float] = typer.Option(None, "--fraction", callback=_between(0, 1), help="Or a share of the pool, e.g. 0.02."),
    strategy: str = typer.Option("kmeans", "--strategy", callback=_choice(*SEED_STRATEGIES), help="kmeans (rows nearest k-means centres: coverage) or random."),
    validation_size: int = typer.Option(0, "--validation-size", min=0, help="Also queue a random audit sample of M rows, labeled like any batch but kept out of training."),
    force: bool = typer.Option(False, "--force", help="Seed again even though labels or a queue exist."),
    json_out: bool = JsonOpt,
) -> None:
    """Pick a small, diverse first batch (no model needed) into queue.csv."""
    from al_cli import workflow as wf

    if size is not None and fraction is not None:
        raise typer.BadParameter("give --size or --fraction, not both")
    res = wf.seed(_open(project), size=size, fraction=fraction, strategy=strategy,
                  validation_size=validation_size, force=force)
    _batch_out(res, json_out)


def _batch_out(res: Any, json_out: bool, explain: bool = False) -> None:
    from al_cli import workflow as wf

    if json_out:
        d = wf.as_dict(res)
        if not explain:
            d.pop("explain", None)
        con.print_json(d)
        return
    extra = f" + {res.n_audit} audit rows" if res.n_audit else ""
    con.line(f"queued {len(res.ids) - res.n_audit} rows{extra} ({res.strategy}) in {res.path}")
    if res.replaced:
        con.message("info", f"replaced {res.replaced} unanswered row(s) of the previous batch")
    if explain and res.explain:
        con.table("why these rows", ["id", "score", "final", "cluster", "random", "cost", "reason"],
                  [[r["id"], r["score"], r["final_score"], r["cluster"], r["random_pick"], r["cost"], r["reason"]]
                   for r in res.explain])
    con.line("next: al label")


# ----------------------------------------------------------------------------- label
@app.command(epilog="Examples: al label            (interactive, in a terminal)\n"
             "al label --import answers.csv --annotator ana\nal label --export batch.csv")
@handle
def label(
    project: Optional[Path] = ProjectOpt,
    import_file: Optional[Path] = typer.Option(None, "--import", help="Read labels from a CSV: columns id,label (optional annotator, note). Any bad row: nothing is imported."),
    export_file: Optional[Path] = typer.Option(None, "--export", help="Write the unanswered batch to a CSV for an outside annotator."),
    queued_only: bool = typer.Option(False, "--queued-only", help="With --import: take only rows in the current batch (an answer key for the whole pool)."),
    annotator: Optional[str] = typer.Option(None, "--annotator", help="Who labels (default: $AL_ANNOTATOR, then the login name)."),
    json_out: bool = JsonOpt,
) -> None:
    """Label the current batch: interactively in a terminal, or --import / --export CSV."""
    from al_cli import workflow as wf

    if import_file and export_file:
        raise typer.BadParameter("give --import or --export, not both")
    proj = _open(project)
    if import_file:
        res = wf.label_import(proj, import_file, annotator=annotator, queued_only=queued_only)
        if json_out:
            con.print_json(wf.as_dict(res))
            return
        con.line(f"imported {res.imported} label(s) from {res.path} as {res.annotator}"
                 + (f" ({res.ignored} row(s) not in the batch ignored)" if queued_only and res.ignored else ""))
        con.line(f"labeled so far: {res.n_labeled} ({_counts(res.labels_per_class)}); "
                 f"{res.queue_remaining} left in the batch")
        return
    if export_file:
        res = wf.label_export(proj, export_file)
        if json_out:
            con.print_json(wf.as_dict(res))
            return
        con.line(f"wrote {res.n_rows} unanswered row(s) to {res.path}; fill 'label' and run "
                 f"'al label --import {res.path}'")
        return
    if json_out:
        raise AlError("--json needs --import or --export (interactive labeling reports on screen)")
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise AlError("no terminal to label in: use 'al label --import FILE' (columns id,label) "
                      "or 'al label --export FILE' for an outside annotator")
    from al_cli import labeler

    labeler.run(proj, annotator=annotator)


def _counts(d: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in d.items())


# ----------------------------------------------------------------------------- retrain
@app.command(epilog="Example: al retrain --json")
@handle
def retrain(project: Optional[Path] = ProjectOpt, json_out: bool = JsonOpt) -> None:
    """Fit a new model version on every label so far (models/NNNN.joblib + NNNN.json)."""
    from al_cli import workflow as wf

    res = wf.retrain(_open(project))
    if json_out:
        con.print_json(wf.as_dict(res))
        return
    con.line(f"model {res.model_version:04d}: {res.model} on {res.n_labeled} labels "
             f"({_counts(res.class_counts)}) in {res.seconds:.2f}s -> {res.path}")
    if res.excluded_audit:
        con.line(f"  {res.excluded_audit} audit label(s) held out for evaluation")
    con.line("next: al evaluate")


# ----------------------------------------------------------------------------- evaluate
@app.command(epilog="Examples: al evaluate\n"
             "until al evaluate --stop-at 0.95; do al score && al query && al label; al retrain; done")
@handle
def evaluate(
    project: Optional[Path] = ProjectOpt,
    stop_at: Optional[float] = typer.Option(None, "--stop-at", callback=_between(0, 1), help="Target for --metric: exit 0 when reached, 3 when not."),
    metric: str = typer.Option("accuracy", "--metric", callback=_choice("accuracy", "macro_f1"), help="accuracy or macro_f1 (for --stop-at / --min-gain)."),
    min_gain: Optional[float] = typer.Option(None, "--min-gain", help="Also stop when the metric gained less than this per 100 new labels over the last --patience evaluations."),
    patience: int = typer.Option(3, "--patience", min=1, help="Evaluations looked back over for --min-gain."),
    json_out: bool = JsonOpt,
) -> None:
    """Measure the latest model on held-out labels; track the learning curve; say when to stop."""
    from al_cli import workflow as wf

    res = wf.evaluate(_open(project), stop_at=stop_at, metric=metric, min_gain=min_gain, patience=patience)
    if json_out:
        d = wf.as_dict(res)
        con.print_json(d)
    else:
        con.line(f"model {res.model_version:04d} on {res.n_labeled} labels, {res.source} "
                 f"({res.n_eval} rows): accuracy {res.accuracy:.4f}, macro-F1 {res.macro_f1:.4f}")
        con.table(None, ["class", "precision", "recall", "f1", "support"],
                  [[k, v["precision"], v["recall"], v["f1"], v["support"]] for k, v in res.per_class.items()])
        labs = res.confusion["labels"]
        con.table("confusion (rows: true, columns: predicted)", ["", *labs],
                  [[lab, *row] for lab, row in zip(labs, res.confusion["matrix"])])
        if len(res.curve) > 1:
            acc = [p["accuracy"] for p in res.curve]
            con.line(f"learning curve ({res.curve[0]['n_labeled']} -> {res.curve[-1]['n_labeled']} labels): "
                     f"accuracy {con.sparkline(acc)} {acc[0]:.3f} -> {acc[-1]:.3f}")
        if res.rule_given:
            con.line(f"stop: yes, {res.stop_reason}" if res.stop else "stop: not yet")
    if res.rule_given and not res.stop:
        raise typer.Exit(3)


# ----------------------------------------------------------------------------- score
@app.command(epilog="Example: al score --json")
@handle
def score(project: Optional[Path] = ProjectOpt, json_out: bool = JsonOpt) -> None:
    """Score every unlabeled row with the latest model into scores.csv."""
    from al_cli import workflow as wf

    res = wf.score(_open(project))
    if json_out:
        con.print_json(wf.as_dict(res))
        return
    con.line(f"scored {res.n_scored} rows with model {res.model_version:04d} -> {res.path} "
             f"(mean entropy {res.mean_entropy:.3f}; features {'from cache' if res.features_cached else 'built'})")
    con.line(f"  predicted: {_counts(res.predicted_counts)}")
    con.line("next: al query")


# ----------------------------------------------------------------------------- query
@app.command(epilog="Examples: al query --size 20\n"
             "al query --strategy margin --diversity kmeans --random-fraction 0.1 --explain\n"
             "al query --strategy entropy --diversity none --random-fraction 0   (the base score alone)")
@handle
def query(
    project: Optional[Path] = ProjectOpt,
    size: Optional[int] = typer.Option(None, "--size", "-n", min=1, help="Batch size (default: batch_size in al.yaml)."),
    strategy: Optional[str] = typer.Option(None, "--strategy", callback=_choice(*BASE_STRATEGIES), help="least_confidence | margin | entropy | random | qbc_vote_entropy | qbc_kl | egl"),
    diversity: Optional[str] = typer.Option(None, "--diversity", callback=_choice(*DIVERSITY), help="none | kmeans | kcenter"),
    density: Optional[float] = typer.Option(None, "--density", min=0.0, help="Weight informativeness by representativeness^W (0 = off)."),
    random_fraction: Optional[float] = typer.Option(None, "--random-fraction", callback=_between(0, 1, hi_open=True), help="Share of the batch drawn at random (default 0.1)."),
    cost_column: Optional[str] = typer.Option(None, "--cost-column", help="Pool column with the cost of labeling each row."),
    cost: Optional[str] = typer.Option(None, "--cost", callback=_choice("learned"), help="'learned': predict cost from the seconds annotators spent so far."),
    explain: bool = typer.Option(False, "--explain", help="Say why each row was chosen."),
    json_out: bool = JsonOpt,
) -> None:
    """Choose the next batch from the scores into queue.csv (replaces the unanswered batch)."""
    from al_cli import workflow as wf

    res = wf.query(_open(project), size=size, strategy=strategy, diversity=diversity, density=density,
                   random_fraction=random_fraction, cost_column=cost_column, cost=cost)
    _batch_out(res, json_out, explain)


# ----------------------------------------------------------------------------- status
@app.command(epilog="Example: al status --json")
@handle
def status(project: Optional[Path] = ProjectOpt, json_out: bool = JsonOpt) -> None:
    """Labels so far, the queue, the model, the last metrics, and the next command."""
    from al_cli import workflow as wf

    res = wf.status(_open(project))
    if json_out:
        con.print_json(wf.as_dict(res))
        return
    con.line(f"project {res.project}: {res.n_pool} pool rows")
    con.line(f"labeled: {res.n_labeled} ({_counts(res.labels_per_class)})")
    if res.annotators:
        con.line(f"annotators: {_counts(res.annotators)}")
    con.line(f"queue: {res.queue_size} unanswered")
    con.line(f"model: {'none' if res.model_version is None else f'{res.model_version:04d}'}")
    if res.last_metrics:
        m = res.last_metrics
        con.line(f"last evaluation: model {m['model_version']:04d}, {m['source']}, accuracy "
                 f"{m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f}")
    if res.torn_lines:
        con.message("warning", f"labels.csv: {res.torn_lines} torn or malformed line(s) ignored")
    con.line(f"next: {res.next_command}")


# ----------------------------------------------------------------------------- simulate
from contextlib import contextmanager as _contextmanager  # noqa: E402 - used by this section only


@app.command(epilog="Examples: al simulate data.csv --label-column species --repeats 5\n"
             "al simulate pool.csv validation.csv --answers answers.csv --id-column id "
             "--strategy entropy,margin+kcenter,entropy+rf0 --n-jobs 2 --out sim")
@handle
def simulate(
    data: List[Path] = typer.Argument(..., help="Labeled CSV/Parquet file(s); several files are stacked (same columns)."),
    label_column: str = typer.Option("label", "--label-column", help="Column with the true labels (they play the annotator)."),
    answers: Optional[Path] = typer.Option(None, "--answers", help="Answer key CSV (id,label) for rows without a label, joined on --id-column."),
    id_column: Optional[str] = typer.Option(None, "--id-column", help="Unique id column (default: ids derived from row positions)."),
    text_column: Optional[List[str]] = typer.Option(None, "--text-column", help="Text column(s) for TF-IDF; repeat or comma-separate."),
    feature_columns: Optional[str] = typer.Option(None, "--feature-columns", help="Comma-separated numeric/categorical columns (default: every other column)."),
    strategy: Optional[List[str]] = typer.Option(None, "--strategy", help="Comma-separated strategies to compare (default: al's default and random). Each is "
                                                 "BASE[+MOD...]: BASE one of least_confidence, margin, entropy, random, qbc_vote_entropy, "
                                                 "qbc_kl, egl; MOD kmeans | kcenter | none (batch diversity), density[W] "
                                                 "(representativeness weight W), rfX (share X of each batch drawn at random: rf0, rf0.2). "
                                                 "Unset modifiers keep al.yaml's defaults. E.g. entropy, margin+kcenter, entropy+rf0."),
    initial: int = typer.Option(20, "--initial", min=1, help="First labels, drawn at random (see --seed-strategy)."),
    seed_strategy: str = typer.Option("random", "--seed-strategy", callback=_choice(*SEED_STRATEGIES), help="random, or kmeans as 'al seed' does."),
    batch: int = typer.Option(10, "--batch", min=1, help="Labels per round."),
    rounds: int = typer.Option(20, "--rounds", min=0, help="Query rounds after the initial labels (R + 1 curve points)."),
    repeats: int = typer.Option(5, "--repeats", min=1, help="Repeats; repeat k splits and seeds with k."),
    test_size: float = typer.Option(0.3, "--test-size", callback=_between(0, 1, hi_open=True), help="Share of rows held out (stratified) to measure each model."),
    model: str = typer.Option("logistic_regression", "--model", callback=_choice(*MODEL_NAMES), help="logistic_regression | linear_svm | naive_bayes | random_forest | hist_gradient_boosting"),
    out: Path = typer.Option(Path("simulation"), "--out", help="Folder for curves.csv, summary.json and learning_curves.png."),
    n_jobs: int = typer.Option(1, "--n-jobs", help="Parallel workers (joblib); -1 for every core."),
    keep_projects: Optional[Path] = typer.Option(None, "--keep-projects", help="Keep the temporary projects in this folder."),
    json_out: bool = JsonOpt,
) -> None:
    """Replay the loop on labeled data: learning curves of strategies vs random, through the real commands."""
    from al_cli import simulate as sim

    sd = sim.load_data(data, label_column=label_column, id_column=id_column, text_columns=_split(text_column),
                       feature_columns=_split([feature_columns]) if feature_columns is not None else None,
                       answers=answers)
    try:
        specs = sim.parse_strategies(_split(strategy))
    except AlError as exc:  # a misspelt strategy is a usage error, like 'al query --strategy'
        raise typer.BadParameter(exc.message, param_hint="--strategy") from None
    protocol = sim.Protocol(initial=initial, batch=batch, rounds=rounds, test_size=test_size, model=model,
                            seed_strategy=seed_strategy)
    sim.check_protocol(sd, protocol, repeats)
    with _sim_progress(repeats * len(specs) * (rounds + 1)) as tick:
        res = sim.run(sd, strategies=specs, protocol=protocol, repeats=repeats, out=out, n_jobs=n_jobs,
                      keep_projects=keep_projects, progress=tick)
    if json_out:
        con.print_json(res.to_json())
        return
    nr = "not reached"
    con.line(f"{res.n_rows} rows: {res.n_train} train / {res.n_test} test per repeat; {repeats} repeats; "
             f"{initial} initial + {rounds} x {batch} labels; model {model}; {res.seconds:.1f}s")
    rows = [[name + (" *" if name == res.default_strategy else ""), s.aulc_accuracy, s.aulc_macro_f1,
             s.final_accuracy, s.final_macro_f1, s.labels_to_95 or nr, s.labels_to_99 or nr]
            for name, s in res.strategies.items()]
    rows.append([f"full data ({res.full_data['n_labeled']})", "", "", res.full_data["accuracy"],
                 res.full_data["macro_f1"], "", ""])
    con.table("mean over repeats; AULC = mean of the R + 1 points; to 95%/99% = labels to reach that "
              "share of the full-data accuracy; * al's default",
              ["strategy", "AULC acc", "AULC F1", "final acc", "final F1", "to 95%", "to 99%"], rows)
    lo = min(p["accuracy"] for s in res.strategies.values() for p in s.curve)
    hi = max(p["accuracy"] for s in res.strategies.values() for p in s.curve)
    width = max(len(n) for n in res.strategies)
    for name, s in res.strategies.items():
        acc = [p["accuracy"] for p in s.curve]
        con.line(f"  {name:<{width}}  {con.sparkline([lo, hi, *acc])[2:]}  {acc[0]:.3f} -> {acc[-1]:.3f}")
    con.line(f"accuracy curves on one scale ({lo:.3f} .. {hi:.3f}), {s.curve[0]['n_labeled']} -> "
             f"{s.curve[-1]['n_labeled']} labels")
    for path in res.files.values():
        con.line(f"wrote {path}")


@_contextmanager
def _sim_progress(total: int):
    """A rich progress bar on stderr when it is a terminal; else a no-op callback."""
    if not con.err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("simulating"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=con.err, transient=True) as bar:
        task = bar.add_task("simulate", total=total)
        yield lambda k: bar.advance(task, k)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
