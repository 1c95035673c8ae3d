"""Shared test configuration.

Prototype warnings are acknowledged for the whole test session (``TVEXP_PROTOTYPE_OPT_IN=1``);
tests of the warnings themselves run Python in a subprocess with a clean environment
(see :func:`run_python`), because import caching and warn-once state would hide them here.
Deprecation warnings are errors (pyproject ``filterwarnings``) unless a test expects them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
import torch

os.environ["TVEXP_PROTOTYPE_OPT_IN"] = "1"
torch.set_num_threads(min(2, os.cpu_count() or 1))

REPO_ROOT = Path(__file__).resolve().parent.parent


def run_python(
    code: str,
    *args: str,
    env: dict[str, str] | None = None,
    warnings_filter: str | None = None,
    cwd: str | Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Runs ``code`` in a fresh interpreter without the test session's opt-in; returns the result.

    The code is written to a temporary file (TorchScript needs the source of what it compiles).
    """
    environment = {k: v for k, v in os.environ.items() if k != "TVEXP_PROTOTYPE_OPT_IN"}
    environment.update(env or {})
    with tempfile.TemporaryDirectory() as directory:
        script = Path(directory) / "snippet.py"
        script.write_text(textwrap.dedent(code))
        command = [sys.executable]
        if warnings_filter:
            command += ["-W", warnings_filter]
        command += [str(script), *args]
        return subprocess.run(
            command, capture_output=True, text=True, env=environment, cwd=cwd or REPO_ROOT, timeout=timeout
        )


@pytest.fixture
def python_subprocess():
    """The :func:`run_python` helper as a fixture."""
    return run_python


def pytest_configure(config: pytest.Config) -> None:
    """Deprecated public objects and the old paths of moved names are still public: the suite keeps
    testing them.

    Using one shows its deprecation warning instead of failing the test (pyproject makes every other
    ``TvexpDeprecationWarning`` an error, so an unexpected deprecation inside tvexp still fails). The
    list comes from the deprecation registry, so ``tvexp-api deprecate`` and ``promote`` need no edit
    here; the expiry test makes sure each is removed when its ``removed_in`` comes.
    """
    import re

    import tvexp.prototype.functional
    import tvexp.prototype.losses
    import tvexp.stable.functional
    import tvexp.stable.losses  # noqa: F401  (every namespace imported: every declaration registered)
    from tvexp._api import deprecation

    for record in deprecation.REGISTRY:
        if record.kind in ("object", "moved-name"):
            config.addinivalue_line(
                "filterwarnings", f"default:{re.escape(record.symbol)} is deprecated:tvexp.TvexpDeprecationWarning"
            )
