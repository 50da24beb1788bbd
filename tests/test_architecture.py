"""The design's import rules, enforced: tools, knowledge -> agent -> evals, tui; nothing imports tui;
the UI never reaches a model, Chroma or SymPy itself; no import cycles between modules.

Imports are read with ``ast`` (module level and inside functions; ``if TYPE_CHECKING:`` blocks are
left out, since they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "mltutor"

# part -> the parts it may import (besides itself and the shared leaf modules)
ALLOWED: dict[str, set[str]] = {
    "tools": set(),
    "knowledge": {"tools"},
    "agent": {"tools", "knowledge"},
    "evals": {"tools", "knowledge", "agent"},
    "tui": {"agent"},
    "commands": {"tools", "knowledge", "agent", "evals"},
    "cli": {"tools", "knowledge", "agent", "evals", "tui", "commands"},
    "settings": {"tools"},  # the tool limits are a settings section
    "storage": set(),
}
LEAVES = {"settings", "storage", "__init__"}
"""Top-level modules every part may use (settings, the safe-file helpers, the version)."""

UI_FORBIDDEN = ("sympy", "chromadb", "openai", "langgraph", "numpy", "scipy")


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path) -> set[str]:
    """Modules a file imports at run time (absolute names; relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            for alias in node.names:  # `from pkg import module`
                out.add(f"{mod}.{alias.name}")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return out


def all_modules() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in SRC.rglob("*.py")}
    return {
        name: {m for m in imports_of(path) if m in modules and m != name}
        for name, path in modules.items()
    }


def part_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_parts_import_only_downstream() -> None:
    bad = []
    for module, deps in all_modules().items():
        part = part_of(module)
        allowed = ALLOWED.get(part, set()) | {part} | LEAVES
        for dep in deps:
            if part_of(dep) not in allowed:
                bad.append(f"{module} imports {dep}")
    assert not bad, "\n".join(sorted(bad))


def test_nothing_imports_tui_but_the_cli() -> None:
    bad = [
        f"{m} imports {d}"
        for m, deps in all_modules().items()
        for d in deps
        if part_of(d) == "tui" and part_of(m) not in {"tui", "cli"}
    ]
    assert not bad, "\n".join(bad)


def test_ui_never_reaches_a_model_chroma_or_sympy() -> None:
    bad = []
    for path in (SRC / "tui").rglob("*.py"):
        for dep in imports_of(path):
            top = dep.split(".")[0]
            if top in UI_FORBIDDEN or dep.startswith(("mltutor.tools", "mltutor.knowledge")):
                bad.append(f"{module_name(path)} imports {dep}")
    assert not bad, "\n".join(sorted(bad))


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state and (found := dfs(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := dfs(node)):
            return found
    return None


def test_no_import_cycles_between_modules() -> None:
    graph = all_modules()
    # a package's __init__ re-exporting its own modules is not a cycle between modules
    for name in list(graph):
        graph[name] = {d for d in graph[name] if not name.startswith(d + ".")}
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_every_part_exists(part: str) -> None:
    assert (SRC / part).is_dir() or (SRC / f"{part}.py").is_file()


def test_the_checks_catch_violations() -> None:
    """The checkers themselves work on a planted cycle and a planted upward import."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
    assert part_of("mltutor.knowledge.notes") == "knowledge"
    assert "agent" not in ALLOWED["knowledge"] and "tui" not in ALLOWED["evals"]
