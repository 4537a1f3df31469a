"""What ``al status`` prints. Imports neither typer nor pandas: the console script answers a
memoised status with it before the command line is even built (al_cli/_entry.py)."""

from __future__ import annotations

from dataclasses import asdict

from al_cli import console as con


def counts(d: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in d.items())


def show_status(res, json_out: bool) -> None:
    if json_out:
        con.print_json(asdict(res))
        return
    con.line(f"project {res.project}: {res.n_pool} pool rows")
    con.line(f"labeled: {res.n_labeled} ({counts(res.labels_per_class)})")
    if res.annotators:
        con.line(f"annotators: {counts(res.annotators)}")
    con.line(f"queue: {res.queue_size} unanswered"
             + (f" ({res.to_adjudicate} to adjudicate: 'al label --adjudicate')" if res.to_adjudicate else ""))
    if res.overlap_short:
        con.line(f"shared items: {res.overlap_short} answered by fewer than labeling.overlap_annotators "
                 "annotators; they stay queued for the others ('al label', or 'al label --export FILE "
                 "--annotator NAME')")
    con.line(f"model: {'none' if res.model_version is None else f'{res.model_version:04d}'}")
    if res.last_metrics:
        m = res.last_metrics
        con.line(f"last evaluation: model {m['model_version']:04d}, {m['source']}, accuracy "
                 f"{m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f}")
    if res.conflicts:
        left = res.unresolved or []
        more = (f"; {len(left)} unresolved under '{res.consensus}' (left out of training: "
                + ", ".join(left[:5]) + (", ..." if len(left) > 5 else "")
                + "; 'al query --adjudicate' queues them for a decision)") if left else \
            f", settled by the '{res.consensus}' rule"
        con.line(f"conflicts: {res.conflicts} item(s) with disagreeing answers{more}")
    if res.stopped:
        con.line(f"stop rule met: {res.stopped} (take the labels away, or go on with 'al query')")
    if res.discovery:
        d = res.discovery
        line = f"discovery: {d['read']} read, {d['relevant_found']} relevant found"
        if d["estimated_relevant"] is not None:
            lo, hi = d["estimated_relevant_interval"]
            line += (f"; about {d['estimated_relevant']:.0f} relevant in all (95%: {lo:.0f}-{hi:.0f}), estimated "
                     f"recall {d['estimated_recall']:.1%} (at least {d['recall_low']:.1%}; model {d['from_model']:04d})")
        con.line(line)
        rs = d.get("recall_sample")
        if rs:
            verdict = (f"recall >= {rs['target']:g} with {rs['confidence']:.0%} confidence: you may stop"
                       if rs["stop"] else
                       f"not yet shown (p = {rs['p_value']:.3f}); about {rs['to_read_if_none']} more sample "
                       f"answers end it if none is relevant")
            con.line(f"recall sample: {rs['answered']} of {rs['sample_size']} answered ({rs['relevant_in_sample']} "
                     f"relevant) from {rs['urn']} unread; {rs['found_before']} relevant found before it; {verdict}")
            if rs.get("estimated_relevant") is not None:
                lo, hi = rs["estimated_relevant_interval"]
                con.line(f"from the sample: about {rs['estimated_relevant']:.0f} relevant in all (95%: {lo}-{hi}), "
                         f"recall {rs['estimated_recall']:.1%} (at least {rs['recall_low']:.1%})")
        if d.get("note"):
            con.message("info", d["note"])
    if res.torn_lines:
        con.message("warning", f"labels.csv: {res.torn_lines} torn or malformed line(s) ignored")
    con.line(f"next: {res.next_command}")
