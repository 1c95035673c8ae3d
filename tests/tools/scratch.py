"""Scratch copies of the checkout for tests that edit the package as a maintainer would, and the command
line run on them in a fresh interpreter."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def scratch_copy(tmp_path: Path, *extra: str) -> Path:
    """A copy of the package and pyproject.toml (and the ``extra`` top-level files or folders) under tmp_path."""
    root = tmp_path / "checkout"
    shutil.copytree(REPO / "tvexp", root / "tvexp", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    for name in extra:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__", "fixtures"))
        else:
            shutil.copy(REPO / name, root / name)
    return root


def run_tooling(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m tvexp._tooling ARGS`` with the copy at ``root`` first on the path."""
    environment = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [sys.executable, "-m", "tvexp._tooling", *args],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
