"""The API surface: the committed snapshot matches the live package, and collection records every fact."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from tvexp._api.deprecation import MovedName
from tvexp._tooling import api_diff, snapshot_format, snapshot_store, surface


def test_committed_snapshot_matches_the_live_surface() -> None:
    equal, report = snapshot_store.check_report()
    # The report holds the unified diff, its classification and the one command that accepts it.
    assert equal, report


def test_the_snapshot_is_deterministic_and_parses_back_to_the_same_surface() -> None:
    first = snapshot_store.live_snapshot()
    second = snapshot_store.live_snapshot()
    text = snapshot_format.render_text(first)
    assert text == snapshot_format.render_text(second)
    assert snapshot_format.parse_text(text) == first
    assert snapshot_format.parse_json(snapshot_format.render_json(first)) == first
    assert " at 0x" not in text, "a default rendered with a memory address is not deterministic"


def test_every_tier_member_and_core_object_is_in_the_surface() -> None:
    import tvexp.prototype
    import tvexp.stable

    objects = snapshot_store.live_snapshot()["objects"]
    for namespace, tier in surface.TIER_NAMESPACES.items():
        module = sys.modules[namespace]
        for name in module.__all__:
            assert objects[f"{namespace}.{name}"]["tier"] == tier
    for symbol in surface.CORE_OBJECTS:
        assert objects[symbol]["tier"] == "core"
    assert tvexp.stable.__name__ and tvexp.prototype.__name__


def test_every_module_class_has_a_state_dict_schema_from_its_reference_case() -> None:
    from tvexp._tooling.conformance.cases import LAYER_CASES

    objects = snapshot_store.live_snapshot()["objects"]
    reference = {case.class_name: case.id for case in LAYER_CASES if case.reference}
    for symbol, facts in objects.items():
        name = symbol.rpartition(".")[2]
        if facts.get("kind") == "class" and name in reference:
            assert reference[name] in facts["state_dict"], f"{symbol}: no schema of {reference[name]}"


FIXTURE = '''
from __future__ import annotations

import abc
import functools

import torch
from torch import Tensor, nn
import typing_extensions

from tvexp._api.deprecation import deprecated_object, migrate_state_dict, renamed_parameter, StateDictMigration
from tvexp._api.tiers import prototype, prototype_parameters, stable


@stable(since="0.1.0")
@migrate_state_dict(StateDictMigration(1, {"scale": "gain"}, since="0.1.0", removed_in="0.3.0"))
class Block(nn.Module):
    """A block."""

    _version = 2

    @prototype_parameters(fancy="0.1.0")
    @renamed_parameter(old="chans", new="channels", since="0.1.0", removed_in="0.3.0")
    def __init__(self, channels: int, /, kernel: int | tuple[int, int] = 3, *, act: type[nn.Module] = nn.ReLU,
                 fancy: bool = False, mix=functools.partial(max, 1), device=None, dtype=None) -> None:
        super().__init__()
        self.channels = channels
        self.fc = nn.Linear(channels, channels, device=device, dtype=dtype)
        self.register_buffer("gain", torch.ones(channels, 1))
        self.register_buffer("cache", torch.zeros(2, dtype=torch.int64), persistent=False)
        self.act = act()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.fc(x))

    @property
    def width(self) -> int:
        return self.channels

    @staticmethod
    def helper(a: int) -> int:
        return a

    @classmethod
    def build(cls, channels: int) -> "Block":
        return cls(channels)

    @abc.abstractmethod
    def extra(self) -> None: ...


@prototype(since="0.1.0")
def fancy(x: Tensor, p: float = 0.5) -> Tensor:
    """Fancy."""
    return x


@stable(since="0.1.0")
@deprecated_object(since="0.1.0", removed_in="0.3.0", instead="fx.stable.Block", name="fx.stable.Old")
@typing_extensions.deprecated("fx.stable.Old is deprecated since tvexp 0.1.0 and will be removed in 0.3.0; use fx.stable.Block instead.", category=None)
def old(x: Tensor) -> Tensor:
    """Old."""
    return x
'''


@pytest.fixture
def fixture_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    package = tmp_path / "fx"
    (package / "stable").mkdir(parents=True)
    (package / "prototype").mkdir()
    (package / "__init__.py").write_text("")
    (package / "impl.py").write_text(textwrap.dedent(FIXTURE))
    (package / "stable" / "__init__.py").write_text(
        "from fx.impl import Block, old as Old\n__all__ = ['Block', 'Old']\n"
    )
    (package / "prototype" / "__init__.py").write_text("from fx.impl import fancy\n__all__ = ['fancy']\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "fx" or m.startswith("fx.")]:
        monkeypatch.delitem(sys.modules, name)
    return {"fx.stable": "stable", "fx.prototype": "prototype"}


def test_collection_records_signature_members_markers_and_state(fixture_package, monkeypatch) -> None:
    from tvexp._tooling.conformance import cases
    from tvexp._tooling.conformance.table import LayerCase

    def build():
        import fx.impl

        return fx.impl.Block(4)  # nn.Module is no ABC: an abstractmethod marks, it does not block

    case = LayerCase(id="Block/c4", build=build, inputs=lambda: (), output_shape=(), reference=True, layer="Block")
    monkeypatch.setattr(cases, "LAYER_CASES", [case])
    moved = {"fx.prototype:Gone": MovedName("fx.prototype:Gone", "fx.stable:Block", "0.1.0", "0.2.0")}
    objects = surface.collect(fixture_package, core={}, moved_names=moved)

    block = objects["fx.stable.Block"]
    assert block["tier"] == "stable" and block["since"] == "0.1.0" and block["kind"] == "class"
    assert block["defined"] == "fx.impl:Block"
    assert block["bases"] == ["torch.nn.modules.module.Module"]
    parameters = {p["name"]: p for p in block["signature"]["parameters"]}
    assert list(parameters) == ["channels", "kernel", "act", "fancy", "mix", "device", "dtype"]
    assert parameters["channels"]["kind"] == "positional-only"
    assert parameters["kernel"] == {
        "name": "kernel",
        "kind": "positional-or-keyword",
        "annotation": "int | tuple[int, int]",
        "default": "3",
    }
    assert parameters["act"]["default"] == "torch.nn.modules.activation.ReLU"
    assert parameters["act"]["kind"] == "keyword-only"
    assert parameters["mix"]["default"] == "functools.partial(max, 1)"
    assert block["prototype_parameters"] == {"fancy": "0.1.0"}
    assert block["deprecated_parameters"]["chans"]["instead"] == "channels"
    members = block["members"]
    assert members["forward"]["signature"]["parameters"][0]["annotation"] == "Tensor"
    assert members["forward"]["signature"]["returns"] == "Tensor"
    assert members["width"] == {"kind": "property", "origin": "fx.impl.Block", "abstract": False, "annotation": "int"}
    assert members["helper"]["kind"] == "staticmethod"
    assert members["build"]["kind"] == "classmethod"
    assert members["extra"]["abstract"] is True
    assert "train" not in members and "state_dict" not in members, "nn.Module's own members are left out"
    assert members["fc"]["annotation"] == "torch.nn.modules.linear.Linear"
    schema = block["state_dict"]["Block/c4"]
    assert schema["fc.weight"] == {"role": "parameter", "dtype": "float32", "shape": [4, 4], "persistent": True}
    assert schema["gain"]["shape"] == [4, 1] and schema["gain"]["role"] == "buffer"
    assert schema["cache"] == {"role": "buffer", "dtype": "int64", "shape": [2], "persistent": False}
    assert block["state_dict_version"] == 2
    assert block["state_dict_migrations"][0]["renames"] == {"scale": "gain"}

    assert objects["fx.prototype.fancy"]["tier"] == "prototype"
    assert objects["fx.prototype.fancy"]["defined"] == "fx.impl:fancy", "the wrapper's defining module is recorded"
    assert [p["name"] for p in objects["fx.prototype.fancy"]["signature"]["parameters"]] == ["x", "p"]
    assert objects["fx.stable.Old"]["deprecated"] == {
        "since": "0.1.0",
        "removed_in": "0.3.0",
        "instead": "fx.stable.Block",
    }
    assert objects["fx.prototype.Gone"] == {
        "tier": "prototype",
        "since": "0.1.0",
        "kind": "moved-name",
        "moved_to": "fx.stable.Block",
        "removed_in": "0.2.0",
    }

    snapshot = {"version": "0.1.0", "objects": objects}
    assert snapshot_format.parse_text(snapshot_format.render_text(snapshot)) == snapshot


def test_a_changed_live_surface_is_reported_with_classification_and_the_accepting_command(tmp_path: Path) -> None:
    live = snapshot_store.live_snapshot()
    stale = {"version": live["version"], "objects": dict(live["objects"])}
    stale["objects"]["tvexp.stable.Vanished"] = {
        "tier": "stable",
        "since": "0.1.0",
        "kind": "function",
        "defined": "tvexp._layers.x:vanished",
        "deprecated": None,
        "signature": None,
        "prototype_parameters": {},
        "deprecated_parameters": {},
    }
    path = tmp_path / "current.txt"
    path.write_text(snapshot_format.render_text(stale))
    equal, report = snapshot_store.check_report(path)
    assert not equal
    assert "-tvexp.stable.Vanished" in report
    assert "BREAKING" in report and "object-removed" in report
    assert "tvexp-api snapshot" in report
    assert api_diff.breaking_changes(api_diff.diff_snapshots(stale, live))


def test_public_signatures_speak_one_type_vocabulary() -> None:
    # One spelling per concept in every public signature: a private alias (or another spelling of the
    # same type) would make inlining it a reported change once the object is stable.
    expected = {
        "device": {"torch.device | str | None"},
        "dtype": {"torch.dtype | None"},
        "builder": {"Callable[..., nn.Module]", "Callable[..., nn.Module] | None"},
    }
    wrong = []
    for symbol, facts in snapshot_store.live_snapshot()["objects"].items():
        for parameter in (facts.get("signature") or {}).get("parameters", ()):
            name, annotation = parameter["name"], parameter["annotation"]
            concept = (
                name
                if name in ("device", "dtype")
                else "builder"
                if name.endswith("_layer") or name in ("activation", "scale_activation")
                else None
            )
            if concept is not None and annotation not in expected[concept]:
                wrong.append(f"{symbol}({name}: {annotation})")
    assert wrong == [], wrong
