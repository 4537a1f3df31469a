"""docs/contract.md and docs/plugins.md say what the code does.

The names checked here come from the code (the typer app, the result dataclasses, the
project folder a real run writes, al.yaml's dataclasses, the environment variables the
source reads, the exit codes it raises), so a new command, option, JSON key, file, column,
field, variable or exit code fails this test until the contract documents it. The Python
examples of both pages are run: the model-bundle example on a project built from
sample_projects/penguins with the CLI, the plugin example against al's spec types.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT / "docs" / "contract.md"
PLUGINS = ROOT / "docs" / "plugins.md"
PKG = ROOT / "al_cli"
PENGUINS = ROOT / "sample_projects" / "penguins"
PENGUIN_FEATURES = "island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex,year"

# the result dataclasses behind each command's --json (al_cli.api exports them all)
RESULTS = ["InitResult", "BatchResult", "ImportResult", "ExportResult", "RetrainResult",
           "EvalResult", "ScoreResult", "StatusResult"]
REQUIRED_FILES = ["al.yaml", "labels.csv", "queue.csv", "scores.csv", "audit.csv", "claims.csv",
                  "pool.json", "history.csv", "format.json", "models/", "cache/"]


# ----------------------------------------------------------------------------- helpers
def _headings(text: str) -> list[tuple[int, int, str]]:
    """(line index, level, title) of every Markdown heading outside fenced code."""
    out, fenced = [], False
    for i, line in enumerate(text.splitlines()):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            m = re.match(r"(#{1,6})\s+(.*\S)", line)
            if m:
                out.append((i, len(m.group(1)), m.group(2)))
    return out


def section(text: str, title: str) -> str:
    """The text under the first heading matching the regex ``title``, up to the next
    heading of the same or a higher level."""
    lines = text.splitlines()
    heads = _headings(text)
    for k, (i, level, head) in enumerate(heads):
        if re.search(title, head):
            end = next((j for j, lv, _ in heads[k + 1:] if lv <= level), len(lines))
            return "\n".join(lines[i + 1:end])
    raise AssertionError(f"no heading matching {title!r}")


def slug(title: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def mentioned(name: str, text: str) -> bool:
    """``name`` written as code (`name`) or as a JSON key ("name") in ``text``."""
    return re.search(r"[`\"]" + re.escape(name) + r"[`\"]", text) is not None


@pytest.fixture(scope="module")
def contract() -> str:
    return CONTRACT.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of sample_projects/penguins with a project made by the CLI (init, seed with
    an audit sample, label --import --queued-only, retrain, evaluate, score, query) and one
    claim of a labeling session: every file al writes in a project folder."""
    from al_cli.cli import app

    work = tmp_path_factory.mktemp("docs") / "penguins"
    shutil.copytree(PENGUINS, work, ignore=shutil.ignore_patterns("project", "*.py", "Makefile"))
    proj = work / "project"
    runner = CliRunner()
    env = {"AL_ANNOTATOR": "docs", "NO_COLOR": "1"}
    answers = str(work / "answers.csv")
    steps = [
        ["init", str(proj), "--data", str(work / "pool.csv"), "--id-column", "id",
         "--feature-columns", PENGUIN_FEATURES, "--labels", "Adelie,Chinstrap,Gentoo",
         "--validation", str(work / "validation.csv"), "--label-column", "label"],
        ["seed", "-p", str(proj), "--size", "8", "--validation-size", "4"],
        ["label", "-p", str(proj), "--import", answers, "--queued-only"],
        ["retrain", "-p", str(proj)],
        ["evaluate", "-p", str(proj)],
        ["score", "-p", str(proj)],
        ["query", "-p", str(proj), "--size", "8"],
    ]
    for argv in steps:
        res = runner.invoke(app, argv, env=env, catch_exceptions=False)
        assert res.exit_code == 0, (argv, res.stdout, res.stderr)

    from al_cli.annotation.session import LabelSession
    from al_cli.store import Project

    session = LabelSession(Project.open(proj), "docs")
    assert session.next_item() is not None  # claims the first item
    session.close()  # and releases it
    return proj


def _project_files(proj: Path) -> set[str]:
    """Files of the project folder as the contract names them (models/0001.json ->
    models/NNNN.json)."""
    out = set()
    for p in proj.rglob("*"):
        if p.is_file() and not p.name.endswith(".tmp"):
            rel = p.relative_to(proj).as_posix()
            out.add(re.sub(r"^models/\d{4}\.", "models/NNNN.", rel))
    return out


