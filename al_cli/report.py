"""How the core tells the user something without knowing about terminals.

Core code calls :func:`warn` / :func:`info`; the CLI installs a reporter that prints
them to stderr. Tests can install a list collector. Messages said while the CLI loads,
before any reporter exists (a plugin whose name is taken, found when the registries
list their parts for ``--help``), are kept and delivered to the first reporter set.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Callable, Iterator

Reporter = Callable[[str, str], None]  # (level, message)

_reporter: contextvars.ContextVar[Reporter | None] = contextvars.ContextVar("al_reporter", default=None)
_EARLY: list[tuple[str, str]] = []  # said while loading, for the first reporter
_HOLDING = False
_EARLY_MAX = 100


@contextlib.contextmanager
def holding() -> Iterator[None]:
    """Keep what is said without a reporter inside this block (the CLI's import) for the
    first reporter set."""
    global _HOLDING
    _HOLDING = True
    try:
        yield
    finally:
        _HOLDING = False


def set_reporter(fn: Reporter | None) -> None:
    _reporter.set(fn)
    if fn is not None and _EARLY:
        early = list(_EARLY)
        _EARLY.clear()
        for level, msg in early:
            fn(level, msg)


@contextlib.contextmanager
def collecting() -> Iterator[list[tuple[str, str]]]:
    got: list[tuple[str, str]] = []
    token = _reporter.set(lambda level, msg: got.append((level, msg)))
    try:
        yield got
    finally:
        _reporter.reset(token)


def _say(level: str, msg: str) -> None:
    fn = _reporter.get()
    if fn is not None:
        fn(level, msg)
    elif _HOLDING and len(_EARLY) < _EARLY_MAX and (level, msg) not in _EARLY:
        _EARLY.append((level, msg))


def warn(msg: str) -> None:
    _say("warning", msg)


def info(msg: str) -> None:
    _say("info", msg)


# -- progress ---------------------------------------------------------------------------
# The CLI installs a factory (a bar on stderr) only when stderr is a terminal and no --json
# was asked for; everywhere else (a pipe, a test, the library) progress is silent.
Advance = Callable[[int], None]
_progress: contextvars.ContextVar[Callable[[int, str], "contextlib.AbstractContextManager[Advance]"] | None] = \
    contextvars.ContextVar("al_progress", default=None)


def set_progress(factory) -> None:
    _progress.set(factory)


@contextlib.contextmanager
def progress(total: int, what: str) -> Iterator[Advance]:
    """``with progress(n, "embedding") as advance: ... advance(k)``: a bar on a terminal,
    nothing elsewhere."""
    factory = _progress.get()
    if factory is None or total <= 0:
        yield lambda k: None
        return
    with factory(total, what) as advance:
        yield advance


@contextlib.contextmanager
def busy(what: str, when: bool = True) -> Iterator[None]:
    """A step of unknown length (reading a big file, k-means): a moving bar with the time
    spent, on a terminal only, and only ``when`` the step is big enough to be felt."""
    factory = _progress.get()
    if factory is None or not when:
        yield
        return
    with factory(None, what):
        yield
