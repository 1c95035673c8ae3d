"""Breaking-change detection that needs the live package: removed submodules, moved definitions and
pickle paths, renamed classes that keep their public name, and the release gate (a breaking change
against the last release is refused unless acknowledged with a reason recorded in the snapshot).

The scratch-copy tests edit a copy of the package, as a maintainer would, and run the command line on it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tools.scratch import REPO, run_tooling, scratch_copy
from tvexp._tooling import api_diff, snapshot_format, snapshot_store, surface
from tvexp._tooling.change_kinds import ChangeKind


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path} no longer contains {old!r}: update the test's edit"
    path.write_text(text.replace(old, new), encoding="utf-8")


# --------------------------------------------------------------------------- the gate on main itself


def test_no_unacknowledged_breaking_change_against_the_last_release() -> None:
    breaks = snapshot_store.unacknowledged_breaking_changes()
    assert breaks == [], (
        f"breaking changes against release {snapshot_store.latest_release()}:\n"
        + api_diff.format_changes(breaks)
        + 'fix them, or acknowledge them: tvexp-api snapshot --acknowledge-breaking "REASON"'
    )


# --------------------------------------------------------------------------- classification


def _snapshot(version: str, **objects: dict[str, object]) -> dict[str, object]:
    return {"version": version, "objects": {name.replace("__", "."): facts for name, facts in objects.items()}}


def test_a_moved_name_removed_before_its_removed_in_breaks_whatever_the_old_tier() -> None:
    moved = {"tier": "prototype", "since": "0.2.0", "kind": "moved-name", "moved_to": "tvexp.stable.X"}
    old = _snapshot("0.2.0", tvexp__prototype__X={**moved, "removed_in": "0.4.0"})
    (change,) = api_diff.diff_snapshots(old, _snapshot("0.3.0"))
    assert change.kind is ChangeKind.SHIM_REMOVED_EARLY and change.breaking
    (change,) = api_diff.diff_snapshots(old, _snapshot("0.4.0"))
    assert change.kind is ChangeKind.MOVED_NAME_REMOVED and not change.breaking
    earlier = _snapshot("0.3.0", tvexp__prototype__X={**moved, "removed_in": "0.3.0"})
    (change,) = api_diff.diff_snapshots(old, earlier)
    assert change.kind is ChangeKind.MOVED_NAME_REMOVAL_CHANGED and change.breaking


def _class(defined: str) -> dict[str, object]:
    return {"tier": "stable", "since": "0.1.0", "kind": "class", "defined": defined, "signature": None}


@pytest.mark.parametrize(
    ("still_reachable", "kind", "breaking"),
    [(True, ChangeKind.DEFINING_MODULE_CHANGED, False), (False, ChangeKind.PICKLE_PATH_REMOVED, True)],
)
def test_a_moved_definition_breaks_only_when_the_old_pickle_path_is_gone(
    still_reachable: bool, kind: ChangeKind, breaking: bool
) -> None:
    old = _snapshot("0.1.0", tvexp__stable__Block=_class("tvexp._layers.old:Block"))
    new = _snapshot("0.2.0", tvexp__stable__Block=_class("tvexp._layers.new:Block"))
    (change,) = api_diff.diff_snapshots(old, new, lambda _old, _new: still_reachable)
    assert (change.kind, change.breaking) == (kind, breaking)
    (unverified,) = api_diff.diff_snapshots(old, new)  # two files: nothing to import, so assume the worst
    assert unverified.kind is ChangeKind.DEFINING_MODULE_CHANGED and unverified.breaking


def test_live_path_resolver_follows_objects_not_names() -> None:
    resolve = snapshot_store.live_path_resolver
    defined = "tvexp._layers.conv_norm_activation:Conv2dNormActivation"
    assert resolve("tvexp.stable:Conv2dNormActivation", defined)
    assert not resolve("tvexp.stable:MLP", defined)
    assert not resolve("tvexp._layers.no_such_module:Conv2dNormActivation", defined)


def test_a_missing_public_submodule_is_skipped_not_a_crash() -> None:
    objects = surface.collect(namespaces={"tvexp.stable": "stable", "tvexp.stable.no_such": "stable"}, core={})
    assert "tvexp.stable.MLP" in objects and not any(name.startswith("tvexp.stable.no_such") for name in objects)


# --------------------------------------------------------------------------- scratch copies


@pytest.mark.subprocess
def test_removed_public_submodule_reports_every_name(tmp_path: Path) -> None:
    root = scratch_copy(tmp_path)
    (root / "tvexp" / "stable" / "losses.py").unlink()
    check = run_tooling(root, "check")
    assert check.returncode == 1 and "Traceback" not in check.stderr, check.stderr
    diff = run_tooling(root, "diff", "0.1.0", "live")
    assert diff.returncode == 1, diff.stdout + diff.stderr
    for name in ("sigmoid_focal_loss", "generalized_box_iou_loss", "distance_box_iou_loss", "complete_box_iou_loss"):
        assert f"BREAKING       tvexp.stable.losses.{name}: object-removed" in diff.stdout, diff.stdout


@pytest.mark.subprocess
def test_renamed_class_with_its_public_name_kept_is_compatible(tmp_path: Path) -> None:
    root = scratch_copy(tmp_path)
    layer = root / "tvexp" / "_layers" / "permute.py"
    _edit(layer, "class Permute(nn.Module):", "class PermuteDims(nn.Module):")
    layer.write_text(layer.read_text() + "\n\nPermute = PermuteDims  # the old name, for imports and pickles\n")
    _edit(layer, '__all__ = ["Permute"]', '__all__ = ["Permute", "PermuteDims"]')
    diff = run_tooling(root, "diff", "0.1.0", "live")
    assert diff.returncode == 0, diff.stdout + diff.stderr
    assert "tvexp.stable.Permute: renamed-with-alias" in diff.stdout
    permute = [line for line in diff.stdout.splitlines() if "tvexp.stable.Permute:" in line]
    assert permute and all(line.startswith("compatible") for line in permute), permute
    assert not any("state-dict" in line or "removed" in line for line in permute), permute


@pytest.mark.subprocess
def test_snapshot_refuses_a_break_unless_acknowledged_with_a_reason(tmp_path: Path) -> None:
    root = scratch_copy(tmp_path)
    _edit(
        root / "tvexp" / "_layers" / "stochastic_depth.py",
        '__all__ = ["StochasticDepth", "stochastic_depth", "stochastic_depth_rates"]',
        '__all__ = ["StochasticDepth", "stochastic_depth", "stochastic_depth_rates"]\nBREAK = True',
    )
    _edit(root / "tvexp" / "stable" / "__init__.py", '    "StochasticDepth",\n', "")
    refused = run_tooling(root, "snapshot")
    assert refused.returncode == 1 and "refusing to accept a surface that breaks release 0.1.0" in refused.stderr
    assert "tvexp.stable.StochasticDepth: object-removed" in refused.stderr
    check = run_tooling(root, "check")
    assert check.returncode == 1 and "--acknowledge-breaking" in check.stdout, check.stdout
    accepted = run_tooling(root, "snapshot", "--acknowledge-breaking", "merged into DropPath (review #12)")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    committed = snapshot_format.parse_any((root / "tvexp" / "_tooling" / "snapshots" / "current.txt").read_text())
    assert committed["acknowledged"] == [
        {
            "symbol": "tvexp.stable.StochasticDepth",
            "kind": "object-removed",
            "reason": "merged into DropPath (review #12)",
        }
    ]
    assert run_tooling(root, "check").returncode == 0


@pytest.mark.subprocess
def test_diff_sources_git_revision_and_installed_tree(tmp_path: Path) -> None:
    # A git revision is snapshotted from `git archive` in a fresh interpreter; so is an installed tree.
    by_revision = run_tooling(REPO, "diff", "HEAD", "live", "--format", "json")
    assert by_revision.returncode in (0, 1), by_revision.stderr
    assert json.loads(by_revision.stdout)["old"]["source"] == "HEAD"
    site = tmp_path / "site-packages"
    shutil.copytree(REPO / "tvexp", site / "tvexp", ignore=shutil.ignore_patterns("__pycache__"))
    installed = run_tooling(REPO, "diff", str(site), "live")
    assert installed.returncode == 0 and "no API changes" in installed.stdout, installed.stdout + installed.stderr
    unknown = run_tooling(REPO, "diff", "no-such-revision-or-file", "live")
    assert unknown.returncode == 2 and "git revision" in unknown.stderr and "Traceback" not in unknown.stderr


@pytest.mark.slow
@pytest.mark.subprocess
def test_promote_and_deprecate_leave_the_suite_green(tmp_path: Path) -> None:
    # A maintainer's two commands on one scratch copy, then the parts of the suite they touch, with no hand edit.
    root = scratch_copy(tmp_path, "tests", "examples", "README.md")
    promoted = run_tooling(root, "promote", "LayerNorm2d")
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    assert "tvexp.prototype.LayerNorm2d keeps working" in promoted.stdout
    assert "review these uses of the old path" in promoted.stdout and "examples/train_digits.py" in promoted.stdout
    deprecated = run_tooling(
        root, "deprecate", "tvexp.stable.Permute", "--removed-in", "0.4.0", "--instead", "torch.permute"
    )
    assert deprecated.returncode == 0, deprecated.stdout + deprecated.stderr
    assert "tvexp.stable.Permute: deprecated" in deprecated.stdout
    environment = {**os.environ, "PYTHONPATH": str(root)}
    selection = [
        "-k",
        "stable or marker or exported or moved or expiry or LayerNorm2d or Permute or surface or readme "
        "or acknowledged or case",
        "tests/core/test_tiers.py",
        "tests/core/test_expiry.py",
        "tests/core/test_moved_names.py",
        "tests/blocks/test_layer_norm_2d.py",
        "tests/layers/test_permute.py",
        "tests/tools/test_surface.py",
        "tests/tools/test_readme_table.py",
        "tests/tools/test_release_gate.py::test_no_unacknowledged_breaking_change_against_the_last_release",
        "tests/conformance/test_battery_complete.py",
        "tests/conformance/test_layer_battery.py",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-m", "not slow", *selection],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " deselected" in result.stdout
