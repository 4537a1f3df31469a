"""The terminal UI of ``al label``: one item at a time, one keypress per answer.

All decisions (which item, what is saved) are in :mod:`al_cli.annotation.session`; this module
reads single keys (termios, ``select``), draws each screen with rich in one write,
and always gives the terminal back as it found it: on quit, on an exception, on
ctrl-C and on SIGTERM/SIGHUP.
"""

from __future__ import annotations

import io
import os
import time
from typing import Callable
from rich.console import Console
from rich.segment import Segment, SegmentLines
from rich.table import Table
from rich.text import Text

from al_cli import console as con
from al_cli.annotation.session import Action, ItemView, LabelSession, add_tag, drive, format_tag
from al_cli.annotation.terminal import (  # noqa: F401 - keys are part of the UI's vocabulary
    BACKSPACE,
    CTRL_C,
    ENTER,
    SCROLL_DOWN,
    SCROLL_UP,
    Terminal,
    Terminated,
)
from al_cli.store import Project
from al_cli.text import printable

class Screen:
    """Builds each frame as one string; the item body is rendered once per item and width."""

    def __init__(self, session: LabelSession, term: Terminal):
        self.s = session
        self.term = term
        self.label_keys = session.keys  # key -> label
        self.console = Console(file=io.StringIO(), force_terminal=True, highlight=False,
                               emoji=False, markup=False, legacy_windows=False, width=80, height=24)
        self._body_cache: tuple[tuple[str, int], list[list[Segment]]] | None = None
        self.project_name = printable(session.project.root.name)

    def _lines(self, renderable, width: int) -> list[list[Segment]]:
        opts = self.console.options.update(width=width, height=None)
        return self.console.render_lines(renderable, opts, pad=False)

    def body_lines(self, item: ItemView, width: int) -> list[list[Segment]]:
        key = (item.id, width)
        if self._body_cache and self._body_cache[0] == key:
            return self._body_cache[1]
        lines: list[list[Segment]] = []
        table_fields = [(c, v) for c, v, para in item.fields if not para]
        if table_fields:
            t = Table(show_header=True, header_style="bold", box=None, pad_edge=False,
                      padding=(0, 2, 0, 0), expand=False)
            t.add_column("field", style="cyan", no_wrap=True)
            t.add_column("value", overflow="fold")
            for c, v in table_fields:
                t.add_row(c, v if v != "" else Text("(empty)", style="dim"))
            lines += self._lines(t, width)
        for c, v, para in item.fields:
            if not para:
                continue
            if lines:
                lines.append([])
            lines += self._lines(Text(c, style="bold cyan"), width)
            lines += self._lines(Text(v if v else "(empty)", overflow="fold"), width)
        self._body_cache = (key, lines)
        return lines

    def frame(self, item: ItemView, *, scroll: int, note: str, prompt: str | None,
              message: str, help_open: bool) -> tuple[str, int]:
        """The whole screen as one string, and the scroll offset actually used."""
        width, height = self.term.size()
        self.console.size = (width, height)
        s = self.s
        top: list[list[Segment]] = []
        head = Text()
        head.append("al label", style="bold")
        head.append(f"  {self.project_name}  ·  annotator {printable(s.annotator)}  ·  round {s.round}", style="dim")
        top += self._lines(head, width)
        total = max(s.total, 1)
        done = s.answered
        pos = Text(f"item {min(s.position, total)} of {total} · id {printable(item.id)}")
        if item.purpose == "audit":
            pos.append("  (audit sample)", style="dim")
        top += self._lines(pos, width)
        bar_w = max(10, min(30, width - 62))
        filled = int(round(bar_w * done / total))
        bar = Text(no_wrap=True, overflow="ellipsis")
        bar.append("━" * filled, style="green")
        bar.append("━" * (bar_w - filled), style="grey37")
        rate = s.rate
        bar.append(f"  {100 * done // total:3d}%  ")
        bar.append(f"{rate:.1f} labels/min" if rate is not None else "– labels/min", style="bold")
        c = s.counts
        bar.append(f"  ·  session: {c.labeled} labeled, {c.skipped} skipped", style="dim")
        top += self._lines(bar, width)
        if s.cfg.labeling.show_prediction:
            g = Text()
            if item.prediction is not None:
                g.append("model's guess: ", style="dim")
                g.append(item.prediction[0], style="bold magenta")
                g.append(f"  (confidence {item.prediction[1]:.2f})", style="dim")
            else:
                g.append("model's guess: none for this item", style="dim")
            top += self._lines(g, width)
        top.append([Segment("─" * width, self.console.get_style("grey37"))])

        bottom: list[list[Segment]] = []
        bottom.append([Segment("─" * width, self.console.get_style("grey37"))])
        if prompt is not None:
            p = Text()
            p.append("note> ", style="bold yellow")
            p.append(prompt)
            p.append("█")
            tags = "  ".join(f"{i + 1} {t}" for i, t in enumerate(s.tags[:9]))
            p.append(f"   Enter save · Esc cancel · Tab or number: tag ({tags})" if tags
                     else "   Enter save · Esc cancel", style="dim")
            bottom += self._lines(p, width)
        elif note:
            p = Text()
            p.append("note: ", style="bold yellow")
            p.append(printable(note))
            p.append("  (saved with the answer)", style="dim")
            bottom += self._lines(p, width)
        keys = Text()
        for k, lab in self.label_keys.items():
            keys.append(f" {k} ", style="reverse bold")
            keys.append(f" {printable(lab)}  ")
        keys.append("│ ", style="dim")
        keys.append("s skip  u undo  n note  ? help  q quit", style="dim")
        bottom += self._lines(keys, width)
        if message:
            bottom += self._lines(Text(printable(message), style="italic"), width)

        if help_open:
            body = self._lines(self.help_text(), width)
        else:
            body = self.body_lines(item, width)
        avail = max(1, height - len(top) - len(bottom))
        if len(body) > avail:
            avail -= 1  # room for the "more" line
            scroll = max(0, min(scroll, len(body) - avail))
            shown = body[scroll: scroll + avail]
            more = Text(f"lines {scroll + 1}-{scroll + len(shown)} of {len(body)}  "
                        "space/↓ scroll down, ↑ up", style="dim reverse")
            shown += self._lines(more, width)
        else:
            scroll = 0
            shown = body
        lines = top + shown + bottom
        lines = lines[:height]
        return self._to_string(lines), scroll

    def _to_string(self, lines: list[list[Segment]]) -> str:
        with self.console.capture() as cap:
            self.console.print(SegmentLines(lines, new_lines=True), end="")
        out = cap.get().rstrip("\n").split("\n")
        return "\x1b[H\x1b[2J" + "\x1b[K\n".join(out) + "\x1b[K\x1b[J"

    def help_text(self) -> Text:
        t = Text()
        t.append("help · press any key to go back\n\n", style="reverse")
        t.append("keys\n", style="bold")
        for k, lab in self.label_keys.items():
            t.append(f"  {k:<6}", style="bold")
            t.append(f"answer '{printable(lab)}'\n")
        for k, what in (("s", "skip: the item comes back after the others"),
                        ("u", "undo: the previous item comes back (the log keeps both rows)"),
                        ("n", "note or tag for this item, saved with its answer"),
                        ("space ↓ ↑", "scroll a long item"),
                        ("?", "this help"),
                        ("q", "quit (ctrl-C too); 'al label' resumes where you stopped")):
            t.append(f"  {k:<10}", style="bold")
            t.append(what + "\n")
        if self.s.tags:
            t.append("\ntags (in the note prompt: Tab completes or cycles; Enter saves)\n", style="bold")
            for tag in self.s.tags[:9]:
                t.append(f"  {printable(tag)}\n")
        t.append("\nEach answer is saved before the next item is shown.", style="dim")
        return t


