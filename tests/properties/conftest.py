"""Counts the cases the property suites check (each argument value, input perturbation or regression
call is one case) and reports the total at the end of the run."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

_MODULES: dict[str, ModuleType] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = getattr(item, "module", None)
        if module is not None and hasattr(module, "CASES_RUN"):
            _MODULES[module.__name__] = module


def pytest_terminal_summary(terminalreporter: Any) -> None:
    counts = {name.rsplit(".", 1)[-1]: module.CASES_RUN[0] for name, module in _MODULES.items()}
    if any(counts.values()):
        detail = ", ".join(f"{name}: {count}" for name, count in sorted(counts.items()))
        terminalreporter.write_line(f"input-contract property suite: {sum(counts.values())} cases checked ({detail})")
