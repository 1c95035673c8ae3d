"""The breaking-change catalogue (shared/anchors/tooling.md, section 8), measured.

Two releases of a small package, ``catalogue/old_impl.py`` and ``catalogue/new_impl.py``, hold one public
object per catalogue row and that row's edit. Each release is snapshotted by ``tvexp._tooling.surface`` in
its own interpreter, as ``tvexp-api snapshot`` does, with conformance cases for the layers; the new
release is then diffed against the old one with the live package (so moved definitions are checked against
what still imports). Every row must be classified as the table below says: the kinds reported and whether
the row breaks users.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "catalogue"

OLD_EXPORTS = [
    "r01_removed", "r03_unlisted", "R04Moved", "r05", "r06", "r07", "r08", "r09", "r10", "r11", "r12", "r13",
    "R14", "r15", "r16", "r17", "r18", "r19", "r20", "r21", "r22", "R23", "R24", "R25", "R26", "R27", "R28",
    "R30", "R31", "R31b", "R32", "R33", "R34", "R35", "r36", "R37", "R38", "R39", "R40", "r41", "R42", "R43",
    "R44", "r45", "R46",
]  # fmt: skip
NEW_EXPORTS = [name for name in OLD_EXPORTS if name not in ("r01_removed", "r03_unlisted", "R38")]

# row -> (symbol, the change kinds reported for it, breaking?). Kinds are the set reported for the symbol.
EXPECTED: dict[str, tuple[str, set[str], bool]] = {
    "1 public symbol removed": ("catpkg.stable.r01_removed", {"object-removed"}, True),
    "2 submodule removed": ("catpkg.stable.sub.r02_in_sub", {"object-removed"}, True),
    "3 name dropped from __all__ only": ("catpkg.stable.r03_unlisted", {"object-removed"}, True),
    "4 moved, re-exported at the old path": ("catpkg.stable.R04Moved", {"defining-module-changed"}, False),
    "5 parameter removed": ("catpkg.stable.r05", {"parameter-removed"}, True),
    "6 parameter renamed": ("catpkg.stable.r06", {"parameter-removed", "parameter-added-required"}, True),
    "7 positional parameters reordered": ("catpkg.stable.r07", {"parameter-moved"}, True),
    "8 new required parameter": ("catpkg.stable.r08", {"parameter-added-required"}, True),
    "9 new required keyword-only parameter": ("catpkg.stable.r09", {"parameter-added-required"}, True),
    "10 optional -> required": ("catpkg.stable.r10", {"parameter-now-required"}, True),
    "11 default value changed": ("catpkg.stable.r11", {"parameter-default-changed"}, True),
    "12 positional-or-keyword -> keyword-only": ("catpkg.stable.r12", {"parameter-kind-changed"}, True),
    "13 positional-or-keyword -> positional-only": ("catpkg.stable.r13", {"parameter-kind-changed"}, True),
    "14 __init__ argument becomes keyword-only": ("catpkg.stable.R14", {"parameter-kind-changed"}, True),
    "15 *args removed": ("catpkg.stable.r15", {"parameter-removed"}, True),
    "16 **kwargs removed": ("catpkg.stable.r16", {"parameter-removed"}, True),
    "17 named parameter folded into **kwargs": ("catpkg.stable.r17", {"parameter-removed", "parameter-added"}, True),
    "18 parameter annotation narrowed": ("catpkg.stable.r18", {"parameter-annotation-narrowed"}, True),
    "19 return annotation widened": ("catpkg.stable.r19", {"return-annotation-widened"}, True),
    "20 return annotation narrowed": ("catpkg.stable.r20", {"return-annotation-narrowed"}, False),
    "21 return annotation removed": ("catpkg.stable.r21", {"return-annotation-widened"}, True),
    "22 object kind changed": ("catpkg.stable.r22", {"object-kind-changed"}, True),
    "23 method -> property": ("catpkg.stable.R23", {"member-kind-changed"}, True),
    "24 staticmethod -> instance method": ("catpkg.stable.R24", {"member-kind-changed"}, True),
    # One finding (griffe reports cls removed and x moved); breaking, since Sub.build() loses cls.
    "25 classmethod -> staticmethod": ("catpkg.stable.R25", {"member-kind-changed"}, True),
    "26 base class removed": ("catpkg.stable.R26", {"base-removed"}, True),
    "27 class attribute removed": ("catpkg.stable.R27", {"attribute-removed"}, True),
    "28 instance attribute renamed": ("catpkg.stable.R28", {"attribute-removed", "member-added"}, True),
    "30 sub-layer attribute renamed": (
        "catpkg.stable.R30",
        {"attribute-removed", "member-added", "state-dict-key-renamed"},
        True,
    ),
    "31 state_dict key renamed (buffer)": (
        "catpkg.stable.R31",
        {"state-dict-key-renamed", "attribute-removed", "member-added"},
        True,
    ),
    # Checkpoints load through the migration, but `layer.scale` is gone: still breaking without a property alias.
    "31b same, with a state-dict migration": (
        "catpkg.stable.R31b",
        {"state-dict-key-renamed-migrated", "state-dict-version-changed", "attribute-removed", "member-added"},
        True,
    ),
    "32 buffer shape changed": ("catpkg.stable.R32", {"state-dict-shape-changed"}, True),
    "33 buffer dtype changed": ("catpkg.stable.R33", {"state-dict-dtype-changed"}, True),
    "34 buffer persistence flipped": ("catpkg.stable.R34", {"state-dict-persistence-changed"}, True),
    "35 forward output contract changed": ("catpkg.stable.R35", {"output-changed", "return-annotation-widened"}, True),
    "36 loss reduction default changed": ("catpkg.stable.r36", {"parameter-default-changed"}, True),
    "37 raised exception type changed": ("catpkg.stable.R37", {"exception-changed"}, True),
    "38 stable -> prototype": ("catpkg.stable.R38", {"demoted"}, True),
    "39 deprecation shim removed early": ("catpkg.stable.R39Old", {"shim-removed-early"}, True),
    "40 scriptability lost": ("catpkg.stable.R40", {"capability-lost"}, True),
    "41 optional parameter inserted before another": (
        "catpkg.stable.r41",
        {"parameter-moved", "parameter-added"},
        True,
    ),
    "42 new abstract method on a public base": (
        "catpkg.stable.R42",
        {"new-abstract-method", "class-now-abstract"},
        True,
    ),
    "43 enum member removed": ("catpkg.stable.R43", {"attribute-removed"}, True),
    "44 class renamed, old name kept": ("catpkg.stable.R44", {"renamed-with-alias"}, False),
    "45 keyword-only parameters reordered": ("catpkg.stable.r45", set(), False),
    "46 override removed, still inherited": ("catpkg.stable.R46", {"member-origin-changed"}, False),
}

CASES = """
from tvexp._tooling.conformance.table import LayerCase, randn
from catpkg import impl


