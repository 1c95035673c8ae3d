"""Counts the cases the property suites check (each argument value, input perturbation or regression
call is one case) and reports the total at the end of the run."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

_MODULES: dict[str, ModuleType] = {}


# Hypothesis's pytest plugin wraps a parametrized test's settings in one more layer at every call
# (``Settings(parent=<current settings>, ...)`` stored back on the shared function), so after about a
# thousand parametrized cases reading a setting recurses past Python's limit. Each call's layer is
# undone after the call: the suites' thousands of cases all run with their module's settings.
_BASE_SETTINGS: dict[Any, Any] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = getattr(item, "module", None)
        if module is not None and hasattr(module, "CASES_RUN"):
            _MODULES[module.__name__] = module
        function = getattr(getattr(item, "obj", None), "__func__", getattr(item, "obj", None))
        if hasattr(function, "_hypothesis_internal_use_settings"):
            _BASE_SETTINGS.setdefault(function, function._hypothesis_internal_use_settings)


def pytest_runtest_teardown(item: pytest.Item) -> None:
    function = getattr(getattr(item, "obj", None), "__func__", getattr(item, "obj", None))
    if function in _BASE_SETTINGS:
        function._hypothesis_internal_use_settings = _BASE_SETTINGS[function]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    counts = {name.rsplit(".", 1)[-1]: module.CASES_RUN[0] for name, module in _MODULES.items()}
    if any(counts.values()):
        detail = ", ".join(f"{name}: {count}" for name, count in sorted(counts.items()))
        terminalreporter.write_line(f"input-contract property suite: {sum(counts.values())} cases checked ({detail})")
