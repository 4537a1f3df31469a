"""Getting the results out (issue 9): export of the labeled set, predictions from a saved
model, and the hints that lead there."""

from __future__ import annotations

import io

import joblib
import numpy as np
import pandas as pd

from al_cli.features.transform import transform


def _round(cli, project, tmp_path, n=15):
    assert cli("seed", "-p", project, "--size", str(n)).code == 0
    assert cli("label", "-p", project, "--import", tmp_path / "answers.csv", "--queued-only").code == 0
    r = cli("retrain", "-p", project)
    assert r.code == 0, r.stderr


def test_export_is_one_row_per_labeled_id_and_round_trips_into_a_fresh_project(cli, project, tmp_path,
                                                                               tabular_csv):
    _round(cli, project, tmp_path)
    ids = pd.read_csv(project / "queue.csv", dtype=str)["id"].tolist()
    # a second annotator disagrees on one row, a first one corrects another with a note
    pd.DataFrame({"id": [ids[0]], "label": ["c" if ids[0] < "r050" else "a"], "annotator": ["bo"],
                  "note": ["=1+1 #unsure blurry"]}).to_csv(tmp_path / "bo.csv", index=False)
    assert cli("label", "-p", project, "--import", tmp_path / "bo.csv").code == 0
    r = cli("export", "-p", project)  # CSV on stdout
    assert r.code == 0 and "wrote 15 labeled row(s) to standard output" in r.stderr
    out = pd.read_csv(io.StringIO(r.stdout), dtype=str, keep_default_na=False)
    assert len(out) == 15 and out["id"].is_unique
    row = out.set_index("id").loc[ids[0]]
    assert row["annotator"] == "bo" and row["n_answers"] == "2" and row["disagree"] == "True"
    assert row["annotators"] == "tester; bo" and row["tags"] == "#unsure"
    assert row["note"] == "'=1+1 #unsure blurry"  # spreadsheet-safe
    assert (out.drop(index=out.index[out["id"] == ids[0]])["disagree"] == "False").all()
    # round trip: the export imported into a fresh project gives the same current labels
    r = cli("export", "-p", project, "-o", tmp_path / "labeled.csv", "--json")
    assert r.code == 0 and r.json()["n_rows"] == 15 and r.json()["n_disagree"] == 1
    fresh = tmp_path / "fresh"
    assert cli("init", fresh, "--data", tabular_csv, "--id-column", "id", "--labels", "a,b,c").code == 0
    assert cli("label", "-p", fresh, "--import", tmp_path / "labeled.csv").code == 0
    a = pd.read_csv(io.StringIO(cli("export", "-p", project).stdout), dtype=str).set_index("id")["label"]
    b = pd.read_csv(io.StringIO(cli("export", "-p", fresh).stdout), dtype=str).set_index("id")["label"]
    assert a.sort_index().equals(b.sort_index())
    notes = pd.read_csv(io.StringIO(cli("export", "-p", fresh).stdout), dtype=str,
                        keep_default_na=False).set_index("id")["note"]
    assert notes[ids[0]] == "'=1+1 #unsure blurry"  # the text came back as written


def test_export_with_data_and_parquet(cli, project, tmp_path):
    _round(cli, project, tmp_path)
    r = cli("export", "-p", project, "--with-data", "-o", tmp_path / "l.parquet", "--json")
    assert r.code == 0, r.stderr
    df = pd.read_parquet(tmp_path / "l.parquet")
    pool = pd.read_csv(tmp_path / "pool.csv").set_index("id")
    assert len(df) == 15 and {"x1", "x2", "colour"} <= set(df.columns)
    assert np.allclose(df["x1"].to_numpy(), pool.loc[df["id"], "x1"].to_numpy())
    r = cli("export", "-p", project, "-o", tmp_path / "nope" / "x.csv")
    assert r.code == 1 and r.stderr.startswith("error: ") and "does not exist" in r.stderr
    r = cli("export", "-p", project, "--json")
    assert r.code == 2


