"""The shape of the package (issue 8): no import cycle, a light CLI import, small modules,
dependencies pointing one way."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "al_cli"
MAX_LINES = 520


def _modules() -> dict[str, Path]:
    out = {}
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(path: Path, name: str, modules: dict[str, Path], top_level_only: bool) -> set[str]:
    """al_cli modules imported by the module at ``path`` (at import time, or anywhere)."""
    tree = ast.parse(path.read_text())
    is_pkg = path.name == "__init__.py"
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("al_cli"):
                    found.add(a.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = name if is_pkg else name.rpartition(".")[0]
                for _ in range(node.level - 1):
                    pkg = pkg.rpartition(".")[0]
                base = f"{pkg}.{base}" if base else pkg
            if not base.startswith("al_cli"):
                continue
            for a in node.names:
                sub = f"{base}.{a.name}"
                found.add(sub if sub in modules else base)
    return {m for m in found if m in modules and m != name}


def _graph(top_level_only: bool) -> dict[str, set[str]]:
    mods = _modules()
    return {name: _imports(path, name, mods, top_level_only) for name, path in mods.items()}


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if state.get(m) is None:
                cyc = visit(m)
                if cyc:
                    return cyc
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if state.get(n) is None:
            cyc = visit(n)
            if cyc:
                return cyc
    return None


def test_no_import_cycle_among_al_cli_modules():
    cycle = _find_cycle(_graph(top_level_only=True))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_cycles():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


# layer -> layers it must never import, even inside a function
FORBIDDEN = {
    "al_cli.store": ("al_cli.commands", "al_cli.cli", "al_cli.annotation", "al_cli.reports",
                     "al_cli.features", "al_cli.models", "al_cli.strategies", "al_cli.api"),
    "al_cli.strategies": ("al_cli.commands", "al_cli.cli", "al_cli.annotation", "al_cli.reports",
                          "al_cli.store", "al_cli.api"),
    "al_cli.models": ("al_cli.commands", "al_cli.cli", "al_cli.annotation", "al_cli.reports", "al_cli.api"),
    "al_cli.features": ("al_cli.commands", "al_cli.cli", "al_cli.annotation", "al_cli.reports", "al_cli.api"),
    "al_cli.commands": ("al_cli.cli", "al_cli.api"),
    "al_cli.annotation": ("al_cli.cli", "al_cli.commands", "al_cli.api", "al_cli.reports"),
    "al_cli.reports": ("al_cli.cli", "al_cli.commands", "al_cli.api", "al_cli.annotation"),
}


def test_dependencies_point_one_way():
    graph = _graph(top_level_only=False)
    bad = []
    for mod, deps in graph.items():
        for layer, banned in FORBIDDEN.items():
            if mod == layer or mod.startswith(layer + "."):
                bad += [f"{mod} -> {d}" for d in deps if any(d == b or d.startswith(b + ".") for b in banned)]
    assert not bad, bad


def test_cli_import_loads_neither_pandas_nor_sklearn():
    code = ("import sys, al_cli.cli\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'pandas', 'sklearn', 'scipy'})\n"
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import al_cli.cli loaded {out.stdout.strip()}"


def test_labeler_session_does_not_load_sklearn():
    code = ("import sys, al_cli.annotation.labeler\n"
            "print('sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", sorted(_modules()))
def test_no_module_is_too_long(name):
    n = len(_modules()[name].read_text().splitlines())
    assert n <= MAX_LINES, f"{name} has {n} lines (at most about 500: split it)"


def test_score_and_query_modules_load_no_sklearn_scipy_or_skops():
    """Scoring with a linear model's head needs numpy, pandas and pyarrow only (issue 12):
    scikit-learn, SciPy and skops are imported where a command needs them, not at import."""
    code = ("import sys, al_cli.commands.score, al_cli.commands.query\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'scipy', 'skops'})\n"
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing score and query loaded {out.stdout.strip()}"
