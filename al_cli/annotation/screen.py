"""What ``al label`` draws: each screen as one string that fits the terminal it is drawn on.

Every part of a frame is laid out for the current width and height, so nothing is cut off
silently: one-line parts (title, position, progress, the model's guess) take the longest
wording that fits and end in "…" only when even the shortest does not; the key bar is
packed into as many lines as it needs, all of them shown; the item text gets the rows that
are left and is paged, page after page with no line left out. When the screen is short,
the rules, the title and the last message give way first. No terminal I/O here: the UI
(``labeler.py``) writes what :meth:`Screen.frame` and :meth:`Screen.closing` return.
"""

from __future__ import annotations

import io

from rich.cells import cell_len
from rich.color import Color
from rich.console import Console
from rich.segment import Segment, SegmentLines
from rich.style import Style
from rich.table import Table
from rich.text import Text

from al_cli.annotation.session import ItemView, LabelSession
from al_cli.text import printable

Line = list[Segment]
IMAGE_COLS, IMAGE_ROWS = 64, 16  # the largest picture of an image item, in cells (2 pixels each)
MIN_BODY = 4        # item lines wanted before the optional parts of the screen give way
COMMANDS = (("s", "skip"), ("u", "undo"), ("n", "note"), ("?", "help"), ("q", "quit"))
# A frame is one synchronized update (DEC mode 2026, ignored where unknown): a terminal or
# tmux that knows it never shows a frame half drawn
SYNC_ON, SYNC_OFF = "\x1b[?2026h", "\x1b[?2026l"


