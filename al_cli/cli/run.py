"""Running a command without typer: the error guard every command runs under, the
output of ``al score``, ``al query`` and ``al status``, and a fast path for their common
scripted forms.

typer parses options through pydantic (about 0.25 s of imports and adapters per process),
which an ``al score && al query`` loop in a Makefile or cron pays twice per round, and a
person waits for before the labeler's first item. The console script (:mod:`al_cli._entry`)
hands ``al score [-p DIR] [--json]`` and ``al query`` with ``-p``, ``--size``,
``--strategy``, ``--diversity``, ``--random-fraction`` and ``--json`` to :func:`fast`
before typer is imported, ``al status [-p DIR] [--json]`` when its memo is stale (a
current memo is printed by the console script itself), and ``al label [-p DIR]
[--annotator NAME]`` (the labeler in the terminal). It takes them only when every
argument is one of those in its plain form with a value typer would accept too; anything
else (``--help``, another option, ``--opt=value``, a doubtful value) goes the usual way,
which also gives the usage errors. Either way the same functions run and print
(tests/test_fast_path.py compares the two).
"""

from __future__ import annotations

import errno
import re
import sys
from pathlib import Path
from typing import Any, Callable

from al_cli import console as con
from al_cli import settings
from al_cli.errors import AlError
from al_cli.report import set_progress, set_reporter


