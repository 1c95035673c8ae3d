"""The opt-in benchmark runs end to end on a few rounds (it proves the script works; it asserts no time)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_run_prints_every_table(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("tvexp_bench_opt_in", REPO / "benchmarks" / "bench_opt_in.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        assert module.main(["--quick"]) == 0
    finally:
        sys.modules.pop(spec.name, None)
        sys.modules.pop("tvexp_base_tiers", None)
    out = capsys.readouterr().out
    for title in ("### Forward", "### Construction", "### Call of a prototype function", "### Import: self time"):
        assert title in out, out
    assert "| live, silenced by a scope (library path) |" in out and "| base, after the warning |" in out
