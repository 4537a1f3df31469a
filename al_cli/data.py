"""Reading pools, validation files and label files, with checks that name the problem."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from al_cli.errors import ColumnNotFoundError, DataError

DERIVED_ID_PREFIX = "row"


try:  # the strings pandas reads as missing by default
    from pandas._libs.parsers import STR_NA_VALUES as _DEFAULT_NA
except ImportError:  # pragma: no cover - pandas moved it
    _DEFAULT_NA = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                   "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
STDIN = "-"


def read_table(path: Path | str, what: str = "data file", str_columns: list[str | None] | None = None,
               compact: bool = False, text_columns: list[str] = ()) -> pd.DataFrame:
    """CSV (',' or a sniffed ';' / tab / '|') or Parquet, as a DataFrame; ``-`` is
    standard input (CSV).

    ``compact`` (the pool): a file of at least ``AL_BIG_POOL_MB`` is read a block of rows
    (a CSV) or a column (Parquet) at a time with its float columns as float32, which halves
    what the pool takes in memory (see :func:`big_pool`); ``text_columns`` stay as read.

    ``str_columns`` (ids, labels) are read as the text written in the file: '007' stays
    '007', 'true' stays 'true', 'NA' and 'null' stay words (only an empty cell is
    missing there). Other columns follow pandas' rules for numbers and missing values.
    """
    str_cols = [c for c in (str_columns or []) if c]
    stdin = str(path) == STDIN
    path = Path(path)
    if not stdin:
        if not path.exists():
            raise DataError(f"{path}: {what} not found")
        if path.is_dir():
            raise DataError(f"{path}: {what} is a folder, expected a CSV or Parquet file")
    suffix = "" if stdin else path.suffix.lower()
    where = "standard input" if stdin else str(path)
    try:
        if suffix in (".parquet", ".pq"):
            try:
                if compact and big_pool(path):
                    return _read_parquet_compact(path, str_cols)
                return pd.read_parquet(path)
            except ImportError:
                raise DataError(
                    f"{path}: reading Parquet needs pyarrow (pip install 'al-cli[parquet]')"
                ) from None
        if stdin:
            import io
            import sys

            source = io.BytesIO(sys.stdin.buffer.read())
            sep = _sniff(source.getvalue()[:64 * 1024])
        else:
            source = path
            sep = "\t" if suffix in (".tsv", ".tab") else sniff_delimiter(path)
        # utf-8-sig: a byte-order mark (Excel's "CSV UTF-8") is not part of the first name
        names = list(pd.read_csv(source, sep=sep, encoding="utf-8-sig", nrows=0).columns)
        if stdin:
            source.seek(0)
        keep = [c for c in str_cols if c in names]
        na = {c: ([""] if c in keep else list(_DEFAULT_NA)) for c in names}
        if compact and not stdin and big_pool(path):
            got = _read_compact(path, sep, keep, na, [c for c in text_columns if c in names])
            if got is not None:
                return got
        return pd.read_csv(source, sep=sep, encoding="utf-8-sig", low_memory=False,
                           dtype={c: str for c in keep} or None, keep_default_na=False, na_values=na)
    except DataError:
        raise
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{where}: not valid UTF-8 (byte {exc.start}); re-save the file as UTF-8"
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{where}: {what} is empty") from None
    except pd.errors.ParserError as exc:
        msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else "parse error"
        raise DataError(f"{where}: not a readable CSV ({msg})") from None
    except OSError as exc:
        raise DataError(f"{where}: cannot read {what} ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise DataError(f"{where}: cannot read {what} ({type(exc).__name__}: {exc})") from None


BLOCK_ROWS = 500_000


def big_pool(path: Path) -> bool:
    """A pool file of at least ``AL_BIG_POOL_MB`` megabytes (default 512): read compactly,
    its features fitted on a sample (features/transform.py)."""
    from al_cli import settings

    try:
        return path.stat().st_size >= settings.big_pool_bytes()
    except OSError:
        return False


def _parquet_names(schema) -> list[str]:
    """The data columns of a Parquet schema: not the index pandas stored with the frame
    (``__index_level_0__``), which pd.read_parquet makes the index, not a column."""
    meta = schema.pandas_metadata or {}
    index = {c for c in meta.get("index_columns", []) if isinstance(c, str)}
    return [n for n in schema.names if n not in index]


def _read_parquet_compact(path: Path, str_cols: list[str]) -> pd.DataFrame:
    """A Parquet pool one column at a time, float64 columns as float32: memory holds the
    frame being built and one column, never the whole table twice."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    cols = {}
    for name in _parquet_names(pf.schema_arrow):
        col = pf.read(columns=[name]).column(0).to_pandas()
        if name not in str_cols and pd.api.types.is_float_dtype(col) and col.dtype != np.float32:
            col = col.astype(np.float32)
        cols[name] = col
    return pd.DataFrame(cols, copy=False)  # each column its own block: no second copy of the pool


