"""The house plan, checked on the code: common/'s packages import one way, common/ names no cube, no circles.

Every import statement counts, also those inside functions (an import deferred for start-up time is still a
dependency).  The order of the layers is common/__init__.py's."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from common.cubes import registry

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["core", "untrusted", "parameters", "data", "compute", "results", "cubes", "tasks", "closed", "round",
          "cli"]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The modules a file imports (absolute names; `from p import m` counts as p.m when p.m is a module)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names if _is_module(f"{module}.{alias.name}")}
    return found


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "common" or len(parts) == 1:
        return None
    return "cli" if parts[1] in ("cli", "__main__") else parts[1]


def _python_files(*tops: str) -> list[Path]:
    return sorted(p for top in tops for p in (ROOT / top).rglob("*.py")
                  if "closed_template" not in p.parts and "__pycache__" not in p.parts)


COMMON = _python_files("common")
CUBES = registry.names()


def test_every_package_of_common_is_a_known_layer():
    assert {_layer(_module_name(p)) for p in COMMON} - {None} <= set(LAYERS)


@pytest.mark.parametrize("path", COMMON, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_run_one_way_and_never_into_a_cube(path):
    here = _layer(_module_name(path))
    for target in _imports(path):
        top = target.split(".")[0]
        assert top not in CUBES, f"{path.relative_to(ROOT)} imports the cube {top}: reach cubes through the registry"
        there = _layer(target)
        if here and there:
            assert LAYERS.index(there) <= LAYERS.index(here), \
                f"{path.relative_to(ROOT)} ({here}) imports {target} ({there}), a higher layer"


def test_common_names_no_cube_in_its_code():
    """Beyond imports: no cube's name in common/'s code at all (the registry finds them by entry point)."""
    named = {str(path.relative_to(ROOT)): [cube for cube in CUBES if cube in path.read_text(encoding="utf-8")]
             for path in COMMON}
    assert not {path: cubes for path, cubes in named.items() if cubes}


def test_no_circle_in_the_import_graph():
    """Tarjan's strongly connected components over every module of common/ and the cubes."""
    files = _python_files("common", *CUBES)
    modules = {_module_name(p): p for p in files}
    graph = {m: sorted(t for t in _imports(p) if t in modules and t != m) for m, p in modules.items()}
    index, low, stack, on_stack, circles = {}, {}, [], set(), []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for child in graph[node]:
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in on_stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    assert not circles, circles
