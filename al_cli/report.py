"""How the core tells the user something without knowing about terminals.

Workflow code calls :func:`warn` / :func:`info`; the CLI installs a reporter that
prints them to stderr. Tests can install a list collector.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Callable, Iterator

Reporter = Callable[[str, str], None]  # (level, message)

_reporter: contextvars.ContextVar[Reporter | None] = contextvars.ContextVar("al_reporter", default=None)


def set_reporter(fn: Reporter | None) -> None:
    _reporter.set(fn)


@contextlib.contextmanager
def collecting() -> Iterator[list[tuple[str, str]]]:
    got: list[tuple[str, str]] = []
    token = _reporter.set(lambda level, msg: got.append((level, msg)))
    try:
        yield got
    finally:
        _reporter.reset(token)


def warn(msg: str) -> None:
    fn = _reporter.get()
    if fn is not None:
        fn("warning", msg)


def info(msg: str) -> None:
    fn = _reporter.get()
    if fn is not None:
        fn("info", msg)
