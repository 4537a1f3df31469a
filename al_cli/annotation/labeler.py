"""The terminal UI of ``al label``: one item at a time, one keypress per answer.

All decisions (which item, what is saved) are in :mod:`al_cli.annotation.session`; what a
frame looks like at any terminal size is in :mod:`al_cli.annotation.screen`. This module
reads single keys (termios, ``select``), writes each frame in one write, redraws on a
resize, and always gives the terminal back as it found it: on quit, on an exception, on
ctrl-C and on SIGTERM/SIGHUP.
"""

from __future__ import annotations

import os
import time
from typing import Callable

from al_cli import console as con
from al_cli.annotation.screen import Screen  # noqa: F401 - re-exported (tests draw frames)
from al_cli.annotation.session import Action, ItemView, LabelSession, drive, format_tag
from al_cli.annotation.terminal import (  # noqa: F401 - keys are part of the UI's vocabulary
    BACKSPACE,
    CTRL_C,
    ENTER,
    LINE_DOWN,
    LINE_UP,
    PAGE_DOWN,
    PAGE_UP,
    Terminal,
    Terminated,
)
from al_cli.store import Project

CTRL_O = "\x0f"
from al_cli.text import printable


# --------------------------------------------------------------------------- the loop
class UI:
    """The ``ask`` callable for :func:`session.drive`: keys in, one :class:`Action` out."""

    def __init__(self, session: LabelSession, term: Terminal):
        self.s = session
        self.term = term
        self.screen = Screen(session, term)
        self.notes: dict[str, str] = {}  # id -> note to save with its answer or skip
        self.message = ""

    def draw(self, item: ItemView, scroll: int = 0, prompt: str | None = None,
             help_open: bool = False) -> int:
        text, scroll = self.screen.frame(item, scroll=scroll, note=self.notes.get(item.id, ""),
                                         prompt=prompt, message=self.message, help_open=help_open)
        self.term.write(text)
        return scroll

    def scrolled(self, key: str, scroll: int) -> int | None:
        """The new first line after a scrolling key (pages follow each other with no line
        left out or repeated), or None when ``key`` does not scroll."""
        page, at_end = self.screen.page, self.screen.at_end
        if key in PAGE_DOWN:
            return scroll if at_end else scroll + page
        if key in PAGE_UP:
            return max(0, scroll - page)
        if key in LINE_DOWN:
            return scroll if at_end else scroll + 1
        if key in LINE_UP:
            return max(0, scroll - 1)
        if key == "home":
            return 0
        return None

    def __call__(self, session: LabelSession, item: ItemView) -> Action:
        self.term.discard_input()
        if item.id not in self.notes and session.earlier_note(item.id):
            self.notes[item.id] = session.earlier_note(item.id)  # a skipped item comes back with its note
        shown = time.monotonic()
        scroll = self.draw(item)
        self.message = ""
        while True:
            key = self.term.read_key()
            seconds = time.monotonic() - shown
            if key in session.keys:
                label = session.keys[key]
                note = self.notes.pop(item.id, "")
                done = "decided" if session.adjudicating else "saved"
                self.message = f"{done} {printable(item.id)}: {label}" + (f" ({note})" if note else "")
                return Action("label", label=label, seconds=seconds, note=note)
            if key in ("q", CTRL_C, "\x04"):
                return Action("quit")
            if key == "s":
                note = self.notes.pop(item.id, "")
                self.message = (f"skipped {printable(item.id)}" + (f" ({note})" if note else "")
                                + "; it comes back at the end")
                return Action("skip", seconds=seconds, note=note)
            if key == "u":
                if session.can_undo:
                    self.message = "undone: the previous item is back; answer it again"
                    return Action("undo")
                self.message = "nothing to undo"
            elif key == "n":
                if self.note_prompt(item, scroll) is None:
                    return Action("quit")
            elif key == "?":
                if not self.show_help(item):
                    return Action("quit")
            elif (new := self.scrolled(key, scroll)) is not None:
                scroll = new
            elif key == "resize":
                scroll = self.draw(item, scroll)  # the same item, laid out for the new size
                continue
            elif key == CTRL_O and item.images:
                from al_cli.annotation.opener import open_image

                self.message = "; ".join(open_image(path, session.cfg.labeling.open_with) for _, path, _ in item.images)
            else:
                shown_key = key if key.isprintable() else repr(key)
                self.message = f"key {shown_key} does nothing here; ? for help"
            scroll = self.draw(item, scroll)
            self.message = ""

    def show_help(self, item: ItemView) -> bool:
        """The help screen (scrolls like an item) until a key that does not scroll; False
        on ctrl-C."""
        scroll = 0
        while True:
            scroll = self.draw(item, scroll, help_open=True)
            key = self.term.read_key()
            if key == CTRL_C:
                return False
            new = self.scrolled(key, scroll)
            if new is None and key != "resize":
                return True
            scroll = scroll if new is None else new

    def note_prompt(self, item: ItemView, scroll: int) -> str | None:
        """Edit the note for ``item``, starting from the one it has; returns the note kept
        ('' allowed), None on ctrl-C."""
        before = self.notes.get(item.id, "")
        buf = before + " " if before else ""
        tags = self.s.tags
        cycle = -1
        while True:
            scroll = self.draw(item, scroll, prompt=buf)
            key = self.term.read_key()
            if key == CTRL_C:
                return None
            if key == "esc":
                self.message = "note cancelled" + (" (the earlier one stays)" if before else "")
                break
            if key in ENTER:
                self._set_note(item, buf, before)
                break
            if key in BACKSPACE:
                buf = buf[:-1]
                cycle = -1
            elif key == "\x15":  # ctrl-U
                buf = ""
            elif key == "\t" and tags:
                # Tab completes the tag being typed, or cycles through the tags, in place: the
                # prompt stays open and nothing typed before or after is lost
                head, _, word = buf.rpartition(" ")
                frag = word.lstrip("#").lower()
                matches = [t for t in tags if t.lower().startswith(frag)] if frag and cycle < 0 else []
                if len(matches) == 1:
                    word = format_tag(matches[0])
                else:
                    cycle = (cycle + 1) % len(tags)
                    word = format_tag(tags[cycle])
                buf = (head + " " if head else "") + word
            elif len(key) == 1 and key.isprintable():  # any printable key is text, digits too
                buf += key
                cycle = -1
        return self.notes.get(item.id, "")  # the caller redraws, with self.message

    def _set_note(self, item: ItemView, text: str, before: str) -> None:
        text = " ".join(text.split())
        tag = next((t for t in self.s.tags if format_tag(t).lower() == format_tag(text.lstrip("#")).lower()), None)
        if tag is not None:  # a bare tag name is the tag
            text = format_tag(tag)
        if text:
            self.notes[item.id] = text
            self.message = "note kept; it is saved with your answer to this item"
        elif before:
            self.notes[item.id] = ""
            self.message = "note removed"

    def closing(self, done: bool) -> None:
        """The last frame: this session's summary, the cursor left on a fresh line."""
        self.term.write(self.screen.closing(done=done), fresh_line=True)


