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
    added = {k: got.pop(k) for k in ("stopped", "conflicts", "unresolved", "consensus", "to_adjudicate",
                                     "overlap_short", "discovery")}  # keys added since
    assert added.pop("discovery") is None  # a classification project
    assert added == {"stopped": None, "conflicts": 0, "unresolved": [], "consensus": "latest",
                     "to_adjudicate": 0, "overlap_short": 0}
    want["next_command"] = want["next_command"].replace("/tmp/fx_copy", str(old_project))
    assert got == want
    marker = json.loads((old_project / formats.FORMAT_NAME).read_text())
    assert marker["format"] == formats.FOLDER_FORMAT and marker["migrated_from"] == 1
    after = {p.name: p.read_bytes() for p in old_project.rglob("*") if p.is_file()}
    changed = {n for n in before if before[n] != after.get(n)}
    # derived state only: the pickled feature cache goes, pool.json's hash is recomputed;
    # the answers, queue, models (pickles kept as they were), history and config stay
    assert changed <= {"features.joblib", "features.json", "pool.json"}, f"the migration rewrote {changed}"
    assert not (old_project / "cache" / "features.joblib").exists()
    # opening again does not migrate again
    assert cli("status", "-p", old_project).code == 0
    assert json.loads((old_project / formats.FORMAT_NAME).read_text())["time"] == marker["time"]


def test_al_0_1_project_goes_on_with_the_loop(cli, old_project, tmp_path):
    answers = Path(__file__).resolve().parents[1] / "sample_projects" / "penguins" / "answers.csv"
    pickle_before = (old_project / "models" / "0001.joblib").read_bytes()
    r = cli("evaluate", "-p", old_project, "--json")  # model 0001 of al 0.1.0: re-fitted, not unpickled
    assert r.code == 0, r.stderr
    assert "fitted again on the 8 labels" in r.stderr
    assert r.json()["accuracy"] == pytest.approx(0.942029, abs=1e-6)  # the same model
    man = json.loads((old_project / "models" / "0001.json").read_text())
    assert man["twin"] == "0001.skops" and man["refit_from_labels"] == 8 and man["format"] == 2
    assert (old_project / "models" / "0001.joblib").read_bytes() == pickle_before
    r = cli("evaluate", "-p", old_project, "--json")
    assert r.code == 0 and "fitted again" not in r.stderr
    r = cli("label", "-p", old_project, "--export", tmp_path / "batch.csv")
    assert r.code == 0, r.stderr
    assert len(pd.read_csv(tmp_path / "batch.csv")) == 4
    r = cli("label", "-p", old_project, "--import", answers, "--queued-only", "--json")
    assert r.code == 0 and r.json()["imported"] == 4, r.stderr
    for cmd in ("retrain", "evaluate", "score", "query"):
        r = cli(cmd, "-p", old_project, "--json")
        assert r.code == 0, (cmd, r.stderr)
    man = json.loads((old_project / "models" / "0002.json").read_text())
    assert man["format"] == 2 and man["twin"] == "0002.skops" and man["n_labeled"] == 14  # 4 audit held out
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


def _rewrite_twin(p, v, bundle):
    """Replace the skops twin of ``v`` and make its manifest match (sha256)."""
    import skops.io as sio

    from al_cli.store.atomic import sha256_file

    tpath = p.models.twin_path(v)
    sio.dump(bundle, tpath)
    mpath = p.model_paths(v)[1]
    man = json.loads(mpath.read_text())
    man["twin_sha256"] = sha256_file(tpath)
    mpath.write_text(json.dumps(man))


def test_model_files_of_a_newer_format_are_refused(tmp_path):
    p = Project(tmp_path)
    v = p.save_model(_bundle(), {"n_labeled": 1})
    jpath, mpath = p.model_paths(v)
    man = json.loads(mpath.read_text())
    man["format"] = 99
    mpath.write_text(json.dumps(man))
    with pytest.raises(FormatError, match="manifest format 99"):
        p.load_model(v, [])
    man["format"] = 2
    mpath.write_text(json.dumps(man))
    _rewrite_twin(p, v, {"format": 99, **_bundle()})  # a bundle of a newer format, sha matching
    with pytest.raises(FormatError, match="bundle format 99"):
        p.load_model(v, [])
    broken = _bundle()
    del broken["classes"]
    _rewrite_twin(p, v, {"format": 1, **broken})  # a bundle that lacks what al reads
    with pytest.raises(IntegrityError, match="lacks 'classes'"):
        p.load_model(v, [])