def _read_compact(path: Path, sep: str, keep: list[str], na: dict, text: list[str] = ()) -> pd.DataFrame | None:
    """The CSV a block of rows at a time, its float columns as float32. The first block
    decides each column's type (``text`` columns are never made numbers); None when a later
    block disagrees (the file is then read whole, as any other). Integer columns stay
    integers (float64 where a block has blanks), so no whole number loses a digit."""
    opts = dict(sep=sep, encoding="utf-8-sig", keep_default_na=False, na_values=na, low_memory=False)
    first = pd.read_csv(path, nrows=BLOCK_ROWS, dtype={c: str for c in keep} or None, **opts)
    names = list(first.columns)

    def number(col) -> bool:
        return pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)

    floats = [c for c in names if c not in keep and c not in text and pd.api.types.is_float_dtype(first[c])]
    ints = [c for c in names if c not in keep and c not in text and number(first[c]) and c not in floats]
    kinds = {c: str(first[c].dtype) for c in names if c not in floats and c not in ints}
    dtype = {**{c: str for c in keep}, **{c: np.float32 for c in floats}}
    del first
    # each column's pieces kept apart (a copy of the block's column): a block is freed once
    # read, and each column is joined on its own, so memory never holds the pool twice
    pieces: dict[str, list] = {c: [] for c in names}
    try:
        with pd.read_csv(path, chunksize=BLOCK_ROWS, dtype=dtype, **opts) as reader:
            for block in reader:
                if (list(block.columns) != names or any(str(block[c].dtype) != k for c, k in kinds.items())
                        or not all(number(block[c]) for c in ints)):
                    return None
                for c in names:
                    col = block[c]
                    pieces[c].append(col.to_numpy().copy() if c in floats or c in ints else col)
                del block
    except ValueError:  # a number column holds text further down: typed from the whole file
        return None
    cols = {}
    for c in names:
        got = pieces.pop(c)
        if c in floats or c in ints:
            cols[c] = np.concatenate(got) if got else np.empty(0, dtype=np.float32)
        else:
            cols[c] = pd.concat(got, ignore_index=True) if got else pd.Series([], dtype=object)
        del got
    return pd.DataFrame(cols, copy=False)


def sniff_delimiter(path: Path) -> str:
    """',' unless the header line is clearly split by ';', tab or '|' (European exports)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(64 * 1024)
    except OSError:
        return ","
    return _sniff(head)


def _sniff(head: bytes) -> str:
    first = head.split(b"\n", 1)[0].decode("utf-8", errors="ignore")
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    if best != "," and counts[best] > counts[","]:
        return best
    return ","


def read_column(path: Path, column: str, what: str, as_str: bool = False, header_only: bool = False):
    """One column of a CSV/Parquet file, without loading the others.

    A missing column is a :class:`ColumnNotFoundError`; an unreadable file (not UTF-8,
    malformed, unreadable) a plain :class:`DataError`, so callers can tell them apart.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: {what} file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a CSV or Parquet file")
    parquet = path.suffix.lower() in (".parquet", ".pq")
    try:
        if parquet:
            import pyarrow.parquet as pq

            names = pq.read_schema(path).names
        else:
            sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else sniff_delimiter(path)
            names = list(pd.read_csv(path, sep=sep, nrows=0, encoding="utf-8-sig").columns)
        if column not in names:
            shown = ", ".join(map(str, names[:12]))
            raise ColumnNotFoundError(f"{path}: {what} column '{column}' not found (columns: {shown})",
                                      path, column)
        if header_only:
            return None
        if parquet:
            return pd.read_parquet(path, columns=[column])[column]
        if as_str:  # the text as written: 'NA' and '007' are ids, only '' is missing
            return pd.read_csv(path, sep=sep, usecols=[column], encoding="utf-8-sig", dtype={column: str},
                               keep_default_na=False, na_values={column: [""]})[column]
        return pd.read_csv(path, sep=sep, usecols=[column], encoding="utf-8-sig")[column]
    except DataError:
        raise
    except ImportError:
        raise DataError(f"{path}: reading Parquet needs pyarrow (pip install 'al-cli[parquet]')") from None
    except _CSV_FAILURES as exc:
        raise _csv_failure(path, exc) from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read {what} column '{column}' ({exc.strerror or exc})") from None
    except (ValueError, KeyError) as exc:  # e.g. a damaged Parquet file
        raise DataError(f"{path}: cannot read {what} column '{column}' ({type(exc).__name__}: {exc})") from None


