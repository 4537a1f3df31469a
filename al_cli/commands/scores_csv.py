"""scores.csv's text, built in numpy a block of rows at a time (issue 12's hot path).

Each field of a block is laid out in a byte matrix (one row per CSV line, each field
padded to its widest text with a filler byte that no text of the block contains), the
filler is squeezed out, and the block's bytes are written as they are. Scores quantised
to 1e-6 in [0, 1] (every score and probability al writes) take their text from a table
of the 1,000,001 possible values, so a million rows cost one gather per column instead
of a million float-to-text conversions; any other number is converted by pyarrow, which
writes the shortest text that reads back as the same float. Text (ids, class names) is
quoted only where needed, as the csv module does, plus a lone carriage return.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass

import numpy as np

GRID = 10**6  # the scores' quantum is 1/GRID (scoring.DECIMALS = 6)
BLOCK_BYTES = 64 << 20  # at most about this many bytes of byte matrix at a time
MAX_BLOCK = 200_000
_NEEDS_QUOTES = '[,"\r\n]'
_LUT: list[np.ndarray] = []


@dataclass
class Columns:
    """What a scores.csv holds: text columns as (names, codes) or an array of text,
    number columns as arrays, in the order they are written."""
    names: list[str]
    fields: list  # per column: np.ndarray of numbers, or ('text', pyarrow string array), or ('codes', names, codes)

    def column(self, name: str):
        return self.fields[self.names.index(name)]

    def __len__(self) -> int:
        f = self.fields[0]
        return len(f) if isinstance(f, np.ndarray) else len(f[-1])


def grid_lut() -> np.ndarray:
    """(GRID + 1, 9) uint8: for k = 0..GRID, the shortest decimal text of k / GRID ('0',
    '0.000001', '0.25', '1') then a comma, zero-padded: the text pyarrow and Python write."""
    if _LUT:
        return _LUT[0]
    lut = np.zeros((10,) * 6 + (9,), np.uint8)  # indexed by the six decimals of k / GRID
    for i in range(6):
        shape = [1] * 6
        shape[i] = 10
        lut[..., 2 + i] = (np.arange(10, dtype=np.uint8) + ord("0")).reshape(shape)
    lut = lut.reshape(GRID, 9)
    lut[:, 0], lut[:, 1] = ord("0"), ord(".")
    k = np.arange(GRID, dtype=np.int32)
    length = np.full(GRID, 8, np.int64)  # '0.' and six decimals, less the trailing zeros
    for p in (10, 100, 1_000, 10_000, 100_000):
        length -= k % p == 0
    lut[np.arange(9, dtype=np.int64)[None, :] >= length[:, None]] = 0
    lut[np.arange(GRID), length] = ord(",")
    lut = np.concatenate([lut, np.zeros((1, 9), np.uint8)])
    for i, text in ((0, b"0,"), (GRID, b"1,")):
        lut[i] = 0
        lut[i, :2] = np.frombuffer(text, np.uint8)
    lut.setflags(write=False)
    _LUT.append(lut)
    return lut


def _on_grid(v: np.ndarray) -> np.ndarray | None:
    """k with v == k / GRID for every value (finite, in [0, 1], not -0.0), else None."""
    if v.dtype.kind != "f" or not len(v):
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        k = np.rint(v * GRID)
        if not np.array_equal(k / GRID, v):  # off the grid, or NaN or infinite
            return None
    lo, hi = k.min(), k.max()
    if lo < 0 or hi > GRID or (lo == 0 and np.signbit(v).any()):
        return None
    return k.astype(np.int64)


def _padded(texts, filler: int, end: int) -> np.ndarray:
    """(n, w + 1) uint8 of a pyarrow string array: each text, then ``end``, then filler."""
    import pyarrow as pa

    arr = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
    arr = arr.cast(pa.large_string())
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64, count=n + 1, offset=arr.offset * 8)
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8) if arr.buffers()[2] is not None else np.zeros(0, np.uint8)
    lens = np.diff(offsets)
    w = int(lens.max()) if n else 0
    out = np.full((n, w + 1), filler, np.uint8)
    first = int(offsets[0]) if n else 0
    body = data[first:first + int(lens.sum())]  # the texts' bytes, in order
    if body.size:  # each byte to its row and column: memory in proportion to the bytes, not rows x longest
        row = np.repeat(np.arange(n, dtype=np.int64), lens)
        col = np.arange(body.size, dtype=np.int64) - np.repeat(offsets[:-1] - first, lens)
        out[row, col] = body
    out[np.arange(n), lens] = end
    return out


def _quoted(texts):
    """pyarrow strings with minimal CSV quoting (as the csv module writes, plus a lone \\r)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
        texts = texts.cast(pa.large_string())
    need = pc.match_substring_regex(texts, _NEEDS_QUOTES)
    if not pc.any(need).as_py():
        return texts
    quote, empty = pa.scalar('"', texts.type), pa.scalar("", texts.type)
    wrapped = pc.binary_join_element_wise(quote, pc.replace_substring(texts, '"', '""'), quote, empty)
    return pc.if_else(need, wrapped, texts)


