"""The package's layers (docs/ARCHITECTURE.md) import only from the layers above them."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "pinnbench"
# Top to bottom: a module may import from its own layer and the layers before it.
LAYERS = (
    ("core", {"protocols", "registry", "plugins", "derivatives", "objective", "metrics", "spec",
              "machine", "atomic", "__init__"}),
    ("components", {"problems", "geometry", "references", "models", "optim", "sampling",
                    "losses"}),
    ("engine", {"engine"}),
    ("run", {"run"}),
    ("analysis", {"analysis"}),
    ("cli", {"cli", "__main__"}),  # python -m pinnbench is the command line
)


def layer_of(top: str) -> int:
    for rank, (_, names) in enumerate(LAYERS):
        if top in names:
            return rank
    raise AssertionError(f"pinnbench.{top} is in no layer of tests/test_layers.py")


def top_of(path: Path) -> str:
    part = path.relative_to(PACKAGE).parts[0]
    return part[:-3] if part.endswith(".py") else part


def imported_tops(tree: ast.AST) -> set[str]:
    tops = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] != "pinnbench":
                continue
            if len(parts) > 1:
                tops.add(parts[1])
            else:  # from pinnbench import x
                tops.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "pinnbench" and len(parts) > 1:
                    tops.add(parts[1])
    return tops - {"__version__"}


def test_no_module_imports_from_a_layer_below_its_own():
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 80  # the whole package was read
    upward = []
    for path in modules:
        here = layer_of(top_of(path))
        for top in imported_tops(ast.parse(path.read_text())):
            if layer_of(top) > here:
                upward.append(f"{path.relative_to(PACKAGE)} imports pinnbench.{top} "
                              f"({LAYERS[layer_of(top)][0]} is below {LAYERS[here][0]})")
    assert not upward, "\n".join(upward)


def test_the_layer_check_sees_a_lazy_import_from_below():
    tree = ast.parse("def f():\n    from pinnbench.analysis.compare import summarize\n")
    assert layer_of(next(iter(imported_tops(tree)))) > layer_of("engine")
