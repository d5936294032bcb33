"""The package's import graph has no circle, between modules or between packages.

Every import counts, also those inside functions and under TYPE_CHECKING: a circle hidden in a function still ties
two modules together and breaks as soon as someone moves the import to the top.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

import faceswap_live

PACKAGE_DIR = Path(faceswap_live.__file__).parent
PACKAGE = "faceswap_live"


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def find_modules(root: Path) -> dict[str, Path]:
    """Dotted name → file of every module and package under root (a package is its __init__.py)."""
    return {module_name(path, root): path for path in sorted(root.rglob("*.py"))}


def imported_modules(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """The project's modules that the file imports, anywhere in it. `from pkg import mod` counts as pkg.mod."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in modules:
                    found.add(submodule)
                elif base in modules:
                    found.add(base)
    found.discard(name)
    return found


def module_graph(root: Path) -> dict[str, set[str]]:
    """Module → the project's modules it imports."""
    modules = find_modules(root)
    return {name: imported_modules(path, name, modules) for name, path in modules.items()}


def package_of(module: str) -> str:
    """faceswap_live.stages.blend → faceswap_live.stages; a top-level module (faceswap_live.cli) is its own node."""
    parts = module.split(".")
    return ".".join(parts[:2])


def package_graph(modules: dict[str, set[str]]) -> dict[str, set[str]]:
    """Package (or top-level module) → the other packages and top-level modules it imports from."""
    graph: dict[str, set[str]] = {}
    for module, imports in modules.items():
        source = package_of(module)
        targets = graph.setdefault(source, set())
        targets.update(package_of(target) for target in imports if package_of(target) != source)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle in the graph (first node repeated at the end), None when there is none."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        return list(reversed(error.args[1]))  # graphlib lists it against the import direction
    return None


def test_the_graph_sees_the_package_and_its_imports() -> None:
    graph = module_graph(PACKAGE_DIR)
    # Lazy imports inside functions and `from package import module` count as edges.
    assert "faceswap_live.inputs.target_photo" in graph["faceswap_live.gallery"]
    assert "faceswap_live.runtime.pipeline" in graph["faceswap_live.runtime.runner"]
    assert "faceswap_live.engines.mesh_swapper" in graph["faceswap_live.engines.registry"]
    assert package_graph(graph)["faceswap_live.runtime"] >= {"faceswap_live.stages", "faceswap_live.engines"}


def test_no_module_imports_itself_through_others() -> None:
    cycle = find_cycle(module_graph(PACKAGE_DIR))
    assert cycle is None, "import circle between modules: " + " → ".join(cycle or [])


def test_no_package_imports_itself_through_others() -> None:
    cycle = find_cycle(package_graph(module_graph(PACKAGE_DIR)))
    assert cycle is None, "import circle between packages: " + " → ".join(cycle or [])


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"a.py": "from pkg import b\n", "b.py": "def f():\n    from pkg.a import x\n"}, {"pkg.a", "pkg.b"}),
        ({"a.py": "from . import b\n", "b.py": "from .a import x\n"}, {"pkg.a", "pkg.b"}),
        ({"a.py": "from pkg import b\n", "b.py": "import os\n"}, None),
    ],
)
def test_a_circle_is_found_also_inside_functions_and_relative_imports(
    tmp_path: Path, files: dict[str, str], expected: set[str] | None
) -> None:
    root = tmp_path / "pkg"
    root.mkdir()
    (root / "__init__.py").write_text("")
    for name, text in files.items():
        (root / name).write_text(text)
    cycle = find_cycle(module_graph(root))
    assert (set(cycle) if cycle else None) == expected
