"""The shape of the code: the import graph of rag has no cycle (lazy imports included), the library
never imports its app, and no module reaches into another's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from helpers import ROOT


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _sources(*folders: str) -> dict[str, Path]:
    return {_module_name(p): p for folder in folders for p in sorted((ROOT / folder).rglob("*.py"))}


def _imports(module: str, path: Path, known: set[str]) -> list[tuple[str, str, int]]:
    """Every import of a file, lazy ones too, as (target module, name imported or "", line)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: list[tuple[str, str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(alias.name, "", node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                out.append(
                    (submodule, "", node.lineno) if submodule in known else (target, alias.name, node.lineno)
                )
    return out


def _graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    known = set(modules)
    return {m: {t for t, _, _ in _imports(m, p, known) if t in known and t != m} for m, p in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as the modules along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_cycle_finder_finds_a_lazy_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_rag_has_no_import_cycle_lazy_imports_included():
    graph = _graph(_sources("rag"))
    assert len(graph) > 30 and any("rag.store.disk" in targets for targets in graph.values())
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_library_does_not_import_its_app():
    modules = _sources("rag")
    known = set(modules) | set(_sources("ui"))
    for module, path in modules.items():
        for target, _, line in _imports(module, path, known):
            assert not (target == "ui" or target.startswith("ui.")), f"{path}:{line} imports {target}"


@pytest.mark.parametrize("folder", ["rag", "ui", "bench"])
def test_no_module_imports_another_modules_private_names(folder: str):
    modules = _sources(folder)
    known = set(modules) | set(_sources("rag")) | set(_sources("ui"))
    for module, path in modules.items():
        for target, name, line in _imports(module, path, known):
            private = name.startswith("_") or any(part.startswith("_") for part in target.split("."))
            assert not private or target == "__future__", f"{path}:{line} imports {target} {name}"


def test_bench_and_the_web_app_import_what_exists():
    import importlib

    known = set(_sources("rag")) | set(_sources("ui"))
    for module, path in {**_sources("bench"), **_sources("ui")}.items():
        for target, name, line in _imports(module, path, known):
            if target.split(".")[0] in ("rag", "ui") and name:
                assert hasattr(importlib.import_module(target), name), f"{path}:{line}: {target}.{name}"