class Failed(Exception):
    """A command ended with this exit code after saying why (one line on stderr)."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


def _framework(exc: BaseException) -> bool:
    """typer's and click's own exits and usage errors: they pass through untouched."""
    return isinstance(exc, SystemExit) or type(exc).__module__.split(".")[0] in ("typer", "click")


def guarded(fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    """Run a command: an AlError is 'error: ...' and :class:`Failed` (1, or its own code);
    never a traceback for a user mistake. The status memo is refreshed either way."""
    con.reset()
    set_reporter(con.message)
    set_progress(con.progress_bar if con.err.is_terminal and not kwargs.get("json_out") else None)
    try:
        try:
            out = fn(*args, **kwargs)
        except Exception:
            memo_status()  # what was written before the error is on disk
            raise
        memo_status()
        return out
    except AlError as exc:
        con.error(exc.message)
        raise Failed(exc.exit_code) from None
    except KeyboardInterrupt:
        con.error("interrupted")
        raise Failed(130) from None
    except BrokenPipeError:
        con.quiet_sigpipe_exit()  # the reader went away ('al status | head -c1')
    except Exception as exc:
        if _framework(exc):
            raise
        if isinstance(exc, OSError):
            con.error(os_error_sentence(exc))
        elif isinstance(exc, MemoryError):
            con.error("out of memory; try a smaller pool or fewer text features")
        else:  # last resort: one line, details on request
            if settings.debug():
                raise
            con.error(f"unexpected {type(exc).__name__}: {exc} (set AL_DEBUG=1 for the traceback)")
        raise Failed(1) from None


#: a label log or scores.csv larger than this is not re-read at a command's end: 'al status' reads it itself
MEMO_MAX_LOG = 32 << 20


def memo_status() -> None:
    """After a command that wrote to a project, compute its status and keep it in the memo
    (store/statuscache.py) so that the next 'al status' answers without pandas. Silent; a
    failure here only means the next 'al status' computes the answer itself."""
    from al_cli.store.project import take_written

    roots = take_written()
    if not roots:
        return
    set_progress(None)
    for root in {r.resolve(): None for r in roots}:
        try:
            from al_cli.commands.status import refresh
            from al_cli.store import Project

            def big(name: str) -> bool:
                return (root / name).exists() and (root / name).stat().st_size > MEMO_MAX_LOG

            proj = Project(root)
            # scores.csv is read by the status of a discovery project only (its recall estimate)
            if big("labels.csv") or (big("scores.csv") and proj.config.task == "discovery"):
                continue
            if (root / "recall_sample.csv").exists():
                continue  # its status reads the pool (the urn), which may warn: 'al status' says it
            refresh(proj, quiet=True)
        except Exception:  # noqa: BLE001 - the memo is an optimisation, never a failure
            pass


_OS_HINTS = {  # what to do, after the system's own words for what happened
    errno.EACCES: "check that you may write there (owner, group, mode)",
    errno.EPERM: "check the file's owner and mode",
    errno.ENOSPC: "free some space and run the command again (what was saved before is intact)",
    errno.EDQUOT: "free some space and run the command again (what was saved before is intact)",
    errno.EROFS: "copy the project somewhere writable",
    errno.EISDIR: "a folder is where a file should be: move it away",
    errno.ENOTDIR: "a file is where a folder should be: move it away",
    errno.ELOOP: "a symbolic link is where a file should be: replace it by the file",
    errno.EMFILE: "close other programs or raise the limit (ulimit -n)",
    errno.EIO: "check the disk",
}


def os_error_sentence(exc: OSError) -> str:
    """One sentence for an OS error: the file, what happened, what to do."""
    where = exc.filename if exc.filename is not None else "a file"
    hint_text = _OS_HINTS.get(exc.errno or -1)
    what = exc.strerror or type(exc).__name__
    return f"{where}: {what}" + (f"; {hint_text}" if hint_text else "")


def hint(root: Path | str | None, command: str, *rest: str) -> None:
    """'next: al COMMAND [-p DIR] ...' on stderr (stdout is for data), with -p when the
    current folder is not inside the project, so the hint works as printed where it is
    printed."""
    import os

    parts = ["al", command]
    if root is not None:
        root = Path(root)
        try:
            here = Path(os.getcwd()).resolve()
            inside = here == root.resolve() or root.resolve() in here.parents
        except OSError:  # the current folder was deleted
            inside = False
        if not inside:
            import shlex

            parts += ["-p", shlex.quote(str(root))]
    con.message("info", "next: " + " ".join([*parts, *rest]))


def counts(d: dict[str, int]) -> str:
    from al_cli.status_view import counts as fmt

    return fmt(d)


# --------------------------------------------------------------------------- score and query
def score_command(project: Path | None, scheduler: str | None, json_out: bool) -> None:
    from al_cli import api
    from al_cli.store import Project

    proj = Project.open(project)
    res = api.score(proj, scheduler=scheduler)
    if json_out:
        con.print_json(api.as_dict(res))
        return
    if res.incremental:
        con.line(f"scored {res.n_new} new row(s) with model {res.model_version:04d}, kept "
                 f"{res.n_scored - res.n_new} from the last score -> {res.path} ({res.n_scored} rows)")
    else:
        con.line(f"scored {res.n_scored} rows with model {res.model_version:04d} -> {res.path} "
                 f"(mean entropy {res.mean_entropy:.3f}; features {'from cache' if res.features_cached else 'built'})")
    con.line(f"  predicted: {counts(res.predicted_counts)}")
    hint(proj.root, "query")


def batch_out(res: Any, json_out: bool, explain: bool = False, root: Path | None = None) -> None:
    from al_cli import api

    if json_out:
        d = api.as_dict(res)
        if not explain:
            d.pop("explain", None)
        con.print_json(d)
        return
    n_overlap = getattr(res, "n_overlap", 0)
    n_sample = getattr(res, "n_recall_sample", 0)
    extra = (f" + {n_overlap} shared item(s) still short of their annotators" if n_overlap else "") + \
        (f" + {res.n_audit} audit rows" if res.n_audit else "") + \
        (f" + {n_sample} recall-sample documents still to answer" if n_sample else "")
    what = "item(s) to adjudicate" if res.strategy == "adjudicate" else "rows"
    con.line(f"queued {len(res.ids) - res.n_audit - n_overlap - n_sample} {what}{extra} ({res.strategy}) "
             f"in {res.path}")
    if res.replaced:
        con.message("info", f"replaced {res.replaced} unanswered row(s) of the previous batch")
    if explain and getattr(res, "auto", None):
        con.line(res.auto["reason"])
    if explain and res.explain:
        # id and the reason (score by a name where higher = more worth labeling, rank,
        # density, cluster, cost); 'final' only when density or cost changed the order
        weighted = any(abs(r["final_score"] - r["score"]) > 1e-9 for r in res.explain)
        cols = ["id", *(["final"] if weighted else []), "why"]
        con.table("why these rows (higher = more worth labeling)", cols,
                  [[r["id"], *([f"{r['final_score']:.3g}"] if weighted else []), r["reason"]]
                   for r in res.explain])
    hint(root, "label", *(["--adjudicate"] if res.strategy == "adjudicate" else []))


def query_command(project: Path | None, json_out: bool, explain: bool = False, **options: Any) -> None:
    from al_cli import api
    from al_cli.store import Project

    proj = Project.open(project)
    res = api.query(proj, **options)
    batch_out(res, json_out, explain, root=proj.root)


# --------------------------------------------------------------------------- the fast path
_UINT = re.compile(r"[0-9]{1,9}\Z")
_FRACTION = re.compile(r"(0?\.[0-9]{1,12}|0)\Z")
_PLAIN = re.compile(r"[A-Za-z0-9_.+]+\Z")  # a strategy spec's characters ('margin+kcenter+rf0.2')


def status_command(project: Path | None, json_out: bool) -> None:
    from al_cli import api
    from al_cli.status_view import show_status
    from al_cli.store import Project

    show_status(api.cached_status(Project.open(project)), json_out)


def label_terminal(project: Path | None, annotator: str | None = None, adjudicate: bool = False,
                   show_names: bool = False) -> None:
    """``al label`` in the terminal (the labeler, or the adjudicator)."""
    from al_cli import api
    from al_cli.store import Project

    proj = Project.open(project)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        if adjudicate:
            raise AlError("no terminal to adjudicate in: use 'al label --import FILE --adjudicate' "
                          "(columns id,label: the decisions)")
        raise AlError("no terminal to label in: use 'al label --import FILE' (columns id,label) "
                      "or 'al label --export FILE' for an outside annotator")
    from al_cli.annotation import labeler

    labeler.run(proj, annotator=annotator, next_step=lambda: api.status(proj).next_command,
                adjudicate=adjudicate, show_names=show_names)


def _parsed(argv: list[str]) -> tuple[str, dict[str, Any]] | None:
    """(command, keyword arguments) of a plain 'al score', 'al query', 'al status' or
    'al label' (in the terminal), or None."""
    if not argv or argv[0] not in ("score", "query", "status", "label"):
        return None
    cmd, rest = argv[0], list(argv[1:])
    kw: dict[str, Any] = {"project": None, "json_out": False}
    takes = {"-p": "project", "--project": "project"}
    if cmd == "label":
        kw = {"project": None}
        takes["--annotator"] = "annotator"
    if cmd == "query":
        takes.update({"-n": "size", "--size": "size", "--strategy": "strategy", "--diversity": "diversity",
                      "--random-fraction": "random_fraction"})
    while rest:
        a = rest.pop(0)
        if a == "--json" and kw.get("json_out") is False:
            kw["json_out"] = True
            continue
        key = takes.pop(a, None)
        if key is None or not rest:  # another option, a repeated one (its names are gone), no value
            return None
        value = rest.pop(0)
        if key == "project":
            if not value or value.startswith("-"):
                return None
            kw[key] = Path(value)
        elif key == "annotator":
            if value.startswith("-"):
                return None
            kw[key] = value
        elif key == "size":
            if not _UINT.match(value) or int(value) < 1:
                return None
            kw[key] = int(value)
        elif key == "random_fraction":
            if not _FRACTION.match(value):
                return None
            kw[key] = float(value)
        elif key == "diversity":
            from al_cli.strategies.registry import DIVERSITY

            if value not in DIVERSITY:
                return None
            kw[key] = value
        else:  # a strategy spec, checked as typer's callback checks it
            from al_cli.strategies.spec import QuerySpec

            if not _PLAIN.match(value):
                return None
            try:
                QuerySpec.parse(value)
            except AlError:
                return None
            kw[key] = value
        for alias in [k for k, v in takes.items() if v == key]:
            takes.pop(alias)
    return cmd, kw


def fast(argv: list[str]) -> bool:
    """Run ``argv`` here when it is a plain 'al score', 'al query', 'al status' or 'al label' (see the module's
    docstring); False to go the usual way (typer). Exits with the command's code."""
    got = _parsed(argv)
    if got is None:
        return False
    cmd, kw = got
    fn = {"score": score_command, "query": query_command, "status": status_command, "label": label_terminal}[cmd]
    if cmd == "score":
        kw["scheduler"] = None
    try:
        guarded(fn, (), kw)
    except Failed as exc:
        sys.exit(exc.code)
    return True
