"""A pool that grows between rounds: only the appended rows are featurised and scored, and
the result equals a full rescore."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from al_cli.features.cache import load_features
from al_cli.features.transform import transform
from al_cli.store import Project

WORDS = ["cat", "dog", "stock", "bank", "rain", "sun", "goal", "match", "vote", "law"]


def _rows(start: int, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    topic = rng.integers(0, 2, n)
    text = [" ".join(rng.choice(WORDS[:5] if t else WORDS[5:], 6)) for t in topic]
    return pd.DataFrame({"id": [f"p{i:05d}" for i in range(start, start + n)], "text": text,
                         "x": np.round(rng.normal(topic * 2.0, 1.0), 3), "kind": rng.choice(["a", "b", "c"], n),
                         "label": np.where(topic == 1, "one", "two")})


def _setup(tmp_path, cli, n=300):
    df = _rows(0, n, 0)
    df.drop(columns="label").to_csv(tmp_path / "pool.csv", index=False)
    df[["id", "label"]].to_csv(tmp_path / "answers.csv", index=False)
    proj = tmp_path / "p"
    assert cli("init", proj, "--data", tmp_path / "pool.csv", "--id-column", "id", "--text-column", "text",
               "--feature-columns", "x,kind", "--labels", "one,two").code == 0
    assert cli("seed", "-p", proj, "--size", "20").code == 0
    assert cli("label", "-p", proj, "--import", tmp_path / "answers.csv", "--queued-only").code == 0
    assert cli("retrain", "-p", proj).code == 0
    r = cli("score", "-p", proj, "--json")
    assert r.code == 0 and not r.json()["incremental"]
    return proj


def _append(tmp_path, start: int, n: int, seed: int) -> pd.DataFrame:
    new = _rows(start, n, seed)
    with open(tmp_path / "pool.csv", "a") as fh:
        fh.write(new.drop(columns="label").to_csv(index=False, header=False))
    return new


def test_appended_rows_are_scored_alone_and_equal_a_full_rescore(tmp_path, cli):
    proj = _setup(tmp_path, cli)
    key_before = json.loads((proj / "cache" / "features.json").read_text())["key"]
    for round_, (start, n) in enumerate([(300, 40), (340, 25)]):
        _append(tmp_path, start, n, round_ + 1)
        r = cli("score", "-p", proj, "--json")
        assert r.code == 0, r.stderr
        got = r.json()
        assert got["incremental"] and got["n_new"] == n
        assert "new row(s) appended to the pool; featurised on their own" in r.stderr
        man = json.loads((proj / "cache" / "features.json").read_text())
        assert man["key"] == key_before and man["n_rows"] == start + n and man["fitted_rows"] == 300
        # a full rescore of the same state, from nothing, gives the same file byte for byte
        twin = tmp_path / f"twin{round_}"
        shutil.copytree(proj, twin)
        (twin / "scores.csv").unlink()
        (twin / "cache" / "scores.json").unlink()
        r2 = cli("score", "-p", twin, "--json")
        assert r2.code == 0 and not r2.json()["incremental"]
        assert (twin / "scores.csv").read_bytes() == (proj / "scores.csv").read_bytes()
    # and the appended rows' features are what the fitted transform gives them
    pf = load_features(Project.open(proj))
    new = pd.read_csv(tmp_path / "pool.csv").iloc[300:]
    X_new = transform(pf.transformer, new, Project.open(proj).config, str(tmp_path / "pool.csv"))
    assert abs(pf.X[300:] - X_new).max() < 1e-6
    # query reads the grown scores.csv as current: the same batch as scoring itself
    a = cli("query", "-p", proj, "--size", "7", "--random-fraction", "0", "--json").json()["ids"]
    (proj / "scores.csv").unlink()
    b = cli("query", "-p", proj, "--size", "7", "--random-fraction", "0", "--json").json()["ids"]
    assert a == b


def test_new_labels_mean_a_full_rescore(tmp_path, cli):
    proj = _setup(tmp_path, cli)
    assert cli("query", "-p", proj, "--size", "5").code == 0
    assert cli("label", "-p", proj, "--import", tmp_path / "answers.csv", "--queued-only").code == 0
    _append(tmp_path, 300, 10, 5)
    r = cli("score", "-p", proj, "--json")  # same model, but five more rows labeled: none kept
    assert r.code == 0 and not r.json()["incremental"]


def test_an_edited_row_or_a_big_growth_rebuilds(tmp_path, cli):
    proj = _setup(tmp_path, cli)
    man0 = json.loads((proj / "cache" / "features.json").read_text())
    text = (tmp_path / "pool.csv").read_text().replace("p00007,", "p00007x,", 1)  # an edit, not an append
    (tmp_path / "pool.csv").write_text(text)
    r = cli("score", "-p", proj, "--json")
    assert r.code == 0 and not r.json()["incremental"]
    man1 = json.loads((proj / "cache" / "features.json").read_text())
    assert man1["key"] != man0["key"] and man1["fitted_rows"] == 300
    _append(tmp_path, 300, 301, 9)  # more than twice the rows the transform was fitted on
    assert cli("score", "-p", proj).code == 0
    man2 = json.loads((proj / "cache" / "features.json").read_text())
    assert man2["fitted_rows"] == 601 and man2["key"] != man1["key"]


def test_an_appended_duplicate_id_is_one_line_and_nothing_changes(tmp_path, cli):
    proj = _setup(tmp_path, cli)
    before = {f: (proj / f).read_bytes() for f in ("scores.csv", "labels.csv", "cache/features.json")}
    with open(tmp_path / "pool.csv", "a") as fh:
        fh.write("p00003,cat dog,1.0,a\n")
    r = cli("score", "-p", proj)
    assert r.code == 1 and r.stderr.startswith("error: ") and "row 302: duplicate id 'p00003'" in r.stderr
    assert {f: (proj / f).read_bytes() for f in before} == before


@pytest.mark.parametrize("no_newline", [True])
def test_a_last_line_without_newline_rebuilds(tmp_path, cli, no_newline):
    df = _rows(0, 50, 0)
    (tmp_path / "pool.csv").write_text(df.drop(columns="label").to_csv(index=False).rstrip("\n"))
    df[["id", "label"]].to_csv(tmp_path / "answers.csv", index=False)
    proj = tmp_path / "p"
    cli("init", proj, "--data", tmp_path / "pool.csv", "--id-column", "id", "--text-column", "text",
        "--feature-columns", "x,kind", "--labels", "one,two")
    cli("seed", "-p", proj, "--size", "10")
    cli("label", "-p", proj, "--import", tmp_path / "answers.csv", "--queued-only")
    cli("retrain", "-p", proj)
    cli("score", "-p", proj)
    with open(tmp_path / "pool.csv", "a") as fh:
        fh.write("\np00050,cat cat,1.0,a\n")
    r = cli("score", "-p", proj, "--json")
    assert r.code == 0 and not r.json()["incremental"]  # the last old row may have grown: all again
    assert r.json()["n_scored"] == 41


def test_appended_rows_typed_otherwise_or_malformed_mean_reading_it_all(tmp_path, cli):
    proj = _setup(tmp_path, cli)
    key0 = json.loads((proj / "cache" / "features.json").read_text())["key"]
    with open(tmp_path / "pool.csv", "a") as fh:
        fh.write("p00300,007,1.5,7\n")  # 'kind' has been text; '7' alone would be read as a number
    r = cli("score", "-p", proj, "--json")
    assert r.code == 0 and not r.json()["incremental"]
    assert json.loads((proj / "cache" / "features.json").read_text())["key"] != key0
    with open(tmp_path / "pool.csv", "a") as fh:
        fh.write("p00301,cat dog,1.0,a,oops\n")  # a field too many
    r = cli("score", "-p", proj)
    assert r.code == 1 and r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1
