"""Settings from the environment, read when they are used (never at import time).

A bad value is a :class:`~al_cli.errors.SettingError` naming the variable, raised only by
the command that needs it: ``AL_CLAIM_TTL=x al label --export f.csv`` works, since export
never uses claims.
"""

from __future__ import annotations

import getpass
import os

from al_cli.errors import SettingError

DEFAULT_LOCK_TIMEOUT = 30.0   # seconds a writer waits for the project lock
DEFAULT_CLAIM_TTL = 1800.0    # seconds a labeler's claim on an item holds


def _seconds(name: str, default: float, *, positive: bool) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    ok = value == value and value != float("inf") and (value > 0 if positive else value >= 0)
    if not ok:
        need = "a positive number" if positive else "a number >= 0"
        raise SettingError(f"environment variable {name}: must be {need} of seconds (got {raw!r})")
    return value


def lock_timeout() -> float:
    """``AL_LOCK_TIMEOUT``: how long a writer waits for the project lock (default 30 s)."""
    return _seconds("AL_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT, positive=False)


def claim_ttl() -> float:
    """``AL_CLAIM_TTL``: how long a labeler's claim on an item holds (default 1800 s)."""
    return _seconds("AL_CLAIM_TTL", DEFAULT_CLAIM_TTL, positive=True)


def default_annotator() -> str:
    """``AL_ANNOTATOR``, else the login name, else ``unknown``."""
    name = os.environ.get("AL_ANNOTATOR", "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "unknown"


def debug() -> bool:
    """``AL_DEBUG``: show tracebacks of unexpected errors (any value but empty, 0, false, no)."""
    return os.environ.get("AL_DEBUG", "").strip().lower() not in ("", "0", "false", "no", "off")


DEFAULT_BIG_POOL_MB = 512.0


def big_pool_bytes() -> int:
    """``AL_BIG_POOL_MB``: a CSV pool this large or larger (default 512 MB) is read with its
    numbers as float32 and its features fitted on a sample of rows."""
    raw = os.environ.get("AL_BIG_POOL_MB")
    if raw is None or raw.strip() == "":
        return int(DEFAULT_BIG_POOL_MB * 2**20)
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (value == value and 0 <= value < float("inf")):
        raise SettingError(f"environment variable AL_BIG_POOL_MB: must be a number >= 0 of megabytes (got {raw!r})")
    return int(value * 2**20)
