"""The ``al`` console script. Imports nothing before it can turn ctrl-C into one line:
an interrupt while the CLI loads (typer, rich, the commands) exits 130 without a
traceback, like one while a command runs."""

import sys


def main() -> None:
    try:
        from al_cli.cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        raise SystemExit(130) from None
    run()
