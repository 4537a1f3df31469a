"""rich output: tables, messages on stderr. No logic."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from rich.console import Console
from rich.table import Table


def _color() -> bool:
    return "NO_COLOR" not in os.environ


out = Console(highlight=False, soft_wrap=True, no_color=not _color())
err = Console(stderr=True, highlight=False, soft_wrap=True, no_color=not _color())


def reset() -> None:
    """Rebind to the current sys.stdout / sys.stderr (test runners swap them)."""
    global out, err
    out = Console(file=sys.stdout, highlight=False, soft_wrap=True, no_color=not _color())
    err = Console(file=sys.stderr, highlight=False, soft_wrap=True, no_color=not _color())


def message(level: str, msg: str) -> None:
    if level == "warning":
        err.print(f"[yellow]warning:[/] {msg}", markup=True) if err.is_terminal else print(f"warning: {msg}", file=sys.stderr)
    else:
        err.print(msg, markup=False) if err.is_terminal else print(msg, file=sys.stderr)


def error(msg: str) -> None:
    line = " ".join(str(msg).split())
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
    t = Table(title=title, show_header=True, header_style="bold" if out.is_terminal else None,
              box=None if not out.is_terminal else None, pad_edge=False)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*[_fmt(v) for v in r])
    out.print(t)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def line(text: str = "") -> None:
    out.print(text, markup=False, highlight=False)


def sparkline(values: list[float]) -> str:
    bars = "▁▂▃▄▅▆▇█"
    if not values:
        return ""
    lo, hi = min(values), max(values)
    if hi - lo < 1e-12:
        return bars[-1] * len(values)
    return "".join(bars[int(round((v - lo) / (hi - lo) * (len(bars) - 1)))] for v in values)
