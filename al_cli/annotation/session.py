"""The labeling session: which item to show next, and saving each answer at once.

No terminal code lives here (the UI is ``labeler.py``); tests drive a
:class:`LabelSession` directly, or through :func:`drive` with an ``ask`` callable.

The label log (``labels.csv``) is the record of answers; every answer, skip and undo
is appended and fsynced by :meth:`Project.append_labels` before the next item is
chosen. Per annotator and id, the latest event decides the state of the item:

- ``labeled``   answered; never shown to this annotator again.
- ``skipped``   seen, not answered; comes back after the unseen items.
- ``retracted`` an undo of that annotator's previous event on the id; shown again.

Several annotators may label one project at once. Who gets which item is settled by
an append-only ``claims.csv`` (``id,annotator,time,action``, action ``claim`` or
``release``), written under the project lock when an item is first shown: an item
another annotator claimed less than ``claim_ttl`` seconds ago, or answered, is not
given out again. A crashed labeler's claims simply expire. A fixed share of the batch
(``labeling.overlap``, chosen by hashing the id, see :func:`is_overlap`) ignores claims:
each such item is shown to every annotator who has not answered it until
``labeling.overlap_annotators`` different annotators have, so agreement can be measured.
Rows queued for adjudication (purpose ``adjudicate``) are left to
:class:`~al_cli.annotation.adjudication.AdjudicationSession`.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from al_cli import settings
from al_cli.annotation.views import (  # noqa: F401 - re-exported for the UI and tests
    ItemView,
    add_tag,
    display_columns,
    format_tag,
    load_views,
    note_tags,
)
from al_cli.errors import DataError
from al_cli.store import LABEL_COLUMNS, STATUSES, Project, labellog, now_iso
from al_cli.store.consensus import is_overlap  # noqa: F401 - re-exported for tests

CLAIMS_NAME = "claims.csv"
CLAIM_COLUMNS = ["id", "annotator", "time", "action"]


# --------------------------------------------------------------------------- append-only tails
class _Tail:
    """Incremental reader of an append-only CSV: yields the complete new lines only."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.partial = b""  # bytes after the last newline (a torn or in-flight line)

    def read(self) -> list[list[str]]:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            self.offset, self.partial = 0, b""
            return []
        if size < self.offset:  # replaced or truncated: start over
            self.offset, self.partial = 0, b""
        if size == self.offset:
            return []
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            data = fh.read(size - self.offset)
        self.offset += len(data)
        data = self.partial + data  # starts at a record boundary
        end = labellog.complete_length(data)
        self.partial = data[end:]
        if not end:
            return []
        return [rec for rec in labellog.records(data[:end]) if rec is not None]

    @property
    def ends_clean(self) -> bool:
        return not self.partial


# --------------------------------------------------------------------------- the session
@dataclass
class Action:
    """What the annotator did with the shown item (returned by an ``ask`` callable)."""

    kind: str  # "label" | "skip" | "undo" | "quit"
    label: str | None = None
    seconds: float = 0.0
    note: str = ""


@dataclass
class _Counts:
    """This session's answers and skips, less the ones undone; ``undone`` counts undos."""

    labeled: int = 0
    skipped: int = 0
    undone: int = 0
    seconds: float = 0.0