# --------------------------------------------------------------------------- the loop
class UI:
    """The ``ask`` callable for :func:`session.drive`: keys in, one :class:`Action` out."""

    def __init__(self, session: LabelSession, term: Terminal):
        self.s = session
        self.term = term
        self.screen = Screen(session, term)
        self.notes: dict[str, str] = {}
        self.message = ""

    def draw(self, item: ItemView, scroll: int = 0, prompt: str | None = None,
             help_open: bool = False) -> int:
        text, scroll = self.screen.frame(item, scroll=scroll, note=self.notes.get(item.id, ""),
                                         prompt=prompt, message=self.message, help_open=help_open)
        self.term.write(text)
        return scroll

    def __call__(self, session: LabelSession, item: ItemView) -> Action:
        self.term.discard_input()
        shown = time.monotonic()
        scroll = self.draw(item)
        self.message = ""
        while True:
            key = self.term.read_key()
            seconds = time.monotonic() - shown
            if key in session.keys:
                label = session.keys[key]
                note = self.notes.pop(item.id, "")
                self.message = f"saved {printable(item.id)}: {label}" + (f" ({note})" if note else "")
                return Action("label", label=label, seconds=seconds, note=note)
            if key in ("q", CTRL_C, "\x04"):
                return Action("quit")
            if key == "s":
                self.message = f"skipped {printable(item.id)}; it comes back at the end"
                return Action("skip", seconds=seconds, note=self.notes.pop(item.id, ""))
            if key == "u":
                if session.can_undo:
                    self.message = "undone: the previous item is back; answer it again"
                    return Action("undo")
                self.message = "nothing to undo"
            elif key == "n":
                note = self.note_prompt(item, scroll)
                if note is None:
                    return Action("quit")
            elif key == "?":
                self.draw(item, help_open=True)
                if self.term.read_key() in (CTRL_C,):
                    return Action("quit")
            elif key in SCROLL_DOWN:
                scroll += max(1, self.term.size()[1] // 2)
            elif key in SCROLL_UP:
                scroll = max(0, scroll - max(1, self.term.size()[1] // 2))
            elif key == "home":
                scroll = 0
            elif key == "resize":
                pass
            else:
                shown_key = key if key.isprintable() else repr(key)
                self.message = f"key {shown_key} does nothing here; ? for help"
            scroll = self.draw(item, scroll)
            self.message = ""

    def note_prompt(self, item: ItemView, scroll: int) -> str | None:
        """Edit a note for ``item``; returns the pending note ('' allowed), None on ctrl-C."""
        buf = ""
        tags = self.s.tags
        cycle = -1
        while True:
            self.draw(item, scroll, prompt=buf)
            key = self.term.read_key()
            if key == CTRL_C:
                return None
            if key == "esc":
                self.message = "note cancelled"
                break
            if key in ENTER:
                self._add_note(item, buf)
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

    def _add_note(self, item: ItemView, text: str) -> None:
        text = " ".join(text.split())
        if not text:
            return
        cur = self.notes.get(item.id, "")
        tag = next((t for t in self.s.tags if format_tag(t).lower() == format_tag(text.lstrip("#")).lower()), None)
        if tag is not None:
            self.notes[item.id] = add_tag(cur, tag)
        else:
            self.notes[item.id] = (cur + " " + text).strip() if cur else text
        self.message = "note kept; it is saved with your answer to this item"


def run(proj: Project, annotator: str | None = None,
        next_step: Callable[[], str] | None = None) -> None:
    """Label the current batch of ``proj`` in this terminal. ``next_step()`` says which
    command to run after labeling (the CLI passes what 'al status' would say)."""
    next_step = _safe_hint(next_step, proj)
    from al_cli.settings import default_annotator

    session = LabelSession(proj, annotator or default_annotator())
    try:
        here = os.path.realpath(os.getcwd())
    except OSError:  # the current folder was deleted
        here = ""
    p = f" -p {proj.root}" if here != os.path.realpath(proj.root) else ""
    if session.missing_ids:
        con.message("warning", f"{len(session.missing_ids)} queued id(s) are not in the pool and are "
                               f"left out (first: {session.missing_ids[0]})")
    if session.batch_size == 0:
        con.line(f"nothing to label: no batch in queue.csv. next: {next_step()}")
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
            outcome = drive(session, UI(session, term))
            while outcome == "replaced":  # 'al query' wrote a new batch: label that one
                counts = session.counts
                session = LabelSession(proj, session.annotator)
                session.counts = counts
                ui = UI(session, term)
                ui.message = "the batch was replaced (al query / al seed); this is the new one"
                outcome = drive(session, ui) if session.batch_size else "done"
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
        con.line(f"{s.annotator}: {c.labeled} labeled, {c.skipped} skipped, {c.undone} undone "
                 f"this session{rate}; every answer is saved in labels.csv")
    left = s.remaining
    others = s.claimed_by_others
    if quit_ and left:
        con.line(f"stopped with {left} item(s) left for {s.annotator}; run 'al label{p}' to resume")
    elif left == 0 and others:
        con.line(f"nothing left for {s.annotator}: {others} item(s) of the batch are being labeled by "
                 f"others (claims expire after {s.claim_ttl / 60:g} min). next: {next_step()}")
    elif not started:
        con.line(f"nothing to label: the batch is answered. next: {next_step()}")
    else:
        con.line(f"the batch is answered. next: {next_step()}")
