"""The import graph of the tvexp package, read from the source with :mod:`ast` (nothing is imported).

Used by ``test_import_graph.py`` and runnable on any checkout (``python import_graph.py PATH``) to
print the figures the architecture is measured by: cycles, imports that point up the layers, runtime
modules importing the tooling, and function-local imports.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

# The layers, bottom to top. A module may import modules of its own layer or below.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("core", ("tvexp", "tvexp._api")),
    ("implementations", ("tvexp._layers", "tvexp._losses")),
    ("transforms", ("tvexp._transforms",)),
    ("namespaces", ("tvexp.stable", "tvexp.prototype")),
    ("tooling", ("tvexp._tooling",)),
    ("cli", ("tvexp._tooling.cli", "tvexp._tooling.__main__")),
)
RUNTIME_LAYERS = ("core", "implementations", "transforms", "namespaces")


def layer_of(module: str) -> int:
    """Index into :data:`LAYERS` of the most specific prefix that contains ``module``."""
    best, best_length = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    return best


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    local: bool  # inside a function or method
    comment: str  # the source line's comment, if any


@dataclass
class Graph:
    modules: dict[str, Path] = field(default_factory=dict)
    imports: list[Import] = field(default_factory=list)

    def edges(self, *, include_local: bool = True) -> dict[str, set[str]]:
        edges: dict[str, set[str]] = {name: set() for name in self.modules}
        for item in self.imports:
            if item.imported in self.modules and item.imported != item.importer and (include_local or not item.local):
                edges[item.importer].add(item.imported)
        return edges

    def cycles(self, *, include_local: bool = True) -> list[list[str]]:
        """The strongly connected components with more than one module (Tarjan)."""
        edges = self.edges(include_local=include_local)
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on_stack: set[str] = set()
        components: list[list[str]] = []
        counter = 0

        def visit(node: str) -> None:
            nonlocal counter
            index[node] = low[node] = counter
            counter += 1
            stack.append(node)
            on_stack.add(node)
            for target in sorted(edges[node]):
                if target not in index:
                    visit(target)
                    low[node] = min(low[node], low[target])
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))

        for node in sorted(edges):
            if node not in index:
                visit(node)
        return components

    def upward(self) -> list[Import]:
        """Imports of a module in a higher layer than the importer's."""
        return [
            item
            for item in self.imports
            if item.imported.startswith("tvexp")
            and layer_of(item.imported) > layer_of(item.importer) >= 0
            and not _is_package_parent(item.importer, item.imported)
        ]

    def runtime_importing_tooling(self) -> list[Import]:
        runtime = {LAYERS[i][0] for i in range(len(LAYERS))} & set(RUNTIME_LAYERS)
        return [
            item
            for item in self.imports
            if LAYERS[layer_of(item.importer)][0] in runtime and layer_of(item.imported) >= layer_of("tvexp._tooling")
        ]

    def local_imports(self) -> list[Import]:
        return [item for item in self.imports if item.local]


def _is_package_parent(importer: str, imported: str) -> bool:
    # ``import tvexp.stable`` from ``tvexp/__init__``'s docstring-free code is not possible; but a package's
    # ``__init__`` importing its own submodules is normal and never "upward".
    return imported.startswith(importer + ".")


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def read_graph(package: Path) -> Graph:
    """The import graph of the package at ``package`` (the ``tvexp`` directory)."""
    graph = Graph()
    files = sorted(package.rglob("*.py"))
    for path in files:
        graph.modules[_module_name(package, path)] = path
    for path in files:
        module = _module_name(package, path)
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        tree = ast.parse(source)
        for node, local in _imports(tree):
            # The reason for a local import is a comment on its line or on the line above.
            comment = lines[node.lineno - 1].partition("#")[2].strip() or (
                lines[node.lineno - 2].partition("#")[2].strip() if node.lineno > 1 else ""
            )
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = _resolve(module, node, path.name == "__init__.py")
                # ``from package import submodule`` imports the submodule.
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in graph.modules else base for alias in node.names
                ]
            for target in dict.fromkeys(targets):
                graph.imports.append(Import(module, target, node.lineno, local, comment))
    return graph


def _imports(tree: ast.Module) -> list[tuple[ast.Import | ast.ImportFrom, bool]]:
    found: list[tuple[ast.Import | ast.ImportFrom, bool]] = []

    def walk(node: ast.AST, local: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append((child, local))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                walk(child, True)
            else:
                walk(child, local)

    walk(tree, False)
    return found


def main(argv: list[str]) -> int:
    package = Path(argv[1] if len(argv) > 1 else Path(__file__).resolve().parents[2] / "tvexp")
    graph = read_graph(package)
    cycles = graph.cycles()
    upward = graph.upward()
    tooling = graph.runtime_importing_tooling()
    local = graph.local_imports()
    local_tvexp = [item for item in local if item.imported.startswith("tvexp")]
    print(f"modules: {len(graph.modules)}")
    print(f"import cycles (all imports): {len(cycles)} {cycles}")
    print(f"import cycles (module level): {len(graph.cycles(include_local=False))}")
    print(f"upward imports: {len(upward)}")
    for item in upward:
        print(f"  {item.importer}:{item.line} -> {item.imported}")
    print(f"runtime modules importing tooling: {len(tooling)}")
    print(f"function-local imports: {len(local)} ({len(local_tvexp)} of tvexp modules)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
