"""Removals cannot be forgotten: a deprecation whose removed_in has come fails this test."""

from __future__ import annotations

import importlib

import pytest

import tvexp
from tvexp._api import deprecation as dep
from tvexp._api.versions import version_reached

PUBLIC_MODULES = (
    "tvexp.stable",
    "tvexp.stable.functional",
    "tvexp.stable.losses",
    "tvexp.prototype",
    "tvexp.prototype.functional",
    "tvexp.prototype.losses",
)


def overdue(version: str, registry) -> list[str]:
    """The deprecations that still exist although ``version`` has reached their ``removed_in``."""
    return [
        f"{d.kind} {d.symbol}: deprecated in {d.since}, due for removal in {d.removed_in}"
        for d in registry
        if version_reached(version, d.removed_in)
    ]


def test_no_deprecation_outlives_its_removed_in():
    for name in PUBLIC_MODULES:
        importlib.import_module(name)  # every decorator has run, so the registry is complete
    entries = list(dep.REGISTRY) + [
        dep.Deprecation("moved-name", old, m.since, m.removed_in, m.new) for old, m in dep.MOVED_NAMES.items()
    ]
    problems = overdue(tvexp.__version__, entries)
    assert not problems, (
        f"tvexp {tvexp.__version__} still ships things that were due for removal; remove them:\n" + "\n".join(problems)
    )


@pytest.mark.parametrize("version, expect", [("0.4.9", 0), ("0.5.0.dev0", 1), ("0.5.0", 1), ("1.0.0", 1)])
def test_expiry_rule(version, expect):
    entry = dep.Deprecation("object", "tvexp.stable.Old", "0.3.0", "0.5.0")
    assert len(overdue(version, [entry])) == expect