def _number_block(v: np.ndarray, filler: int, end: int) -> np.ndarray:
    k = _on_grid(v)
    if k is not None:
        block = np.take(grid_lut(), k, axis=0)
        if end != ord(","):
            block = block.copy()
            block[block == ord(",")] = end
        if filler != 0:
            block = np.where(block == 0, np.uint8(filler), block)
        return block
    if v.size and np.all(v == v[0]) and v.dtype.kind in "iu":
        text = str(int(v[0])).encode("ascii")
        return np.broadcast_to(np.frombuffer(text + bytes([end]), np.uint8), (len(v), len(text) + 1))
    import pyarrow as pa
    import pyarrow.compute as pc

    return _padded(pc.cast(pa.array(v, from_pandas=True), pa.string()), filler, end)  # NaN: empty, as pandas wrote it


def header(names: list[str]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(names)
    return buf.getvalue().encode("utf-8")


def write_rows(cols: Columns, fh) -> None:
    """The CSV lines of ``cols`` (no header) into the binary file ``fh``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(cols)
    if not n:
        return
    texts = []  # per text column: the quoted pyarrow strings (codes: the quoted names)
    for f in cols.fields:
        if isinstance(f, np.ndarray):
            texts.append(None)
        elif f[0] == "codes":
            texts.append(_quoted(pa.array([str(x) for x in f[1]], type=pa.string())))
        else:
            texts.append(_quoted(f[1]))
    used = np.zeros(256, bool)
    width = 0
    for t in texts:
        if t is not None:
            buf = t.buffers()[2]
            if buf is not None and len(buf):
                raw = np.frombuffer(buf, np.uint8)
                used[:32] |= np.bincount(raw[raw < 32], minlength=32) > 0  # the control bytes only
            longest = pc.max(pc.binary_length(t)).as_py() if len(t) else 0
            width += int(longest or 0) + 1
    free = [b for b in range(32) if not used[b] and b not in (10, 13)]
    if not free:  # every control character in the text: the csv module, line by line
        _write_slowly(cols, texts, fh)
        return
    filler = free[0]
    width += 20 * sum(t is None for t in texts)
    step = max(1, min(MAX_BLOCK, BLOCK_BYTES // max(width, 1)))  # rows x widest line: about BLOCK_BYTES
    last = len(cols.fields) - 1

    def block(a: int) -> bytes:
        b = min(n, a + step)
        blocks = []
        for j, (f, t) in enumerate(zip(cols.fields, texts)):
            end = ord("\n") if j == last else ord(",")
            if t is None:
                blocks.append(_number_block(np.asarray(f[a:b]), filler, end))
            elif f[0] == "codes":
                blocks.append(np.take(_padded(t, filler, end), np.asarray(f[2][a:b]), axis=0))
            else:
                blocks.append(_padded(t.slice(a, b - a), filler, end))
        m = np.concatenate(blocks, axis=1) if len(blocks) > 1 else np.ascontiguousarray(blocks[0])
        return m[m != filler].tobytes()

    starts = list(range(0, n, step))
    workers = min(2, os.cpu_count() or 1, len(starts))
    if workers < 2:
        for a in starts:
            fh.write(block(a))
        return
    # numpy lets go of the GIL while it gathers and squeezes: two blocks at a time, written
    # in order, at most a few blocks held (a bounded window, not every block at once)
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as ex:
        window: deque = deque()
        for a in starts:
            window.append(ex.submit(block, a))
            if len(window) > workers:
                fh.write(window.popleft().result())
        while window:
            fh.write(window.popleft().result())


def _write_slowly(cols: Columns, texts, fh) -> None:
    """The same lines, built in Python (the texts are quoted already)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    fields = []
    for f, t in zip(cols.fields, texts):
        if t is None:
            k = _on_grid(f)
            fields.append([x or "" for x in pc.cast(pa.array(f, from_pandas=True), pa.string()).to_pylist()] if k is None else
                          [bytes(r[r != 0][:-1]).decode("ascii") for r in grid_lut()[k]])
        elif f[0] == "codes":
            names = t.to_pylist()
            fields.append([names[i] for i in f[2]])
        else:
            fields.append(t.to_pylist())
    fh.write("".join(",".join(row) + "\n" for row in zip(*fields)).encode("utf-8"))
