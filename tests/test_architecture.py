"""The import rules hold, and they would catch a wrong arrow.

import-linter (``lint-imports`` in ``make test``) checks the layers in pyproject.toml, counting
imports under ``TYPE_CHECKING``. These tests add what its contracts do not say: no import
circle anywhere in the package (between any two modules), and proof that a use case importing
the ``Project`` facade (an upward arrow) fails the check.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PYPROJECT = SRC.parent / "pyproject.toml"


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_circle_in_the_package() -> None:
    graph = grimp.build_graph("steadyml", exclude_type_checking_imports=False)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_circle(tmp_path: Path) -> None:
    pkg = tmp_path / "circ"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from circ import b\n")
    (pkg / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import circ.a\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        graph = grimp.build_graph("circ", exclude_type_checking_imports=False)
    finally:
        sys.path.remove(str(tmp_path))
    assert _cycles(graph) == [["circ.a", "circ.b"]]


@pytest.mark.slow
def test_a_use_case_importing_the_facade_breaks_the_layers(tmp_path: Path) -> None:
    """Copy the package, add ``flows.train -> project`` under TYPE_CHECKING, run lint-imports."""
    shutil.copytree(SRC / "steadyml", tmp_path / "src" / "steadyml",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    shutil.copy(PYPROJECT, tmp_path / "pyproject.toml")
    lint = Path(sys.executable).with_name("lint-imports")

    def run() -> subprocess.CompletedProcess[str]:
        env = {"PYTHONPATH": str(tmp_path / "src"), "PATH": "/usr/bin:/bin"}
        return subprocess.run([str(lint), "--no-cache"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    clean = run()
    assert clean.returncode == 0, clean.stdout[-2000:]
    train = tmp_path / "src" / "steadyml" / "flows" / "train.py"
    text = train.read_text()
    text = text.replace(
        "if TYPE_CHECKING:\n",
        "if TYPE_CHECKING:\n    from steadyml.project import Project  # noqa: F401\n",
        1,
    )
    train.write_text(text)
    broken = run()
    assert broken.returncode != 0
    assert "steadyml.flows.train -> steadyml.project" in broken.stdout