class Screen:
    """Builds each frame as one string; the item body is rendered once per item and width."""

    def __init__(self, session: LabelSession, term):
        self.s = session
        self.term = term  # anything with size() -> (columns, rows)
        self.label_keys = session.keys  # key -> label
        self.console = Console(file=io.StringIO(), force_terminal=True, highlight=False,
                               emoji=False, markup=False, legacy_windows=False, width=80, height=24)
        self._body_cache: tuple[tuple, list[Line]] | None = None
        self.project_name = printable(session.project.root.name)
        self.page = 1         # item lines the last frame showed: one page of scrolling
        self.at_end = True    # whether the last frame showed the item's last line

    # ------------------------------------------------------------------ rendering helpers
    def _lines(self, renderable, width: int) -> list[Line]:
        opts = self.console.options.update(width=width, height=None)
        return self.console.render_lines(renderable, opts, pad=False)

    def _one(self, text: Text, width: int) -> Line:
        """``text`` as exactly one line: cut with a visible "…" if it is too wide."""
        text = text.copy()
        text.no_wrap, text.overflow, text.end = True, "ellipsis", ""
        return self._lines(text, width)[0]

    def _fit(self, variants: list[Text], width: int) -> Line:
        """The first (longest) wording that fits in one line; else the last one, cut."""
        for t in variants:
            if t.cell_len <= width:
                return self._one(t, width)
        return self._one(variants[-1], width)

    def _wrap(self, text: Text, width: int, max_lines: int) -> list[Line]:
        """``text`` wrapped; past ``max_lines`` the last line shown ends in "…"."""
        lines = list(text.wrap(self.console, width, overflow="fold"))
        if len(lines) > max_lines:
            lines = lines[:max_lines]
            last = lines[-1].copy()
            last.append(" …")
            last.truncate(width, overflow="ellipsis")
            lines[-1] = last
        return [self._one(t, width) for t in lines]

    @staticmethod
    def _pack(tokens: list[Text], width: int, sep: str = "  ") -> list[Text]:
        """Tokens in lines of at most ``width`` cells, never split (a token wider than a
        line is cut with "…")."""
        out: list[Text] = []
        cur: Text | None = None
        for tok in tokens:
            if tok.cell_len > width:
                tok = tok.copy()
                tok.truncate(width, overflow="ellipsis")
            if cur is not None and cur.cell_len + len(sep) + tok.cell_len <= width:
                cur.append(sep)
                cur.append_text(tok)
            else:
                cur = tok.copy()
                out.append(cur)
        return out

    def _rule(self, width: int) -> Line:
        return [Segment("─" * width, self.console.get_style("grey37"))]

    # ------------------------------------------------------------------ the parts
    def _head(self, width: int) -> Line:
        s = self.s
        ann = printable(s.annotator)
        wide, narrow = Text(), Text()
        wide.append(s.command, style="bold")
        wide.append(f"  {self.project_name}  ·  {'adjudicator' if s.adjudicating else 'annotator'} {ann}"
                    f"  ·  round {s.round}", style="dim")
        narrow.append(s.command, style="bold")
        narrow.append(f" · {self.project_name} · {ann} · round {s.round}", style="dim")
        return self._fit([wide, narrow, Text(f"{self.project_name} · {ann}", style="dim")], width)

    def _position(self, item: ItemView, width: int) -> Line:
        s = self.s
        total = max(s.total, 1)
        base = f"item {min(s.position, total)} of {total} · id {printable(item.id)}"
        variants = [Text(base)]
        if item.purpose == "audit":
            variants = [Text.assemble(base, ("  (audit sample)", "dim")), Text.assemble(base, (" (audit)", "dim"))]
        elif item.purpose == "adjudicate":
            variants = [Text.assemble(base, ("  (your answer settles it)", "dim")), Text(base)]
        return self._fit(variants, width)

    def _earlier(self, item: ItemView, width: int) -> Line:
        """Adjudication: the answers given so far, each label with how many gave it (and
        who, when names are shown)."""
        given = self.s.earlier(item.id)
        if not given:
            return self._fit([Text("earlier answers: none", style="dim")], width)

        def line(head: str, names: bool, sep: str) -> Text:
            t = Text(head, style="dim")
            for k, (lab, n, who) in enumerate(given):
                t.append(sep if k else "")
                t.append(printable(lab), style="bold magenta")
                t.append(f" ×{n}")
                if names and who:
                    t.append(" (" + ", ".join(printable(w) for w in who) + ")", style="dim")
            return t

        return self._fit([line("earlier answers: ", True, "  ·  "), line("earlier answers: ", False, " · "),
                          line("", False, " ")], width)

    def _progress(self, width: int) -> Line:
        s = self.s
        total, done = s.total, s.answered
        pct = 100 * done // total if total else 100
        c = s.counts
        done_word = "decided" if s.adjudicating else "labeled"
        counts = f"session: {c.labeled} {done_word}, {c.skipped} skipped"
        rate = f"{s.rate:.1f} labels/min" if s.rate is not None else "– labels/min"
        variants = []
        for bar_w, with_rate, gap in ((max(10, min(30, width - 62)), True, "  "), (10, False, "  "),
                                      (5, False, " ")):
            filled = int(round(bar_w * done / total)) if total else bar_w
            t = Text()
            t.append("━" * filled, style="green")
            t.append("━" * (bar_w - filled), style="grey37")
            t.append(f"{gap}{pct:3d}%{gap}")
            if with_rate:
                t.append(rate, style="bold")
                t.append("  ·  ")
            t.append(counts, style="dim")
            variants.append(t)
        variants.append(Text.assemble(f"{pct}% · ", (counts, "dim")))
        variants.append(Text.assemble(f"{pct}% · ", (f"{c.labeled} {done_word}, {c.skipped} skipped", "dim")))
        return self._fit(variants, width)

    def _prediction(self, item: ItemView, width: int) -> Line:
        if item.prediction is None:
            return self._fit([Text("model's guess: none for this item", style="dim"),
                              Text("guess: none", style="dim")], width)
        label, conf = printable(item.prediction[0]), item.prediction[1]
        return self._fit([
            Text.assemble(("model's guess: ", "dim"), (label, "bold magenta"), (f"  (confidence {conf:.2f})", "dim")),
            Text.assemble(("guess: ", "dim"), (label, "bold magenta"), (f" ({conf:.2f})", "dim")),
        ], width)

    def _keys(self, width: int) -> list[Line]:
        labels = [Text.assemble((f" {k} ", "reverse bold"), f" {printable(lab)}") for k, lab in self.label_keys.items()]
        extra = (("^O", "open image"),) if self.s.cfg.data.image_columns else ()
        cmds = [Text(f"{k} {what}", style="dim") for k, what in (*COMMANDS[:3], *extra, *COMMANDS[3:])]
        full = Text()
        for t in labels:
            full.append_text(t)
            full.append("  ")
        full.append("│ ", style="dim")
        full.append("  ".join(c.plain for c in cmds), style="dim")
        if full.cell_len <= width:
            return [self._one(full, width)]
        return [self._one(t, width) for t in self._pack(labels, width) + self._pack(cmds, width)]

    def _edit(self, note: str, prompt: str | None, width: int, small: bool) -> list[Line]:
        """The note prompt while it is open, else the pending note (if any)."""
        if prompt is None:
            if not note:
                return []
            t = Text.assemble(("note: ", "bold yellow"), printable(note), ("  (saved with the answer)", "dim"))
            return self._wrap(t, width, 1 if small else 2)
        rows = 1 if small else 2
        text = printable(prompt)
        room = rows * width - cell_len("note> …█")
        if cell_len(text) > room:  # show the end, where the typing is
            tail = ""
            for ch in reversed(text):
                if cell_len(tail) + cell_len(ch) > room:
                    break
                tail = ch + tail
            text = "…" + tail
        # cut by cells, not at words, so the end of what is typed is always in view
        t = Text.assemble(("note> ", "bold yellow"), text, "█")
        cuts, used = [], 0
        for i, ch in enumerate(t.plain):
            w = cell_len(ch)
            if used + w > width:
                cuts.append(i)
                used = 0
            used += w
        lines = [self._one(part, width) for part in t.divide(cuts)][:rows]
        if small:
            return lines
        tags = " ".join(printable(t) for t in self.s.tags[:9])
        hints = [f"Enter save · Esc cancel · Tab: tag ({tags})", "Enter save · Esc cancel · Tab: tag",
                 "Enter save · Esc cancel", "Enter · Esc"]
        return lines + [self._fit([Text(h, style="dim") for h in hints if tags or "Tab" not in h], width)]

    def _more(self, first: int, last: int, total: int, width: int) -> Line:
        where = f"lines {first}-{last} of {total}"
        go = "end · PgUp back, ↑↓ one line" if last >= total else "space/PgDn next page, ↑↓ one line"
        short = "(end)" if last >= total else "space: more"
        return self._fit([Text(f"{where} · {go}", style="dim reverse"),
                          Text(f"{where} {short}", style="dim reverse"),
                          Text(where, style="dim reverse"),
                          Text(f"{first}-{last}/{total}", style="dim reverse")], width)

    def body_lines(self, item: ItemView, width: int) -> list[Line]:
        notes = self.s.earlier_notes(item.id) if self.s.adjudicating else []
        key = (item.id, width, tuple(notes))
        if self._body_cache and self._body_cache[0] == key:
            return self._body_cache[1]
        lines: list[Line] = []
        if notes:  # adjudication: the notes that came with the earlier answers, first
            lines += self._lines(Text("notes of the earlier answers", style="bold cyan"), width)
            for n in notes:
                lines += self._lines(Text(printable(n), overflow="fold"), width)
        for column, path, written in item.images:
            lines += self._image(column, path, written, width)
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

    def _image(self, column: str, path: str, written: str, width: int) -> list[Line]:
        """The image in colour half-blocks (two pixels a cell), or in characters without
        colour; a file that cannot be read is said in one line, never a crash."""
        from al_cli.features.images import ascii_cell, preview

        lines = self._lines(Text(column, style="bold cyan"), width)
        cells, why = preview(path, max(4, min(width, IMAGE_COLS)), IMAGE_ROWS) if path else (None, "no path")
        if cells is None:
            shown = printable(written) or "(empty)"
            return lines + self._lines(Text(f"(cannot show {shown}: {why})", style="yellow", overflow="fold"), width)
        colour = not self.console.no_color and self.console.color_system is not None
        for row in cells:
            t = Text()
            for top, bottom in row:
                if colour:
                    t.append("\u2580", Style(color=Color.from_rgb(*top), bgcolor=Color.from_rgb(*bottom)))
                else:
                    t.append(ascii_cell(top, bottom))
            lines.append(self._one(t, width))
        return lines + [[]]

    # ------------------------------------------------------------------ frames
    def frame(self, item: ItemView, *, scroll: int, note: str, prompt: str | None,
              message: str, help_open: bool) -> tuple[str, int]:
        """The whole screen as one string, and the scroll offset actually used (the first
        item line shown). Sets :attr:`page` and :attr:`at_end` for the next scroll."""
        width, height = self.term.size()
        self.console.size = (width, height)
        body = self._lines(self.help_text(), width) if help_open else self.body_lines(item, width)
        head, pos, bar = self._head(width), self._position(item, width), self._progress(width)
        pred = [self._prediction(item, width)] if self.s.cfg.labeling.show_prediction else []
        pred += [self._earlier(item, width)] if self.s.adjudicating else []
        keys = self._keys(width)
        msg = Text(printable(message), style="italic") if message else None
        # when the item would get fewer than MIN_BODY lines, these give way, in this order
        keep = {"rule_top", "rule_bottom", "head"}
        small, msg_rows = False, 2

        def parts() -> tuple[list[Line], list[Line]]:
            top = ([head] if "head" in keep else []) + [pos, bar] + pred
            top += [self._rule(width)] if "rule_top" in keep else []
            bottom = [self._rule(width)] if "rule_bottom" in keep else []
            bottom += self._edit(note, prompt, width, small) + keys
            bottom += self._wrap(msg, width, msg_rows) if msg is not None and msg_rows else []
            return top, bottom

        def fits(want: int) -> bool:
            avail = height - len(top) - len(bottom)
            return avail >= want + (1 if len(body) > avail else 0)

        top, bottom = parts()
        for stage in ("rule_top", "rule_bottom", "head", "small", "msg_1", "msg_0"):
            if fits(min(len(body), MIN_BODY)):
                break
            keep.discard(stage)
            small = small or stage == "small"
            msg_rows = {"msg_1": 1, "msg_0": 0}.get(stage, msg_rows)
            top, bottom = parts()
        if width < 12 or not fits(min(len(body), 1)):
            return self._too_small(width, height, keys), 0

        avail = height - len(top) - len(bottom)
        if len(body) <= avail:
            scroll, self.page, self.at_end = 0, avail, True
            shown = body + [[] for _ in range(avail - len(body))]
        else:
            self.page = avail - 1  # a line for "lines a-b of n"
            scroll = max(0, min(scroll, len(body) - 1))
            shown = body[scroll: scroll + self.page]
            self.at_end = scroll + len(shown) >= len(body)
            more = self._more(scroll + 1, scroll + len(shown), len(body), width)
            shown = shown + [[] for _ in range(self.page - len(shown))] + [more]
        return self._to_string(top + shown + bottom, height), scroll

    def _too_small(self, width: int, height: int, keys: list[Line]) -> str:
        self.page, self.at_end = 1, True
        warn = self._wrap(Text(f"window too small ({width}×{height}) for this item: make it larger",
                               style="reverse"), width, 2)
        return self._to_string((warn + keys)[:height], height)

    def closing(self, *, done: bool) -> str:
        """The last frame: what this session did, 100% when the batch is answered. Ends with
        the cursor at the start of a fresh line below it."""
        width, height = self.term.size()
        self.console.size = (width, height)
        s = self.s
        if done:
            others, waiting = s.claimed_by_others, s.overlap_waiting
            what = (f"nothing left for you: {others} item(s) are with other annotators" if others
                    else f"done for you: {waiting} shared item(s) wait for other annotators" if waiting
                    else f"the batch is {'adjudicated' if s.adjudicating else 'answered'}: {s.answered} of {s.total}")
        else:
            what = f"stopped: {s.remaining} item(s) left; '{s.command}' resumes"
        lines = [self._head(width), *self._wrap(Text(what, style="bold"), width, 2), self._progress(width)]
        lines = lines[: max(1, height - 1)]
        return self._to_string(lines, height, fresh_line=True)

    def _to_string(self, lines: list[Line], height: int, fresh_line: bool = False) -> str:
        """Each line drawn at its own row (cursor addressing, the row cleared first), the
        rest of the screen cleared, all in one synchronized update."""
        with self.console.capture() as cap:
            self.console.print(SegmentLines(lines, new_lines=True), end="")
        rows = cap.get().split("\n")[: len(lines)]
        out = [SYNC_ON]
        out += [f"\x1b[{i + 1};1H\x1b[2K{row}" for i, row in enumerate(rows)]
        if fresh_line:
            out.append("\r\n\x1b[J")
        elif len(rows) < height:
            out.append(f"\x1b[{len(rows) + 1};1H\x1b[J")
        out.append(SYNC_OFF)
        return "".join(out)

    def help_text(self) -> Text:
        t = Text()
        t.append("help · press any key to go back (space ↑ ↓ scroll)\n\n", style="reverse")
        t.append("keys\n", style="bold")
        for k, lab in self.label_keys.items():
            t.append(f"  {k:<6}", style="bold")
            t.append(f"{'decide' if self.s.adjudicating else 'answer'} '{printable(lab)}'\n")
        for k, what in (("s", "skip: the item comes back after the others"),
                        ("u", "undo: the previous item comes back (the log keeps both rows)"),
                        ("n", "note or tag for this item, saved with its answer or skip"),
                        ("space", "next page of a long item (PgDn too)"),
                        ("PgUp", "page back"),
                        ("↓ ↑", "one line down / up"),
                        ("?", "this help"),
                        *((("ctrl-O", "open the image in a viewer (AL_OPEN_WITH, labeling.open_with, "
                            "else the desktop's)"),) if self.s.cfg.data.image_columns else ()),
                        ("q", f"quit (ctrl-C too); '{self.s.command}' resumes where you stopped")):
            t.append(f"  {k:<10}", style="bold")
            t.append(what + "\n")
        if self.s.tags:
            t.append("\ntags (in the note prompt: Tab completes or cycles; Enter saves)\n", style="bold")
            for tag in self.s.tags[:9]:
                t.append(f"  {printable(tag)}\n")
        if self.s.adjudicating:
            t.append("\nYour answer settles the item, whatever the annotators said (the line under "
                      "the position shows their answers; their notes come first).\n")
        t.append("\nEach answer is saved before the next item is shown.", style="dim")
        return t
