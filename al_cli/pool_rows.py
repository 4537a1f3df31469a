"""The rows of a big pool that people see or get (the labeler, ``al label --export``, ``al
export --with-data``): found by id in one pass over the file, every cell as the text it
holds, without holding the pool (see docs/contract.md, "Big pools")."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from al_cli.data import DERIVED_ID_PREFIX, _header, column_blocks, normalise_ids, sniff_delimiter
from al_cli.errors import DataError


def rows_with_ids(path: Path, id_column: str | None, columns: list[str] | None, ids,
                  what: str = "pool") -> tuple[pd.DataFrame, pd.Series]:
    """The rows of a big pool whose id is in ``ids`` ((rows, their ids), in file order), from
    one pass over ``columns`` (None: all of them) a block at a time, every cell as the text
    the file holds (what is shown and exported is what was written; only '' is missing).
    The whole pool is never in memory; its ids were checked when the pool was read."""
    path = Path(path)
    if columns is None:
        columns = [c for c in _header(path) if c != id_column]
    wanted = set(ids)
    read = list(dict.fromkeys([*([id_column] if id_column else []), *columns]))
    if id_column and path.suffix.lower() not in (".parquet", ".pq"):
        got = _rows_with_ids_arrow(path, read, id_column, wanted)
        if got is not None:
            return got
    kept, kept_ids, start = [], [], 0
    for block in column_blocks(path, read, what, str_columns=read):  # the text as written
        if id_column:
            block_ids = normalise_ids(block[id_column])
        else:
            block_ids = pd.Series([f"{DERIVED_ID_PREFIX}{start + i + 1}" for i in range(len(block))],
                                  index=block.index)
        start += len(block)
        hit = block_ids.isin(wanted).to_numpy()
        if hit.any():
            kept.append(block[hit])
            kept_ids.append(block_ids[hit])
    if not kept:
        return pd.DataFrame(columns=read), pd.Series([], dtype=object)
    got = pd.concat(kept_ids, ignore_index=True)
    dup = got.duplicated()
    if dup.any():
        raise DataError(f"{path}: duplicate id {got[dup].iloc[0]!r} in column '{id_column}'")
    return pd.concat(kept, ignore_index=True), got


def _rows_with_ids_arrow(path: Path, read: list[str], id_column: str, wanted: set) -> tuple[pd.DataFrame, pd.Series] | None:
    """:func:`rows_with_ids` of a CSV through pyarrow's reader (every cell as text, only ''
    missing), about 5x faster than pandas' on ten million rows; None when pyarrow is not
    there or cannot read the file (pandas' reader then reads it, and words any error)."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pacsv
    except ImportError:
        return None
    sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else sniff_delimiter(path)
    try:
        reader = pacsv.open_csv(
            path, read_options=pacsv.ReadOptions(block_size=16 << 20),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in read}, include_columns=read,
                                                 strings_can_be_null=True, null_values=[""],
                                                 quoted_strings_can_be_null=False))
        value_set = pa.array(sorted(wanted), type=pa.string())
        kept = []
        for batch in reader:
            ids = pc.utf8_trim_whitespace(batch.column(read.index(id_column)))
            mask = pc.is_in(ids, value_set=value_set)
            if pc.any(mask).as_py():
                kept.append(batch.filter(mask))
    except (pa.ArrowException, OSError, KeyError, ValueError):
        return None
    if not kept:
        return pd.DataFrame(columns=read), pd.Series([], dtype=object)
    df = pa.Table.from_batches(kept).to_pandas()[read]
    got = normalise_ids(df[id_column])
    dup = got.duplicated()
    if dup.any():
        raise DataError(f"{path}: duplicate id {got[dup].iloc[0]!r} in column '{id_column}'")
    return df, got.reset_index(drop=True)
