"""Writing a result table: CSV (spreadsheet-safe, see al_cli.spreadsheet) or Parquet by
the file's extension, atomically; ``-`` gives the CSV text back for standard output."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from al_cli.errors import DataError
from al_cli.spreadsheet import escape_frame
from al_cli.store import atomic_write_text
from al_cli.store.atomic import atomic_target, check_writable_target, csv_text

STDIO = "-"
PARQUET = (".parquet", ".pq")


def write_table(frame: pd.DataFrame, file: Path | str) -> tuple[str, str | None]:
    """(path written or '-', the CSV text when ``file`` is '-')."""
    if str(file) == STDIO:
        return STDIO, csv_text(escape_frame(frame))
    file = Path(file)
    if not file.parent.exists():
        raise DataError(f"{file}: folder {file.parent} does not exist")
    check_writable_target(file)
    if file.suffix.lower() in PARQUET:
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise DataError(f"{file}: writing Parquet needs pyarrow (pip install 'al-cli[parquet]')") from None
        with atomic_target(file) as tmp:
            frame.to_parquet(tmp, index=False)
    else:
        atomic_write_text(file, csv_text(escape_frame(frame)))
    return str(file), None


def unclashed(columns, reserved) -> list[str]:
    """Pool column names for a table whose own columns are ``reserved``: a name al's table
    already uses, or one taken by an earlier rename, gains ``pool_`` (again if need be), so
    no data column overwrites al's or another's (a pool with both `note` and `pool_note`)."""
    taken = set(map(str, reserved))
    originals = [str(c) for c in columns]
    out = []
    for c in originals:
        name = c
        while name in taken or (name != c and name in originals):
            name = "pool_" + name
        taken.add(name)
        out.append(name)
    return out