def column_blocks(path: Path, columns: list[str], what: str, str_columns: list[str] = ()):
    """Some columns of a CSV/Parquet file, a block of rows at a time (one pass over the
    file, whatever the number of columns); as :func:`read_column` for a missing column or
    an unreadable file. ``str_columns`` are read as written, as :func:`read_table` reads them."""
    path = Path(path)
    for c in columns:  # names checked (and errors worded) as for one column, on the header
        _check_named(path, c, what)
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(path, pre_buffer=False)
            for i in range(pf.num_row_groups):  # one row group in memory at a time
                yield pf.read_row_group(i, columns=list(columns), use_threads=False).to_pandas()[list(columns)]
        except (OSError, ValueError) as exc:  # a damaged file (pyarrow's errors are these)
            raise DataError(f"{path}: cannot read {what} columns ({type(exc).__name__}: {exc})") from None
        return
    sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else sniff_delimiter(path)
    try:
        keep = [c for c in str_columns if c in columns]  # as written: '007' stays '007', only '' missing
        na = {c: ([""] if c in keep else list(_DEFAULT_NA)) for c in columns}
        with pd.read_csv(path, sep=sep, usecols=list(columns), encoding="utf-8-sig", chunksize=BLOCK_ROWS,
                         dtype={c: str for c in keep} or None, keep_default_na=False, na_values=na,
                         low_memory=False) as reader:
            for block in reader:
                yield block[list(columns)]
    except _CSV_FAILURES as exc:
        raise _csv_failure(path, exc) from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read {what} columns ({exc.strerror or exc})") from None


_CSV_FAILURES = (UnicodeDecodeError, pd.errors.EmptyDataError, pd.errors.ParserError)


def _csv_failure(path: Path, exc: Exception) -> DataError:
    """One line for a file pandas could not read: not UTF-8, empty, or malformed."""
    if isinstance(exc, UnicodeDecodeError):
        return DataError(f"{path}: not valid UTF-8 (byte {exc.start}); re-save the file as UTF-8")
    if isinstance(exc, pd.errors.EmptyDataError):
        return DataError(f"{path}: the file is empty")
    msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else "parse error"
    return DataError(f"{path}: not a readable CSV ({msg})")


def _header(path: Path) -> list[str]:
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return _parquet_names(pq.read_schema(path))
    sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else sniff_delimiter(path)
    return [str(c) for c in pd.read_csv(path, sep=sep, nrows=0, encoding="utf-8-sig").columns]


def _check_named(path: Path, column: str, what: str) -> None:
    """read_column's checks (file there, column in the header) without reading the rows."""
    read_column(path, column, what, header_only=True)


