"""``al status`` without pandas, for the common project (issue 12: under 0.3 s).

Importing pandas alone takes 0.25-0.5 s here, more than the whole answer is allowed. When
the status memo is stale (a file was edited by hand, or a command did not refresh it), this
module reads the folder's small CSV files with the csv module and computes the same
:class:`~al_cli.commands.status.StatusResult` as :func:`al_cli.commands.status._compute`.

It answers only where it is sure to agree, and otherwise returns None so that the pandas
computation answers (and says what is wrong, if anything is). It steps aside for:

- a discovery project with a recall sample (its test takes scipy), or whose scores.csv is
  over :data:`MAX_SCORES_BYTES`;
- a label log over :data:`MAX_LOG_BYTES`, or one with a torn or malformed line, an
  adjudication, a label outside al.yaml's set (those are warned about), or, under a
  consensus rule other than ``latest``, answers in conflict;
- a queue row for adjudication;
- a CSV file that is odd in any way (a field count that differs from the header, an empty
  id, a duplicated column, text that is not UTF-8);
- a model whose manifest has a labels key of the first format (a pandas hash).

tests/test_status_lite.py checks on generated projects that whenever this module answers,
its answer equals the pandas one, field by field and in order.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from pathlib import Path
from typing import Any

from al_cli.errors import AlError
from al_cli.store import Project
from al_cli.store import labellog

#: a larger label log is read by pandas' C parser (the csv module's pace, about 0.1 s per
#: 60,000 answers, would lose to it)
MAX_LOG_BYTES = 4 << 20
#: a discovery project's scores.csv read here at most (about 60,000 documents)
MAX_SCORES_BYTES = 4 << 20


class _Aside(Exception):
    """This project is not one to answer without pandas."""


def compute(proj: Project):
    """The status of ``proj`` computed without pandas, or None (see the module's docstring)."""
    cfg = proj.config  # a bad al.yaml: the same error as the pandas path gives
    try:
        return _compute(proj, cfg)
    except (_Aside, AlError, OSError, ValueError, OverflowError, UnicodeDecodeError, csv.Error, KeyError,
            TypeError):
        return None  # the pandas path answers, or words the error


def _rows(path: Path, max_bytes: int | None = None) -> tuple[list[str], list[list[str]]] | None:
    """(header, records) of a CSV file, blank lines left out; None when there is no file."""
    if path.is_symlink():
        raise _Aside
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    if max_bytes is not None and len(raw) > max_bytes:
        raise _Aside
    return _parse(raw)


def _parse(raw: bytes) -> tuple[list[str], list[list[str]]]:
    if not raw or raw.startswith(codecs.BOM_UTF8):
        raise _Aside  # no columns (an error the pandas path words), or a BOM pandas strips
    labellog.raise_field_limit()
    recs = [r for r in csv.reader(io.StringIO(raw.decode("utf-8"), newline="")) if r]
    if not recs:
        raise _Aside
    header, body = recs[0], recs[1:]
    if len(set(header)) != len(header) or any(len(r) != len(header) for r in body):
        raise _Aside
    if any(not "".join(r).strip() for r in body):
        raise _Aside  # a line of blanks: pandas skips it, csv reads a row
    return header, body


def _column(rows, name: str) -> list[str] | None:
    """One column's values (None when the file or the column is missing); an empty id is odd."""
    if rows is None or name not in rows[0]:
        return None
    k = rows[0].index(name)
    out = [r[k] for r in rows[1]]
    if name == "id" and not all(out):
        raise _Aside
    return out


def _label_log(proj: Project) -> list[list[str]]:
    """The records of labels.csv (id, label, annotator, ..., status), when all are sound."""
    path = proj.labels_path
    if path.is_symlink():
        raise _Aside
    try:
        if os.path.getsize(path) > MAX_LOG_BYTES:
            raise _Aside
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    if not raw:
        return []
    if not raw.strip():
        raise _Aside  # blank lines only: the pandas path finds no header
    if not raw.endswith(b"\n") or raw.count(b'"') % 2:
        raise _Aside  # a torn last record: counted and reported by the pandas path
    rows = _parse(raw)
    if rows[0] != labellog.HEADERS[labellog.FORMAT]:
        raise _Aside
    body = rows[1]
    for r in body:
        if r[-1] not in ("labeled", "skipped", "retracted") or not r[0]:
            raise _Aside
    return body


def _answers(log: list[list[str]]) -> list[tuple[str, str, str]]:
    """Each annotator's current answer per id (id, label, annotator), in log order: the
    rule of store/consensus.current_answers (a retraction undoes the annotator's previous
    answer for the id, not a skip)."""
    prev: dict[tuple[str, str], str] = {}
    last: dict[tuple[str, str], int] = {}
    for pos, r in enumerate(log):
        key, status = (r[0], r[2]), r[7]
        before = prev.get(key)
        prev[key] = status
        if status == "labeled" or (status == "retracted" and before != "skipped"):
            last[key] = pos
    keep = sorted(p for p in last.values() if log[p][7] == "labeled")
    return [(log[p][0], log[p][1], log[p][2]) for p in keep]


def _history_last_evaluate(proj: Project) -> tuple[dict[str, Any] | None, str | None]:
    rows = _rows(proj.history_path)
    events = _column(rows, "event")
    if not events or "evaluate" not in events:
        return None, None
    header, body = rows
    r = dict(zip(header, body[len(events) - 1 - events[::-1].index("evaluate")]))
    for key in ("source", "stop_reason"):
        value = r.get(key) or ""
        if value.strip().lower() in ("true", "false") or (key == "source" and not value):
            raise _Aside  # pandas reads it as a bool (or an empty source as NaN)
        try:
            float(value or "x")
            raise _Aside  # a column pandas may read as numbers
        except ValueError:
            pass
    last = {"model_version": _int(r["model_version"]), "n_labeled": _int(r["n_labeled"]),
            "source": r["source"], "accuracy": float(r["accuracy"]), "macro_f1": float(r["macro_f1"])}
    return last, (r.get("stop_reason") or "").strip() or None


def _int(text: str) -> int:
    """An integer as pandas gives it: '3' as is, '3.0' (a float column) through a float."""
    try:
        return int(text)
    except ValueError:
        return int(float(text))


def _compute(proj: Project, cfg):
    from al_cli.commands.status import StatusResult, annotator_counts, next_step

    answers = _answers(_label_log(proj))
    by_id: dict[str, tuple[str, str]] = {}          # id -> (label, annotator) of its latest answer
    labels_of: dict[str, set[str]] = {}
    annotators_of: dict[str, set[str]] = {}
    for i, lab, who in answers:
        by_id.pop(i, None)                           # its order: that of its last answer
        by_id[i] = (lab, who)
        labels_of.setdefault(i, set()).add(lab)
        annotators_of.setdefault(i, set()).add(who)
    conflicts = sum(len(s) > 1 for s in labels_of.values())
    if conflicts and cfg.labeling.consensus != "latest":
        raise _Aside
    if any(lab not in cfg.labels for lab, _ in by_id.values()):
        raise _Aside  # warned about by the pandas path
    queue = _rows(proj.queue_path)
    q_ids = _column(queue, "id") or []
    purpose = _column(queue, "purpose") or []
    if "adjudicate" in purpose:
        raise _Aside
    pending = [i for i in q_ids if i not in by_id]
    audit_ids = _column(_rows(proj.audit_path), "id") or []
    audit = set(audit_ids)
    train = {i: v[0] for i, v in by_id.items() if i not in audit}
    last, reason = _history_last_evaluate(proj)
    version = proj.latest_model_version()

    def current(v: int) -> bool:
        man = proj.load_manifest(v)
        key = man.get("labels_key")
        if not key:
            return man.get("n_labeled") == len(train)
        if not labellog.is_labels_key(key):
            raise _Aside
        return key == labellog.labels_key(train.items())

    nxt, stopped = next_step(cfg.batch_size, len(by_id), len(pending), 0, len(set(train.values())), version,
                             current, last, reason)
    annot = annotator_counts([who for _, _, who in answers])
    per_class = dict.fromkeys(cfg.labels, 0)
    for lab, _ in by_id.values():
        per_class[lab] += 1
    state = proj.read_pool_state() or {}
    return StatusResult(str(proj.root), len(by_id), per_class, len(pending), version, last, nxt,
                        state.get("n_rows"), annot, 0, stopped, conflicts, [], cfg.labeling.consensus, 0,
                        len(_overlap_short(cfg, q_ids, annotators_of)),
                        _discovery(proj, cfg, by_id, audit_ids, version) if cfg.task == "discovery" else None)


def _discovery(proj: Project, cfg, by_id: dict[str, tuple[str, str]], audit_ids: list[str],
               version: int | None) -> dict[str, Any]:
    """status.discovery_state() for a project without a recall sample."""
    if proj.recall_sample_path.exists() or proj.recall_sample_path.is_symlink():
        raise _Aside
    import numpy as np

    from al_cli.reports.recall import quant_estimate

    found = sum(lab == cfg.relevant for lab, _ in by_id.values())
    out: dict[str, Any] = {"read": len(by_id), "relevant_found": found, "estimated_relevant": None,
                           "estimated_relevant_interval": None, "estimated_recall": None,
                           "recall_low": None, "from_model": None, "recall_sample": None}
    rows = _rows(proj.scores_path, MAX_SCORES_BYTES)
    col = f"p_{cfg.relevant}"
    ids, versions, probs = _column(rows, "id"), _column(rows, "model_version"), _column(rows, col)
    if ids is None or versions is None or probs is None or not ids:
        out["note"] = "run 'al score' for an estimate of the relevant documents still unread"
        return out
    if _int(versions[0]) != version:
        out["note"] = "scores.csv is from an older model: run 'al score' for a current estimate"
        return out
    keep = [k for k, i in enumerate(ids) if i not in by_id]
    p = np.array([float(probs[k]) for k in keep], dtype=float)
    scored = {ids[k] for k in keep}
    random_rows = [i for i in dict.fromkeys(audit_ids) if i not in by_id and i not in scored]
    if random_rows and len(p):
        p = np.concatenate([p, np.full(len(random_rows), float(p.mean()))])
    out["unscored_random_rows"] = len(random_rows)
    q = quant_estimate(found, p)
    out.update({"estimated_relevant": round(q.total, 2), "estimated_relevant_interval": list(q.total_interval),
                "estimated_recall": q.recall, "recall_low": q.recall_low, "from_model": _int(versions[0])})
    return out


def _overlap_short(cfg, q_ids: list[str], annotators_of: dict[str, set[str]]) -> list[str]:
    """Snapshot.overlap_short(): queued overlap items answered by too few annotators."""
    from al_cli.store.consensus import is_overlap

    lab = cfg.labeling
    ids = [i for i in dict.fromkeys(q_ids) if is_overlap(i, float(lab.overlap))]
    return [i for i in ids if 0 < len(annotators_of.get(i, ())) < lab.overlap_annotators]
