"""``al simulate``: replay the loop on labeled data (see al_cli.commands.simulate)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import List, Optional

import typer

from al_cli import console as con
from al_cli.cli.common import (
    JsonOpt,
    app,
    between,
    choice,
    examples,
    handle,
    model_names,
    names_help,
    text_extractors,
    split,
    strategy_names,
)
from al_cli.errors import AlError
from al_cli.features.registry import DISCOVERY_TEXT
from al_cli.strategies.registry import DIVERSITY, SEED_STRATEGIES


# ----------------------------------------------------------------------------- simulate
@app.command(epilog=examples("al simulate data.csv --label-column species --repeats 5",
                             "al simulate abstracts.csv --task discovery --relevant 1 --text-column title,abstract",
                             "al simulate pool.csv validation.csv --answers answers.csv --id-column id "
                             "--strategy entropy,margin+kcenter,entropy+rf0 --n-jobs 2 --out sim"))
@handle
def simulate(
    data: List[Path] = typer.Argument(..., help="Labeled CSV/Parquet file(s); several files are stacked (same columns)."),
    label_column: str = typer.Option("label", "--label-column", help="Column with the true labels (they play the annotator)."),
    answers: Optional[Path] = typer.Option(None, "--answers", help="Answer key CSV (id,label) for rows without a label, joined on --id-column."),
    id_column: Optional[str] = typer.Option(None, "--id-column", help="Unique id column (default: ids derived from row positions)."),
    text_column: Optional[List[str]] = typer.Option(None, "--text-column", help="Text column(s) for TF-IDF; repeat or comma-separate."),
    feature_columns: Optional[str] = typer.Option(None, "--feature-columns", help="Comma-separated numeric/categorical columns (default: every other column)."),
    text_features: Optional[str] = typer.Option(None, "--text-features", callback=choice(text_extractors), help="Features of the text columns: " + names_help(text_extractors()) + ". Default: tfidf; discovery: tfidf_saturated."),
    image_column: Optional[List[str]] = typer.Option(None, "--image-column", help="Column(s) of image paths (relative: to the data file's folder)."),
    strategy: Optional[List[str]] = typer.Option(None, "--strategy", help="Comma-separated strategies to compare (default: al's default and random). Each is "
                                                 "BASE[+MOD...]: BASE one of " + ", ".join(strategy_names()) + "; MOD "
                                                 + " | ".join(DIVERSITY) + " (batch diversity), density[W] "
                                                 "(representativeness weight W), rfX (share X of each batch drawn at random: rf0, rf0.2). "
                                                 "Unset modifiers take a new project's defaults (no diversity, 10% random). "
                                                 "E.g. entropy, margin+kcenter, entropy+rf0."),
    initial: int = typer.Option(20, "--initial", min=1, help="First labels, drawn at random (see --seed-strategy)."),
    seed_strategy: str = typer.Option("random", "--seed-strategy", callback=choice(SEED_STRATEGIES), help="random, or kmeans as 'al seed' does."),
    batch: Optional[int] = typer.Option(None, "--batch", min=1, help="Labels per round (default 10; discovery: 1)."),
    rounds: int = typer.Option(20, "--rounds", min=0, help="Query rounds after the initial labels (R + 1 curve points)."),
    repeats: int = typer.Option(5, "--repeats", min=1, help="Repeats; repeat k splits and seeds with k."),
    test_size: float = typer.Option(0.3, "--test-size", callback=between(0, 1, hi_open=True, lo_open=True), help="Share of rows held out (stratified) to measure each model."),
    model: Optional[str] = typer.Option(None, "--model", callback=choice(model_names), help=names_help(model_names()) + ". Default: logistic_regression; discovery: relevance_lr."),
    out: Path = typer.Option(Path("simulation"), "--out", help="Folder for curves.csv, summary.json and learning_curves.png."),
    n_jobs: int = typer.Option(1, "--n-jobs", help="Parallel workers (joblib); -1 for every core."),
    keep_projects: Optional[Path] = typer.Option(None, "--keep-projects", help="Keep the temporary projects in this folder."),
    task: str = typer.Option("classification", "--task", callback=choice(("classification", "discovery")), help="classification, or discovery: replay a review that reads the likeliest --relevant documents first and report recall, WSS and the stopping rules."),
    relevant: Optional[str] = typer.Option(None, "--relevant", help="With --task discovery: the label sought."),
    prior_relevant: int = typer.Option(1, "--prior-relevant", help="Discovery: relevant documents known at the start (drawn at random per repeat)."),
    prior_irrelevant: int = typer.Option(1, "--prior-irrelevant", help="Discovery: irrelevant documents known at the start."),
    target_recall: float = typer.Option(0.95, "--target-recall", callback=between(0, 1, lo_open=True, hi_open=True), help="Discovery: the recall the stopping rules aim for."),
    confidence: float = typer.Option(0.95, "--confidence", callback=between(0, 1, lo_open=True, hi_open=True), help="Discovery: confidence of the sample test's guarantee."),
    in_a_row: int = typer.Option(100, "--irrelevant-in-a-row", min=1, help="Discovery: the N of the 'N irrelevant in a row' rule."),
    json_out: bool = JsonOpt,
) -> None:
    """Replay the loop on labeled data: learning curves of strategies vs random, through the real
    commands; with --task discovery, a review's recall curve, WSS@95/100 and its stopping rules."""
    from al_cli.commands import simulate as sim

    if task == "discovery":
        if image_column:
            raise typer.BadParameter("discovery ranks documents by their text; leave --image-column out",
                                     param_hint="--image-column")
        _discovery(data, label_column, answers, id_column, text_column, feature_columns, relevant, prior_relevant,
                   prior_irrelevant, batch or 1, model or "relevance_lr", target_recall, confidence, in_a_row,
                   repeats, out, n_jobs, json_out, strategy, text_features or DISCOVERY_TEXT)
        return
    if relevant is not None:
        raise typer.BadParameter("is for --task discovery", param_hint="--relevant")
    batch = batch or 10
    model = model or "logistic_regression"

    sd = sim.load_data(data, label_column=label_column, id_column=id_column, text_columns=split(text_column),
                       feature_columns=split([feature_columns]) if feature_columns is not None else None,
                       answers=answers, text_features=text_features, image_columns=split(image_column))
    try:
        specs = sim.parse_strategies(split(strategy))
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


