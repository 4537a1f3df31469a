"""A linear model's head (models/NNNN.head.npz): the probabilities in numpy alone, the same
as the estimator's; 'al score' and 'al query' use it without importing scikit-learn; a
missing or damaged head means the twin is loaded, with the same results (issue 12)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from al_cli.features.cache import npz_array
from al_cli.models.builtin import RelevanceLogistic
from al_cli.models.head import Head, of_estimator

ROOT = Path(__file__).resolve().parents[1]


def _data(k: int, n: int = 300, d: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = np.asarray([f"c{i}" for i in (X[:, :k].argmax(axis=1) if k > 2 else (X[:, 0] > 0.3).astype(int))],
                   dtype=object)
    return X, y


@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("sparse", [False, True])
def test_head_probabilities_are_the_estimators(k, sparse):
    X, y = _data(k)
    est = LogisticRegression(max_iter=500, class_weight="balanced").fit(X, y)
    Xq = sp.csr_matrix(X) if sparse else X
    head = of_estimator(est, "logistic_regression", "key")
    assert head.kind == ("binary" if k == 2 else "softmax")
    atol = 1e-6 if est.coef_.dtype == np.float32 else 1e-12  # float32 features: float32 arithmetic
    np.testing.assert_allclose(head.predict_proba(Xq), est.predict_proba(X), rtol=0, atol=atol)
    assert head.predict_proba(Xq).dtype == est.predict_proba(X).dtype
    again = Head.from_bytes(head.to_bytes())  # the file gives exactly the same numbers
    assert np.array_equal(again.predict_proba(Xq), head.predict_proba(Xq))
    assert list(again.classes) == [str(c) for c in est.classes_] and again.feature_key == "key"


def test_relevance_head_is_the_relevance_model():
    X, y = _data(2, seed=3)
    est = RelevanceLogistic(relevant="c1").fit(X, y)
    head = of_estimator(est, "relevance_lr", "k")
    assert head.kind == "relevance"
    np.testing.assert_allclose(head.predict_proba(X), est.predict_proba(X), rtol=0, atol=1e-6)
    W = head.weights()  # the relevant class's row carries the weights
    assert np.array_equal(W[est.pos_], est.lr_.coef_[0]) and not W[1 - est.pos_].any()
    one = RelevanceLogistic(relevant="c1").fit(X, np.full(len(X), "c0", dtype=object))
    const = Head.from_bytes(of_estimator(one, "relevance_lr").to_bytes())
    assert np.array_equal(const.predict_proba(X), one.predict_proba(X)) and const.weights() is None


def test_other_models_have_no_head():
    from sklearn.naive_bayes import MultinomialNB

    X, y = _data(3)
    assert of_estimator(MultinomialNB().fit(np.abs(X), y)) is None
    assert of_estimator(LogisticRegression()) is None  # not fitted


@pytest.mark.parametrize("blob", [b"", b"not a zip", None])
def test_a_damaged_head_file_is_a_value_error(blob):
    if blob is None:  # an npz holding a pickled object: never unpickled
        buf = io.BytesIO()
        np.savez(buf, meta=np.array([{"a": 1}], dtype=object), coef=np.zeros((1, 2)), intercept=np.zeros(1))
        blob = buf.getvalue()
    with pytest.raises(ValueError):
        Head.from_bytes(blob)


@pytest.mark.parametrize("arr", [np.arange(12, dtype=np.float32).reshape(3, 4),
                                 np.asfortranarray(np.arange(6.0).reshape(2, 3)),
                                 np.zeros((0, 5), dtype=np.float32), np.arange(7)])
def test_feature_matrix_is_read_in_place_as_written(arr):
    buf = io.BytesIO()
    np.savez(buf, X=arr)
    got = npz_array(buf.getvalue(), "X")
    assert got.dtype == arr.dtype and got.shape == arr.shape and np.array_equal(got, arr)
    assert not got.flags.writeable
    buf = io.BytesIO()
    np.savez_compressed(buf, X=arr)  # not stored plainly: numpy's own reader
    assert np.array_equal(npz_array(buf.getvalue(), "X"), arr)


# --------------------------------------------------------------------------- through the CLI

def _ready(cli, project) -> Path:
    assert cli("seed", "-p", project, "--size", "12").code == 0
    assert cli("label", "-p", project, "--import", project.parent / "answers.csv", "--queued-only").code == 0
    assert cli("retrain", "-p", project).code == 0
    return project


def test_retrain_writes_the_head_beside_the_twin(cli, project):
    _ready(cli, project)
    man = json.loads((project / "models" / "0001.json").read_text())
    assert man["head"] == "0001.head.npz"
    head = Head.from_bytes((project / "models" / "0001.head.npz").read_bytes())
    assert head.model_name == "logistic_regression" and list(head.classes) == ["a", "b", "c"]
    assert head.names is not None and len(head.names) == head.n_features


NO_SKLEARN = textwrap.dedent("""\
    import sys
    class _No:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("sklearn", "skops", "scipy"):
                raise ImportError(f"{name} imported on the fast path")
    sys.meta_path.insert(0, _No())
    sys.argv = ["al", *sys.argv[1:]]
    from al_cli._entry import main
    main()
