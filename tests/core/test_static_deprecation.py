"""Type checkers see tvexp deprecations (PEP 702): mypy reports the `deprecated` error code."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

LIBRARY = """
from typing_extensions import deprecated
from tvexp._api.deprecation import deprecated_object

@deprecated_object(since="0.3.0", removed_in="0.5.0", instead="new_function", name="library.old_function")
@deprecated("library.old_function is deprecated since tvexp 0.3.0 and will be removed in 0.5.0; "
            "use new_function instead.", category=None)
def old_function(x: int) -> int:
    return x

def new_function(x: int) -> int:
    return x
"""

USER = """
import tvexp
from library import old_function, new_function

print(tvexp.__version__)
old_function(1)
new_function(1)
"""


@pytest.mark.slow
def test_mypy_reports_a_tvexp_deprecation(tmp_path):
    (tmp_path / "library.py").write_text(textwrap.dedent(LIBRARY))
    (tmp_path / "user.py").write_text(textwrap.dedent(USER))
    command = [
        sys.executable,
        "-m",
        "mypy",
        "--enable-error-code",
        "deprecated",
        "--follow-imports",
        "silent",
        "--ignore-missing-imports",
        "--no-incremental",
        "--cache-dir",
        str(tmp_path / ".cache"),
        "user.py",
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    lines = [line for line in result.stdout.splitlines() if "[deprecated]" in line]
    assert len(lines) == 1, result.stdout + result.stderr
    assert lines[0].startswith("user.py:3:") and "library.old_function is deprecated since tvexp 0.3.0" in lines[0], (
        lines
    )