# ----------------------------------------------------------------------------- commands
def _commands() -> dict[str, object]:
    """Command name -> click command, for every command registered on the typer app."""
    from al_cli.cli import app

    names = [c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands]
    group = typer.main.get_command(app)
    assert sorted(group.commands) == sorted(names)
    return {n: group.commands[n] for n in names}


def test_every_command_and_option_is_documented(contract):
    commands = _commands()
    assert {"init", "seed", "label", "retrain", "evaluate", "score", "query", "status",
            "simulate"} <= set(commands)
    overview = section(contract, r"^Commands$")
    common = overview.split("### ")[0]  # options common to all commands (-p, --json)
    for name, cmd in commands.items():
        assert re.search(rf"\bal {name}\b", overview), f"'al {name}' missing from the overview"
        body = section(contract, rf"^`al {name}`$") + common
        for param in cmd.params:
            if param.param_type_name != "option":
                continue
            for opt in param.opts:
                if opt.startswith("--"):
                    assert re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", body), \
                        f"al {name} {opt} is not documented"


# ----------------------------------------------------------------------------- JSON
def test_every_json_key_is_documented(contract):
    from al_cli import api

    exported = [n for n in api.__all__ if n.endswith("Result")]
    assert set(RESULTS) <= set(exported)
    for name in exported:
        cls = getattr(api, name)
        body = section(contract, rf"— {name}$")
        for f in dataclasses.fields(cls):
            assert mentioned(f.name, body), f"{name}.{f.name} is not documented"
    per_class = section(contract, r"— EvalResult$")
    for key in ("precision", "recall", "f1", "support", "labels", "matrix"):
        assert key in per_class


def test_every_simulate_json_key_is_documented(contract):
    from al_cli.reports.simulate_summary import SimResult, StrategySummary

    point = {"n_labeled": 8, "accuracy": 0.5, "macro_f1": 0.5}
    summary = StrategySummary(0.5, 0.5, 0.5, 0.5, None, None, [point])
    res = SimResult("margin", {"margin": summary}, dict(point), pd.DataFrame(), {}, 10, 7, 3,
                    ["a", "b"], 1.0)
    got = res.to_json()
    body = section(contract, r"— SimResult$")
    for key in [*got, *got["strategies"]["margin"], *point]:
        assert mentioned(key, body), f"al simulate --json key {key!r} is not documented"


# ----------------------------------------------------------------------------- folder
def _code_file_names() -> set[str]:
    """File names of the project folder as the code spells them."""
    from al_cli.annotation.session import CLAIMS_NAME
    from al_cli.commands.scoring import SCORES_MANIFEST
    from al_cli.store.formats import FORMAT_NAME
    from al_cli.store.lock import LOCK_NAME
    from al_cli.store.project import Project

    root = Path("/nowhere/project")
    proj = Project(root)
    names = {CLAIMS_NAME, FORMAT_NAME, LOCK_NAME, "cache/" + SCORES_MANIFEST}
    for attr, value in vars(Project).items():
        if isinstance(value, property) and attr.endswith(("_path", "_dir")) and attr != "pool_path":
            rel = getattr(proj, attr).relative_to(root).as_posix()
            names.add(rel + "/" if attr.endswith("_dir") else rel)
    for path in PKG.rglob("*.py"):  # cache_dir / "features.joblib" and the like
        for name in re.findall(r'cache_dir\s*/\s*"([^"]+)"', path.read_text(encoding="utf-8")):
            names.add("cache/" + name)
    return names


def test_every_project_file_is_documented(contract, project):
    body = section(contract, r"^The project folder$")
    tree = re.search(r"```\n(.*?)```", body, re.S).group(1)
    written = _project_files(project)
    names = set(REQUIRED_FILES) | _code_file_names() | written
    assert set(REQUIRED_FILES) - {"models/", "cache/"} <= written | {"claims.csv"}
    for name in sorted(names):
        base = name.rstrip("/").split("/")[-1]
        assert name.rstrip("/") in tree or base in tree, f"{name} missing from the folder tree"
        assert name.rstrip("/") in body or base in body, f"{name} is not documented"