""")


def _al_without_sklearn(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", NO_SKLEARN, *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env={"AL_ANNOTATOR": "t", "NO_COLOR": "1", "PATH": "/usr/bin:/bin"})


def test_score_and_query_of_a_linear_model_need_no_sklearn_scipy_or_skops(cli, project):
    _ready(cli, project)
    r = _al_without_sklearn("score", "-p", project)
    assert r.returncode == 0, r.stderr
    r = _al_without_sklearn("query", "-p", project, "--strategy", "entropy", "--json")
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["ids"]) == 10
    q = pd.read_csv(project / "queried.csv", dtype=str)
    assert q["drivers"].str.len().gt(0).all()  # explanations from the head's weights and names


def test_the_default_auto_query_needs_no_sklearn_scipy_or_skops_either(cli, project):
    """auto's evidence (the flip rate between two models' heads) and its clustering (numpy
    k-means) on dense features: no scikit-learn import, and the same batch as with it."""
    _ready(cli, project)
    assert cli("query", "-p", project, "--size", "10").code == 0
    assert cli("label", "-p", project, "--import", project.parent / "answers.csv", "--queued-only").code == 0
    assert cli("retrain", "-p", project).code == 0
    assert _al_without_sklearn("score", "-p", project).returncode == 0
    queue = project / "queue.csv"
    before = queue.read_bytes()
    r = _al_without_sklearn("query", "-p", project, "--json")
    assert r.returncode == 0, r.stderr
    auto = json.loads(r.stdout)["auto"]
    assert auto["flip_rate"] is not None and auto["cluster_agreement"] is not None
    fast = queue.read_bytes()
    queue.write_bytes(before)
    assert cli("query", "-p", project).code == 0  # sklearn importable: the same rows
    assert queue.read_bytes() == fast


@pytest.mark.parametrize("damage", ["missing", "garbled"])
def test_without_a_usable_head_the_twin_gives_the_same_scores(cli, project, damage):
    _ready(cli, project)
    assert cli("score", "-p", project).code == 0
    with_head = (project / "scores.csv").read_bytes()
    head = project / "models" / "0001.head.npz"
    if damage == "missing":
        head.unlink()
    else:
        head.write_bytes(head.read_bytes()[:-10] + b"0123456789")
    (project / "scores.csv").unlink()
    assert cli("score", "-p", project).code == 0
    assert (project / "scores.csv").read_bytes() == with_head


def test_a_tampered_twin_is_refused_even_with_a_head(cli, project):
    _ready(cli, project)
    twin = project / "models" / "0001.skops"
    twin.write_bytes(twin.read_bytes() + b"x")
    r = cli("score", "-p", project)
    assert r.code == 1 and "0001.skops" in r.stderr and "sha256" in r.stderr


def test_scores_csv_quotes_text_only_where_needed(cli, tmp_path):
    from al_cli.commands.score import write_csv

    out = pd.DataFrame({"id": ["a", "b,c", 'd"e', "f\ng"], "predicted": ["x", "y", "x", "y"],
                        "confidence": [0.5, 0.25, 1e-7, 1.0], "model_version": 1})
    plain = out.iloc[[0]].assign(id=["plain"])
    for frame in (out, plain):
        buf = io.BytesIO()
        write_csv(frame, buf, header=True)
        back = pd.read_csv(io.BytesIO(buf.getvalue()), dtype={"id": str, "predicted": str})
        assert back["id"].tolist() == frame["id"].tolist()
        assert np.allclose(back["confidence"], frame["confidence"])
    buf = io.BytesIO()
    write_csv(plain, buf, header=True)
    assert buf.getvalue() == b"id,predicted,confidence,model_version\nplain,x,0.5,1\n"


# --------------------------------------------------------------------------- the lazy transform

def _text_project(cli, tmp_path) -> Path:
    rng = np.random.default_rng(5)
    words = {"a": "apple pear plum", "b": "car bus train", "c": "red blue green"}
    y = rng.choice(list(words), 120)
    df = pd.DataFrame({"id": [f"t{i:03d}" for i in range(120)],
                       "text": [f"{words[v]} note{i % 7} {rng.choice(['x', 'y', 'z'])}" for i, v in enumerate(y)]})
    df.to_csv(tmp_path / "pool.csv", index=False)
    pd.DataFrame({"id": df["id"], "label": y}).to_csv(tmp_path / "answers.csv", index=False)
    p = tmp_path / "proj"
    assert cli("init", p, "--data", tmp_path / "pool.csv", "--id-column", "id", "--text-column", "text",
               "--labels", "a,b,c", "--batch-size", "10").code == 0
    return _ready(cli, p)


def _spoil_transform(project: Path) -> None:
    """A transform file al cannot load but whose SHA-256 the manifest agrees with (what an
    upgrade of scikit-learn or skops, or a change of trusted types, looks like)."""
    import hashlib

    from al_cli.features import cache as cache_mod

    cache = project / "cache"
    bad = b"PK\x03\x04 not a skops file"
    (cache / "transformer.skops").write_bytes(bad)
    man = json.loads((cache / "features.json").read_text())
    man["sha256"]["transformer"] = hashlib.sha256(bad).hexdigest()
    man.pop("written", None)
    (cache / "features.json").write_text(json.dumps(man))
    cache_mod._MEMO.clear()


def _grow(tmp_path: Path, n: int = 12) -> None:
    with open(tmp_path / "pool.csv", "a") as fh:
        for i in range(n):
            fh.write(f"n{i:03d},zebra{i} yak{i} quokka apple\n")


def test_a_grown_pool_whose_transform_cannot_load_is_rebuilt(cli, tmp_path):
    p = _text_project(cli, tmp_path)
    _spoil_transform(p)
    _grow(tmp_path)
    r = cli("score", "-p", p, "--json")
    assert r.code == 0 and "rebuilding" in r.stderr, r.stderr
    assert r.json()["n_scored"] == 120 + 12 - 12  # every row but the 12 labeled


def test_a_transform_rebuilt_during_retrain_goes_with_its_own_matrix(cli, tmp_path):
    p = _text_project(cli, tmp_path)
    _grow(tmp_path)
    assert cli("score", "-p", p).code == 0  # the cache grows: its transform is the old one
    _spoil_transform(p)
    r = cli("retrain", "-p", p, "--force")
    assert r.code == 0 and "rebuilding" in r.stderr, r.stderr
    man = json.loads((p / "models" / "0002.json").read_text())
    assert man["feature_key"] == json.loads((p / "cache" / "features.json").read_text())["key"]
    head = Head.from_bytes((p / "models" / "0002.head.npz").read_bytes())
    assert head.n_features == man["n_features"] == len(head.names)
    for cmd in (("score",), ("predict", "-o", tmp_path / "pred.csv")):
        r = cli(*cmd, "-p", p)
        assert r.code == 0 and "changed since this model was trained" not in r.stderr, r.stderr


def test_a_one_vs_rest_logistic_regression_has_no_head():
    X, y = _data(3)
    est = LogisticRegression(max_iter=500).fit(X, y)
    est.multi_class = "ovr"  # what scikit-learn before 1.8 kept, and predicted one-vs-rest with
    assert of_estimator(est) is None
    assert of_estimator(LogisticRegression(max_iter=500).fit(X, y)) is not None


def test_a_matrix_damaged_in_place_as_written_is_rebuilt_not_a_crash(cli, project):
    import os

    _ready(cli, project)
    npz = project / "cache" / "features.npz"
    st = npz.stat()
    with open(npz, "r+b") as fh:  # the same size, inode and (restored) time: only the bytes differ
        fh.write(b"\0" * 64)
    os.utime(npz, ns=(st.st_atime_ns, st.st_mtime_ns))
    from al_cli.features import cache as cache_mod

    cache_mod._MEMO.clear()
    r = cli("score", "-p", project)
    assert r.code == 0 and "rebuilding" in r.stderr, r.stderr
