"""Odd but legitimate project histories found by a robustness sweep, each through the CLI:
a model saved under another model setting, labels that do not train, data al's features
cannot use, incremental scoring of a grown pool, pool columns that share al's names."""

from __future__ import annotations

import pandas as pd
import yaml


def _set(project, **changes):
    p = project / "al.yaml"
    cfg = yaml.safe_load(p.read_text())
    for dotted, value in changes.items():
        node = cfg
        *path, last = dotted.split(".")
        for k in path:
            node = node.setdefault(k, {})
        node[last] = value
    p.write_text(yaml.safe_dump(cfg, sort_keys=False))


def _import(cli, project, tmp_path, ids, name="lab.csv"):
    ans = pd.read_csv(tmp_path / "answers.csv").set_index("id").loc[ids].reset_index()
    f = tmp_path / name
    ans.to_csv(f, index=False)
    r = cli("label", "-p", project, "--import", f)
    assert r.code == 0, r.stderr


def test_a_tree_model_saved_earlier_still_loads_after_the_model_setting_changes(cli, project, tmp_path):
    _set(project, **{"model.name": "random_forest"})
    _import(cli, project, tmp_path, [f"r{i:03d}" for i in range(0, 150, 5)])
    assert cli("retrain", "-p", project).code == 0
    _set(project, **{"model.name": "logistic_regression"})
    _import(cli, project, tmp_path, [f"r{i:03d}" for i in range(1, 150, 5)], "more.csv")
    assert cli("retrain", "-p", project).code == 0
    r = cli("evaluate", "-p", project, "--json")  # reads model 1 (a forest) for stability
    assert r.code == 0, r.stderr
    r = cli("predict", "-p", project, "--model", "1", "-o", tmp_path / "p1.csv")
    assert r.code == 0, r.stderr
    assert len(pd.read_csv(tmp_path / "p1.csv")) > 0


def test_status_moves_on_after_retrain_when_some_labels_cannot_train(cli, project, tmp_path):
    ids = [f"r{i:03d}" for i in range(0, 150, 5)]
    _import(cli, project, tmp_path, ids)
    assert cli("retrain", "-p", project).code == 0
    assert cli("evaluate", "-p", project).code == 0
    # one labeled row leaves the pool: after a retrain (without it) status moves on
    pool = pd.read_csv(tmp_path / "pool.csv")
    pool[pool["id"] != ids[0]].to_csv(tmp_path / "pool.csv", index=False)
    r = cli("retrain", "-p", project, "--json")
    assert r.code == 0 and r.json()["n_labeled"] == len(ids) - 1
    assert cli("evaluate", "-p", project).code == 0
    assert cli("status", "-p", project, "--json").json()["next_command"].startswith("al query")
    _import(cli, project, tmp_path, ids[1:3], "again.csv")  # the same answers again: nothing new
    assert cli("retrain", "-p", project, "--json").json()["refitted"] is False
    assert cli("status", "-p", project, "--json").json()["next_command"].startswith("al query")
    # a labeled id that is also in the validation file trains nothing; after a retrain
    # status must not ask for another one forever
    val = pd.read_csv(tmp_path / "validation.csv")
    extra = pool[pool["id"] == ids[1]].assign(label=pd.read_csv(tmp_path / "answers.csv")
                                              .set_index("id").loc[ids[1], "label"])
    pd.concat([val, extra[val.columns]]).to_csv(tmp_path / "validation.csv", index=False)
    r = cli("retrain", "-p", project, "--json")
    assert r.code == 0 and r.json()["n_labeled"] == len(ids) - 2
    assert cli("evaluate", "-p", project).code == 0
    assert cli("status", "-p", project, "--json").json()["next_command"].startswith("al query")


def test_an_infinite_number_is_one_line_naming_row_and_column(cli, tmp_path):
    rows = [{"id": i, "x": str(i % 7), "y": i % 3} for i in range(40)]
    rows[7]["x"] = "1e400"  # overflows to inf when read
    pd.DataFrame(rows).to_csv(tmp_path / "pool.csv", index=False)
    assert cli("init", tmp_path / "p", "--data", tmp_path / "pool.csv", "--id-column", "id",
               "--labels", "a,b").code == 0
    r = cli("seed", "-p", tmp_path / "p", "--size", "5")
    assert r.code == 1
    assert r.stderr.strip().splitlines()[-1] == (
        f"error: {tmp_path / 'pool.csv'}: row 9: column 'x' holds an infinite value (inf); "
        "give a finite number or leave the cell empty")
    assert not (tmp_path / "p" / "queue.csv").exists()


