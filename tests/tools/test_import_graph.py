"""The package's layering, read from the source: runtime core < layers and losses < transforms <
tier namespaces < developer tooling < CLI. Dependencies point down, never in a cycle, and nothing that
runs in a user's model imports the tooling."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.tools.import_graph import LAYERS, RUNTIME_LAYERS, Graph, layer_of, read_graph

PACKAGE = Path(__file__).resolve().parents[2] / "tvexp"


@pytest.fixture(scope="module")
def graph() -> Graph:
    return read_graph(PACKAGE)


def test_every_module_belongs_to_a_layer(graph: Graph) -> None:
    unassigned = [module for module in graph.modules if layer_of(module) < 0]
    assert unassigned == [], f"modules outside every layer of tests.tools.import_graph.py LAYERS: {unassigned}"


def test_no_import_cycles(graph: Graph) -> None:
    # Function-local imports count too: a cycle kept alive by local imports is still a cycle.
    assert graph.cycles() == []


def test_no_upward_imports(graph: Graph) -> None:
    upward = [f"{i.importer}:{i.line} imports {i.imported}" for i in graph.upward()]
    assert upward == [], "imports pointing up the layers " + " > ".join(name for name, _ in LAYERS)


def test_runtime_modules_do_not_import_tooling(graph: Graph) -> None:
    found = [f"{i.importer}:{i.line} imports {i.imported}" for i in graph.runtime_importing_tooling()]
    assert found == [], f"{RUNTIME_LAYERS} must not import tvexp._tooling"


def test_function_local_imports_say_why(graph: Graph) -> None:
    unexplained = [
        f"{i.importer}:{i.line} imports {i.imported}" for i in graph.local_imports() if "local import" not in i.comment
    ]
    assert unexplained == [], "a function-local import needs a '# local import: <reason>' comment"


def test_the_graph_reader_sees_violations(tmp_path: Path) -> None:
    package = tmp_path / "tvexp"
    for relative, source in {
        "__init__.py": "",
        "_api/__init__.py": "",
        "_api/core.py": "from tvexp._layers import block\n",
        "_layers/__init__.py": "",
        "_layers/block.py": "def f():\n    from tvexp._api import core\n",
        "_tooling/__init__.py": "",
        "stable/__init__.py": "import tvexp._tooling\n",
    }.items():
        path = package / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    bad = read_graph(package)
    assert bad.cycles() == [["tvexp._api.core", "tvexp._layers.block"]]
    assert [(i.importer, i.imported) for i in bad.upward()] == [
        ("tvexp._api.core", "tvexp._layers.block"),
        ("tvexp.stable", "tvexp._tooling"),
    ]
    assert [i.importer for i in bad.runtime_importing_tooling()] == ["tvexp.stable"]
    assert [i.importer for i in bad.local_imports()] == ["tvexp._layers.block"]


@pytest.mark.subprocess
def test_importing_the_tiers_loads_no_tooling() -> None:
    code = (
        "import sys, tvexp.stable, tvexp.stable.functional, tvexp.stable.losses, tvexp.prototype, "
        "tvexp.prototype.functional, tvexp.prototype.losses; "
        "print(sorted(m for m in sys.modules if m.startswith('tvexp._tooling')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