def run(proj: Project, annotator: str | None = None,
        next_step: Callable[[], str] | None = None, *, adjudicate: bool = False,
        show_names: bool = False) -> None:
    """Label the current batch of ``proj`` in this terminal (with ``adjudicate``: decide the
    rows queued for adjudication). ``next_step()`` says which command to run after
    labeling (the CLI passes what 'al status' would say)."""
    next_step = _safe_hint(next_step, proj)
    from al_cli.settings import default_annotator

    def new_session(name: str) -> LabelSession:
        if adjudicate:
            from al_cli.annotation.adjudication import AdjudicationSession

            return AdjudicationSession(proj, name, show_names=show_names)
        return LabelSession(proj, name)

    session = new_session(annotator or default_annotator())
    try:
        here = os.path.realpath(os.getcwd())
    except OSError:  # the current folder was deleted
        here = ""
    p = f" -p {proj.root}" if here != os.path.realpath(proj.root) else ""
    if session.missing_ids:
        con.message("warning", f"{len(session.missing_ids)} queued id(s) are not in the pool and are "
                               f"left out (first: {session.missing_ids[0]})")
    if session.batch_size == 0:
        _nothing_queued(proj, session, p, next_step)
        return
    first = session.next_item()
    if first is None:
        _finish_message(proj, session, p, quit_=False, started=False, next_step=next_step)
        return
    term = Terminal()
    outcome = "quit"
    signum = 0
    try:
        with term:
            ui = UI(session, term)
            outcome = drive(session, ui)
            while outcome == "replaced":  # 'al query' wrote a new batch: label that one
                counts = session.counts
                session = new_session(session.annotator)
                session.counts = counts
                ui = UI(session, term)
                ui.message = "the batch was replaced (al query / al seed); this is the new one"
                outcome = drive(session, ui) if session.batch_size else "done"
            ui.closing(done=outcome == "done")
    except (KeyboardInterrupt, EOFError):
        outcome = "quit"
    except Terminated as exc:
        signum = exc.signum
    finally:
        term.restore()
        session.close()
    _finish_message(proj, session, p, quit_=outcome != "done", started=True, next_step=next_step)
    if signum:
        raise SystemExit(128 + signum)


