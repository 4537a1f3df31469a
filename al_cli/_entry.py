"""The ``al`` console script. Imports nothing before it can turn ctrl-C into one line:
an interrupt while the CLI loads (typer, rich, the commands) exits 130 without a
traceback, like one while a command runs.

``al status`` is asked often (by people between steps, by scripts in a loop), so when its
answer is memoised (store/statuscache.py) and the folder has not changed since, it is
printed from here, before typer builds the command line (about 0.15 s less). Anything
else, or any doubt (another option, an old folder format, no memo), goes the usual way;
the output is the same either way (tests/test_status_memo.py). ``al score``, ``al
query``, a status whose memo is stale and the labeler (``al label [-p DIR] [--annotator
NAME]``) run without typer too, in their plain forms (:mod:`al_cli.cli.run`)."""

import sys


def main() -> None:
    try:
        if _memoised_status(sys.argv[1:]):
            return
        if sys.argv[1:2] in (["score"], ["query"], ["status"], ["label"]):  # their plain forms without typer
            from al_cli.cli.run import fast

            if fast(sys.argv[1:]):
                return
        from al_cli.cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        raise SystemExit(130) from None
    run()


def _memoised_status(argv: list[str]) -> bool:
    """Print the memoised status for 'al status [-p DIR] [--json]'; False to go the usual way."""
    if not argv or argv[0] != "status":
        return False
    project, json_out, rest = None, False, argv[1:]
    while rest:
        a = rest.pop(0)
        if a == "--json" and not json_out:
            json_out = True
        elif a in ("-p", "--project") and rest and project is None:
            project = rest.pop(0)
        elif a.startswith("--project=") and project is None:
            project = a.split("=", 1)[1]
        else:
            return False
    try:
        from al_cli import __version__
        from al_cli.commands.status import StatusResult, _with_p
        from al_cli.store import formats, statuscache
        from al_cli.store.project import find_root

        root = find_root(project)
        if formats.folder_format(root) != formats.FOLDER_FORMAT:
            return False
        hit = statuscache.load(root, __version__)
        if hit is None:
            return False
        res = _with_p(StatusResult(**hit), root)
    except Exception:  # noqa: BLE001 - any doubt: the usual way says what is wrong
        return False
    from al_cli.status_view import show_status
    from al_cli.console import quiet_sigpipe_exit

    try:
        show_status(res, json_out)
        sys.stdout.flush()
    except BrokenPipeError:
        quiet_sigpipe_exit()
    return True
