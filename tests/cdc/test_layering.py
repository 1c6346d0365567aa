"""The cdc package's modules import each other without cycles, and nothing above them."""

import ast
from pathlib import Path

import networkx as nx

import cdc

PACKAGE = Path(cdc.__file__).parent


def _imports(path: Path) -> set[str]:
    """Every module named by an import anywhere in the file (also inside functions)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _graph() -> nx.DiGraph:
    modules = {f"cdc.{p.stem}": p for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        graph.add_edges_from((name, m) for m in _imports(path) if m in modules and m != name)
    return graph


def test_cdc_modules_import_each_other_without_cycles():
    assert list(nx.simple_cycles(_graph())) == []


def test_cdc_imports_nothing_from_the_cli_package():
    upward = {
        f"{p.name}: {m}"
        for p in PACKAGE.glob("*.py")
        for m in _imports(p)
        if m == "strangler" or m.startswith("strangler.")
    }
    assert upward == set()
