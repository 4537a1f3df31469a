"""``al status``: labels so far, the queue, the model, the last metrics, the next command."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from al_cli.store import Project
from al_cli.store import labellog

if TYPE_CHECKING:
    from al_cli.commands.snapshot import Snapshot

#: stands for " -p ROOT" in a memoised next command, put back or left out by where al runs
_P = "\x00P"


@dataclass
class StatusResult:
    project: str
    n_labeled: int
    labels_per_class: dict[str, int]
    queue_size: int
    model_version: int | None
    last_metrics: dict[str, Any] | None
    next_command: str
    n_pool: int | None
    annotators: dict[str, int]
    torn_lines: int
    stopped: str | None = None  # the stopping rule the current model met at its last evaluation
    conflicts: int = 0  # items whose annotators' current answers disagree
    unresolved: list[str] | None = None  # of those, items the consensus rule leaves without a label
    consensus: str = "latest"
    to_adjudicate: int = 0  # of queue_size, rows queued for adjudication ('al label --adjudicate')
    overlap_short: int = 0  # queued overlap items answered by fewer than labeling.overlap_annotators
    discovery: dict[str, Any] | None = None  # task: discovery: read, found, estimated relevant and recall


def status(proj: Project) -> StatusResult:
    """The project's status, computed from its files."""
    return _with_p(_compute(proj), proj.root)


def cached_status(proj: Project) -> StatusResult:
    """:func:`status` from the memo in cache/status.json when no file it reads has changed
    since (store/statuscache.py), else computed and memoised. Imports no pandas on a hit."""
    from al_cli import __version__
    from al_cli.store import statuscache

    hit = statuscache.load(proj.root, __version__)
    if hit is not None:
        try:
            return _with_p(StatusResult(**hit), proj.root)
        except TypeError:
            pass  # a memo of another shape: compute again
    return refresh(proj, quiet=False)


def refresh(proj: Project, quiet: bool = True) -> StatusResult:
    """Compute the status and memoise it if the folder did not change meanwhile and nothing
    was said on stderr. ``quiet``: what it says is dropped (a command's closing refresh)."""
    import time
    from dataclasses import asdict

    from al_cli import __version__
    from al_cli import report
    from al_cli.store import statuscache

    try:
        extra = [str(proj.pool_path.resolve())]
        if proj.config.task == "discovery":
            extra += [str((proj.root / n).resolve()) for n in statuscache.DISCOVERY_INPUTS]
    except Exception:  # noqa: BLE001 - no pool file named: _compute says what is wrong
        extra = []
    taken = time.time_ns()
    before = statuscache.signature(proj.root, extra)
    from al_cli.commands import status_lite

    with report.collecting() as said:
        res = status_lite.compute(proj) or _compute(proj)
    if not quiet:
        for level, msg in said:
            report._say(level, msg)
    if not said:
        statuscache.save(proj.root, __version__, before, extra, {**asdict(res), "project": ""}, taken)
    return _with_p(res, proj.root)


def _with_p(res: StatusResult, root: Path) -> StatusResult:
    """The project's folder as this call names it, and ' -p ROOT' in the next command unless
    al runs in the project folder itself (the memo keeps neither: the folder may move)."""
    p = f" -p {root}" if Path.cwd().resolve() != Path(root).resolve() else ""
    res.next_command = res.next_command.replace(_P, p)
    res.project = str(root)
    return res


def _compute(proj: Project) -> StatusResult:
    from al_cli.commands.labels_io import per_class
    from al_cli.commands.snapshot import Snapshot

    snap = Snapshot(proj)
    cfg = snap.cfg
    eff = snap.known_labels
    q = snap.pending
    n_adj = int((q["purpose"] == "adjudicate").sum()) if "purpose" in q else 0
    version = snap.latest_version
    hist = proj.read_history()
    ev = hist[hist["event"] == "evaluate"]
    last = None
    if len(ev):
        r = ev.iloc[-1]
        last = {"model_version": int(r["model_version"]), "n_labeled": int(r["n_labeled"]),
                "source": r["source"], "accuracy": float(r["accuracy"]), "macro_f1": float(r["macro_f1"])}
    state = proj.read_pool_state() or {}
    train = eff[~eff["id"].isin(snap.audit_set)]
    reason = ev.iloc[-1].get("stop_reason") if len(ev) else None

    def current(version: int) -> bool:
        man = proj.load_manifest(version)
        key = man.get("labels_key")
        if not key:
            return man.get("n_labeled") == len(train)
        ok = snap.labels_key_matches(key)
        if ok and not labellog.is_labels_key(key):
            _upgrade_key(proj, version, man, snap.labels_key)
        return ok

    nxt, stopped = next_step(cfg.batch_size, len(eff), len(q), n_adj, train["label"].nunique(), version, current,
                             last, reason.strip() if isinstance(reason, str) else None)
    log = snap.log
    con = snap.consensus
    annot = annotator_counts(con.answered["annotator"].tolist())
    return StatusResult(str(proj.root), len(eff), per_class(eff, cfg.labels), len(q), version, last,
                        nxt, state.get("n_rows"), annot,
                        log.skipped_lines, stopped, len(con.conflicts), con.unresolved, cfg.labeling.consensus,
                        n_adj, len(snap.overlap_short()), discovery_state(snap, eff) if cfg.task == "discovery" else None)


