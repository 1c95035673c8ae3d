"""The benchmark suite runs end to end on tiny sizes (it proves the suite works; it asserts no time)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def load_suite():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("tvexp_benchmarks_run", REPO / "benchmarks" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tiny_run_writes_every_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    suite = load_suite()
    assert suite.main(["--tiny", "--out", str(tmp_path)]) == 0
    report = (tmp_path / "results.md").read_text()
    for heading in ("## Stable layers", "## Tier machinery", "## Import time", "## Conv-norm fusion"):
        assert heading in report
    assert "## Eager int8 quantization" in report and "tvexp int8 vs float cosine" in report
    for layer in ("DropBlock2d(per-channel)", "DropBlock2d(shared_mask)", "DropBlock3d(per-channel)"):
        assert f"| {layer} | train contiguous forward |" in report
    # Every layer row has a tvexp time and a floor ratio, whether or not the references are installed.
    rows = [line for line in report.splitlines() if line.startswith("| DropBlock")]
    assert rows and all(re.search(r"\| \d+\.\d{2} \|$", line) for line in rows)
    assert "tvexp.stable adds" in report
    output = capsys.readouterr().out
    assert "chart written to" in output or "chart skipped" in output


def test_interleaving_alternates_candidates_and_reports_medians() -> None:
    suite = load_suite()
    order: list[str] = []
    medians = suite.interleaved(
        {"a": lambda: order.append("a"), "b": lambda: order.append("b")}, rounds=4, calls=1, warmup=0
    )
    assert order == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert set(medians) == {"a", "b"} and all(value >= 0 for value in medians.values())


def test_ratios_are_medians_of_per_round_ratios() -> None:
    # Round 2 is a slow spell for both candidates: per-round ratios stay 0.5, the ratio of medians would not.
    samples = {"tvexp": [1.0, 10.0, 1.0, 1.2], "torchvision": [2.0, 20.0, 2.0, 2.4], "timm": [1.0, 10.0, 2.0, 0.6]}
    ratios = load_suite().round_ratios(samples)
    assert ratios["torchvision"] == 0.5
    assert ratios["timm"] == 1.0  # per round: 1, 1, 0.5, 2
