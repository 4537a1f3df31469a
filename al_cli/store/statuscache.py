"""A memo of ``al status``: what it printed last, valid while no file it read has changed.

``al status`` reads the label log, the queue, the history, the pool state, the model
manifests (and, in discovery, scores.csv), which takes pandas and about half a second to
import and read. Its answer only changes when one of those files does, so the answer is kept
in ``cache/status.json`` with the *signature* of what it read: the name, size,
modification time (ns) and inode of each of its input files (:data:`INPUTS`, every file
under ``models/``, and the pool file). An atomic replace changes the inode, an append the
size, an edit the time; any of them makes the memo stale and ``al status`` computes again.
Outputs (report.html, the PNG, the feature cache) are not inputs and leave it valid.

The memo is written only when the folder's signature was the same before and after the
answer was computed, under the project lock (not waited for: a busy project is simply not
memoised), and never when computing it said anything on stderr (a warning is said every
time). Every al command that wrote to a project refreshes the memo as it ends, so the
``al status`` after it answers from the memo. Reading this module imports no pandas.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

NAME = "status.json"
FORMAT = 1
#: the files of the folder ``al status`` reads (besides every file under ``models/``);
#: tests/test_status_memo.py checks that every file a Project names is here, in
#: DISCOVERY_INPUTS, or left out on purpose in LEFT_OUT
INPUTS = ("al.yaml", "format.json", "labels.csv", "queue.csv", "history.csv", "audit.csv",
          "recall_sample.csv", "claims.csv", "pool.json", "queried.csv")
#: read by the status of a discovery project only (its recall estimate): given as ``extra``
#: by such a project, so that a score just written (tens of MB on a big pool, too big to
#: compare by content while it is recent) does not keep a classification project's memo stale
DISCOVERY_INPUTS = ("scores.csv",)
LEFT_OUT = ("cache", "report.html", "learning_curve.png", ".al.lock")


def path(root: Path) -> Path:
    return Path(root) / "cache" / NAME


def _stat(p: str) -> list[Any]:
    try:
        st = os.stat(p)
    except OSError:
        return [p, None, None, None]
    return [p, st.st_size, st.st_mtime_ns, st.st_ino]


def signature(root: Path, extra: list[str] = ()) -> list[list[Any]]:
    """(name, size, mtime_ns, inode) of every file the status may read: :data:`INPUTS`,
    each file under models/, and ``extra`` (the pool file, outside the folder maybe)."""
    root = str(root)
    out = [[n, *_stat(os.path.join(root, n))[1:]] for n in INPUTS]
    models = os.path.join(root, "models")
    try:
        names = sorted(os.listdir(models))
    except OSError:
        names = []
    out += [[f"models/{n}", *_stat(os.path.join(models, n))[1:]] for n in names if not n.startswith(".")]
    out += [_stat(str(p)) for p in extra]
    return out


#: a file modified this close to when its signature was taken may change again within the
#: file system's timestamp tick (up to 2 s on some) without changing its signature: its
#: content is hashed too, and checked on every load until the memo is rewritten after it
RACY_NS = 3_000_000_000
RACY_MAX_BYTES = 64 << 20


def _digest(p: str) -> str:
    h = hashlib.sha1(usedforsecurity=False)
    with open(p, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _full(root: str, name: str) -> str:
    return name if os.path.isabs(name) else os.path.join(root, name)


def load(root: Path, version: str) -> dict[str, Any] | None:
    """The memoised status if the folder is as it was when it was computed, else None."""
    try:
        memo = json.loads(path(root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(memo, dict) or memo.get("format") != FORMAT or memo.get("al") != version:
        return None
    extra, racy = memo.get("extra"), memo.get("racy")
    if not isinstance(extra, list) or not isinstance(racy, dict):
        return None
    sig = signature(root, extra)
    if memo.get("signature") != sig:
        return None
    try:
        if any(_digest(_full(str(root), n)) != d for n, d in racy.items()):
            return None
    except (OSError, TypeError, ValueError):
        return None
    result = memo.get("result")
    if not isinstance(result, dict):
        return None
    if racy and not _racy(sig):  # settled since: the next load needs no hashing
        save(root, version, sig, extra, result)
    return result


def _racy(sig: list[list[Any]], now: int | None = None) -> list[str]:
    now = time.time_ns() if now is None else now
    return [e[0] for e in sig if e[2] is not None and e[2] >= now - RACY_NS]


def save(root: Path, version: str, before: list[list[Any]], extra: list[str], result: dict[str, Any],
         taken_ns: int | None = None) -> bool:
    """Keep ``result`` if the folder's signature is still ``before`` (taken at ``taken_ns``,
    before the result was computed); True if kept."""
    from al_cli.errors import ProjectError
    from al_cli.store.atomic import atomic_write_text
    from al_cli.store.lock import project_lock

    root = Path(root)
    t0 = time.time_ns() if taken_ns is None else taken_ns
    try:
        with project_lock(root, timeout=0):
            if signature(root, extra) != before:
                return False
            sizes = {e[0]: e[1] for e in before}
            names = _racy(before, t0)
            if any((sizes[n] or 0) > RACY_MAX_BYTES for n in names):
                return False
            racy = {n: _digest(_full(str(root), n)) for n in names if sizes[n] is not None}
            if signature(root, extra) != before:
                return False
            (root / "cache").mkdir(exist_ok=True)
            atomic_write_text(path(root), json.dumps(
                {"format": FORMAT, "al": version, "extra": list(extra), "signature": before,
                 "racy": racy, "result": result}))
            return True
    except (OSError, ProjectError, TypeError, ValueError):
        return False