@contextmanager
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


def _discovery(data, label_column, answers, id_column, text_column, feature_columns, relevant, prior_relevant,
               prior_irrelevant, batch, model, target, confidence, in_a_row, repeats, out, n_jobs, json_out,
               strategy, text_features) -> None:
    from al_cli.commands import discovery_sim as ds
    from al_cli.commands import simulate as sim

    if relevant is None:
        raise typer.BadParameter("--task discovery needs the label sought", param_hint="--relevant")
    if strategy:
        raise typer.BadParameter("discovery replays the relevance ranking; leave --strategy out", param_hint="--strategy")
    sd = sim.load_data(data, label_column=label_column, id_column=id_column, text_columns=split(text_column),
                       feature_columns=split([feature_columns]) if feature_columns is not None else None,
                       answers=answers)
    protocol = ds.DiscoveryProtocol(relevant=relevant, prior_relevant=prior_relevant,
                                    prior_irrelevant=prior_irrelevant, batch=batch, model=model, target=target,
                                    confidence=confidence, in_a_row=in_a_row, text_features=text_features)
    with _sim_progress(repeats) as tick:
        res = ds.run(sd, protocol, repeats=repeats, n_jobs=n_jobs, progress=tick, out=out)
    if json_out:
        con.print_json(res.to_json())
        return
    s = res.summary()
    con.line(f"{res.n} documents, {res.relevant} relevant ({res.relevant / res.n:.1%}); {repeats} repeats; "
             f"{prior_relevant} relevant + {prior_irrelevant} irrelevant known at the start; {batch} per round; "
             f"model {model}; {res.seconds:.1f}s")
    con.line(f"WSS@95 {s['wss95']:.3f}   WSS@100 {s['wss100']:.3f}   relevant found after 10% read: "
             f"{s['recall_at_10pct']:.1%}   read for 95% recall: {s['read_for_95']:.0f}   for 100%: {s['read_for_100']:.0f}")
    rows = []
    for name, r in s["rules"].items():
        if not r["stopped"]:
            rows.append([name, f"0/{r['of']}", "never", "", "", "", ""])
            continue
        rows.append([name, f"{r['stopped']}/{r['of']}", f"{r['read']:.0f}", f"{r['read_share']:.1%}",
                     f"{r['recall']:.3f}", f"{r['min_recall']:.3f}", f"{r['reached_target']}/{r['stopped']}"])
    con.table("where each stopping rule stopped (means over the repeats where it did); sample_test has "
              f"the statistical guarantee",
              ["rule", "stopped", "read", "share", "recall", "least", f">= {target:g}"], rows)
    con.line(f"recall curve  {con.sparkline([0.0, 1.0, *res.mean_curve(40)])[2:]}  (mean, 0 -> 100% read)")
    for path in res.files.values():
        con.line(f"wrote {path}")