def test_predict_matches_the_model_bundle_used_directly(cli, project, tmp_path):
    _round(cli, project, tmp_path)
    new = pd.read_csv(tmp_path / "validation.csv").drop(columns=["label"]).head(12)
    new.to_csv(tmp_path / "new.csv", index=False)
    r = cli("predict", "-p", project, "--data", tmp_path / "new.csv", "-o", tmp_path / "p.csv", "--json")
    assert r.code == 0, r.stderr
    assert r.json()["model_version"] == 1 and r.json()["n_rows"] == 12
    got = pd.read_csv(tmp_path / "p.csv")
    bundle = joblib.load(project / "models" / "0001.joblib")
    X = transform(bundle["transformer"], pd.read_csv(tmp_path / "new.csv"), None)
    proba = bundle["estimator"].predict_proba(X)
    cols = [f"p_{c}" for c in bundle["classes"]]
    assert np.allclose(got[cols].to_numpy(), proba, atol=1e-6)
    assert (got["predicted"] == np.asarray(bundle["classes"])[proba.argmax(1)]).all()
    assert got["id"].tolist() == new["id"].tolist()


def test_predict_on_the_pool_marks_labeled_rows_and_names_missing_columns(cli, project, tmp_path):
    _round(cli, project, tmp_path)
    r = cli("predict", "-p", project)
    assert r.code == 0, r.stderr
    out = pd.read_csv(io.StringIO(r.stdout), dtype={"id": str, "label": str}, keep_default_na=False)
    assert len(out) == 150 and (out["label"] != "").sum() == 15
    assert set(out.loc[out["label"] != "", "purpose"]) == {"train"}
    pd.DataFrame({"id": ["n1"], "x1": [0.3]}).to_csv(tmp_path / "bad.csv", index=False)
    r = cli("predict", "-p", project, "--data", tmp_path / "bad.csv")
    assert r.code == 1 and r.stderr.count("\n") == 1
    assert "bad.csv: column 'x2' not found" in r.stderr
    r = cli("predict", "-p", project, "--model", "7")
    assert r.code == 1 and "no such model version" in r.stderr


def test_status_after_the_stop_rule_is_met_points_to_export(cli, project, tmp_path):
    _round(cli, project, tmp_path, n=30)
    assert cli("evaluate", "-p", project, "--stop-at", "0.5").code == 0
    r = cli("status", "-p", project, "--json")
    assert r.json()["stopped"] and "0.5" in r.json()["stopped"]
    nxt = r.json()["next_command"].split()
    assert nxt[:2] == ["al", "export"]
    r = cli(*nxt[1:], cwd=tmp_path)
    assert r.code == 0 and (tmp_path / "labeled.csv").exists()
    assert cli("evaluate", "-p", project).code == 0  # no rule given: not stopped any more
    r = cli("status", "-p", project, "--json")
    assert r.json()["stopped"] is None and r.json()["next_command"].split()[1] == "query"


def test_an_audit_sample_can_be_added_to_a_seeded_project(cli, tmp_path, tabular_csv):
    p = tmp_path / "p"
    assert cli("init", p, "--data", tabular_csv, "--id-column", "id", "--labels", "a,b,c").code == 0
    assert cli("seed", "-p", p, "--size", "12").code == 0
    assert cli("label", "-p", p, "--import", tmp_path / "answers.csv", "--queued-only").code == 0
    assert cli("retrain", "-p", p).code == 0
    r = cli("evaluate", "-p", p)
    assert r.code == 0 and "'al seed --validation-size 100'" in r.stderr
    before = pd.read_csv(p / "labels.csv")
    r = cli("seed", "-p", p, "--validation-size", "20", "--json")  # the advice, as printed
    assert r.code == 0, r.stderr
    assert r.json()["n_audit"] == 20 and r.json()["strategy"] == "audit:random"
    audit = pd.read_csv(p / "audit.csv", dtype=str)["id"]
    assert len(audit) == 20 and not set(audit) & set(before["id"].astype(str))
    assert pd.read_csv(p / "labels.csv").equals(before)
    assert cli("label", "-p", p, "--import", tmp_path / "answers.csv", "--queued-only").code == 0
    r = cli("evaluate", "-p", p, "--json")
    assert r.code == 0 and r.json()["source"] == "audit" and r.json()["n_eval"] == 20
    r = cli("seed", "-p", p, "--size", "5")
    assert r.code == 1 and "already seeded" in r.stderr


