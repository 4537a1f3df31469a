"""scores.csv's writer (al_cli/commands/scores_csv.py): the text of every number is the one
pyarrow (and Python) writes, text is quoted only where needed, and the lines read back as
the values written, whatever the ids hold."""

from __future__ import annotations

import csv
import io

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from al_cli.commands import scores_csv as sc


def test_the_grid_table_is_the_text_pyarrow_writes_for_every_quantised_score():
    lut = sc.grid_lut()
    ref = pc.cast(pa.array(np.arange(sc.GRID + 1) / sc.GRID), pa.string()).to_pylist()
    ours = [bytes(r[r != 0][:-1]).decode("ascii") for r in lut]
    assert ours == ref
    assert ref[1] == "0.000001" and ref[250_000] == "0.25" and ref[-1] == "1"


def _write(cols: sc.Columns, slow: bool = False) -> str:
    buf = io.BytesIO()
    if slow:
        texts = []
        for f in cols.fields:
            if isinstance(f, np.ndarray):
                texts.append(None)
            elif f[0] == "codes":
                texts.append(sc._quoted(pa.array([str(x) for x in f[1]], type=pa.string())))
            else:
                texts.append(sc._quoted(f[1]))
        sc._write_slowly(cols, texts, buf)
    else:
        sc.write_rows(cols, buf)
    return buf.getvalue().decode("utf-8")


def _cols(ids, classes, codes, numbers):
    return sc.Columns(["id", "predicted", *[f"n{i}" for i in range(len(numbers))]],
                      [("text", pa.array(ids, type=pa.string())), ("codes", classes, np.asarray(codes)),
                       *numbers])


def test_a_small_table_is_written_as_the_csv_module_would():
    cols = _cols(["a", "b,c", 'd"e', "f\ng", "h\ri"], ["x", "y,z"], [0, 1, 0, 1, 0],
                 [np.array([0.5, 0.25, 1e-7, 1.0, 0.0]), np.array([3, 3, 3, 3, 3]),
                  np.array([np.nan, -0.0, 2.5, 1e20, 0.000015])])
    text = _write(cols)
    assert text.splitlines(keepends=True)[0] == "a,x,0.5,3,\n"  # NaN: an empty field, as pandas wrote it
    assert '"b,c","y,z",0.25,3,-0\n' in text and '"d""e",x,1e-7,3,2.5\n' in text
    assert '"f\ng","y,z",1,3,1e+20\n' in text and '"h\ri",x,0,3,0.000015\n' in text
    assert _write(cols, slow=True) == text


def test_blocks_split_a_long_table_without_changing_its_text(monkeypatch):
    rng = np.random.default_rng(0)
    n = 2_503
    cols = _cols([f"r{i}" for i in range(n)], ["lo", "hi"], rng.integers(0, 2, n),
                 [np.round(rng.random(n), 6), np.full(n, 7)])
    whole = _write(cols)
    monkeypatch.setattr(sc, "MAX_BLOCK", 1_000)
    monkeypatch.setattr(sc, "BLOCK_BYTES", 1)
    assert _write(cols) == whole and len(whole.splitlines()) == n


def test_ids_holding_every_control_character_are_still_written():
    ids = ["".join(chr(c) for c in range(32)), "plain", "\x00nul"]
    cols = _cols(ids, ["a"], [0, 0, 0], [np.array([0.1, 0.2, 0.3])])
    back = list(csv.reader(io.StringIO(_write(cols), newline="")))
    assert [r[0] for r in back] == ids and [r[2] for r in back] == ["0.1", "0.2", "0.3"]


texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
grid = st.integers(0, sc.GRID).map(lambda k: k / sc.GRID)
anyfloat = st.floats(allow_nan=True, allow_infinity=True)


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.tuples(texts, st.integers(0, 2), grid, anyfloat, st.integers(-10**12, 10**12)),
                     min_size=1, max_size=30),
       classes=st.lists(texts, min_size=3, max_size=3))
def test_lines_read_back_as_the_values_written(rows, classes):
    ids, codes, g, f, i = (list(x) for x in zip(*rows))
    cols = _cols(ids, classes, codes, [np.array(g, dtype=float), np.array(f, dtype=float), np.array(i)])
    text = _write(cols)
    assert _write(cols, slow=True) == text
    back = list(csv.reader(io.StringIO(text, newline="")))
    assert len(back) == len(rows)
    for r, (id_, c, gv, fv, iv) in zip(back, rows):
        assert r[0] == id_ and r[1] == classes[c]
        assert float(r[2]) == gv and int(r[4]) == iv
        assert (np.isnan(fv) and r[3] == "") or float(r[3]) == fv


def test_one_very_long_id_does_not_blow_up_memory():
    import tracemalloc

    n = 2_000
    ids = ["x" * 1_000_000, *[f"r{i}" for i in range(1, n)]]
    cols = _cols(ids, ["a", "b"], np.zeros(n, dtype=int), [np.full(n, 0.5)])
    tracemalloc.start()
    try:
        text = _write(cols)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert text.startswith("x" * 1_000_000 + ",a,0.5\n") and text.count("\n") == n
    assert peak < 8 * sc.BLOCK_BYTES, f"{peak / 2**20:.0f} MB for one 1 MB id"  # rows x longest was 2 GB