def test_columns_and_keys_of_the_written_files_are_documented(contract, project):
    import json

    def csv_columns(name: str) -> list[str]:
        return list(pd.read_csv(project / name, nrows=0).columns)

    sections = {
        "labels.csv": r"^labels\.csv$", "queue.csv": r"^queue\.csv$", "audit.csv": r"^audit\.csv$",
        "claims.csv": r"^claims\.csv$", "history.csv": r"^history\.csv$",
        "scores.csv": r"^scores\.csv and cache/scores\.json$",
    }
    for name, title in sections.items():
        body = section(contract, title)
        for col in csv_columns(name):
            col = "p_LABEL" if col.startswith("p_") else col
            assert mentioned(col, body), f"{name} column {col!r} is not documented"
    jsons = {
        "pool.json": r"^pool\.json$", "format.json": r"^format\.json",
        "cache/scores.json": r"^scores\.csv and cache/scores\.json$",
        "cache/features.json": r"^cache/features\.npz", "models/0001.json": r"^models/NNNN",
    }
    for name, title in jsons.items():
        body = section(contract, title)
        for key in json.loads((project / name).read_text()):
            assert mentioned(key, body), f"{name} key {key!r} is not documented"
    body = section(contract, r"^cache/features\.npz")
    shas = json.loads((project / "cache" / "features.json").read_text())["sha256"]
    for key in shas:
        assert mentioned(key, body), f"cache/features.json sha256 key {key!r} is not documented"
    for name in ("features.npz", "ids.arrow", "transformer.skops"):
        assert (project / "cache" / name).exists() and mentioned(name, body), name


def test_every_al_yaml_field_is_documented(contract):
    from al_cli import config

    body = section(contract, r"^al\.yaml$")
    cfg = config.Config(data=config.DataConfig(path="pool.csv"), labels=["a", "b"])
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            for sub in dataclasses.fields(value):
                assert mentioned(f"{f.name}.{sub.name}", body), f"al.yaml {f.name}.{sub.name}"
        else:
            assert mentioned(f.name, body), f"al.yaml {f.name} is not documented"


# ----------------------------------------------------------------------------- environment, exit codes
def _environment_variables() -> set[str]:
    names = set(re.findall(r"\bAL_[A-Z_]+\b", (PKG / "settings.py").read_text(encoding="utf-8")))
    patterns = [r"""os\.environ\.get\(\s*["']([A-Z][A-Z0-9_]*)["']""",
                r"""os\.getenv\(\s*["']([A-Z][A-Z0-9_]*)["']""",
                r"""os\.environ\[\s*["']([A-Z][A-Z0-9_]*)["']""",
                r"""["']([A-Z][A-Z0-9_]*)["']\s+(?:not\s+)?in\s+os\.environ"""]
    for path in PKG.rglob("*.py"):
        src = path.read_text(encoding="utf-8")
        for pat in patterns:
            names.update(re.findall(pat, src))
    return names


def test_every_environment_variable_is_documented(contract):
    names = _environment_variables()
    assert {"AL_ANNOTATOR", "AL_LOCK_TIMEOUT", "AL_CLAIM_TTL", "AL_DEBUG", "NO_COLOR"} <= names
    body = section(contract, r"^Environment variables$")
    for name in sorted(names):
        assert re.search(rf"^\|\s*`{name}`\s*\|", body, re.M), f"{name} is not documented"


def _exit_codes() -> set[int]:
    codes = {0, 2}  # success; usage errors (typer/click)
    for path in (PKG / "cli").glob("*.py"):
        codes.update(int(c) for c in re.findall(r"(?:typer\.Exit|Failed)\((\d+)\)", path.read_text(encoding="utf-8")))
    codes.update(int(c) for c in re.findall(r"exit_code\s*=\s*(\d+)", (PKG / "errors.py").read_text()))
    return codes


def test_every_exit_code_is_documented(contract):
    codes = _exit_codes()
    assert {0, 1, 2, 3, 130} <= codes
    body = section(contract, r"^Exit codes$")
    for code in sorted(codes):
        assert re.search(rf"^\|\s*`{code}`\s*\|", body, re.M), f"exit code {code} is not documented"


