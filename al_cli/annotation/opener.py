"""Opening an item's image in a viewer of the annotator's own (``ctrl-O`` in the labeler).

The program comes from ``$AL_OPEN_WITH`` (the annotator's environment: any program), else
``labeling.open_with`` in al.yaml, else the desktop's opener (xdg-open, open). A project
folder never picks an arbitrary program to run: al.yaml may name only a known image viewer;
anything else must come from the environment. It runs without a shell, the path as one
argument, detached from the terminal, its output discarded.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from al_cli.text import printable

# Viewers that only show the file they are given. Programs that can also be told to run
# something (browsers, media players with scripts, editors with batch modes, gio and open with
# their options) are left out: name them in AL_OPEN_WITH.
KNOWN_VIEWERS = frozenset({
    "xdg-open", "eog", "feh", "sxiv", "nsxiv", "imv", "ristretto", "gwenview", "gthumb", "shotwell",
    "viewnior", "gpicview", "qimgv", "loupe", "geeqie", "nomacs", "xviewer", "qview", "mirage", "timg",
    "chafa", "viu", "catimg", "weasis", "aeskulap", "ginkgocadx", "itksnap",
})


def command(open_with: str | None) -> tuple[list[str] | None, str]:
    """(argv words before the path, where it came from) or (None, why not)."""
    env = os.environ.get("AL_OPEN_WITH", "").strip()
    if env:
        try:
            return shlex.split(env), "AL_OPEN_WITH"
        except ValueError as exc:
            return None, f"AL_OPEN_WITH cannot be read ({exc})"
    if open_with:
        try:
            words = shlex.split(open_with)
        except ValueError as exc:
            return None, f"labeling.open_with cannot be read ({exc})"
        if not words:
            return None, "labeling.open_with is empty"
        # from the folder: a viewer's bare name, found on PATH, given the path and nothing else
        if (len(words) > 2 or words[0] not in KNOWN_VIEWERS or (len(words) == 2 and words[1] != "{path}")
                or shutil.which(words[0]) is None):
            return None, (f"labeling.open_with {printable(open_with)!r} is not the name of a known image viewer "
                          "on PATH (alone, or with {path}); set AL_OPEN_WITH to run anything else (a project "
                          "folder never chooses a program to run)")
        return [shutil.which(words[0])], "labeling.open_with"
    for opener in (("open",) if sys.platform == "darwin" else ("xdg-open", "gio")):
        if shutil.which(opener):
            return ([opener, "open"] if opener == "gio" else [opener]), "the desktop"
    return None, "no viewer found: set labeling.open_with in al.yaml or AL_OPEN_WITH"


def open_image(path: str, open_with: str | None) -> str:
    """Starts the viewer on ``path``; returns what to tell the annotator."""
    shown = printable(path)
    if not path or not Path(path).is_file():
        return f"cannot open {shown or '(empty path)'}: not found"
    words, source = command(open_with)
    if words is None:
        return f"cannot open the image: {source}"
    argv = [w.replace("{path}", path) for w in words]
    if not any("{path}" in w for w in words):
        argv.append(path)
    try:
        subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, close_fds=True)
    except OSError as exc:
        return f"cannot start {printable(argv[0])} ({source}): {exc.strerror or exc}"
    return f"opened {Path(shown).name} with {printable(argv[0])}"
