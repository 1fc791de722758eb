"""The package's shape: subpackages by role, imports running one way (from the faces down), no cycles.

Imports inside functions count too: a late import is still a dependency.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "pipeline"
# bottom to top: a module may import its own subpackage and the floors below it, never one above
FLOORS = ("base", "io", "components", "stages", "measuring", "learning", "runner", "faces")
FRONT_DOORS = {"pipeline", "pipeline.__main__"}  # `import pipeline` and `python -m pipeline` reach the faces lazily


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def floor_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in FLOORS) else "base"


def imports_of(path: Path) -> set[str]:
    """The pipeline modules a file imports (a name imported from a package counts as its submodule if it is one)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "pipeline":
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                is_module = (PACKAGE.parent / candidate.replace(".", "/")).with_suffix(".py").exists() or (
                    PACKAGE.parent / candidate.replace(".", "/")).is_dir()
                found.add(candidate if is_module else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "pipeline"}
    return found - {module_name(path)}


def graph() -> dict[str, set[str]]:
    """Module -> the modules it imports; `from pipeline import __version__` reaches nothing below the front door."""
    return {module_name(path): imports_of(path) - FRONT_DOORS for path in PACKAGE.rglob("*.py")}


def test_subpackages_by_role_and_no_flat_heap():
    subpackages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert subpackages == set(FLOORS) - {"base"}
    top_level = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "__main__"}
    assert len(top_level) <= 4, top_level  # only what every floor shares (paths, settings, schemas, threads)


def test_imports_run_one_way_from_the_faces_down():
    upward = []
    for module, imported in graph().items():
        if module in FRONT_DOORS:
            continue
        here = FLOORS.index(floor_of(module))
        for target in imported:
            if FLOORS.index(floor_of(target)) > here:
                upward.append(f"{module} imports {target}")
    assert upward == []


def test_no_module_imports_one_that_imports_it():
    edges = graph()

    def reachable(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    cycles = sorted({tuple(sorted((a, b))) for a in edges for b in edges[a] if a in reachable(b)})
    assert cycles == []