# ----------------------------------------------------------------------------- examples
def test_model_bundle_example_runs(contract, project, monkeypatch):
    body = section(contract, r"^Model bundle$")
    blocks = re.findall(r"```python\n(.*?)```", body, re.S)
    assert len(blocks) >= 1
    assert len([ln for ln in blocks[0].splitlines() if ln.strip()]) <= 5
    monkeypatch.chdir(project.parent)  # the folder holding project/ and pool.csv
    ns: dict = {}
    exec(compile(blocks[0], "docs/contract.md (Model bundle)", "exec"), ns)
    bundle, proba = ns["bundle"], ns["proba"]
    from al_cli.store.modelstore import BUNDLE_KEYS

    assert set(bundle) == {"format", *BUNDLE_KEYS}
    for key in bundle:
        assert mentioned(key, body), f"bundle key {key!r} is not documented"
    n_pool = len(pd.read_csv("pool.csv"))
    assert proba.shape == (n_pool, len(bundle["classes"]))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    for i, block in enumerate(blocks[1:], start=2):  # the checked loading
        exec(compile(block, f"docs/contract.md (Model bundle, example {i})", "exec"), ns)
    if "manifest" in ns:
        assert ns["manifest"]["classes"] == bundle["classes"]


def test_links_between_the_pages_resolve(contract):
    plugins = PLUGINS.read_text(encoding="utf-8")
    anchors = {"contract.md": {slug(h) for _, _, h in _headings(contract)},
               "plugins.md": {slug(h) for _, _, h in _headings(plugins)}}
    for page, text in (("contract.md", contract), ("plugins.md", plugins)):
        for target, anchor in re.findall(r"\]\(([\w.]*)#([\w-]+)\)", text):
            assert anchor in anchors[target or page], f"{page}: broken link {target}#{anchor}"
    assert "(plugins.md)" in contract


def test_plugin_example_matches_its_entry_points():
    from al_cli.features.registry import EXTRACTORS
    from al_cli.models.registry import MODELS
    from al_cli.stopping import RULES, CurveState
    from al_cli.strategies.registry import STRATEGIES, ScoreContext

    text = PLUGINS.read_text(encoding="utf-8")
    toml = re.search(r"```toml\n(.*?)```", text, re.S).group(1)
    code = re.search(r"```python\n(\"\"\"Parts for al.*?)```", text, re.S).group(1)
    ns: dict = {}
    exec(compile(code, "docs/plugins.md", "exec"), ns)
    registries = {r.group: r for r in (STRATEGIES, MODELS, EXTRACTORS, RULES)}
    groups = re.findall(r'\[project\.entry-points\."([^"]+)"\]\n((?:\S+ = "[^"]+"\n)+)', toml)
    assert {g for g, _ in groups} == set(registries)
    for group, lines in groups:
        for name, target in re.findall(r'(\S+) = "([^"]+)"', lines):
            obj = ns[target.split(":")[1]]
            obj = obj if isinstance(obj, registries[group].spec_type) else obj()
            assert isinstance(obj, registries[group].spec_type) and obj.name == name
            assert group in text.split("## A complete example")[0]  # the group is in the table

    proba = np.array([[0.5, 0.5], [1.0, 0.0]])
    ctx = ScoreContext(proba=proba, classes=["a", "b"], X=None, rng=np.random.default_rng(0),
                       model_name="m", estimator=None)
    np.testing.assert_allclose(ns["GINI"].run(ctx), [0.5, 0.0])
    X = np.array([[0.0, 1.0], [1.0, 0.0], [0.1, 0.9], [0.9, 0.1]])
    est = ns["SGD_LOGISTIC"].build({}, "balanced", 0).fit(X, np.array(["a", "b", "a", "b"]))
    assert est.predict_proba(X).shape == (4, 2) and list(est.classes_) == ["a", "b"]
    Z = ns["MINMAX"].make(3).fit_transform(pd.DataFrame({"x": [1.0, None, 3.0]}))
    np.testing.assert_allclose(Z.ravel(), [0.0, 0.5, 1.0])
    curve = [{"model_version": i + 1, "n_labeled": 8 * (i + 1), "accuracy": a, "macro_f1": a}
             for i, a in enumerate([0.7, 0.9, 0.901, 0.902])]
    stop, reason = ns["PLATEAU"].decide(CurveState("accuracy", 0.902, curve),
                                        {"stop_at": None, "min_gain": 0.01, "patience": 2})
    assert stop and reason
