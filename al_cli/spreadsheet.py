"""Spreadsheet-safe CSV cells (OWASP's CSV-injection guidance), reversibly.

A cell a spreadsheet would run as a formula (one starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return) is written with a leading apostrophe; so is a cell that
already starts with an apostrophe, which keeps the rule reversible: on import one
leading apostrophe is removed when what follows starts with one of those characters.
Numeric columns are numbers, not formulas, and are left alone.
"""

from __future__ import annotations

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_MARK = "'"


def escape(value: str) -> str:
    if value and (value[0] in TRIGGERS or value[0] == _MARK):
        return _MARK + value
    return value


def unescape(value: str) -> str:
    if len(value) > 1 and value[0] == _MARK and (value[1] in TRIGGERS or value[1] == _MARK):
        return value[1:]
    return value


def escape_frame(df):
    """A copy of ``df`` whose text cells are safe to open in a spreadsheet."""
    import pandas as pd

    out = df.copy()
    for c in out.columns:
        col = out[c]
        if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            continue
        out[c] = col.map(lambda v: escape(v) if isinstance(v, str) else v)
    return out


def unescape_series(col):
    return col.map(lambda v: unescape(v) if isinstance(v, str) else v)