def case(name, expected_failures=None, rejects=None):
    return LayerCase(
        id=f"{name}/default",
        build=lambda: getattr(impl, name)(),
        inputs=lambda: (randn(2, 4),),
        output_shape=(2, 4),
        reference=True,
        layer=name,
        expected_failures=expected_failures or {},
        rejects=rejects or {},
    )


LAYER_CASES = [case(name) for name in ("R30", "R31", "R31b", "R32", "R33", "R34", "R35")] + [
    case("R37", rejects={"channels=0": lambda: impl.R37(0)}),
    case("R40", expected_failures={"script": "a declared limit"} if NEW else {}),
]
"""

RUNNER = """
import json, sys
from tvexp._api.deprecation import MovedName
from tvexp._tooling import api_diff, snapshot_format, snapshot_store, surface
from tvexp._tooling.conformance import cases
import catpkg._cases as table

cases.LAYER_CASES, cases.LOSS_CASES = table.LAYER_CASES, []
namespaces = {"catpkg.stable": "stable", "catpkg.stable.sub": "stable", "catpkg.prototype": "prototype"}
moved = {}
if sys.argv[1] == "0.1.0":
    moved["catpkg.stable:R39Old"] = MovedName("catpkg.stable:R39Old", "catpkg.stable:R39", "0.1.0", "0.4.0")