def _pairs_from_confusion(conf) -> dict[tuple[str, str], int]:
    labs = conf["labels"]
    return {(t, p): n for t, row in zip(labs, conf["matrix"]) for p, n in zip(labs, row) if t != p and n}


def test_evaluate_errors_agree_with_the_confusion_matrix_row_for_row(cli, project, tmp_path):
    _round(cli, project, tmp_path, n=9)
    val = pd.read_csv(tmp_path / "validation.csv")
    val.loc[::6, "label"] = val.loc[::6, "label"].map({"a": "b", "b": "c", "c": "a"})  # planted errors
    val.to_csv(tmp_path / "validation.csv", index=False)
    r = cli("evaluate", "-p", project, "--errors", "--json")
    assert r.code == 0, r.stderr
    d = r.json()
    errs = d["errors"]
    assert len(errs) == d["n_eval"] - round(d["accuracy"] * d["n_eval"]) > 0
    got: dict[tuple[str, str], int] = {}
    for e in errs:
        got[(e["true"], e["predicted"])] = got.get((e["true"], e["predicted"]), 0) + 1
        assert e["true"] != e["predicted"] and 0 < e["confidence"] <= 1
        assert set(e["fields"]) == {"x1", "x2", "colour"}
    assert got == _pairs_from_confusion(d["confusion"])
    conf = [e["confidence"] for e in errs]
    assert conf == sorted(conf, reverse=True)
    val = pd.read_csv(tmp_path / "validation.csv").set_index("id")  # the validation file's ids
    assert all(val.loc[e["id"], "label"] == e["true"] for e in errs)
    assert (project / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = cli("evaluate", "-p", project, "--json")
    assert "errors" not in r.json() and r.json()["plot"].endswith("learning_curve.png")
    r = cli("evaluate", "-p", project, "--errors")
    assert r.code == 0 and f"{len(errs)} error(s) on the validation rows" in r.stdout


def test_evaluate_errors_on_cross_validation_name_pool_ids(cli, tmp_path, tabular_csv):
    p = tmp_path / "cv"
    assert cli("init", p, "--data", tabular_csv, "--id-column", "id", "--labels", "a,b,c").code == 0
    _round(cli, p, tmp_path, n=30)
    r = cli("evaluate", "-p", p, "--errors", "--json")
    assert r.code == 0 and r.json()["source"] == "cross_validation"
    labels = pd.read_csv(p / "labels.csv", dtype=str).set_index("id")["label"]
    for e in r.json()["errors"]:
        assert labels[e["id"]] == e["true"]
    assert {k: v for k, v in _pairs_from_confusion(r.json()["confusion"]).items()} == \
        {k: sum(1 for e in r.json()["errors"] if (e["true"], e["predicted"]) == k)
         for k in _pairs_from_confusion(r.json()["confusion"])}


def test_dash_is_a_stream_where_read_once_and_refused_for_the_pool(cli, tmp_path, tabular_csv, project):
    r = cli("init", tmp_path / "q", "--data", "-", "--id-column", "id", "--labels", "a,b,c")
    assert r.code == 1 and "--data -" in r.stderr and r.stderr.count("\n") == 1
    assert not (tmp_path / "q" / "al.yaml").exists()
    r = cli("init", tmp_path / "q", "--data", tabular_csv, "--validation", "-", "--labels", "a,b,c")
    assert r.code == 1 and "--validation -" in r.stderr
    _round(cli, project, tmp_path)
    r = cli("report", "-p", project, "-o", "-")
    assert r.code == 0 and r.stdout.startswith("<!DOCTYPE html>") and not (project / "report.html").exists()
    r = cli("report", "-p", project, "-o", "-", "--markdown")
    assert r.code == 0 and r.stdout.startswith("# al report")
    assert cli("report", "-p", project, "-o", "-", "--json").code == 2
