"""The coverage contract of ``examples/torchvision_models.py``: a builder for every classification and video
model of torchvision 0.29 (``list_models`` of ``torchvision.models`` and ``torchvision.models.video``, recorded
in ``fixtures/builder_keywords.json``), made only of public tvexp names. That each one has torchvision's keys,
shapes and dtypes, loads strictly and matches torchvision's outputs is checked family by family in the
``test_parity_*.py`` files beside this one."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from examples import torchvision_models as tvm

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent.parent / "examples" / "torchvision_models.py"
_BUILDERS: list[str] = sorted(json.loads((HERE / "fixtures" / "builder_keywords.json").read_text())["builders"])
_PUBLIC_MODULES = {"tvexp", "tvexp.stable", "tvexp.prototype"} | {
    f"tvexp.{tier}.{part}" for tier in ("stable", "prototype") for part in ("functional", "losses")
}


def test_every_torchvision_classification_and_video_builder_has_an_example() -> None:
    assert len(_BUILDERS) == 89  # torchvision 0.29.1: 80 classification + 9 video builders
    missing = [name for name in _BUILDERS if not callable(getattr(tvm, name, None))]
    assert missing == []
    assert set(_BUILDERS) <= set(tvm.__all__)


def test_examples_use_only_public_tvexp_names_and_no_torchvision() -> None:
    tree = ast.parse(EXAMPLE.read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
            if node.module.startswith("tvexp"):
                assert all(not alias.name.startswith("_") for alias in node.names), node.module
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    tvexp_modules = {name for name in imported if name == "tvexp" or name.startswith("tvexp.")}
    assert tvexp_modules <= _PUBLIC_MODULES, sorted(tvexp_modules - _PUBLIC_MODULES)
    # torchvision appears only in the lazy import that resolves weights given by name.
    torchvision_imports = [name for name in imported if name.split(".")[0] == "torchvision"]
    assert torchvision_imports == ["torchvision.models"]
