"""rich output: tables, messages on stderr. No logic."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from al_cli.text import printable


def quiet_sigpipe_exit() -> None:
    """End al quietly, as a C tool ends when its reader goes away ('al status | head -c1'):
    no message, exit 141 (128 + SIGPIPE). Everything al saves is on disk before it prints."""
    import signal

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout
    except OSError:
        pass
    os._exit(128 + signal.SIGPIPE)


class _Console(Console):
    def on_broken_pipe(self) -> None:  # rich would exit 1, as for an error
        quiet_sigpipe_exit()


def _color() -> bool:
    return "NO_COLOR" not in os.environ


out = _Console(highlight=False, soft_wrap=True, no_color=not _color())
err = _Console(stderr=True, highlight=False, soft_wrap=True, no_color=not _color())


def reset() -> None:
    """Rebind to the current sys.stdout / sys.stderr (test runners swap them)."""
    global out, err
    out = _Console(file=sys.stdout, highlight=False, soft_wrap=True, no_color=not _color())
    err = _Console(file=sys.stderr, highlight=False, soft_wrap=True, no_color=not _color())


_BARS: list = []  # the one rich Progress on screen; a step inside a step adds a line to it


@contextlib.contextmanager
def progress_bar(total: int | None, what: str):
    """A transient bar on stderr (installed by the CLI only when stderr is a terminal);
    ``total`` None: a step of unknown length, shown with the time spent. A bar opened
    while another is shown becomes a second line of the same display."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    label = printable(what)
    if _BARS:
        bar = _BARS[-1]
        task = bar.add_task(label, total=total)
        try:
            yield lambda k: bar.advance(task, k)
        finally:
            bar.remove_task(task)
        return
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TimeRemainingColumn(), console=err, transient=True)
    with bar:
        _BARS.append(bar)
        try:
            task = bar.add_task(label, total=total)
            yield lambda k: bar.advance(task, k)
        finally:
            _BARS.pop()


def message(level: str, msg: str) -> None:
    msg = printable(msg)  # no markup, no escape sequence from the data reaches the terminal
    if level == "warning":
        if err.is_terminal:
            err.print(Text.assemble(("warning:", "yellow"), " ", msg))
        else:
            print(f"warning: {msg}", file=sys.stderr)
    else:
        err.print(Text(msg)) if err.is_terminal else print(msg, file=sys.stderr)


def error(msg: str) -> None:
    line = " ".join(printable(msg).split())
    print(f"error: {line}", file=sys.stderr)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, default=_default, sort_keys=False) + "\n")
    sys.stdout.flush()


def _default(o: Any):
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def table(title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
    t = Table(title=Text(printable(title)) if title else None, show_header=True, header_style="bold" if out.is_terminal else None,
              box=None if not out.is_terminal else None, pad_edge=False)
    for c in columns:
        t.add_column(Text(printable(c)))
    for r in rows:
        t.add_row(*[Text(printable(_fmt(v))) for v in r])
    out.print(t)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def line(text: str = "") -> None:
    out.print(Text(printable(text, keep_newlines=True)), highlight=False)


def sparkline(values: list[float]) -> str:
    bars = "▁▂▃▄▅▆▇█"
    if not values:
        return ""
    lo, hi = min(values), max(values)
    if hi - lo < 1e-12:
        return bars[-1] * len(values)
    return "".join(bars[int(round((v - lo) / (hi - lo) * (len(bars) - 1)))] for v in values)
