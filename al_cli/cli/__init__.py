"""The command line: the typer app (``common``), the loop's commands (``loop``) and
``al simulate`` (``simulate``). ``main`` runs it (``al_cli._entry`` is the console script).

The commands are registered on the app when ``main`` or ``app`` is first asked for, not
when the package is imported: :mod:`al_cli.cli.run` (the fast path for 'al score' and
'al query') lives here and must not import typer."""

from __future__ import annotations

import sys
from typing import Any


def _app():
    from al_cli.report import holding

    with holding():  # messages said while the commands list the registries' parts (help)
        from al_cli.cli import loop, results, simulate  # noqa: F401 - registers the commands on the app
        from al_cli.cli.common import app
    return app


def main() -> None:
    """Run the app: ctrl-C at any moment is one line and exit 130; a reader that goes
    away ('al status | head -c1') ends al quietly, as it would a C tool (exit 141,
    SIGPIPE)."""
    from al_cli.console import quiet_sigpipe_exit

    try:
        _app()()
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        quiet_sigpipe_exit()


def __getattr__(name: str) -> Any:
    if name == "app":
        return _app()
    raise AttributeError(name)


__all__ = ["app", "main"]
