"""The typer app, shared options and the error handler: the one place where errors become
exit codes. An :class:`AlError` is one ``error: ...`` line on stderr and exit code 1;
usage errors are exit code 2.

Nothing here imports pandas or scikit-learn: the command modules import what they need
when they run. Choices for strategies, models and seed strategies come from the
registries (``al_cli.*.registry``), which list names without loading any part.
"""

from __future__ import annotations

import errno
import functools
from pathlib import Path
from typing import Any, Callable, List, Optional

import typer

from al_cli import __version__
from al_cli import console as con
from al_cli import settings
from al_cli.errors import AlError
from al_cli.status_view import counts  # noqa: F401 - the commands' modules use it from here
from al_cli.report import set_progress, set_reporter

def examples(*lines: str) -> str:
    """A help epilog whose example commands keep their lines ('\\b' stops click from
    re-wrapping the paragraph)."""
    return "Examples:\n\n\b\n" + "\n".join(lines)


app = typer.Typer(
    name="al",
    help="Active learning with a human in the loop: the model asks for the labels it needs most.\n\n"
    "The loop: al init -> al seed -> al label -> al retrain -> al evaluate -> al score -> "
    "al query -> al label -> ...  Run 'al status' to see where a project stands.\n\n"
    "\b\nExit codes:\n"
    "  0    done\n"
    "  1    an error you can fix (one 'error: ...' line on stderr)\n"
    "  2    a usage error (a wrong option or value)\n"
    "  3    al evaluate with a stopping rule: not reached yet\n"
    "  130  interrupted (ctrl-C)\n\n"
    "Shell completion: al --install-completion (bash, zsh, fish).",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

ProjectOpt = typer.Option(None, "--project", "-p", help="Project folder (default: this folder or the first parent with al.yaml).")
JsonOpt = typer.Option(False, "--json", help="Print exactly one JSON object on stdout; messages go to stderr.")


def split(values: Optional[List[str]]) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


# typer's own exits and usage errors (exit code 2) pass through untouched; newer typer
# versions vendor click, so both exception families are listed.
def _passthrough() -> tuple[type[BaseException], ...]:
    kinds: list[type[BaseException]] = [typer.Exit, typer.Abort, SystemExit]
    try:  # typer before 0.26 uses click itself
        from click import ClickException

        kinds.append(ClickException)
    except ImportError:
        pass
    try:  # typer 0.26+ vendors click; its usage errors derive from TyperException
        from typer.exceptions import TyperException

        kinds.append(TyperException)
    except ImportError:
        pass
    return tuple(kinds)


_PASSTHROUGH = _passthrough()


def choice(values: Callable[[], list[str]] | tuple[str, ...]) -> Callable[[Any], Any]:
    """Option callback: a value outside ``values`` is a usage error (exit code 2).
    ``values`` may be a function (a registry's names, looked up when the option is used)."""

    def check(value: Any) -> Any:
        allowed = list(values() if callable(values) else values)
        if value is not None and value not in allowed:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(allowed)}")
        return value

    return check


def spec_choice(value: Any) -> Any:
    """Option callback for a strategy spec ('margin', 'entropy+kcenter+rf0'): a bad one is
    a usage error (exit code 2)."""
    if value is None:
        return value
    from al_cli.errors import AlError
    from al_cli.strategies.spec import QuerySpec

    try:
        QuerySpec.parse(value)
    except AlError as exc:
        raise typer.BadParameter(exc.message) from None
    return value


def between(lo: float, hi: float, hi_open: bool = False, lo_open: bool = False) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value is None:
            return value
        above = lo < value if lo_open else lo <= value
        if not (above and (value < hi if hi_open else value <= hi)):
            raise typer.BadParameter(f"{value:g} is not in {'(' if lo_open else '['}{lo:g}, "
                                     f"{hi:g}{')' if hi_open else ']'}")
        return value

    return check


def names_help(names: list[str]) -> str:
    return " | ".join(names)


def handle(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn AlError into 'error: ...' + exit 1; never show a traceback for a user mistake."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        con.reset()
        set_reporter(con.message)
        set_progress(con.progress_bar if con.err.is_terminal and not kwargs.get("json_out") else None)
        try:
            try:
                out = fn(*args, **kwargs)
            except Exception:
                _memo_status()  # what was written before the error is on disk
                raise
            _memo_status()
            return out
        except AlError as exc:
            con.error(exc.message)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            con.error("interrupted")
            raise typer.Exit(130) from None
        except _PASSTHROUGH:
            raise
        except BrokenPipeError:
            con.quiet_sigpipe_exit()  # the reader went away ('al status | head -c1')
        except OSError as exc:
            con.error(os_error_sentence(exc))
            raise typer.Exit(1) from None
        except MemoryError:
            con.error("out of memory; try a smaller pool or fewer text features")
            raise typer.Exit(1) from None
        except Exception as exc:  # noqa: BLE001 - last resort: one line, details on request
            if settings.debug():
                raise
            con.error(f"unexpected {type(exc).__name__}: {exc} (set AL_DEBUG=1 for the traceback)")
            raise typer.Exit(1) from None

    return wrapper


#: a label log or scores.csv larger than this is not re-read at a command's end: 'al status' reads it itself
_MEMO_MAX_LOG = 32 << 20


def _memo_status() -> None:
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
            if any((root / f).exists() and (root / f).stat().st_size > _MEMO_MAX_LOG for f in ("labels.csv", "scores.csv")):
                continue
            if (root / "recall_sample.csv").exists():
                continue  # its status reads the pool (the urn), which may warn: 'al status' says it
            from al_cli.commands.status import refresh
            from al_cli.store import Project

            refresh(Project(root), quiet=True)
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
    hint = _OS_HINTS.get(exc.errno or -1)
    what = exc.strerror or type(exc).__name__
    return f"{where}: {what}" + (f"; {hint}" if hint else "")


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


def open_project(project: Optional[Path]):
    from al_cli.store import Project

    return Project.open(project)


def _version(value: bool) -> None:
    if value:
        print(f"al {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    pass


def strategy_names() -> list[str]:
    from al_cli.strategies.registry import STRATEGIES

    return STRATEGIES.names()


def text_extractors() -> list[str]:
    from al_cli.features.registry import names

    return names("text")


def model_names() -> list[str]:
    from al_cli.models.registry import MODELS

    return MODELS.names()


__all__ = ["app", "ProjectOpt", "JsonOpt", "split", "choice", "between", "handle", "open_project",
           "counts", "names_help", "strategy_names", "model_names", "text_extractors", "spec_choice", "examples", "hint"]
