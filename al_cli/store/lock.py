"""The project lock: an exclusive advisory ``flock`` on ``.al.lock``.

Writers hold it while they write; a second writer waits up to ``AL_LOCK_TIMEOUT``
seconds (read when the lock is taken), then fails with a clear message.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from pathlib import Path
from typing import Iterator

from al_cli import settings
from al_cli.errors import ProjectError

LOCK_NAME = ".al.lock"


_CLEANED: set[str] = set()


def _clean_once(root: Path) -> None:
    """Stale temp files of killed writers go, once per process and project, under the lock."""
    key = str(root.resolve())
    if key in _CLEANED:
        return
    _CLEANED.add(key)
    from al_cli.store.atomic import clean_stale_tmp

    for folder in (root, root / "models", root / "cache"):
        clean_stale_tmp(folder)


@contextlib.contextmanager
def project_lock(root: Path, timeout: float | None = None) -> Iterator[None]:
    """Exclusive lock on the project at ``root``; waits up to ``timeout`` seconds."""
    timeout = settings.lock_timeout() if timeout is None else timeout
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ProjectError(f"{root / LOCK_NAME}: is a symbolic link; delete it (al makes the "
                               "lock file itself)") from None
        raise
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise ProjectError(
                        f"{root}: locked by another al command; try again when it "
                        f"has finished (waited {timeout:g}s)"
                    ) from None
                time.sleep(0.05)
        _clean_once(root)
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
