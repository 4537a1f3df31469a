"""Format versions and migrations (issue 8): a project written by al 0.1.0 opens and goes
on; files from a newer al are refused with one clear line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import joblib
import pandas as pd
import pytest

from al_cli.errors import FormatError, IntegrityError
from al_cli.store import Project, formats

FIXTURE = Path(__file__).parent / "fixtures" / "project_v1"


@pytest.fixture
def old_project(tmp_path) -> Path:
    dst = tmp_path / "v1"
    shutil.copytree(FIXTURE, dst)
    return dst / "project"


def test_fixture_is_format_1():
    assert not (FIXTURE / "project" / formats.FORMAT_NAME).exists()
    assert formats.folder_format(FIXTURE / "project") == 1


def test_al_0_1_project_opens_unchanged_and_is_migrated(cli, old_project):
    before = {p.name: p.read_bytes() for p in old_project.rglob("*") if p.is_file()}
    r = cli("status", "-p", old_project, "--json")
    assert r.code == 0, r.stderr
    got = r.json()
    want = json.loads((FIXTURE / "expected_status.json").read_text())
    got.pop("project"), want.pop("project")
    want["next_command"] = want["next_command"].replace("/tmp/fx_copy", str(old_project))
    assert got == want
    marker = json.loads((old_project / formats.FORMAT_NAME).read_text())
    assert marker["format"] == formats.FOLDER_FORMAT and marker["migrated_from"] == 1
    after = {p.name: p.read_bytes() for p in old_project.rglob("*") if p.is_file()}
    changed = {n for n in before if before[n] != after.get(n)}
    assert not changed, f"migration 1 -> 2 rewrote {changed}"
    # opening again does not migrate again
    assert cli("status", "-p", old_project).code == 0
    assert json.loads((old_project / formats.FORMAT_NAME).read_text())["time"] == marker["time"]


def test_al_0_1_project_goes_on_with_the_loop(cli, old_project, tmp_path):
    answers = Path(__file__).resolve().parents[1] / "sample_projects" / "penguins" / "answers.csv"
    r = cli("evaluate", "-p", old_project, "--json")  # loads model 0001 written by al 0.1.0
    assert r.code == 0, r.stderr
    assert r.json()["accuracy"] == pytest.approx(0.942029, abs=1e-6)
    r = cli("label", "-p", old_project, "--export", tmp_path / "batch.csv")
    assert r.code == 0, r.stderr
    assert len(pd.read_csv(tmp_path / "batch.csv")) == 4
    r = cli("label", "-p", old_project, "--import", answers, "--queued-only", "--json")
    assert r.code == 0 and r.json()["imported"] == 4, r.stderr
    for cmd in ("retrain", "evaluate", "score", "query"):
        r = cli(cmd, "-p", old_project, "--json")
        assert r.code == 0, (cmd, r.stderr)
    man = json.loads((old_project / "models" / "0002.json").read_text())
    assert man["format"] == 1 and man["n_labeled"] == 14  # 18 labels, 4 audit held out
    log = pd.read_csv(old_project / "labels.csv", dtype=str)
    assert log["note"].fillna("").str.contains("#unsure").any()  # old answers kept as they were


def test_newer_folder_format_is_refused(cli, project):
    (project / formats.FORMAT_NAME).write_text(json.dumps({"format": formats.FOLDER_FORMAT + 1}))
    r = cli("status", "-p", project)
    assert r.code == 1 and r.stderr.count("\n") == 1
    assert "newer than this al" in r.stderr and "upgrade al" in r.stderr


def test_damaged_format_marker_is_one_clear_line(cli, project):
    (project / formats.FORMAT_NAME).write_text("{not json")
    r = cli("status", "-p", project)
    assert r.code == 1 and r.stderr.startswith("error: ") and "format.json" in r.stderr


def test_new_project_carries_its_format(cli, project):
    marker = json.loads((project / formats.FORMAT_NAME).read_text())
    assert marker["format"] == formats.FOLDER_FORMAT
    assert set(marker["artifacts"]) >= {"labels.csv", "queue.csv", "model_bundle", "model_manifest"}
    assert json.loads((project / "pool.json").read_text())["format"] == 1


def _bundle():
    return {"estimator": None, "transformer": None, "feature_key": "k", "model_name": "logistic_regression",
            "classes": ["a", "b"]}


def test_model_files_of_a_newer_format_are_refused(tmp_path):
    p = Project(tmp_path)
    v = p.save_model(_bundle(), {"n_labeled": 1})
    jpath, mpath = p.model_paths(v)
    man = json.loads(mpath.read_text())
    man["format"] = 99
    mpath.write_text(json.dumps(man))
    with pytest.raises(FormatError, match="manifest format 99"):
        p.load_model(v)
    # a bundle of a newer format (its manifest current, sha matching)
    joblib.dump({"format": 99, **_bundle()}, jpath)
    from al_cli.store.atomic import sha256_file

    man["format"] = 1
    man["sha256"] = sha256_file(jpath)
    mpath.write_text(json.dumps(man))
    with pytest.raises(FormatError, match="bundle format 99"):
        p.load_model(v)
    # a bundle that lacks what al reads
    broken = _bundle()
    del broken["classes"]
    joblib.dump({"format": 1, **broken}, jpath)
    man["sha256"] = sha256_file(jpath)
    mpath.write_text(json.dumps(man))
    with pytest.raises(IntegrityError, match="lacks 'classes'"):
        p.load_model(v)
