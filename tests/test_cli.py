"""CLI wiring: messages, exit codes, --json shapes, user mistakes (issue 2)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest


COMMANDS = ["init", "seed", "label", "retrain", "evaluate", "score", "query", "status", "simulate"]


def one_error_line(r, *fragments: str) -> None:
    assert r.code == 1, (r.code, r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in r.stderr
    for f in fragments:
        assert f in lines[0], (f, lines[0])


def test_version_and_help(cli):
    r = cli("--version")
    assert r.code == 0 and re.match(r"al \d+\.\d+\.\d+", r.stdout)
    for c in COMMANDS:
        r = cli(c, "--help")
        assert r.code == 0, c
        assert "Example" in r.stdout, f"'al {c} --help' shows no example"


def test_every_command_is_documented_in_readme():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for c in COMMANDS:
        assert f"al {c}" in readme, c


def test_usage_error_is_exit_2(cli, project):
    assert cli("seed", "-p", project, "--size", "abc").code == 2
    assert cli("frobnicate").code == 2
    for args in (["seed", "--size", "3", "--fraction", "0.1"], ["seed", "--strategy", "odd"],
                 ["query", "--random-fraction", "1.5"], ["query", "--diversity", "lots"],
                 ["evaluate", "--metric", "f1"], ["query", "--cost", "cheap"],
                 ["label", "--import", "a.csv", "--export", "b.csv"]):
        r = cli(args[0], "-p", project, *args[1:])
        assert r.code == 2, (args, r.stderr)
        assert "Traceback" not in r.stderr


# ------------------------------------------------------------------ init mistakes
def test_init_missing_file(cli, tmp_path):
    one_error_line(cli("init", tmp_path / "p", "--data", tmp_path / "nope.csv", "--labels", "a,b"),
                   "nope.csv", "not found")


def test_init_missing_column(cli, tmp_path, tabular_csv):
    one_error_line(cli("init", tmp_path / "p", "--data", tabular_csv, "--id-column", "ident",
                       "--labels", "a,b"), "ident", "not found")
    one_error_line(cli("init", tmp_path / "p", "--data", tabular_csv, "--text-column", "body",
                       "--labels", "a,b"), "body")
    one_error_line(cli("init", tmp_path / "p", "--data", tabular_csv, "--feature-columns", "x1,zz",
                       "--labels", "a,b"), "zz")


def test_init_duplicate_and_empty_ids(cli, tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("id,x\n1,0.5\n2,0.1\n1,0.3\n")
    one_error_line(cli("init", tmp_path / "p", "--data", f, "--id-column", "id", "--labels", "a,b"),
                   "duplicate id", "'1'", "row 4")
    f.write_text("id,x\n1,0.5\n,0.1\n3,0.3\n")
    one_error_line(cli("init", tmp_path / "p", "--data", f, "--id-column", "id", "--labels", "a,b"),
                   "empty id", "row 3")


def test_init_empty_pool_and_bad_encoding(cli, tmp_path):
    f = tmp_path / "empty.csv"
    f.write_text("id,x\n")
    one_error_line(cli("init", tmp_path / "p", "--data", f, "--labels", "a,b"), "no rows")
    f.write_text("")
    one_error_line(cli("init", tmp_path / "p", "--data", f, "--labels", "a,b"), "empty")
    g = tmp_path / "latin.csv"
    g.write_bytes("id,text\n1,caf\xe9 cr\xe8me\n".encode("latin-1"))
    one_error_line(cli("init", tmp_path / "p", "--data", g, "--text-column", "text", "--labels", "a,b"),
                   "latin.csv", "UTF-8")


def test_init_validation_label_outside_set(cli, tmp_path, tabular_csv):
    v = tmp_path / "validation.csv"
    df = pd.read_csv(v)
    df.loc[7, "label"] = "zebra"
    df.to_csv(v, index=False)
    one_error_line(cli("init", tmp_path / "p", "--data", tabular_csv, "--id-column", "id",
                       "--labels", "a,b,c", "--validation", v), "zebra", "row 9", "label set")
    assert not (tmp_path / "p" / "al.yaml").exists()


def test_init_refuses_to_overwrite(cli, project, tabular_csv):
    one_error_line(cli("init", project, "--data", tabular_csv, "--labels", "a,b"), "already")


def test_init_without_id_column_derives_ids(cli, tmp_path):
    f = tmp_path / "noid.csv"
    pd.DataFrame({"x": range(30), "y": [i % 3 for i in range(30)]}).to_csv(f, index=False)
    r = cli("init", tmp_path / "p", "--data", f, "--labels", "a,b", "--json")
    assert r.code == 0, r.stderr
    assert r.json()["id_column"] is None
    r = cli("seed", "-p", tmp_path / "p", "--size", "3", "--strategy", "random", "--json")
    assert all(re.fullmatch(r"row\d+", i) for i in r.json()["ids"])


def test_parquet_pool(cli, tmp_path, tabular_csv):
    pq = tmp_path / "pool.parquet"
    pd.read_csv(tabular_csv).to_parquet(pq)
    r = cli("init", tmp_path / "p", "--data", pq, "--id-column", "id", "--labels", "a,b,c", "--json")
    assert r.code == 0, r.stderr
    assert r.json()["n_rows"] == 150


def test_not_a_project(cli, tmp_path):
    one_error_line(cli("status", "-p", tmp_path), "not an al project")


def test_project_found_from_subfolder(cli, project):
    sub = project / "cache"
    r = cli("status", "--json", cwd=sub)
    assert r.code == 0, r.stderr
    assert Path(r.json()["project"]) == project.resolve()


def test_bad_config_names_the_field(cli, project):
    y = project / "al.yaml"
    y.write_text(y.read_text().replace("name: auto", "name: psychic"))
    one_error_line(cli("status", "-p", project), "strategy.name", "psychic")
    y.write_text("data: [unclosed\n")
    one_error_line(cli("status", "-p", project), "al.yaml", "YAML")


# ------------------------------------------------------------------ step order mistakes
def test_retrain_before_labels_and_single_class(cli, project, tmp_path):
    one_error_line(cli("retrain", "-p", project), "nothing labeled")
    one_error_line(cli("score", "-p", project), "no model", "al retrain")
    one_error_line(cli("query", "-p", project, "--strategy", "entropy"), "no model")
    f = tmp_path / "one.csv"
    f.write_text("id,label\nr000,a\nr001,a\n")
    assert cli("label", "-p", project, "--import", f).code == 0
    one_error_line(cli("retrain", "-p", project), "one class", "'a'")


def test_label_without_tty_points_to_import(cli, project):
    one_error_line(cli("label", "-p", project), "--import")


# ------------------------------------------------------------------ label import
def test_import_with_bad_rows_imports_nothing(cli, project, tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("id,label\nr000,a\nnosuch,b\nr002,zebra\nr003,\n")
    r = cli("label", "-p", project, "--import", f)
    one_error_line(r, "bad.csv", "2 bad row(s)", "nothing imported", "row 3: unknown id 'nosuch'",
                   "row 4: label 'zebra'")  # row 5 (no label) is unanswered, not bad
    assert not (project / "labels.csv").exists()
    f.write_text("ident,label\n")
    one_error_line(cli("label", "-p", project, "--import", f), "column 'id' not found")


def test_import_records_annotator_and_note(cli, project, tmp_path):
    f = tmp_path / "ok.csv"
    f.write_text("id,label,annotator,note\nr000,a,bea,looks odd\nr001,b,,\n")
    r = cli("label", "-p", project, "--import", f, "--annotator", "cy", "--json")
    assert r.code == 0, r.stderr
    assert r.json()["imported"] == 2 and r.json()["labels_per_class"] == {"a": 1, "b": 1, "c": 0}
    log = pd.read_csv(project / "labels.csv", dtype=str, keep_default_na=False)
    assert log["annotator"].tolist() == ["bea", "cy"]
    assert log["note"].tolist() == ["looks odd", ""]
    assert all(log["time"].str.len() > 0)


def test_export_then_import_round_trip(cli, project, tmp_path):
    assert cli("seed", "-p", project, "--size", "6").code == 0
    out = tmp_path / "batch.csv"
    r = cli("label", "-p", project, "--export", out, "--json")
    assert r.code == 0 and r.json()["n_rows"] == 6
    df = pd.read_csv(out)
    assert list(df.columns)[:1] == ["id"] and {"label", "x1"} <= set(df.columns)
    key = pd.read_csv(project.parent / "answers.csv").set_index("id")["label"]
    df["label"] = key.loc[df["id"]].to_numpy()
    df.to_csv(out, index=False)
    r = cli("label", "-p", project, "--import", out, "--json")
    assert r.code == 0, r.stderr
    assert r.json()["queue_remaining"] == 0


# ------------------------------------------------------------------ loop pieces
def _seed_and_label(cli, project, size=12):
    assert cli("seed", "-p", project, "--size", size).code == 0
    key = project.parent / "answers.csv"
    r = cli("label", "-p", project, "--import", key, "--queued-only")
    assert r.code == 0, r.stderr


def test_evaluate_stop_at_exit_codes(cli, project):
    _seed_and_label(cli, project)
    assert cli("retrain", "-p", project).code == 0
    r = cli("evaluate", "-p", project, "--stop-at", "0.0", "--json")
    assert r.code == 0 and r.json()["stop"] is True
    r = cli("evaluate", "-p", project, "--stop-at", "95")
    assert r.code == 2 and "--stop-at" in r.stderr
    r = cli("evaluate", "-p", project, "--stop-at", "1.0", "--metric", "macro_f1", "--json")
    assert r.code in (0, 3)
    assert r.json()["stop"] is (r.code == 0)
    r = cli("evaluate", "-p", project, "--json")
    assert r.code == 0 and r.json()["stop"] is False


def test_second_score_and_query_reuse_cached_features(cli, project):
    _seed_and_label(cli, project)
    assert cli("retrain", "-p", project).code == 0
    r1 = cli("score", "-p", project, "--json").json()
    r2 = cli("score", "-p", project, "--json").json()
    q = cli("query", "-p", project, "--json").json()
    assert r2["features_cached"] is True and q["features_cached"] is True
    # the cache is derived: deleting it rebuilds it and gives the same scores
    for f in (project / "cache").iterdir():
        f.unlink()
    r3 = cli("score", "-p", project, "--json").json()
    assert r3["features_cached"] is False and r3["n_scored"] == r1["n_scored"]


def test_query_is_deterministic_and_replaces_unanswered(cli, project):
    _seed_and_label(cli, project)
    assert cli("retrain", "-p", project).code == 0
    a = cli("query", "-p", project, "--size", "7", "--json").json()
    b = cli("query", "-p", project, "--size", "7", "--json").json()
    assert a["ids"] == b["ids"] and b["replaced"] == 7
    assert len(pd.read_csv(project / "queue.csv")) == 7
    labeled = set(pd.read_csv(project / "labels.csv", dtype=str)["id"])
    assert not labeled & set(a["ids"])


def test_query_explain_and_strategy_flags(cli, project):
    _seed_and_label(cli, project, 15)
    assert cli("retrain", "-p", project).code == 0
    r = cli("query", "-p", project, "--size", "5", "--strategy", "margin", "--diversity", "kcenter",
            "--random-fraction", "0.2", "--explain")
    assert r.code == 0, r.stderr
    assert "why these rows" in r.stdout and "random" in r.stdout
    # scores read "higher = more worth labeling"; no column that says nothing (issue 15, item 7)
    assert "closeness of the top two" in r.stdout and "margin 0." not in r.stdout
    header = next(ln for ln in r.stdout.splitlines() if ln.split()[:1] == ["id"])
    assert "cluster" not in header and "cost" not in header and "final" not in header
    r = cli("query", "-p", project, "--size", "5", "--strategy", "margin", "--density", "1", "--explain")
    header = next(ln for ln in r.stdout.splitlines() if ln.split()[:1] == ["id"])
    assert r.code == 0 and "final" in header and "density" in r.stdout
    r = cli("query", "-p", project, "--strategy", "nope")
    assert r.code == 2 and "nope" in r.stderr and "entropy" in r.stderr
    q = pd.read_csv(project / "queue.csv")
    assert {"id", "score", "reason", "random_pick"} <= set(q.columns)


def test_audit_sample_is_held_out_and_evaluated(cli, tmp_path, tabular_csv):
    p = tmp_path / "noval"
    assert cli("init", p, "--data", tabular_csv, "--id-column", "id", "--labels", "a,b,c").code == 0
    r = cli("seed", "-p", p, "--size", "10", "--validation-size", "20", "--json")
    assert r.code == 0 and r.json()["n_audit"] == 20 and len(r.json()["ids"]) == 30
    assert cli("label", "-p", p, "--import", tmp_path / "answers.csv", "--queued-only").code == 0
    r = cli("retrain", "-p", p, "--json")
    assert r.json()["n_labeled"] == 10 and r.json()["excluded_audit"] == 20
    r = cli("evaluate", "-p", p, "--json")
    assert r.code == 0 and r.json()["source"] == "audit" and r.json()["n_eval"] == 20
    # audit rows are never queried for training
    q = cli("query", "-p", p, "--size", "50", "--json").json()
    audit = set(pd.read_csv(p / "audit.csv", dtype=str)["id"])
    assert not audit & set(q["ids"])


def test_cross_validation_fallback_warns(cli, tmp_path, tabular_csv):
    p = tmp_path / "cv"
    assert cli("init", p, "--data", tabular_csv, "--id-column", "id", "--labels", "a,b,c").code == 0
    assert cli("seed", "-p", p, "--size", "30").code == 0
    assert cli("label", "-p", p, "--import", tmp_path / "answers.csv", "--queued-only").code == 0
    assert cli("retrain", "-p", p).code == 0
    r = cli("evaluate", "-p", p, "--json")
    assert r.code == 0 and r.json()["source"] == "cross_validation"
    assert "warning:" in r.stderr and "bias" in r.stderr
    json.loads(r.stdout)  # stdout holds only the JSON object


def test_tampered_model_is_refused(cli, project):
    _seed_and_label(cli, project)
    assert cli("retrain", "-p", project).code == 0
    m = project / "models" / "0001.skops"  # the file al loads (the .joblib is for Python users)
    m.write_bytes(m.read_bytes() + b"x")
    one_error_line(cli("score", "-p", project), "sha256", "0001.skops")


def test_status_next_command_walks_the_loop(cli, project):
    nxt = lambda: cli("status", "-p", project, "--json").json()["next_command"]  # noqa: E731
    assert nxt().startswith("al seed")
    assert cli("seed", "-p", project, "--size", "12").code == 0
    assert nxt().startswith("al label")
    assert cli("label", "-p", project, "--import", project.parent / "answers.csv", "--queued-only").code == 0
    assert nxt().startswith("al retrain")
    assert cli("retrain", "-p", project).code == 0
    assert nxt().startswith("al evaluate")
    assert cli("evaluate", "-p", project).code == 0
    assert nxt().startswith("al query")


def test_seed_twice_needs_force(cli, project):
    assert cli("seed", "-p", project, "--size", "5").code == 0
    one_error_line(cli("seed", "-p", project, "--size", "5"), "already seeded")
    assert cli("seed", "-p", project, "--size", "5", "--force").code == 0


def test_pool_rows_appended_are_picked_up_and_changes_reported(cli, project, tabular_csv):
    _seed_and_label(cli, project)
    assert cli("retrain", "-p", project).code == 0
    df = pd.read_csv(tabular_csv)
    extra = df.iloc[:5].copy()
    extra["id"] = [f"new{i}" for i in range(5)]
    pd.concat([df, extra]).to_csv(tabular_csv, index=False)
    r = cli("score", "-p", project, "--json")
    assert r.code == 0, r.stderr
    assert r.json()["n_scored"] == 155 - 12
    assert "new row" in r.stderr
    df.loc[3, "x1"] = 99.0
    pd.concat([df, extra]).to_csv(tabular_csv, index=False)
    r = cli("score", "-p", project, "--json")
    assert r.code == 0 and "changed" in r.stderr


def test_excel_bom_and_semicolon_csv(cli, tmp_path):
    f = tmp_path / "excel.csv"
    f.write_bytes("\ufeffid;x;colour\n1;0,5;red\n2;1,5;blue\n3;2,5;red\n".encode("utf-8"))
    r = cli("init", tmp_path / "p", "--data", f, "--id-column", "id", "--labels", "a,b", "--json")
    assert r.code == 0, r.stderr
    assert r.json()["feature_columns"] == ["x", "colour"]


def test_more_than_nine_labels_get_keys(cli, tmp_path):
    from al_cli.store import Project

    f = tmp_path / "digits.csv"
    pd.DataFrame({"id": range(40), "v": [(i * 7) % 11 for i in range(40)]}).to_csv(f, index=False)
    labels = ",".join(f"d{i}" for i in range(12))
    r = cli("init", tmp_path / "p", "--data", f, "--id-column", "id", "--labels", labels)
    assert r.code == 0, r.stderr
    keys = Project.open(tmp_path / "p").config.label_keys()
    assert list(keys)[:10] == list("1234567890") and len(keys) == 12
    assert not set(keys) & set("suqn?")


def test_cost_column_and_learned_cost(cli, tmp_path, tabular_csv):
    df = pd.read_csv(tabular_csv)
    df["minutes"] = [1.0 + (i % 7) for i in range(len(df))]
    pool = tmp_path / "costly.csv"
    df.to_csv(pool, index=False)
    p = tmp_path / "c"
    assert cli("init", p, "--data", pool, "--id-column", "id", "--feature-columns", "x1,x2,colour",
               "--labels", "a,b,c").code == 0
    assert cli("seed", "-p", p, "--size", "15").code == 0
    assert cli("label", "-p", p, "--import", tmp_path / "answers.csv", "--queued-only").code == 0
    assert cli("retrain", "-p", p).code == 0
    r = cli("query", "-p", p, "--size", "5", "--cost-column", "minutes", "--json", "--explain")
    assert r.code == 0, r.stderr
    costs = [row["cost"] for row in r.json()["explain"]]
    assert all(c >= 1.0 for c in costs) and len(costs) == 5
    r = cli("query", "-p", p, "--size", "5", "--cost-column", "nosuch")
    one_error_line(r, "cost column 'nosuch' not found")
    r = cli("query", "-p", p, "--size", "5", "--cost", "learned")
    assert r.code == 0 and "timed label" in r.stderr  # imports carry no seconds: equal cost
    df.loc[4, "minutes"] = -3
    df.to_csv(pool, index=False)
    r = cli("query", "-p", p, "--size", "5", "--cost-column", "minutes")
    assert r.code == 1 and "changed" in r.stderr  # the pool edit is reported ...
    last = r.stderr.strip().splitlines()[-1]  # ... and the bad cost named
    assert last.startswith("error: ") and "costly.csv" in last and "'minutes'" in last and "r004" in last


def test_unanswered_audit_rows_stay_queued(cli, tmp_path, tabular_csv):
    p = tmp_path / "aud"
    assert cli("init", p, "--data", tabular_csv, "--id-column", "id", "--labels", "a,b,c").code == 0
    seeded = cli("seed", "-p", p, "--size", "8", "--validation-size", "6", "--json").json()
    train_ids = seeded["ids"][:8]
    key = pd.read_csv(tmp_path / "answers.csv", dtype=str).set_index("id")
    part = tmp_path / "part.csv"
    key.loc[train_ids].reset_index().to_csv(part, index=False)
    assert cli("label", "-p", p, "--import", part).code == 0
    assert cli("retrain", "-p", p).code == 0
    q = cli("query", "-p", p, "--size", "5", "--json").json()
    assert q["n_audit"] == 6 and q["replaced"] == 0
    queue = pd.read_csv(p / "queue.csv", dtype={"id": str})
    assert (queue["purpose"] == "audit").sum() == 6 and (queue["purpose"] == "train").sum() == 5


# ------------------------------------------------------------------ data in general
def _small(tmp_path, ids, labels_col=None, name="pool.csv"):
    df = pd.DataFrame({"id": ids, "x": [float(i % 5) for i in range(len(ids))],
                       "text": [f"word{i % 3} thing{i % 4}" for i in range(len(ids))]})
    f = tmp_path / name
    df.to_csv(f, index=False)
    return f


def test_ids_with_leading_zeros_round_trip(cli, tmp_path):
    f = _small(tmp_path, [f"{i:03d}" for i in range(30)])
    p = tmp_path / "z"
    assert cli("init", p, "--data", f, "--id-column", "id", "--labels", "0,1").code == 0
    ids = cli("seed", "-p", p, "--size", "6", "--json").json()["ids"]
    assert all(len(i) == 3 for i in ids)
    out = tmp_path / "exp.csv"
    assert cli("label", "-p", p, "--export", out).code == 0
    df = pd.read_csv(out, dtype=str)
    df["label"] = ["0", "1"] * 3
    df.to_csv(out, index=False)
    r = cli("label", "-p", p, "--import", out, "--json")
    assert r.code == 0, r.stderr
    assert r.json()["imported"] == 6 and r.json()["queue_remaining"] == 0


def test_boolean_and_float_written_labels_match_the_label_set(cli, tmp_path):
    f = _small(tmp_path, list(range(20)))
    p = tmp_path / "b"
    assert cli("init", p, "--data", f, "--id-column", "id", "--labels", "true,false").code == 0
    g = tmp_path / "tf.csv"
    g.write_text("id,label\n1,true\n2,False\n3,TRUE\n")
    r = cli("label", "-p", p, "--import", g, "--json")
    assert r.code == 0, r.stderr
    assert r.json()["labels_per_class"] == {"true": 2, "false": 1}
    p2 = tmp_path / "n"
    assert cli("init", p2, "--data", f, "--id-column", "id", "--labels", "0,1").code == 0
    h = tmp_path / "fl.csv"
    h.write_text("id,label\n1,1.0\n2,0.0\n3,\n")  # a blank outside the batch must not matter
    assert cli("seed", "-p", p2, "--size", "20", "--strategy", "random").code == 0
    r = cli("label", "-p", p2, "--import", h, "--json")
    assert r.code == 0 and r.json()["unanswered"] == 1 and r.json()["labels_per_class"] == {"0": 1, "1": 1}


@pytest.mark.parametrize("model", ["logistic_regression", "linear_svm", "naive_bayes",
                                   "random_forest", "hist_gradient_boosting"])
def test_every_model_trains_on_numeric_string_labels(cli, tmp_path, model):
    f = _small(tmp_path, list(range(40)))
    p = tmp_path / model
    assert cli("init", p, "--data", f, "--id-column", "id", "--text-column", "text",
               "--feature-columns", "x" if model != "naive_bayes" else "", "--labels", "0,1",
               "--model", model).code in (0,)
    g = tmp_path / "lab.csv"
    pd.DataFrame({"id": range(12), "label": [i % 2 for i in range(12)]}).to_csv(g, index=False)
    assert cli("label", "-p", p, "--import", g).code == 0
    r = cli("retrain", "-p", p, "--json")
    assert r.code == 0, r.stderr
    assert r.json()["class_counts"] == {"0": 6, "1": 6}
    r = cli("score", "-p", p, "--json")
    assert r.code == 0, r.stderr
    assert r.json()["n_scored"] == 28


def test_tampered_feature_cache_is_rebuilt_not_loaded(cli, project, tmp_path):
    import pickle

    assert cli("seed", "-p", project, "--size", "5").code == 0
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (project / "cache" / "features.joblib").write_bytes(pickle.dumps(Evil()))  # al 0.1.0's file
    (project / "cache" / "features.npz").write_bytes(pickle.dumps(Evil()))
    r = cli("query", "-p", project, "--strategy", "random", "--size", "3")  # needs no features
    assert r.code == 0, r.stderr
    r = cli("query", "-p", project, "--strategy", "random", "--size", "3", "--diversity", "kmeans")
    assert r.code == 0, r.stderr
    assert "sha256" in r.stderr and not marker.exists()


def test_label_renamed_in_config_is_reported(cli, project):
    key = project.parent / "answers.csv"
    assert cli("seed", "-p", project, "--size", "15").code == 0
    assert cli("label", "-p", project, "--import", key, "--queued-only").code == 0
    y = project / "al.yaml"
    y.write_text(y.read_text().replace("- a\n", "- alpha\n"))
    r = cli("retrain", "-p", project, "--json")
    assert "not in the label set" in r.stderr and "'a'" in r.stderr
    assert r.code == 0 and "a" not in r.json()["class_counts"]


def test_non_numeric_value_in_a_numeric_column_is_named(cli, project):
    assert cli("seed", "-p", project, "--size", "15").code == 0
    assert cli("label", "-p", project, "--import", project.parent / "answers.csv", "--queued-only").code == 0
    assert cli("retrain", "-p", project).code == 0
    v = project.parent / "validation.csv"
    df = pd.read_csv(v)
    df["x1"] = df["x1"].astype(object)
    df.loc[4, "x1"] = "unknown"
    df.to_csv(v, index=False)
    one_error_line(cli("evaluate", "-p", project), "validation.csv", "row 6", "'x1'", "numeric", "unknown")


def test_appending_a_blank_to_an_int_column_is_not_a_change(cli, tmp_path):
    f = tmp_path / "ints.csv"
    pd.DataFrame({"id": range(30), "n": range(30), "c": ["u", "v", "w"] * 10}).to_csv(f, index=False)
    p = tmp_path / "i"
    assert cli("init", p, "--data", f, "--id-column", "id", "--labels", "a,b").code == 0
    assert cli("seed", "-p", p, "--size", "4").code == 0
    with open(f, "a") as fh:
        fh.write("30,,u\n")
    r = cli("label", "-p", p, "--export", tmp_path / "e.csv")
    assert r.code == 0 and "changed" not in r.stderr and "1 new row" in r.stderr


def test_min_gain_stops_when_labels_buy_too_little(cli, project):
    key = project.parent / "answers.csv"
    assert cli("seed", "-p", project, "--size", "9").code == 0
    codes = []
    for _ in range(4):
        assert cli("label", "-p", project, "--import", key, "--queued-only").code == 0
        assert cli("retrain", "-p", project).code == 0
        r = cli("evaluate", "-p", project, "--min-gain", "1000", "--patience", "2", "--json")
        codes.append((r.code, r.json()["stop"], len(r.json()["curve"])))
        assert cli("query", "-p", project, "--size", "9").code == 0
    # not enough history for the rule yet -> 3; then the gain per 100 labels is < 1000 -> 0
    assert codes[0][:2] == (3, False) and codes[1][:2] == (3, False)
    assert codes[2][:2] == (0, True) and codes[3][:2] == (0, True)
