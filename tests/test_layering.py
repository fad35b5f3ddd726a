"""The tree is the architecture: each subpackage is a layer and may import only
from its own layer or lower ones, and no module imports itself back through a
chain of imports (lazy, function-level imports count too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "alibench"

# Low to high. The top-level modules (alibench/__init__.py, api.py, run.py,
# __main__.py) sit above every layer: they are the public entry points.
LAYERS = ("core", "data", "models", "train", "methods", "evaluation", "reporting",
          "experiments", "bench", "cli")


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(source: str, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The package modules ``source`` imports (``from pkg import sub`` counts as ``pkg.sub``)."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "alibench"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "alibench":
                continue
            subs = {f"{target}.{a.name}" for a in node.names} & known
            found |= subs or {target}
    return found - {module}


def layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    known = set(files)
    return {m: imports(p.read_text(), m, p.name == "__init__.py", known) & known
            for m, p in files.items()}


def violations(edges: dict[str, set[str]]) -> list[str]:
    bad = []
    for src, targets in sorted(edges.items()):
        for dst in sorted(targets):
            lo, hi = layer(dst), layer(src)
            if hi is not None and (lo is None or lo > hi):
                bad.append(f"{src} ({LAYERS[hi]}) imports {dst} "
                           f"({LAYERS[lo] if lo is not None else 'a top-level module'})")
    return bad


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
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

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_every_module_belongs_to_a_layer_or_is_a_top_level_entry():
    top = {"alibench", "alibench.__main__", "alibench.api", "alibench.run"}
    stray = [m for m in graph() if layer(m) is None and m not in top]
    assert not stray, f"modules outside the layers {LAYERS}: {stray}"


def test_no_layer_imports_a_higher_one():
    assert violations(graph()) == []


def test_the_package_has_no_import_cycle():
    assert cycles(graph()) == []


@pytest.mark.parametrize("src, dst", [("alibench.core.config", "alibench.experiments.launch"),
                                      ("alibench.models.ali", "alibench.train.loop"),
                                      ("alibench.train.loop", "alibench.cli")])
def test_the_checks_bite_on_an_added_upward_import(src, dst):
    edges = graph()
    edges[src] = edges[src] | {dst}
    assert violations(edges), f"{src} -> {dst} was not flagged"
    edges[dst] = edges[dst] | {src}
    assert cycles(edges), f"{src} <-> {dst} was not flagged as a cycle"


def test_relative_and_absolute_imports_are_both_seen(tmp_path):
    pkg = tmp_path / "alibench"
    (pkg / "core").mkdir(parents=True)
    (pkg / "cli").mkdir()
    for f in ("__init__.py", "core/__init__.py", "cli/__init__.py", "cli/main.py"):
        (pkg / f).write_text("")
    (pkg / "core" / "a.py").write_text("def f():\n    from ..cli import main\n")
    (pkg / "core" / "b.py").write_text("import alibench.cli.main\n")
    edges = graph(pkg)
    assert edges["alibench.core.a"] == {"alibench.cli.main"}
    assert edges["alibench.core.b"] == {"alibench.cli.main"}
    assert len(violations(edges)) == 2
