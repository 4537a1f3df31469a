"""Big pools (issue 12): read in blocks with numbers as float32, the transform fitted on a
sample and applied a block at a time, the same row digest either way, exact twins in one
pass with number columns hashed by value."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from al_cli import data as data_mod
from al_cli.commands.twins import content_keys, groups_of
from al_cli.features import transform as transform_mod
from al_cli.store import Project


def _text_keys(frame: pd.DataFrame) -> np.ndarray:
    """The definition of twins spelled out: every cell as the text it is shown as."""
    parts = {}
    for c in frame.columns:
        col = frame[c]
        text = col.astype(str).mask(col.isna(), "")
        if pd.api.types.is_float_dtype(col):
            whole = col.notna() & np.isfinite(col) & (np.mod(col.fillna(0), 1) == 0) & (col.abs() < 1e15)
            text = text.mask(whole, col.where(whole, 0).astype("int64").astype(str))
        else:
            text = text.str.replace(r"\s+", " ", regex=True).str.strip()
        parts[str(c)] = text
    return pd.util.hash_pandas_object(pd.DataFrame(parts), index=False).to_numpy()


floats = st.sampled_from([0.0, -0.0, 1.0, 3.0, 3.5, -2.25, 1e16, float("nan"), float("inf"), 0.1, 0.30000000000000004])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(floats, st.integers(-3, 3), st.sampled_from(["a", "a ", "b", "A"])), min_size=1, max_size=40))
def test_number_columns_hashed_by_value_give_the_groups_their_text_gives(rows):
    df = pd.DataFrame(rows, columns=["x", "k", "t"])
    assert (groups_of(content_keys(df)) == groups_of(_text_keys(df))).all()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False, width=32), min_size=1, max_size=30),
       st.lists(st.integers(-1000, 1000), min_size=30, max_size=30))
def test_the_row_digest_is_the_same_whether_numbers_are_read_as_float64_or_float32(xs, ks):
    df = pd.DataFrame({"id": [f"r{i}" for i in range(len(xs))], "x": np.asarray(xs, dtype=np.float64),
                       "k": ks[:len(xs)]})
    small = df.assign(x=df["x"].astype(np.float32), k=df["k"].astype(np.float32))
    assert data_mod.row_digest(df) == data_mod.row_digest(small)
    assert data_mod.row_digest(df, 1) == data_mod.row_digest(small, 1)
    moved = df.assign(x=df["x"] + 1.0)
    assert data_mod.row_digest(moved) != data_mod.row_digest(df)


def _pool(path, n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.choice(["a", "b", "c"], n)
    centre = {"a": (0.0, 0.0), "b": (4.0, 0.0), "c": (0.0, 4.0)}
    xy = np.array([centre[v] for v in y]) + rng.normal(0, 0.7, (n, 2))
    df = pd.DataFrame({"id": [f"r{i:04d}" for i in range(n)], "x1": xy[:, 0].round(4), "x2": xy[:, 1].round(4),
                       "year": rng.integers(2000, 2020, n), "colour": rng.choice(["red", "blue"], n)})
    df.to_csv(path, index=False)
    pd.DataFrame({"id": df["id"], "label": y}).to_csv(path.parent / "answers.csv", index=False)
    return df


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setenv("AL_BIG_POOL_MB", "0")
    monkeypatch.setattr(data_mod, "BLOCK_ROWS", 70)
    monkeypatch.setattr(transform_mod, "FIT_ROWS", 120)
    monkeypatch.setattr(transform_mod, "TRANSFORM_ROWS", 50)


def test_a_big_pool_is_read_in_blocks_with_numbers_as_float32(tmp_path, small_blocks):
    df = _pool(tmp_path / "pool.csv")
    got = data_mod.read_table(tmp_path / "pool.csv", "pool", str_columns=["id"], compact=True)
    assert got["x1"].dtype == np.float32 and got["year"].dtype == np.int64  # whole numbers keep every digit
    assert not pd.api.types.is_numeric_dtype(got["colour"])
    assert got["id"].tolist() == df["id"].tolist()
    assert np.allclose(got["x1"], df["x1"], atol=1e-5)
    whole = data_mod.read_table(tmp_path / "pool.csv", "pool", str_columns=["id"])
    assert whole["x1"].dtype == np.float64  # not compact: as before
    assert data_mod.row_digest(got) == data_mod.row_digest(whole)


def test_a_big_parquet_pool_is_read_a_column_at_a_time_with_floats_as_float32(tmp_path, small_blocks):
    df = _pool(tmp_path / "pool.csv")
    df.to_parquet(tmp_path / "pool.parquet")
    got = data_mod.read_table(tmp_path / "pool.parquet", "pool", str_columns=["id"], compact=True)
    assert got["x1"].dtype == np.float32 and got["id"].tolist() == df["id"].tolist()
    assert data_mod.row_digest(got) == data_mod.row_digest(pd.read_parquet(tmp_path / "pool.parquet"))


def test_blocks_that_disagree_on_a_column_type_read_the_file_whole(tmp_path, small_blocks):
    df = _pool(tmp_path / "pool.csv")
    df["mixed"] = [str(i) for i in range(len(df))]
    df.loc[250, "mixed"] = "n/a?"  # text in a column that is numbers in the first block
    df.to_csv(tmp_path / "pool.csv", index=False)
    got = data_mod.read_table(tmp_path / "pool.csv", "pool", str_columns=["id"], compact=True)
    whole = data_mod.read_table(tmp_path / "pool.csv", "pool", str_columns=["id"])
    assert not pd.api.types.is_numeric_dtype(got["mixed"])
    pd.testing.assert_frame_equal(got, whole)


def test_a_big_pool_runs_the_loop_with_its_transform_fitted_on_a_sample(cli, tmp_path, small_blocks):
    df = _pool(tmp_path / "pool.csv")
    proj = tmp_path / "proj"
    assert cli("init", proj, "--data", tmp_path / "pool.csv", "--id-column", "id", "--labels", "a,b,c").code == 0
    state = json.loads((proj / "pool.json").read_text())
    whole = data_mod.read_table(tmp_path / "pool.csv", "pool", str_columns=["id"])
    assert state["n_rows"] == 300 and state["digest"] == data_mod.row_digest(whole)
    assert cli("seed", "-p", proj, "--size", "12").code == 0
    assert cli("label", "-p", proj, "--import", tmp_path / "answers.csv", "--queued-only").code == 0
    r = cli("retrain", "-p", proj)
    assert r.code == 0, r.stderr
    for args in (["score"], ["query", "--size", "5"], ["evaluate"]):
        r = cli(*args, "-p", proj)
        assert r.code == 0, (args, r.stderr)
        assert "changed" not in r.stderr
    from al_cli.features.cache import load_features

    pf = load_features(Project(proj))
    assert pf.X.shape[0] == 300 and pf.X.dtype == np.float32
    # the transform saw 120 rows drawn with random_state 0, and every row went through it
    pick = np.sort(np.random.default_rng(0).choice(300, size=120, replace=False))
    scaler = pf.transformer.named_transformers_["num"]
    num = whole[["x1", "x2", "year"]].to_numpy(dtype=np.float32)
    expect_mean = num[pick].astype(np.float64).mean(axis=0)
    assert np.allclose(scaler[-1].mean_, expect_mean, rtol=1e-5)
    assert not np.allclose(scaler[-1].mean_, num.astype(np.float64).mean(axis=0), rtol=1e-5)
    direct = transform_mod.transform(pf.transformer, whole, Project(proj).config)
    assert np.allclose(pf.X, direct, atol=1e-5)


def test_a_pool_json_written_with_float64_hashing_is_recognised_and_rewritten(cli, tmp_path):
    _pool(tmp_path / "pool.csv")
    proj = tmp_path / "proj"
    assert cli("init", proj, "--data", tmp_path / "pool.csv", "--id-column", "id", "--labels", "a,b,c").code == 0
    whole = data_mod.read_table(tmp_path / "pool.csv", "pool", str_columns=["id"])
    legacy = data_mod.row_digest(whole, legacy=True)
    assert legacy != data_mod.row_digest(whole)
    (proj / "pool.json").write_text(json.dumps({"format": 1, "n_rows": 300, "digest": legacy}))
    r = cli("seed", "-p", proj, "--size", "12")
    assert r.code == 0 and "changed" not in r.stderr, r.stderr
    assert json.loads((proj / "pool.json").read_text())["digest"] == data_mod.row_digest(whole)


def test_twins_read_in_blocks_are_the_twins_read_whole(cli, tmp_path, monkeypatch):
    df = _pool(tmp_path / "pool.csv", n=200)
    df.loc[150:159, ["x1", "x2", "year", "colour"]] = df.loc[0:9, ["x1", "x2", "year", "colour"]].to_numpy()
    df.to_csv(tmp_path / "pool.csv", index=False)
    proj = tmp_path / "proj"
    assert cli("init", proj, "--data", tmp_path / "pool.csv", "--id-column", "id", "--labels", "a,b,c").code == 0
    from al_cli.commands.snapshot import Snapshot
    from al_cli.commands.twins import pool_groups

    whole = pool_groups(Snapshot(Project(proj)))
    for f in ("twins.npy", "twins.json"):
        (proj / "cache" / f).unlink()
    monkeypatch.setattr(data_mod, "BLOCK_ROWS", 33)
    blocks = pool_groups(Snapshot(Project(proj)))
    assert (whole == blocks).all()
    assert all(blocks[150 + i] == blocks[i] for i in range(10))
    assert len(np.unique(blocks)) == 190


def test_the_labeler_of_a_big_pool_reads_only_the_queued_rows(cli, tmp_path, small_blocks):
    from al_cli.annotation.views import load_views

    df = _pool(tmp_path / "pool.csv")
    proj = tmp_path / "proj"
    assert cli("init", proj, "--data", tmp_path / "pool.csv", "--id-column", "id", "--labels", "a,b,c").code == 0
    ids = ["r0299", "r0005", "r0150", "nope"]
    views = load_views(Project(proj), ids)
    assert list(views) == ["r0299", "r0005", "r0150"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AL_BIG_POOL_MB", "100000")  # the same rows, the pool read whole
        whole = load_views(Project(proj), ids)
    assert {k: v.fields for k, v in views.items()} == {k: v.fields for k, v in whole.items()}
    assert {c: v for c, v, _ in views["r0150"].fields}["x1"] == str(df.loc[150, "x1"])


def test_all_finite_in_blocks():
    from al_cli.strategies.base import _all_finite

    X = np.zeros((1000, 7), dtype=np.float32)
    assert _all_finite(X, cells=50)
    X[999, 6] = np.nan
    assert not _all_finite(X, cells=50) and not _all_finite(X)


def test_exports_of_a_big_pool_give_the_numbers_as_the_file_holds_them(cli, tmp_path, small_blocks):
    df = _pool(tmp_path / "pool.csv")
    df["amount"] = 123456.789 + np.arange(len(df))  # more digits than float32 keeps
    df.to_csv(tmp_path / "pool.csv", index=False)
    proj = tmp_path / "proj"
    assert cli("init", proj, "--data", tmp_path / "pool.csv", "--id-column", "id", "--labels", "a,b,c",
               "--feature-columns", "x1,x2,amount").code == 0
    assert cli("seed", "-p", proj, "--size", "12").code == 0
    r = cli("label", "-p", proj, "--export", tmp_path / "todo.csv")
    assert r.code == 0, r.stderr
    todo = pd.read_csv(tmp_path / "todo.csv", dtype={"id": str})
    want = df.set_index("id").loc[todo["id"], "amount"].to_numpy()
    assert (todo["amount"].to_numpy() == want).all()
    assert cli("label", "-p", proj, "--import", tmp_path / "answers.csv", "--queued-only").code == 0
    r = cli("export", "-p", proj, "-o", tmp_path / "out.csv", "--with-data")
    assert r.code == 0, r.stderr
    out = pd.read_csv(tmp_path / "out.csv", dtype={"id": str})
    assert len(out) == 12 and (out["amount"].to_numpy() == df.set_index("id").loc[out["id"], "amount"].to_numpy()).all()
    assert (out["colour"].to_numpy() == df.set_index("id").loc[out["id"], "colour"].to_numpy()).all()


def test_a_big_pool_made_by_an_older_al_is_recognised_without_a_warning(cli, tmp_path, small_blocks):
    _pool(tmp_path / "pool.csv")
    proj = tmp_path / "proj"
    assert cli("init", proj, "--data", tmp_path / "pool.csv", "--id-column", "id", "--labels", "a,b,c").code == 0
    whole = data_mod.read_table(tmp_path / "pool.csv", "pool", str_columns=["id"])
    legacy = data_mod.row_digest(whole, legacy=True)
    assert data_mod.legacy_digest_of_file(tmp_path / "pool.csv", 300, "id") == legacy
    (proj / "pool.json").write_text(json.dumps({"format": 1, "n_rows": 300, "digest": legacy}))
    r = cli("seed", "-p", proj, "--size", "12")
    assert r.code == 0 and "changed" not in r.stderr, r.stderr
    assert json.loads((proj / "pool.json").read_text())["digest"] == data_mod.row_digest(whole)


def test_twins_of_a_column_typed_otherwise_in_another_block_are_compared_as_text(cli, tmp_path, monkeypatch):
    pool = pd.DataFrame({"id": [f"r{i}" for i in range(6)], "code": ["x", "3", "y", "3.0", "3", "4"],
                         "x1": [1.0, 2.0, 1.0, 2.0, 2.0, 5.0]})
    pool.to_csv(tmp_path / "pool.csv", index=False)
    proj = tmp_path / "proj"
    assert cli("init", proj, "--data", tmp_path / "pool.csv", "--id-column", "id", "--labels", "a,b",
               "--feature-columns", "code,x1").code == 0
    from al_cli.commands.snapshot import Snapshot
    from al_cli.commands.twins import pool_groups

    monkeypatch.setattr(data_mod, "BLOCK_ROWS", 3)  # 'x,3,y' as text, '3.0,3,4' as numbers
    g = pool_groups(Snapshot(Project(proj)))
    assert g[1] == g[4] and g[3] != g[1]  # '3' twice is one text; '3.0' is not '3' as written


def test_a_shuffled_parquet_pool_keeps_its_stored_index_out_of_the_columns(tmp_path, small_blocks):
    df = _pool(tmp_path / "pool.csv").sample(frac=1, random_state=0)
    df.to_parquet(tmp_path / "shuf.parquet")
    got = data_mod.read_table(tmp_path / "shuf.parquet", "pool", str_columns=["id"], compact=True)
    assert list(got.columns) == list(df.columns)
    assert data_mod._header(tmp_path / "shuf.parquet") == list(df.columns)


def test_whole_numbers_of_a_big_pool_keep_every_digit(tmp_path, small_blocks):
    df = pd.DataFrame({"id": [f"r{i}" for i in range(200)], "n": 16777217 + np.arange(200), "x": np.linspace(0, 1, 200)})
    df.to_csv(tmp_path / "pool.csv", index=False)
    got = data_mod.read_table(tmp_path / "pool.csv", "pool", str_columns=["id"], compact=True)
    assert (got["n"].to_numpy() == df["n"].to_numpy()).all() and got["x"].dtype == np.float32


def test_the_rows_of_a_big_csv_read_by_pyarrow_are_those_pandas_reads(tmp_path, monkeypatch):
    df = _pool(tmp_path / "pool.csv")
    df["zip"] = [f"0{2100 + i}" for i in range(len(df))]
    df.loc[3, "colour"] = ""
    df.loc[5, "colour"] = "multi\nline, quoted"
    df.to_csv(tmp_path / "pool.csv", index=False)
    ids = ["r0005", "r0003", "r0299", "r0150", "missing"]
    from al_cli import pool_rows

    fast = pool_rows.rows_with_ids(tmp_path / "pool.csv", "id", None, ids)
    monkeypatch.setattr(pool_rows, "_rows_with_ids_arrow", lambda *a: None)
    slow = pool_rows.rows_with_ids(tmp_path / "pool.csv", "id", None, ids)
    assert fast[1].tolist() == slow[1].tolist() == ["r0003", "r0005", "r0150", "r0299"]
    pd.testing.assert_frame_equal(fast[0].astype(object), slow[0].astype(object), check_dtype=False)
    row = fast[0].set_index("id").loc["r0005"]
    assert row["zip"] == "02105" and row["colour"] == "multi\nline, quoted"
    assert pd.isna(fast[0].set_index("id").loc["r0003", "colour"])