def _upgrade_key(proj: Project, version: int, man: dict[str, Any], key: str) -> None:
    """Write the current format of a manifest's labels key (one that matched in the first
    format), so that the next status can check it without pandas; a busy project or one
    that cannot be written keeps the old key (it still matches)."""
    from al_cli.errors import AlError
    from al_cli.store.lock import project_lock

    try:
        with project_lock(proj.root, timeout=0):
            fresh = proj.load_manifest(version)  # as it is now: another command may have added to it
            if fresh.get("labels_key") == man.get("labels_key"):
                proj.models.write_manifest(version, {**fresh, "labels_key": key})
    except (AlError, OSError):
        pass


def annotator_counts(annotators: list[str]) -> dict[str, int]:
    """Items with a current answer per annotator (not log rows), most first; ties in the
    order the annotators first answered."""
    counts: dict[str, int] = {}
    for a in annotators:
        counts[str(a)] = counts.get(str(a), 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def next_step(batch_size: int, n_labeled: int, n_queue: int, n_adj: int, n_train_classes: int,
              version: int | None, current, last: dict[str, Any] | None, stop_reason: str | None
              ) -> tuple[str, str | None]:
    """(the next command, the stopping rule met) from the status's figures; ``current(v)``
    tells whether model ``v`` was trained on the labels as they are now (asked only when it
    matters). Shared by the pandas and the plain computation (status_lite.py)."""
    p = _P
    if n_labeled == 0 and n_queue == 0:
        return f"al seed{p} --size {batch_size}", None
    if n_queue:
        return (f"al label{p}" if n_adj < n_queue else f"al label{p} --adjudicate"), None
    if n_train_classes < 2:
        # a model needs two classes: more labels, found at random, before any retrain
        return f"al query{p} --strategy random --size {batch_size}", None
    if version is None or not current(version):
        return f"al retrain{p}", None
    if last is None or last["model_version"] != version:
        return f"al evaluate{p}", None
    if stop_reason:
        return f"al export{p} -o labeled.csv", stop_reason
    return f"al query{p}", None


def discovery_state(snap: Snapshot, eff, target: float = 0.95, confidence: float = 0.95) -> dict[str, Any]:
    """Documents read, relevant found and, from scores.csv of the latest model, the Quant
    estimate (Yang, Lewis & Frieder 2021) of the relevant documents still unread: the sum of
    their probabilities of relevance, with a 95% interval. Reads scores.csv, fits nothing."""
    import numpy as np

    from al_cli.reports.recall import quant_estimate

    rel = snap.cfg.relevant
    found = int((eff["label"] == rel).sum())
    out: dict[str, Any] = {"read": int(len(eff)), "relevant_found": found, "estimated_relevant": None,
                           "estimated_relevant_interval": None, "estimated_recall": None,
                           "recall_low": None, "from_model": None}
    from al_cli.commands.recall_sample import state

    rs = state(snap, target, confidence)
    out["recall_sample"] = rs.to_json() if rs is not None else None
    sc = snap.proj.read_csv(snap.proj.scores_path)
    col = f"p_{rel}"
    if sc is None or any(c not in sc.columns for c in ("id", col, "model_version")) or not len(sc):
        out["note"] = "run 'al score' for an estimate of the relevant documents still unread"
        return out
    if int(sc["model_version"].iloc[0]) != snap.latest_version:
        out["note"] = "scores.csv is from an older model: run 'al score' for a current estimate"
        return out
    unread = sc[~sc["id"].astype(str).isin(snap.labeled_ids)]
    p = unread[col].to_numpy(dtype=float)
    # unread rows of the recall and audit samples are not scored (never queried): they are
    # random draws from the unread, so each counts with the scored rows' mean probability
    scored = set(unread["id"].astype(str))
    random_rows = [i for i in {*snap.pending_recall_sample(), *snap.pending_audit()} if i not in scored]
    if random_rows and len(p):
        p = np.concatenate([p, np.full(len(random_rows), float(p.mean()))])
    out["unscored_random_rows"] = len(random_rows)
    q = quant_estimate(found, p)
    out.update({"estimated_relevant": round(q.total, 2), "estimated_relevant_interval": list(q.total_interval),
                "estimated_recall": q.recall, "recall_low": q.recall_low,
                "from_model": int(sc["model_version"].iloc[0])})
    return out
