"""The typer app, shared options and the error handler: the one place where errors become
exit codes. An :class:`AlError` is one ``error: ...`` line on stderr and exit code 1;
usage errors are exit code 2.

Nothing here imports pandas or scikit-learn: the command modules import what they need
when they run. Choices for strategies, models and seed strategies come from the
registries (``al_cli.*.registry``), which list names without loading any part.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable, List, Optional

import typer

from al_cli import __version__
from al_cli.status_view import counts  # noqa: F401 - the commands' modules use it from here
from al_cli.cli import run
from al_cli.cli.run import hint  # noqa: F401 - the commands' modules use it from here

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
    """Turn AlError into 'error: ...' + exit 1; never show a traceback for a user mistake
    (the guard itself is :func:`al_cli.cli.run.guarded`, which the fast path uses too)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return run.guarded(fn, args, kwargs)
        except run.Failed as exc:
            raise typer.Exit(exc.code) from None

    return wrapper



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
