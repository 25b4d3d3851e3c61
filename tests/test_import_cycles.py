"""No import cycle inside esso_ngs: the layers import one way (ARCHITECTURE.md).

The graph is built from the source with `ast`: every `import` and `from ... import`
that names an esso_ngs module, at module level or inside a function (a lazy import
is still a dependency), except under `if TYPE_CHECKING:` (annotations only). A
`from package import name` depends on the submodule when `name` is one, else on
the package's `__init__`. A package's `__init__` re-exporting its own submodules is
the package, not a dependency of them, so edges from a submodule to its own
package's `__init__` are cycles too, and are reported.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "esso_ngs"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    out: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for alt in child.orelse:
                    visit(alt)
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                out.append(child)
            visit(child)

    visit(tree)
    return out


def import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    origin = ".".join(base + ([node.module] if node.module else []))
                else:
                    origin = node.module or ""
                targets = [f"{origin}.{a.name}" if f"{origin}.{a.name}" in files else origin for a in node.names]
            for t in targets:
                while t and t not in files:  # `import esso_ngs.lang.expr` names the module
                    t = t.rpartition(".")[0]
                if t and t != mod:
                    graph[mod].add(t)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def dfs(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                found = dfs(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            found = dfs(n)
            if found:
                return found
    return None


def test_the_import_graph_is_seen() -> None:
    graph = import_graph()
    assert "esso_ngs.lang.ops" in graph["esso_ngs.lang.expr"]
    assert "esso_ngs.verify.candidate" in graph["esso_ngs.synth.guidance"]


def test_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_a_cycle_is_found() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def _consumers_of_compiled_grammar() -> set[str]:
    """Modules that use a compiled grammar (they name `CompiledGrammar`, in code or
    in annotations): they build on `grammar.compile`."""
    out: set[str] = set()
    for path in ROOT.rglob("*.py"):
        mod = _module_name(path)
        if mod not in ("esso_ngs.grammar.compile", "esso_ngs.grammar") and "CompiledGrammar" in path.read_text():
            out.add(mod)
    return out


def test_compiled_grammar_imports_none_of_its_consumers() -> None:
    # CompiledGrammar is plain data: its operations live in the modules that own
    # them. An import from compile.py to one of them (even lazy, in a function) is
    # the circle this rule removed.
    consumers = _consumers_of_compiled_grammar()
    assert {"esso_ngs.grammar.membership", "esso_ngs.grammar.lark_text",
            "esso_ngs.grammar.counting", "esso_ngs.synth.cegis"} <= consumers
    graph = import_graph()
    reached: set[str] = set()
    todo = list(graph["esso_ngs.grammar.compile"])
    while todo:  # what compile.py depends on, directly or not
        m = todo.pop()
        if m not in reached:
            reached.add(m)
            todo.extend(graph[m])
    assert not reached & consumers, sorted(reached & consumers)
