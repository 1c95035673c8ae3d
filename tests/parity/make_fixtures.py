"""Records torchvision 0.29 reference fixtures for the parity tests (run by ``make parity-fixtures``).

Runs in the optional reference environment (``.venv-ref``: torch 2.14.1, torchvision 0.29.1).
Each ``fixtures_*.py`` module beside this file defines ``record(out_dir: Path) -> None`` and
writes small ``.pt`` files (weights, inputs, outputs, state-dict key/shape lists) into
``tests/parity/fixtures/``. The tests that read them run in the torch-only environment.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    import torch
    import torchvision

    print(f"recording with torch {torch.__version__}, torchvision {torchvision.__version__}")
    out_dir = HERE / "fixtures"
    out_dir.mkdir(exist_ok=True)
    sys.path.insert(0, str(HERE))
    for path in sorted(HERE.glob("fixtures_*.py")):
        module = importlib.import_module(path.stem)
        print(f"- {path.stem}")
        module.record(out_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
