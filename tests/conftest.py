from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from al_cli.cli import app

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_projects"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


@pytest.fixture
def cli(monkeypatch):
    """Run `al ...` in-process; stdout and stderr kept apart."""
    monkeypatch.setenv("AL_ANNOTATOR", "tester")
    monkeypatch.setenv("NO_COLOR", "1")
    runner = CliRunner()

    def run(*args: str, cwd: Path | None = None) -> Run:
        old = os.getcwd()
        if cwd is not None:
            os.chdir(cwd)
        try:
            res = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        finally:
            os.chdir(old)
        return Run(res.exit_code, res.stdout, res.stderr)

    return run


def copy_sample(name: str, dest: Path) -> Path:
    dst = dest / name
    shutil.copytree(SAMPLES / name, dst, ignore=shutil.ignore_patterns("project", "*.py"))
    return dst


@pytest.fixture
def sample(tmp_path):
    """sample("penguins") -> a fresh copy of that sample project's folder."""
    return lambda name: copy_sample(name, tmp_path)


@pytest.fixture
def tabular_csv(tmp_path) -> Path:
    """A small real-looking tabular pool with an answer key: 3 separable classes."""
    rng = np.random.default_rng(0)
    n = 150
    y = np.repeat(["a", "b", "c"], n // 3)
    centers = {"a": (0, 0), "b": (3, 0), "c": (0, 3)}
    xy = np.array([centers[v] for v in y]) + rng.normal(0, 0.8, (n, 2))
    df = pd.DataFrame({"id": [f"r{i:03d}" for i in range(n)], "x1": xy[:, 0], "x2": xy[:, 1],
                       "colour": rng.choice(["red", "blue"], n)})
    df.to_csv(tmp_path / "pool.csv", index=False)
    pd.DataFrame({"id": df["id"], "label": y}).to_csv(tmp_path / "answers.csv", index=False)
    val = pd.DataFrame({"id": [f"v{i}" for i in range(60)],
                        "label": np.repeat(["a", "b", "c"], 20)})
    vxy = np.array([centers[v] for v in val["label"]]) + rng.normal(0, 0.8, (60, 2))
    val["x1"], val["x2"], val["colour"] = vxy[:, 0], vxy[:, 1], rng.choice(["red", "blue"], 60)
    val.to_csv(tmp_path / "validation.csv", index=False)
    return tmp_path / "pool.csv"


@pytest.fixture
def project(tmp_path, tabular_csv, cli) -> Path:
    """An initialised tabular project at tmp_path/proj."""
    r = cli("init", tmp_path / "proj", "--data", tabular_csv, "--id-column", "id",
            "--labels", "a,b,c", "--validation", tmp_path / "validation.csv", "--batch-size", "10")
    assert r.code == 0, r.stderr
    return tmp_path / "proj"