def test_text_with_the_same_words_in_every_row_still_trains(cli, tmp_path):
    n = 240
    pd.DataFrame({"id": range(n), "text": ["SKU123 widget"] * n,
                  "x": [i % 2 + 0.1 * (i % 5) for i in range(n)]}).to_csv(tmp_path / "pool.csv", index=False)
    p = tmp_path / "p"
    assert cli("init", p, "--data", tmp_path / "pool.csv", "--id-column", "id", "--text-column", "text",
               "--feature-columns", "x", "--labels", "a,b").code == 0
    assert cli("seed", "-p", p, "--size", "10").code == 0
    q = pd.read_csv(p / "queue.csv")
    lab = pd.DataFrame({"id": q["id"], "label": ["a", "b"] * 5})
    lab.to_csv(tmp_path / "lab.csv", index=False)
    assert cli("label", "-p", p, "--import", tmp_path / "lab.csv").code == 0
    r = cli("retrain", "-p", p)
    assert r.code == 0, r.stderr


def test_init_and_seed_agree_on_what_a_word_is(cli, tmp_path):
    pd.DataFrame({"id": range(30), "text": list("abc") * 10}).to_csv(tmp_path / "pool.csv", index=False)
    r = cli("init", tmp_path / "p", "--data", tmp_path / "pool.csv", "--id-column", "id",
            "--text-column", "text", "--labels", "a,b")
    assert r.code == 1 and "hold no words in any row" in r.stderr
    assert not (tmp_path / "p" / "al.yaml").exists()


def test_rows_appended_and_scored_on_their_own_are_counted_and_checked(cli, project, tmp_path):
    import json

    _import(cli, project, tmp_path, [f"r{i:03d}" for i in range(0, 150, 5)])
    assert cli("retrain", "-p", project).code == 0
    assert cli("score", "-p", project).code == 0
    pool = pd.read_csv(tmp_path / "pool.csv")
    new = pool.iloc[:50].assign(id=[f"n{i:03d}" for i in range(50)])
    with open(tmp_path / "pool.csv", "a") as fh:
        fh.write(new.to_csv(index=False, header=False))
    r = cli("score", "-p", project, "--json")
    assert r.code == 0, r.stderr
    assert "featurised on their own" in r.stderr  # the incremental path, not a full read
    state = json.loads((project / "pool.json").read_text())
    assert state["n_rows"] == 200 and state["digest_rows"] == 150
    assert cli("status", "-p", project, "--json").json()["n_pool"] == 200
    # a known row changed afterwards: the full read says so, and digests every row again
    text = (tmp_path / "pool.csv").read_text().replace("r003,", "r003,9", 1)
    (tmp_path / "pool.csv").write_text(text)
    r = cli("score", "-p", project)
    assert r.code == 0 and "rows known before were changed" in r.stderr
    state = json.loads((project / "pool.json").read_text())
    assert state["n_rows"] == 200 and "digest_rows" not in state
    r = cli("score", "-p", project)
    assert r.code == 0 and "rows known before" not in r.stderr


def test_pool_columns_named_like_al_columns_keep_their_values(cli, tmp_path):
    n = 60
    pd.DataFrame({"id": [f"r{i}" for i in range(n)], "x": [i % 3 + 0.1 * i for i in range(n)],
                  "note": [f"memo {i}" for i in range(n)], "pool_note": [f"older {i}" for i in range(n)]}
                 ).to_csv(tmp_path / "pool.csv", index=False)
    p = tmp_path / "p"
    assert cli("init", p, "--data", tmp_path / "pool.csv", "--id-column", "id", "--feature-columns", "x",
               "--labels", "a,b").code == 0
    _set(p, **{"labeling.display_columns": ["x", "note", "pool_note"]})
    assert cli("seed", "-p", p, "--size", "6").code == 0
    assert cli("label", "-p", p, "--export", tmp_path / "batch.csv").code == 0
    batch = pd.read_csv(tmp_path / "batch.csv", dtype=str, keep_default_na=False)
    assert list(batch.columns) == ["id", "x", "pool_pool_note", "pool_note", "label", "annotator", "note"]
    assert batch["pool_pool_note"].str.startswith("memo").all() and (batch["note"] == "").all()
    batch["label"] = ["a", "b"] * 3
    batch.to_csv(tmp_path / "batch.csv", index=False)
    r = cli("label", "-p", p, "--import", tmp_path / "batch.csv", "--json")
    assert r.code == 0 and r.json()["imported"] == 6
    r = cli("export", "-p", p, "--with-data", "-o", tmp_path / "out.csv")
    assert r.code == 0, r.stderr
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert out["pool_pool_note"].str.startswith("memo").all()  # the pool's note
    assert out["pool_note"].str.startswith("older").all()      # the pool's pool_note
    assert (out["note"] == "").all()


