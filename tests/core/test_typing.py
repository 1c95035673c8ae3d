"""The package type-checks: mypy, configured in pyproject.toml, reports nothing on tvexp."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = REPO_ROOT / "pyproject.toml"


def _mypy(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # No cache: a stale one from another checkout or mypy version could hide an error, and a cold
    # run over the package takes seconds.
    command = [
        sys.executable,
        "-m",
        "mypy",
        "--config-file",
        str(CONFIG),
        "--cache-dir",
        "/dev/null",
        "--no-error-summary",
        "--hide-error-context",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.mark.slow
def test_package_passes_mypy():
    result = _mypy(cwd=REPO_ROOT)  # the files come from [tool.mypy] files
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    if result.returncode != 0 or errors:
        pytest.fail(
            f"mypy found {len(errors)} error(s) in tvexp:\n" + "\n".join(errors or [result.stdout + result.stderr]),
            pytrace=False,
        )


@pytest.mark.slow
def test_mypy_configuration_rejects_untyped_defs_and_stale_ignores(tmp_path):
    # A throwaway package named tvexp, so the [tool.mypy] overrides for tvexp.* apply to it.
    package = tmp_path / "tvexp"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent("""
        def untyped(x):
            return x

        def incomplete(x: int, y) -> int:
            return x

        value: int = 1  # type: ignore[assignment]
    """)
    )
    result = _mypy("tvexp", cwd=tmp_path)
    codes = sorted(line.rsplit("[", 1)[-1].rstrip("]") for line in result.stdout.splitlines() if ": error:" in line)
    assert codes == ["no-untyped-def", "no-untyped-def", "unused-ignore"], result.stdout + result.stderr