snapshot = {"version": sys.argv[1], "objects": surface.collect(namespaces, core={}, moved_names=moved)}
if len(sys.argv) == 2:
    print(snapshot_format.render_json(snapshot))
else:
    old = snapshot_format.parse_any(open(sys.argv[2]).read())
    changes = api_diff.diff_snapshots(old, snapshot, snapshot_store.live_path_resolver)
    print(json.dumps([change.to_json() for change in changes]))
"""


def _release(root: Path, impl: str, exports: list[str], new: bool) -> Path:
    package = root / "catpkg"
    (package / "stable").mkdir(parents=True)
    (package / "prototype").mkdir()
    (package / "__init__.py").write_text("")
    shutil.copy(HERE / impl, package / "impl.py")
    (package / "_cases.py").write_text(f"NEW = {new}\n" + textwrap.dedent(CASES))
    stable = [name for name in exports if not (new and name == "R38")]
    (package / "stable" / "__init__.py").write_text(
        f"from catpkg.impl import {', '.join(stable)}\n__all__ = {sorted(stable)!r}\n"
        + ("" if new else "from catpkg.impl import r03_unlisted  # noqa: F401\n")
    )
    (package / "prototype" / "__init__.py").write_text(
        "from catpkg.impl import R38\n__all__ = ['R38']\n" if new else "__all__ = []\n"
    )
    if new:
        (package / "_moved.py").write_text(
            "from tvexp._api.tiers import stable\n\n\n@stable(since='0.1.0')\nclass R04Moved:\n    pass\n"
        )
        (package / "impl.py").write_text((package / "impl.py").read_text())
    else:
        (package / "stable" / "sub.py").write_text(
            "from tvexp._api.tiers import stable\n\n\n@stable(since='0.1.0')\ndef r02_in_sub(x: int) -> int:\n"
            "    return x\n\n\n__all__ = ['r02_in_sub']\n"
        )
    return root


def _python(root: Path, *args: str) -> str:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(Path(__file__).resolve().parents[2])])}
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, *args], capture_output=True, text=True, env=environment, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def classified(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, object]]]:
    base = tmp_path_factory.mktemp("catalogue")
    old = _release(base / "old", "old_impl.py", OLD_EXPORTS, new=False)
    new = _release(base / "new", "new_impl.py", NEW_EXPORTS, new=True)
    snapshot = base / "old.json"
    snapshot.write_text(_python(old, "0.1.0"))
    changes = json.loads(_python(new, "0.2.0", str(snapshot)))
    by_symbol: dict[str, list[dict[str, object]]] = {}
    for change in changes:
        by_symbol.setdefault(str(change["symbol"]), []).append(change)
    return by_symbol


@pytest.mark.subprocess
@pytest.mark.parametrize("row", list(EXPECTED))
def test_catalogue_row(row: str, classified: dict[str, list[dict[str, object]]]) -> None:
    symbol, kinds, breaking = EXPECTED[row]
    changes = classified.get(symbol, [])
    assert {str(c["kind"]) for c in changes} == kinds, changes
    assert any(c["breaking"] for c in changes) is breaking, changes


@pytest.mark.subprocess
def test_nothing_else_changed(classified: dict[str, list[dict[str, object]]]) -> None:
    known = {symbol for symbol, _, _ in EXPECTED.values()} | {"catpkg.prototype.R38"}
    assert set(classified) <= known, sorted(set(classified) - known)