def _nothing_queued(proj: Project, s: LabelSession, p: str, next_step: Callable[[], str]) -> None:
    q = proj.read_queue()
    n_adj = int((q["purpose"] == "adjudicate").sum()) if "purpose" in q else 0
    if s.adjudicating:
        con.line(f"nothing to adjudicate: no row of queue.csv is queued for adjudication ('al query{p} "
                 f"--adjudicate' queues the items in conflict left unresolved). next: {next_step()}")
    elif n_adj:
        con.line(f"nothing to label: the batch is {n_adj} item(s) queued for adjudication; run "
                 f"'al label{p} --adjudicate' to decide them")
    else:
        con.line(f"nothing to label: no batch in queue.csv. next: {next_step()}")


def _safe_hint(fn: Callable[[], str] | None, proj: Project) -> Callable[[], str]:
    def hint() -> str:
        try:
            if fn is not None:
                return fn()
        except Exception:  # noqa: BLE001 - the hint must never fail the labeler
            pass
        return f"al retrain -p {proj.root}"

    return hint


def _finish_message(proj: Project, s: LabelSession, p: str, *, quit_: bool, started: bool,
                    next_step: Callable[[], str]) -> None:
    c = s.counts
    if started:
        rate = f", {s.rate:.1f} labels/min" if s.rate is not None else ""
        con.line(f"{s.annotator}: {c.labeled} {'decided' if s.adjudicating else 'labeled'}, {c.skipped} "
                 f"skipped, {c.undone} undone "
                 f"this session{rate}; every answer is saved in labels.csv")
    left = s.remaining
    others = s.claimed_by_others
    waiting = s.overlap_waiting
    what = "adjudicated" if s.adjudicating else "answered"
    resume = s.command.replace("al label", f"al label{p}")
    if quit_ and left:
        con.line(f"stopped with {left} item(s) left for {s.annotator}; run '{resume}' to resume")
    elif left == 0 and others:
        con.line(f"nothing left for {s.annotator}: {others} item(s) of the batch are being labeled by "
                 f"others (claims expire after {s.claim_ttl / 60:g} min). next: {next_step()}")
    elif left == 0 and waiting:
        con.line(f"nothing left for {s.annotator}: {waiting} shared item(s) still need answers from other "
                 f"annotators (labeling.overlap_annotators: {s.overlap_target}); they stay queued until "
                 f"then. next: {next_step()}")
    elif not started:
        con.line(f"nothing to {'adjudicate' if s.adjudicating else 'label'}: the batch is {what}. "
                 f"next: {next_step()}")
    else:
        con.line(f"the batch is {what}. next: {next_step()}")