class LabelSession:
    """One annotator labeling the current batch of one project.

    ``next_item()`` claims and returns the item to show (the same one until it is
    answered, skipped or undone); ``answer``/``skip``/``undo`` append to the label log
    at once. ``views`` maps id -> :class:`ItemView`; by default the pool is read once
    here (``load_views``), so nothing per item touches the disk but the appends and a
    read of the bytes other labelers appended since.
    """

    ANSWER = "labeled"       # the status an answer is recorded with
    adjudicating = False
    command = "al label"     # what resumes this session

    def _takes(self, purpose: str) -> bool:
        """Whether a queued row of this purpose is for this kind of session."""
        return purpose != "adjudicate"

    def __init__(self, project: Project, annotator: str, *, claim_ttl: float | None = None,
                 clock: Callable[[], float] = time.time, views: dict[str, ItemView] | None = None):
        if not annotator or not str(annotator).strip():
            raise DataError("--annotator: an annotator name is required")
        self.project = project
        self.annotator = str(annotator).strip()
        self.cfg = project.config
        self.labels = list(self.cfg.labels)
        self.keys = self.cfg.label_keys()
        self.tags = [str(t) for t in self.cfg.labeling.tags]
        self.overlap = 0.0 if self.adjudicating else float(self.cfg.labeling.overlap)
        self.overlap_target = int(self.cfg.labeling.overlap_annotators)
        self.claim_ttl = float(settings.claim_ttl() if claim_ttl is None else claim_ttl)
        self.clock = clock
        self.round = project.latest_model_version() or 0
        self.claims_path = project.claims_path

        self._queue_stamp = self._stamp_queue()
        q = project.read_queue()
        purposes = dict(zip(q["id"].astype(str), q["purpose"].astype(str))) if "purpose" in q else {}
        self.queue_ids: list[str] = [i for i in dict.fromkeys(q["id"].astype(str))
                                     if self._takes(purposes.get(i, ""))]
        self.views = views if views is not None else (load_views(project, self.queue_ids, purposes)
                                                      if self.queue_ids else {})
        self.missing_ids = [i for i in self.queue_ids if i not in self.views]
        self.queue_ids = [i for i in self.queue_ids if i in self.views]
        self._qset = set(self.queue_ids)
        self._overlap = {i for i in self.queue_ids if is_overlap(i, self.overlap)}

        # state from the logs, kept current by reading what others append
        self._mine: dict[str, str] = {}            # id -> my latest status
        self._mine_seq: dict[str, int] = {}        # id -> position of that event
        self._my_note: dict[str, str] = {}         # id -> note of my latest answer or skip
        self._done_by: dict[str, set[str]] = {}    # id -> annotators whose latest answer stands
        self._given: dict[str, dict[str, tuple[str, str]]] = {}  # id -> annotator -> (label, note)
        self._last: dict[tuple[str, str], str] = {}  # (id, annotator) -> status of their last row
        self._claims: dict[str, dict[str, tuple[str, float]]] = {}  # id -> annotator -> (action, t)
        self._seq = 0
        self._labels_tail = _Tail(project.labels_path)
        self._claims_tail = _Tail(self.claims_path)
        self._refresh()

        # undo history: my events on this batch in log order (resume keeps undo working), as
        # (id, status): the status of an event of this session, "" for one read from the log
        self._history: list[tuple[str, str]] = [(i, "") for i, _ in sorted(
            ((i, s) for i, s in self._mine_seq.items() if self._mine.get(i) in (self.ANSWER, "skipped")),
            key=lambda t: t[1])]
        self._front: list[str] = []   # undone items, shown before anything else
        self.current: str | None = None
        self.counts = _Counts()
        self.last_row: dict | None = None

    def _stamp_queue(self) -> tuple | None:
        try:
            st = self.project.queue_path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def queue_replaced(self) -> bool:
        """True when queue.csv was rewritten ('al query', 'al seed --force') since this
        session read it: the batch on screen is no longer the current one."""
        return self._stamp_queue() != self._queue_stamp

    # ------------------------------------------------------------------ log events
    def _apply_label(self, rec: list[str]) -> None:
        if len(rec) != len(LABEL_COLUMNS) or rec[-1] not in STATUSES or not rec[0] or rec[0] == "id":
            return
        item_id, label, ann, status = rec[0], rec[1], rec[2], rec[-1]
        if item_id not in self._qset:
            return
        self._seq += 1
        # a retraction undoes that annotator's previous row for the item (consensus.py)
        undone = self._last.get((item_id, ann)) if status == "retracted" else None
        self._last[(item_id, ann)] = status
        if ann == self.annotator and (status in (self.ANSWER, "skipped") or undone in (self.ANSWER, "skipped")):
            self._mine[item_id] = status
            self._mine_seq[item_id] = self._seq
            if status != "retracted":
                self._my_note[item_id] = rec[LABEL_COLUMNS.index("note")]
        if status == "labeled" and label in self.labels:
            self._given.setdefault(item_id, {})[ann] = (label, rec[LABEL_COLUMNS.index("note")])
        elif undone == "labeled":
            self._given.get(item_id, {}).pop(ann, None)
        if status == self.ANSWER and label in self.labels:
            self._done_by.setdefault(item_id, set()).add(ann)
        elif undone == self.ANSWER:
            self._done_by.get(item_id, set()).discard(ann)

    def _apply_claim(self, rec: list[str]) -> None:
        if len(rec) != len(CLAIM_COLUMNS) or rec[0] not in self._qset or rec[3] not in ("claim", "release"):
            return
        try:
            t = float(rec[2])
        except ValueError:
            return
        self._claims.setdefault(rec[0], {})[rec[1]] = (rec[3], t)

    def _refresh(self) -> None:
        for rec in self._labels_tail.read():
            self._apply_label(rec)
        for rec in self._claims_tail.read():
            self._apply_claim(rec)

    # ------------------------------------------------------------------ availability
    def _claimed_by_other(self, item_id: str, now: float) -> bool:
        for ann, (action, t) in self._claims.get(item_id, {}).items():
            if ann != self.annotator and action == "claim" and now - t < self.claim_ttl:
                return True
        return False

    def _open_for_me(self, item_id: str, now: float) -> bool:
        if self._mine.get(item_id) == self.ANSWER:
            return False
        others = self._done_by.get(item_id, set()) - {self.annotator}
        if item_id in self._overlap:  # no claim: open until enough others have answered
            return len(others) < self.overlap_target
        return not others and not self._claimed_by_other(item_id, now)

    def _candidates(self) -> list[str]:
        skipped = sorted((i for i in self.queue_ids if self._mine.get(i) == "skipped"),
                         key=lambda i: self._mine_seq.get(i, 0))
        unseen = [i for i in self.queue_ids if self._mine.get(i) in (None, "retracted")]
        return list(dict.fromkeys([*self._front, *unseen, *skipped]))

    # ------------------------------------------------------------------ public API
    @property
    def batch_size(self) -> int:
        return len(self.queue_ids)

    @property
    def answered(self) -> int:
        """Items of this batch whose latest event by this annotator is an answer."""
        return sum(1 for i in self.queue_ids if self._mine.get(i) == self.ANSWER)

    @property
    def remaining(self) -> int:
        """Items still open to this annotator (the shown one included)."""
        self._refresh()
        now = self.clock()
        return sum(1 for i in self.queue_ids if self._open_for_me(i, now) or i == self.current)

    @property
    def total(self) -> int:
        return self.answered + self.remaining

    @property
    def position(self) -> int:
        """1-based position of the shown item in this annotator's share of the batch."""
        return self.answered + 1

    @property
    def claimed_by_others(self) -> int:
        """Unanswered items another annotator is working on now (not open to this one)."""
        self._refresh()
        now = self.clock()
        return sum(1 for i in self.queue_ids
                   if self._mine.get(i) != self.ANSWER and i != self.current and i not in self._overlap
                   and not (self._done_by.get(i, set()) - {self.annotator})
                   and self._claimed_by_other(i, now))

    @property
    def overlap_waiting(self) -> int:
        """Overlap items this annotator answered that still lack other annotators' answers
        (``labeling.overlap_annotators``): the batch is not done for the team."""
        self._refresh()
        return sum(1 for i in self._overlap if self._mine.get(i) == self.ANSWER
                   and len(self._done_by.get(i, ())) < self.overlap_target)

    @property
    def rate(self) -> float | None:
        """Answers per minute of time spent on items in this session (None before one)."""
        if self.counts.labeled == 0 or self.counts.seconds <= 0:
            return None
        return self.counts.labeled / (self.counts.seconds / 60.0)

    @property
    def can_undo(self) -> bool:
        return bool(self._history)

    def earlier_note(self, item_id: str) -> str:
        """The note this annotator wrote when skipping ``item_id``, or with an answer since
        undone: shown again when the item comes back, so it reaches the answer."""
        if self._mine.get(item_id) in ("skipped", "retracted"):
            return self._my_note.get(item_id, "")
        return ""

    def view(self, item_id: str) -> ItemView:
        return self.views[item_id]

    def next_item(self) -> ItemView | None:
        """The item to show: the current one, else the next one this annotator may claim."""
        if self.current is not None:
            return self.views[self.current]
        self._refresh()
        now = self.clock()
        for item_id in self._candidates():
            if not self._open_for_me(item_id, now):
                continue
            if self._claim(item_id):
                self.current = item_id
                if item_id in self._front:
                    self._front.remove(item_id)
                return self.views[item_id]
        return None

    def answer(self, label: str, seconds: float, note: str = "") -> dict:
        """Record ``label`` for the shown item (appended and fsynced on return)."""
        if label not in self.labels:
            raise ValueError(f"label {label!r} is not in the label set ({', '.join(self.labels)})")
        item_id = self._require_current()
        row = self._row(item_id, label, seconds, note, self.ANSWER)
        self.project.append_labels([row])
        self._apply_label(self._rec(row))
        self._history.append((item_id, self.ANSWER))
        self.counts.labeled += 1
        self.counts.seconds += row["seconds"]
        self.current = None
        self.last_row = row
        return row

    def skip(self, seconds: float, note: str = "") -> dict:
        """Record a skip; the item comes back after the unseen ones (and may go to others)."""
        item_id = self._require_current()
        row = self._row(item_id, "", seconds, note, "skipped")
        self.project.append_labels([row])
        self._apply_label(self._rec(row))
        self._history.append((item_id, "skipped"))
        self.counts.skipped += 1
        self.counts.seconds += row["seconds"]
        self.current = None
        self.last_row = row
        self._release(item_id)
        return row

    def undo(self) -> str | None:
        """Retract this annotator's previous answer or skip; that item is shown next.

        Appends a ``retracted`` row (the old row stays). Returns the id, or None when
        there is nothing to undo. The session's counts no longer count the undone answer
        or skip (its seconds stay: that time was spent).
        """
        if not self._history:
            return None
        item_id, status = self._history.pop()
        row = self._row(item_id, "", 0.0, "", "retracted")
        self.project.append_labels([row])
        self._apply_label(self._rec(row))
        self.counts.undone += 1
        if status == self.ANSWER:
            self.counts.labeled -= 1
        elif status == "skipped":
            self.counts.skipped -= 1
        front = [item_id] + ([self.current] if self.current is not None else [])
        self._front = [*front, *[i for i in self._front if i not in front]]
        self.current = None
        self.last_row = row
        return item_id

    def close(self) -> None:
        """Release the claim on the shown, unanswered item so others may take it."""
        if self.current is not None:
            try:
                self._release(self.current)
            except Exception:  # noqa: BLE001 - best effort: an unreleased claim just expires
                pass
            self.current = None

    # ------------------------------------------------------------------ internals
    def _require_current(self) -> str:
        if self.current is None:
            raise RuntimeError("no item is shown: call next_item() first")
        return self.current

    def _row(self, item_id: str, label: str, seconds: float, note: str, status: str) -> dict:
        try:
            secs = float(seconds)
        except (TypeError, ValueError):
            secs = 0.0
        if not secs >= 0 or secs == float("inf"):
            secs = 0.0
        return {"id": item_id, "label": label, "annotator": self.annotator, "time": now_iso(),
                "round": self.round, "seconds": round(secs, 3), "note": note or "", "status": status}

    @staticmethod
    def _rec(row: dict) -> list[str]:
        return [str(row[c]) for c in LABEL_COLUMNS]

    def _claim(self, item_id: str) -> bool:
        """Claim ``item_id`` under the project lock unless someone else just did."""
        if item_id in self._overlap:
            return True  # shown to everyone: no claim needed
        with self.project.lock():
            self._refresh()
            now = self.clock()
            if not self._open_for_me(item_id, now):
                return False
            mine = self._claims.get(item_id, {}).get(self.annotator)
            if mine is not None and mine[0] == "claim" and now - mine[1] < self.claim_ttl / 2:
                return True  # still ours (resume after a crash or an undo)
            self._write_claim(item_id, "claim", now)
        return True

    def _release(self, item_id: str) -> None:
        if item_id in self._overlap:
            return
        mine = self._claims.get(item_id, {}).get(self.annotator)
        if mine is None or mine[0] != "claim":
            return
        with self.project.lock():
            self._refresh()
            self._write_claim(item_id, "release", self.clock())

    def _write_claim(self, item_id: str, action: str, t: float) -> None:
        """Append one claim line; the caller holds the lock and has just refreshed.

        Flushed, not fsynced: a claim lost in a power cut only means two annotators
        may see the same item, never a wrong or lost label.
        """
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        path = self.claims_path
        new = not path.exists() or path.stat().st_size == 0
        if new:
            w.writerow(CLAIM_COLUMNS)
        elif not self._claims_tail.ends_clean:
            buf.write("\n")  # a torn last line gets its own line and is skipped on read
        w.writerow([item_id, self.annotator, f"{t:.3f}", action])
        with open(path, "ab") as fh:
            fh.write(buf.getvalue().encode("utf-8"))
            fh.flush()
        self._refresh()


# --------------------------------------------------------------------------- driving
def drive(session: LabelSession, ask: Callable[[LabelSession, ItemView], Action]) -> str:
    """Show items through ``ask`` until the batch is done or the annotator quits.

    ``ask(session, item)`` returns an :class:`Action`. Returns ``"done"``, ``"quit"``, or
    ``"replaced"`` when queue.csv was replaced between two items (start a new session).
    """
    try:
        while True:
            if session.current is None and session.queue_replaced():
                return "replaced"
            item = session.next_item()
            if item is None:
                return "done"
            act = ask(session, item)
            if act.kind == "label":
                session.answer(act.label, act.seconds, act.note)
            elif act.kind == "skip":
                session.skip(act.seconds, act.note)
            elif act.kind == "undo":
                session.undo()
            elif act.kind == "quit":
                return "quit"
            else:
                raise ValueError(f"unknown action {act.kind!r}")
    finally:
        session.close()
