"""``tvexp-api``: every subcommand through ``main(argv)``, the console script once as a subprocess,
and promote/deprecate end to end on a scratch copy of the package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

import tvexp
from tests.tools.scratch import run_tooling
from tvexp._api.deprecation import Deprecation
from tvexp._api.policy import removal_status
from tvexp._tooling import cli, snapshot_format, snapshot_store

REPO = Path(__file__).resolve().parents[2]


def _function(tier: str = "stable", default: str = "0.5", deprecated=None) -> dict:
    return {
        "tier": tier,
        "since": "0.1.0",
        "kind": "function",
        "defined": "tvexp._layers.x:f",
        "deprecated": deprecated,
        "signature": {
            "parameters": [
                {"name": "x", "kind": "positional-or-keyword", "annotation": "Tensor", "default": None},
                {"name": "p", "kind": "positional-or-keyword", "annotation": "float", "default": default},
            ],
            "returns": "Tensor",
        },
        "prototype_parameters": {},
        "deprecated_parameters": {},
    }


def _write(path: Path, objects: dict, version: str = "0.1.0") -> Path:
    path.write_text(snapshot_format.render_text({"version": version, "objects": objects}))
    return path


@pytest.fixture
def snapshot_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for the package's snapshot directory, inside a fake installed (non-source) tree."""
    directory = tmp_path / "site-packages" / "tvexp" / "_tooling" / "snapshots"
    directory.mkdir(parents=True)
    monkeypatch.setattr(snapshot_store, "SNAPSHOT_DIRECTORY", directory)
    return directory


def test_snapshot_writes_text_and_json_to_output(tmp_path: Path, capsys) -> None:
    assert cli.main(["snapshot", "--output", str(tmp_path / "s.txt")]) == 0
    assert cli.main(["snapshot", "--output", str(tmp_path / "s.json"), "--format", "json"]) == 0
    text = snapshot_format.parse_any((tmp_path / "s.txt").read_text())
    data = json.loads((tmp_path / "s.json").read_text())
    assert text == data == snapshot_store.live_snapshot()
    assert "tvexp.TvexpDeprecationWarning" in data["objects"]


def test_snapshot_refuses_to_rewrite_the_committed_one_outside_a_source_checkout(
    snapshot_directory: Path, capsys
) -> None:
    assert not snapshot_store.is_source_checkout()
    assert cli.main(["snapshot"]) == 1
    assert "refusing to rewrite the committed snapshot" in capsys.readouterr().err
    assert not (snapshot_directory / "current.txt").exists()


def test_check_passes_on_the_repository_and_fails_on_a_stale_snapshot(snapshot_directory: Path, capsys) -> None:
    live = snapshot_store.live_snapshot()
    _write(snapshot_directory / "current.txt", live["objects"], live["version"])
    assert cli.main(["check"]) == 0
    stale = dict(live["objects"])
    stale.pop(next(s for s, f in stale.items() if f["tier"] == "core"))
    _write(snapshot_directory / "current.txt", stale, live["version"])
    capsys.readouterr()
    assert cli.main(["check"]) == 1
    out = capsys.readouterr().out
    assert "object-added" in out and "tvexp-api snapshot" in out