def check_columns(df: pd.DataFrame, columns: list[str], path: Path, what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        shown = ", ".join(map(str, list(df.columns)[:12]))
        raise ColumnNotFoundError(f"{path}: {what} column '{missing[0]}' not found (columns: {shown})",
                                  path, missing[0])


def ids_for(df: pd.DataFrame, id_column: str | None, path: Path) -> pd.Series:
    """The row ids as strings; checked for empty and duplicate values.

    Without an id column, ids are derived from the row position: ``row1`` is the first
    data row. They stay stable while rows are only appended to the pool.
    """
    if id_column is None:
        return pd.Series([f"{DERIVED_ID_PREFIX}{i + 1}" for i in range(len(df))], index=df.index)
    col = df[id_column]
    empty = col.isna() | (col.astype(str).str.strip() == "")
    if empty.any():
        row = int(np.flatnonzero(empty.to_numpy())[0])
        raise DataError(f"{path}: row {row + 2}: empty id in column '{id_column}'")
    ids = _id_strings(col)
    dup = ids.duplicated(keep="first")  # on pyarrow strings: less memory than hashing them ourselves
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataError(f"{path}: row {row + 2}: duplicate id {ids.iloc[row]!r} in column '{id_column}'")
    return ids


def _id_strings(col: pd.Series) -> pd.Series:
    """Ids as text: strings as written (stripped); integral floats (a numeric column with
    blanks) as integers; missing as ''."""
    missing = col.isna()
    if pd.api.types.is_float_dtype(col) and np.all(np.mod(col.dropna(), 1) == 0):
        out = col.fillna(0).astype("int64").astype(str)
    else:
        out = col.astype(str).str.strip()
    return out.mask(missing, "")


def normalise_ids(values: pd.Series) -> pd.Series:
    return _id_strings(values)


def canonical_labels(col: pd.Series, allowed: list[str]) -> pd.Series:
    """Labels as strings matched to the label set where the match is unambiguous:
    exact text first, then an integral number ('1.0' -> '1'), then case ('True' -> 'true').
    Missing -> ''. Values that match nothing are returned as written (for the error)."""
    text = label_strings(col).mask(col.isna(), "")
    allowed_set = set(allowed)
    lower: dict[str, list[str]] = {}
    for a in allowed:
        lower.setdefault(a.lower(), []).append(a)
    mapping: dict[str, str] = {}
    for v in pd.unique(text):
        if v in allowed_set or v == "":
            continue
        try:
            f = float(v)
            if f.is_integer() and str(int(f)) in allowed_set:
                mapping[v] = str(int(f))
                continue
        except ValueError:
            pass
        cands = lower.get(v.lower(), [])
        if len(cands) == 1:
            mapping[v] = cands[0]
    return text.replace(mapping) if mapping else text


def row_digest(df: pd.DataFrame, n: int | None = None, *, legacy: bool = False) -> str:
    """A digest of the first ``n`` rows' content (column names included).

    Numbers are hashed as float32, so a pool read with its numbers as float32 (a big pool,
    :func:`read_table`) and one read as float64 have the same digest, and a column widened
    from int to float (a blank in an appended row) keeps the digest of the rows known
    before. ``legacy``: as al wrote it before (float64), to recognise an older pool.json.
    """
    part = df if n is None else df.iloc[:n]
    h = hashlib.sha256()
    h.update("\x1f".join(map(str, part.columns)).encode())
    width = "float64" if legacy else "float32"
    for a in range(0, len(part), DIGEST_ROWS):  # a block at a time: no copy of the whole pool
        block = part.iloc[a:a + DIGEST_ROWS]
        stable = block.apply(lambda c: c.astype(width) if pd.api.types.is_numeric_dtype(c)
                             and not pd.api.types.is_bool_dtype(c) else c)
        h.update(pd.util.hash_pandas_object(stable, index=False).to_numpy().tobytes())
    return h.hexdigest()


DIGEST_ROWS = 250_000


def legacy_digest_of_file(path: Path, n: int, id_column: str | None) -> str:
    """:func:`row_digest` ``legacy=True`` of the first ``n`` rows of the pool file, read a
    block at a time at full precision: what an older al wrote into pool.json, checked
    without holding the whole pool (a big pool is held as float32, which cannot give it)."""
    path = Path(path)
    names = _header(path)
    h = hashlib.sha256()
    h.update("\x1f".join(map(str, names)).encode())
    left = n
    for block in column_blocks(path, names, "pool", str_columns=[id_column] if id_column else []):
        if left <= 0:
            break
        part = block.iloc[:left]
        left -= len(part)
        stable = part.apply(lambda c: c.astype("float64") if pd.api.types.is_numeric_dtype(c)
                            and not pd.api.types.is_bool_dtype(c) else c)
        h.update(pd.util.hash_pandas_object(stable, index=False).to_numpy().tobytes())
    return h.hexdigest()


def read_pool(path: Path, id_column: str | None, needed: list[str],
              text_columns: list[str] = ()) -> tuple[pd.DataFrame, pd.Series]:
    df = read_table(path, "pool", str_columns=[id_column], compact=True, text_columns=text_columns)
    if len(df) == 0:
        raise DataError(f"{path}: the pool has no rows")
    if id_column is not None:
        check_columns(df, [id_column], path, "id")
    check_columns(df, needed, path, "feature")
    return df, ids_for(df, id_column, path)


def read_labels_file(path: Path, label_column: str, labels: list[str], id_column: str | None,
                     what: str = "validation file") -> pd.DataFrame:
    """A labeled file (validation set): checks the label column against the label set."""
    df = read_table(path, what, str_columns=[label_column, id_column])
    if len(df) == 0:
        raise DataError(f"{path}: {what} has no rows")
    check_columns(df, [label_column], path, "label")
    lab = df[label_column]
    empty = lab.isna() | (lab.astype(str).str.strip() == "")
    if empty.any():
        row = int(np.flatnonzero(empty.to_numpy())[0])
        raise DataError(f"{path}: row {row + 2}: empty label in column '{label_column}'")
    lab_s = canonical_labels(lab, labels)
    allowed = set(labels)
    bad = ~lab_s.isin(allowed)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{path}: row {row + 2}: label {lab_s.iloc[row]!r} is not in the label set "
            f"({', '.join(labels)})"
        )
    df = df.copy()
    df[label_column] = lab_s.to_numpy()
    if id_column is not None and id_column in df.columns:
        ids_for(df, id_column, path)
    return df


def label_strings(col: pd.Series) -> pd.Series:
    """Labels as strings; 1.0 -> '1' so numeric label sets survive a float column."""
    if pd.api.types.is_float_dtype(col) and np.all(np.mod(col.dropna(), 1) == 0):
        return col.astype("int64").astype(str)
    if pd.api.types.is_bool_dtype(col):
        return col.astype(str)
    return col.astype(str).str.strip()