def test_a_word_appended_into_a_numeric_column_is_an_error_naming_the_cell(cli, project, tmp_path):
    import json

    _import(cli, project, tmp_path, [f"r{i:03d}" for i in range(0, 150, 5)])
    assert cli("retrain", "-p", project).code == 0
    assert json.loads((project / "pool.json").read_text())["numeric"] == ["x1", "x2"]
    before = {f: (project / f).read_bytes() for f in ("pool.json", "labels.csv")}
    with open(tmp_path / "pool.csv", "a") as fh:
        fh.write("n001,abc,1.5,red\n")
    for cmd in ("score", "retrain"):
        r = cli(cmd, "-p", project)
        assert r.code == 1
        assert r.stderr.strip().splitlines()[-1] == (
            f"error: {tmp_path / 'pool.csv'}: row 152: column 'x1' must be numeric, as it was when al "
            "read the pool before (got 'abc')")
    assert {f: (project / f).read_bytes() for f in before} == before
    assert len(list((project / "models").glob("*.json"))) == 1


def test_a_tiny_held_out_set_all_right_is_still_called_too_small(cli, tmp_path, tabular_csv):
    val = pd.DataFrame({"id": ["v0", "v1", "v2"], "label": ["a", "b", "c"],
                        "x1": [0.0, 3.0, 0.0], "x2": [0.0, 0.0, 3.0], "colour": ["red", "blue", "red"]})
    val.to_csv(tmp_path / "tiny.csv", index=False)
    p = tmp_path / "tiny"
    assert cli("init", p, "--data", tabular_csv, "--id-column", "id", "--labels", "a,b,c",
               "--validation", tmp_path / "tiny.csv").code == 0
    _import(cli, p, tmp_path, [f"r{i:03d}" for i in range(0, 150, 3)])
    assert cli("retrain", "-p", p).code == 0
    r = cli("evaluate", "-p", p, "--json")
    assert r.code == 0, r.stderr
    assert r.json()["accuracy"] == 1.0 and r.json()["accuracy_ci"] == [1.0, 1.0]
    assert "validation: 3 held-out rows give accuracy 1.000 +/- 0.281" in r.stderr


def test_line_breaks_in_imported_notes_are_kept(cli, project, tmp_path):
    f = tmp_path / "notes.csv"
    pd.DataFrame({"id": ["r000", "r001"], "label": ["a", "a"],
                  "note": ["first line\nsecond line", "dos\r\nline\rend"]}).to_csv(f, index=False)
    assert cli("label", "-p", project, "--import", f).code == 0
    log = pd.read_csv(project / "labels.csv", dtype=str, keep_default_na=False).set_index("id")
    assert log.loc["r000", "note"] == "first line\nsecond line"
    assert log.loc["r001", "note"] == "dos\r\nline\rend"
    assert cli("label", "-p", project, "--import", f, "--json").json()["imported"] == 0  # same answers


def test_init_refuses_settings_no_later_command_could_use(cli, tmp_path, tabular_csv):
    r = cli("init", tmp_path / "a", "--data", tabular_csv, "--id-column", "id", "--labels", "a,b,c",
            "--strategy", "relevance")
    assert r.code == 1 and "'relevance' is for task: discovery only" in r.stderr
    assert not (tmp_path / "a").exists()
    r = cli("init", tmp_path / "b", "--data", tabular_csv, "--id-column", "id", "--labels", "a,b,c",
            "--random-state", "-1")
    assert r.code == 2 and not (tmp_path / "b").exists()


def test_a_row_number_column_is_not_a_feature(cli, tmp_path, tabular_csv):
    df = pd.read_csv(tabular_csv)
    df.insert(0, "row", range(1, len(df) + 1))
    df.to_csv(tmp_path / "indexed.csv")  # pandas' own index too: 'Unnamed: 0'
    r = cli("init", tmp_path / "p", "--data", tmp_path / "indexed.csv", "--id-column", "id",
            "--labels", "a,b,c", "--json")
    assert r.code == 0, r.stderr
    assert r.json()["feature_columns"] == ["x1", "x2", "colour"]
    assert "Unnamed: 0, row look like free text, ids or row numbers" in r.stderr


def test_an_unknown_model_or_strategy_in_al_yaml_lists_the_names(cli, project):
    for field, value, listed in (("model.name", "gradient_magic", "logistic_regression"),
                                 ("strategy.name", "psychic", "margin")):
        text = (project / "al.yaml").read_text()
        _set(project, **{field: value})
        r = cli("status", "-p", project)
        assert r.code == 1 and "Traceback" not in r.stderr
        assert f"'{field}' must be one of" in r.stderr and listed in r.stderr and repr(value) in r.stderr
        (project / "al.yaml").write_text(text)
