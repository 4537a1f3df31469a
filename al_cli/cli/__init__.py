"""The command line: the typer app (``common``), the loop's commands (``loop``) and
``al simulate`` (``simulate``). ``main`` is the ``al`` console script."""

from __future__ import annotations

from al_cli.report import holding

with holding():  # messages said while the commands list the registries' parts (help)
    from al_cli.cli import loop, simulate  # noqa: F401 - registers the commands on the app
    from al_cli.cli.common import app


def main() -> None:
    app()


__all__ = ["app", "main"]