def test_diff_of_files_exit_status_and_json(tmp_path: Path, capsys) -> None:
    old = _write(tmp_path / "old.txt", {"tvexp.stable.functional.f": _function()})
    changed = _write(tmp_path / "new.txt", {"tvexp.stable.functional.f": _function(default="0.1")}, "0.2.0")
    compatible = _write(
        tmp_path / "ok.txt",
        {"tvexp.stable.functional.f": _function(), "tvexp.prototype.g": _function("prototype")},
        "0.2.0",
    )
    assert cli.main(["diff", str(old), str(changed)]) == 1
    assert "BREAKING" in capsys.readouterr().out
    assert cli.main(["diff", str(old), str(changed), "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["old"] == {"source": str(old), "version": "0.1.0"}
    assert document["new"] == {"source": str(changed), "version": "0.2.0"} and document["breaking"] == 1
    (change,) = document["changes"]
    assert change == {
        "symbol": "tvexp.stable.functional.f",
        "tier": "stable",
        "verdict": "BREAKING",
        "breaking": True,
        "kind": "parameter-default-changed",
        "description": change["description"],
        "detail": "parameter p default 0.5 -> 0.1",
        "old": "0.5",
        "new": "0.1",
        "since": "0.1.0",
        "removed_in": None,
        "defined": "tvexp._layers.x:f",
        "location": None,
    }
    assert change["description"].startswith("A parameter's default value changed")
    assert cli.main(["diff", str(old), str(changed), "--format", "markdown"]) == 1
    markdown = capsys.readouterr().out
    assert "1 change(s), 1 breaking" in markdown and "| ❌ breaking | `tvexp.stable.functional.f` |" in markdown
    assert cli.main(["diff", str(old), str(changed), "--format", "github"]) == 1
    assert capsys.readouterr().out.startswith("::error title=breaking API change::tvexp.stable.functional.f: ")
    assert cli.main(["diff", str(old), str(compatible), "--format", "json"]) == 0
    assert [c["kind"] for c in json.loads(capsys.readouterr().out)["changes"]] == ["object-added"]


def test_diff_against_a_shipped_release_and_live(snapshot_directory: Path, capsys) -> None:
    live = snapshot_store.live_snapshot()
    _write(snapshot_directory / "0.1.0.txt", live["objects"], "0.1.0")
    assert cli.main(["diff", "0.1.0", "live"]) == 0
    assert capsys.readouterr().out == "no API changes\n"
    assert cli.main(["diff", "0.0.9", "live"]) == 2
    assert "is not a snapshot file, a wheel, a directory holding tvexp, a git revision" in capsys.readouterr().err


def test_list_prints_a_table_filtered_by_tier(capsys) -> None:
    assert cli.main(["list", "--tier", "core"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["symbol", "tier", "since", "kind", "status"]
    assert {line.split()[0] for line in lines[1:]} == {
        "tvexp.PrototypeWarning",
        "tvexp.TvexpDeprecationWarning",
        "tvexp.__version__",
        "tvexp.prototype.opt_in",
        "tvexp.prototype.opted_in",
    }
    assert all(line.split()[1] == "core" for line in lines[1:])


def test_deprecations_lists_each_record_with_its_status(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from tvexp._api import deprecation

    monkeypatch.setattr(tvexp, "__version__", "0.3.0.dev0")
    records = [
        Deprecation("object", "tvexp.stable.Late", "0.1.0", "0.2.0", "tvexp.stable.New"),
        Deprecation("parameter", "tvexp._layers.x.f:old", "0.1.0", "0.3.0", "new", "renamed"),
        Deprecation("moved-name", "tvexp.prototype.Moved", "0.2.0", "0.4.0", "tvexp.stable.Moved"),
    ]
    monkeypatch.setattr(deprecation, "REGISTRY", records)
    assert cli.main(["deprecations"]) == 0
    rows = {line.split()[1]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert "overdue" in rows["tvexp.stable.Late"]
    assert "due in the next release" in rows["tvexp._layers.x.f:old"]
    assert "pending" in rows["tvexp.prototype.Moved"] and "tvexp.stable.Moved" in rows["tvexp.prototype.Moved"]


@pytest.mark.parametrize(
    ("removed_in", "current", "status"),
    [
        ("0.2.0", "0.2.0.dev0", "due in the next release"),
        ("0.2.0", "0.1.0", "due in the next release"),
        ("0.1.0", "0.2.0.dev0", "overdue"),
        ("0.4.0", "0.2.0", "pending"),
    ],
)
def test_deprecation_status(removed_in: str, current: str, status: str) -> None:
    assert str(removal_status(removed_in, current)) == status


def test_promote_and_deprecate_refuse_without_editing(capsys) -> None:
    import tvexp.stable

    stable_name = tvexp.stable.__all__[0]
    source = (REPO / "tvexp" / "stable" / "__init__.py").read_text()
    assert cli.main(["promote", stable_name]) == 1
    assert "already stable" in capsys.readouterr().err
    assert cli.main(["promote", "NoSuchLayer"]) == 1
    assert cli.main(["deprecate", stable_name, "--removed-in", tvexp.__version__.split(".dev")[0]]) == 1
    error = capsys.readouterr().err
    assert "the deprecation policy needs at least 2: the earliest allowed removed_in is '0.4.0'" in error, error
    assert (REPO / "tvexp" / "stable" / "__init__.py").read_text() == source


@pytest.mark.subprocess
def test_console_script_runs_as_a_subprocess() -> None:
    script = Path(sys.executable).with_name("tvexp-api")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "tvexp._tooling"]
    result = subprocess.run(
        [*command, "diff", "current", "current", "--format", "json"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["changes"] == []


# --------------------------------------------------------------------------- end to end on a scratch copy

FIXTURE_LAYER = '''
"""A scratch prototype layer for the promotion test."""

from __future__ import annotations

from torch import Tensor, nn

from tvexp._api.tiers import prototype


@prototype(since="0.1.0")
class ScratchScale(nn.Module):
    """Multiplies by a learned per-channel scale.

    Example:
        >>> ScratchScale(3)(torch.ones(1, 3, 2, 2)).shape
        torch.Size([1, 3, 2, 2])
    """

    def __init__(self, channels: int, device=None, dtype=None) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(channels, 1, 1, device=device, dtype=dtype))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.scale
'''

FIXTURE_CASE = """

LAYER_CASES.append(LayerCase(
    id="ScratchScale/c3",
    build=_prototype("ScratchScale", 3),
    inputs=lambda: (randn(2, 3, 4, 4),),
    output_shape=(2, 3, 4, 4),
    reference=True,
    rejects={"channels=-1": _prototype("ScratchScale", -1)},
))
"""


@pytest.mark.subprocess
def test_promote_then_deprecate_on_a_scratch_copy(tmp_path: Path) -> None:
    from tvexp._tooling.source_edit import add_export

    root = tmp_path / "checkout"
    shutil.copytree(REPO / "tvexp", root / "tvexp", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copy(REPO / "README.md", root / "README.md")
    layer = root / "tvexp" / "_layers" / "scratch_scale.py"
    layer.write_text(
        FIXTURE_LAYER.replace("from torch import Tensor, nn", "import torch\nfrom torch import Tensor, nn")
    )
    add_export(root / "tvexp" / "prototype" / "__init__.py", "ScratchScale", "tvexp._layers.scratch_scale")
    area = root / "tvexp" / "_tooling" / "conformance" / "blocks.py"
    area.write_text(area.read_text() + FIXTURE_CASE)
    init = root / "tvexp" / "__init__.py"
    # Released as prototype in 0.1.0, now developing 0.2.0: the old path must keep working.
    release = {
        "tvexp.prototype.ScratchScale": {
            "tier": "prototype",
            "since": "0.1.0",
            "kind": "class",
            "defined": "tvexp._layers.scratch_scale:ScratchScale",
        }
    }
    _write(root / "tvexp" / "_tooling" / "snapshots" / "0.1.0.txt", release, "0.1.0")
    init.write_text(init.read_text().replace(f'__version__ = "{tvexp.__version__}"', '__version__ = "0.2.0.dev0"'))

    result = run_tooling(root, "promote", "ScratchScale", "--skip-conformance")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "promoted to tvexp.stable.ScratchScale" in result.stdout
    stable_row = next(
        line for line in (root / "README.md").read_text().splitlines() if line.startswith("| `tvexp.stable`")
    )
    assert "`ScratchScale` (since 0.2.0)" in stable_row, "promote regenerates the README's tier table"
    assert '@stable(since="0.2.0")' in layer.read_text()
    assert "from tvexp._api.tiers import stable\n" in layer.read_text()
    stable_init = (root / "tvexp" / "stable" / "__init__.py").read_text()
    assert '"ScratchScale",' in stable_init and "import ScratchScale" in stable_init
    assert "ScratchScale" not in (root / "tvexp" / "prototype" / "__init__.py").read_text()
    assert (
        '("tvexp.prototype:ScratchScale", "tvexp.stable:ScratchScale", "0.2.0", "0.3.0")'
        in (root / "tvexp" / "_api" / "moved_names.py").read_text()
    )
    current = snapshot_format.parse_text((root / "tvexp" / "_tooling" / "snapshots" / "current.txt").read_text())
    assert current["objects"]["tvexp.stable.ScratchScale"]["tier"] == "stable"
    assert current["objects"]["tvexp.prototype.ScratchScale"]["kind"] == "moved-name"
    assert current["objects"]["tvexp.stable.ScratchScale"]["state_dict"]["ScratchScale/c3"]["scale"]["shape"] == [
        3,
        1,
        1,
    ]

    old_path = subprocess.run(
        [
            sys.executable,
            "-W",
            "always",
            "-c",
            textwrap.dedent("""
            import pickle, tvexp.stable, tvexp.prototype
            layer = tvexp.stable.ScratchScale(3)
            assert tvexp.prototype.ScratchScale is tvexp.stable.ScratchScale
            assert type(pickle.loads(pickle.dumps(layer))) is tvexp.stable.ScratchScale
        """),
        ],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert old_path.returncode == 0, old_path.stderr
    assert "TvexpDeprecationWarning: tvexp.prototype.ScratchScale is deprecated since tvexp 0.2.0" in old_path.stderr

    result = run_tooling(root, "deprecate", "ScratchScale", "--removed-in", "0.4.0", "--instead", "tvexp.stable.MLP")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "deprecated: deprecated since 0.2.0, removed in 0.4.0" in result.stdout
    source = layer.read_text()
    assert (
        '@deprecated_object(since="0.2.0", removed_in="0.4.0", instead="tvexp.stable.MLP", name="tvexp.stable.ScratchScale")'
        in source
    )
    assert "@typing_extensions.deprecated(" in source
    current = snapshot_format.parse_text((root / "tvexp" / "_tooling" / "snapshots" / "current.txt").read_text())
    assert current["objects"]["tvexp.stable.ScratchScale"]["deprecated"] == {
        "since": "0.2.0",
        "removed_in": "0.4.0",
        "instead": "tvexp.stable.MLP",
    }


# --------------------------------------------------------------------------- promotion refusals and the battery


def _layer_classes():
    import torch
    from torch import Tensor, nn

    from tvexp._api.tiers import prototype

    @prototype(since="0.1.0")
    class Inner(nn.Module):
        """Inner.

        Example:
            >>> Inner()
        """

        def forward(self, x: Tensor) -> Tensor:
            return x

    @prototype(since="0.1.0")
    class Documented(nn.Module):
        """Scales.

        Example:
            >>> Documented()(torch.ones(1)).shape
            torch.Size([1])
        """

        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(3))

        def forward(self, x: Tensor) -> Tensor:
            return x * self.weight

    @prototype(since="0.1.0")
    class Undocumented(Inner):
        def __init__(self, block: type[nn.Module] = Inner) -> None:
            super().__init__()
            self.block = block()

    class Branchy(nn.Module):
        def forward(self, x: Tensor) -> Tensor:
            if x.sum().item() > 0:  # data-dependent Python control flow: not traceable or exportable
                return x * 2
            return x

    return Inner, Documented, Undocumented, Branchy


def test_promotion_refuses_missing_examples_and_prototype_dependencies(monkeypatch: pytest.MonkeyPatch) -> None:
    from tvexp._tooling.conformance import cases
    from tvexp._tooling.conformance.table import LayerCase, randn
    from tvexp._tooling.source_edit import promotion_problems

    Inner, Documented, Undocumented, _ = _layer_classes()
    monkeypatch.setattr(
        cases,
        "LAYER_CASES",
        [
            LayerCase(
                id="Undocumented/default",
                build=Undocumented,
                inputs=lambda: (randn(2, 3),),
                output_shape=(2, 3),
                reference=True,
            ),
            LayerCase(
                id="Documented/default",
                build=Documented,
                inputs=lambda: (randn(2, 3),),
                output_shape=(2, 3),
                reference=True,
                rejects={"3-d input": lambda: Documented()(randn(2, 3, 1))},
            ),
        ],
    )
    problems = promotion_problems("Undocumented", Undocumented, conformance=False)
    text = "\n".join(problems)
    assert "no example" in text
    assert "records no bad uses (rejects=)" in text
    assert "subclasses the prototype class" in text and "Inner" in text
    assert "the default of 'block' is the prototype object" in text
    assert "builds the prototype sub-layer block" in text
    assert promotion_problems("Documented", Documented, conformance=False) == []
    missing = promotion_problems("Inner", Inner, conformance=False)
    assert any("no case in the conformance table" in p for p in missing)


def test_run_conformance_passes_a_conforming_layer_and_reports_failures() -> None:
    from tvexp._tooling.conformance.checks import CHECK_NAMES, CheckStatus, applies, failures, run_conformance
    from tvexp._tooling.conformance.table import LayerCase, randn

    _, Documented, _, Branchy = _layer_classes()
    good = LayerCase(id="Documented/default", build=Documented, inputs=lambda: (randn(2, 3),), output_shape=(2, 3))
    # a local class does not pickle, and this toy layer has no hyperparameters for its repr to name
    local = tuple(check for check in CHECK_NAMES if check not in ("pickle", "repr"))
    outcomes = run_conformance(good, checks=local)
    assert set(outcomes) == {check for check in local if applies(good, check)}  # 2-d input: no channels_last
    assert failures(outcomes) == {}, outcomes
    from tvexp._tooling.conformance.cases import LAYER_CASES

    assert {name: str(o) for name, o in run_conformance(LAYER_CASES[0], checks=("pickle",)).items()} == {
        "pickle": "passed"
    }

    bad = LayerCase(
        id="Branchy/default",
        build=Branchy,
        inputs=lambda: (randn(2, 3),),
        output_shape=(2, 3),
        expected_failures={"script": "declared limit"},
    )
    outcomes = run_conformance(bad, checks=("shape", "fx", "script"))
    assert outcomes["shape"].status is CheckStatus.PASSED
    assert outcomes["fx"].status is CheckStatus.FAILED and str(outcomes["fx"]).startswith("failed: ")
    assert str(outcomes["script"]) in ("expected failure: declared limit", "unexpectedly passed")
    assert "fx" in failures(outcomes) and "shape" not in failures(outcomes)


def test_promote_lists_uses_found_by_the_audit_engine_aliases_included() -> None:
    from tvexp._tooling.source_edit import references_to_review

    found = references_to_review(REPO, "tvexp.prototype.LayerNorm2d")
    files = {entry.split(":", 1)[0] for entry in found}
    # tvp.LayerNorm2d in the demo and a distributed worker, the README table, a docs example.
    assert {"examples/train_digits.py", "README.md", "tests/distributed/ddp_worker.py"} <= files, found
    assert any(entry.startswith("docs/") for entry in found), found


def test_diff_against_live_locates_definitions_for_annotations(capsys) -> None:
    assert cli.main(["diff", "0.1.0", "live", "--format", "json"]) == 0
    changes = json.loads(capsys.readouterr().out)["changes"]
    added = next(c for c in changes if c["symbol"] == "tvexp.prototype.make_divisible")
    assert added["location"].endswith("tvexp/_layers/channel_rounding.py:" + added["location"].rsplit(":", 1)[1])


@pytest.mark.parametrize(
    ("argv", "status"),
    [
        (["diff", "no/such/file.txt", "live"], 2),
        (["diff", "0.1.0"], 2),
        (["no-such-command"], 2),
        (["list", "--format", "json"], 0),
        (["deprecations", "--format", "json"], 0),
        (["check", "--format", "json"], 0),
    ],
)
def test_exit_status(argv: list[str], status: int, capsys) -> None:
    assert cli.main(argv) == status
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    if status == 0:
        assert json.loads(captured.out)


@pytest.mark.subprocess
def test_a_closed_pipe_is_not_a_traceback(tmp_path: Path) -> None:
    reader = subprocess.Popen(
        [sys.executable, "-m", "tvexp._tooling", "list", "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.read(10)
    reader.stdout.close()  # as `| head -c 10` does
    stderr = reader.stderr.read().decode()
    reader.wait(timeout=120)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr


def test_promotion_refuses_code_that_calls_a_prototype_function() -> None:
    from tvexp._tooling.source_edit import promotion_problems, runtime_prototype_calls
    from tvexp.prototype.losses import DiceLoss, dice_loss

    namespace: dict[str, object] = {"dice_loss": dice_loss, "nn": torch.nn}
    exec(  # a stable-looking loss whose forward calls the prototype function form, as DiceLoss once did
        "class Wrapper(nn.Module):\n"
        "    def forward(self, logits, target):\n"
        "        return (lambda: dice_loss(logits, target))()\n",
        namespace,
    )
    wrapper = namespace["Wrapper"]
    assert runtime_prototype_calls(wrapper) == ["tvexp._losses.dice_loss.dice_loss"]  # found in a nested lambda
    problems = promotion_problems("Wrapper", wrapper, conformance=False)
    assert any("calls the prototype object tvexp._losses.dice_loss.dice_loss" in p for p in problems), problems
    # DiceLoss's forward runs the private implementation it shares with the function: promotable on this count.
    assert runtime_prototype_calls(DiceLoss) == []
