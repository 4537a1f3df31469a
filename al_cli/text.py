"""Text from the data made safe to show in a terminal.

Ids, column names, labels, notes and pool text come from files al does not control; an
escape sequence in them could set the window title, move the cursor or hide output.
:func:`printable` drops control characters (C0, DEL, C1) and keeps what is meant to be
read; tabs and newlines only where asked.
"""

from __future__ import annotations

import re

_CONTROL_ALL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_KEEP_LAYOUT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(value: object, *, keep_newlines: bool = False) -> str:
    """``value`` as text without control characters (tabs and newlines kept only with
    ``keep_newlines``; otherwise they become spaces)."""
    s = str(value)
    if keep_newlines:
        return _CONTROL_KEEP_LAYOUT.sub("", s)
    return _CONTROL_ALL.sub(lambda m: " " if m.group() in "\t\n\r" else "", s)