class Planted:
    """What an attacker with write access to the folder would plant: unpickling or
    rebuilding it writes a marker file (it could run anything)."""

    marker = None

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "code ran"))

    def __setstate__(self, state):
        Path(self.marker).write_text("code ran")


def test_a_crafted_model_never_runs_code_even_with_a_matching_hash(cli, project, tmp_path):
    from al_cli.store.atomic import sha256_file

    assert cli("seed", "-p", project, "--size", "12").code == 0
    assert cli("label", "-p", project, "--import", tmp_path / "answers.csv", "--queued-only").code == 0
    assert cli("retrain", "-p", project).code == 0
    marker = tmp_path / "pwned"
    Planted.marker = str(marker)
    p = Project(project)
    jpath, mpath = p.model_paths(1)
    joblib.dump({"format": 1, **_bundle(), "estimator": Planted()}, jpath)  # the pickle users load
    man = json.loads(mpath.read_text())
    man["sha256"] = sha256_file(jpath)
    mpath.write_text(json.dumps(man))
    r = cli("evaluate", "-p", project)  # al reads the twin, never the pickle
    assert r.code == 0, r.stderr
    assert not marker.exists()
    _rewrite_twin(p, 1, {"format": 1, **_bundle(), "estimator": Planted()})  # the twin itself
    r = cli("evaluate", "-p", project)
    assert r.code == 1 and "does not trust" in r.stderr and "Planted" in r.stderr, r.stderr
    assert not marker.exists()


def test_a_crafted_feature_cache_never_runs_code(cli, project, tmp_path):
    import skops.io as sio

    from al_cli.store.atomic import sha256_file

    assert cli("seed", "-p", project, "--size", "5").code == 0
    marker = tmp_path / "pwned"
    Planted.marker = str(marker)
    cache = project / "cache"
    sio.dump(Planted(), cache / "transformer.skops")
    man = json.loads((cache / "features.json").read_text())
    man["sha256"]["transformer"] = sha256_file(cache / "transformer.skops")
    (cache / "features.json").write_text(json.dumps(man))
    (cache / "features.joblib").write_bytes(joblib_bytes := __import__("pickle").dumps(Planted()))
    assert joblib_bytes
    r = cli("seed", "-p", project, "--size", "5", "--force")  # the matrix only: the transform is not read
    assert r.code == 0, r.stderr
    assert cli("label", "-p", project, "--import", project.parent / "answers.csv", "--queued-only").code == 0
    r = cli("retrain", "-p", project)  # the transform is needed: refused, and the cache rebuilt
    assert r.code == 0, r.stderr
    assert "rebuilding" in r.stderr and "does not trust" in r.stderr
    assert not marker.exists()


@pytest.mark.parametrize("model", ["logistic_regression", "linear_svm", "naive_bayes", "random_forest"])
def test_every_model_on_text_loads_back_from_its_safe_twin(cli, tmp_path, model):
    """The twin of each of al's models, with a TF-IDF transform, holds only trusted types."""
    import numpy as np

    rng = np.random.default_rng(0)
    words = {"a": ["goal", "match", "team", "score"], "b": ["vote", "party", "law", "court"]}
    y = np.array(["a", "b"] * 30)
    text = [" ".join(rng.choice(words[c], 5)) + f" filler{i % 7}" for i, c in enumerate(y)]
    pd.DataFrame({"id": [f"t{i}" for i in range(60)], "body": text}).to_csv(tmp_path / "pool.csv", index=False)
    pd.DataFrame({"id": [f"t{i}" for i in range(60)], "label": y}).to_csv(tmp_path / "answers.csv", index=False)
    p = tmp_path / "p"
    assert cli("init", p, "--data", tmp_path / "pool.csv", "--id-column", "id", "--text-column", "body",
               "--labels", "a,b", "--model", model).code == 0
    assert cli("seed", "-p", p, "--size", "20", "--strategy", "random").code == 0
    assert cli("label", "-p", p, "--import", tmp_path / "answers.csv", "--queued-only").code == 0
    assert cli("retrain", "-p", p).code == 0
    r = cli("score", "-p", p, "--json")
    assert r.code == 0, r.stderr
    import skops.io as sio

    from al_cli.trust import trusted_types

    untrusted = set(sio.get_untrusted_types(file=p / "models" / "0001.skops"))
    assert untrusted <= set(trusted_types(Project(p).config))
