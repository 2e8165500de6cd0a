"""No import circle anywhere in the project: the package, the app frame and the pages.

Every ``import`` statement counts, at module level or inside a function (a deferred import that closes
a circle is still a circle: it only moves the failure to run time). ``from package import name``
counts as importing ``package.name`` when that is a module. Importing a submodule also runs its
package's ``__init__``, which is not counted (it is not a choice of the importing module).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _modules() -> dict[str, Path]:
    mods = {}
    for path in sorted((REPO / "mcnnseq").rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        mods[name] = path
    mods["app"] = REPO / "app.py"
    for path in sorted((REPO / "pages").glob("*.py")):
        mods[f"pages.{path.stem}"] = path
    return mods


def import_graph() -> dict[str, set[str]]:
    """module -> the project modules it imports (anywhere in its file)."""
    mods = _modules()
    graph: dict[str, set[str]] = {name: set() for name in mods}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(up + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            for target in targets:
                while target and target not in mods:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_the_checker_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_in_the_project():
    graph = import_graph()
    assert "mcnnseq.workspace" in graph and "mcnnseq.ui.state" in graph["pages.data"] | graph["mcnnseq.ui.page"]
    assert cycles(graph) == []


def test_the_core_imports_no_streamlit():
    """``mcnnseq`` outside ``mcnnseq/ui`` never imports Streamlit; the workspace loads neither it nor torch."""
    for name, path in _modules().items():
        if name.startswith(("mcnnseq.ui", "app", "pages")):
            continue
        tree = ast.parse(path.read_text())
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not any(m.split(".")[0] == "streamlit" for m in imported), name
    code = ("import sys, mcnnseq.workspace, mcnnseq.memo, mcnnseq.defaults; "
            "print(sorted(m for m in ('streamlit', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
