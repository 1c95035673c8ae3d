"""Classification of API changes: every breaking and every compatible kind the policy names.

Each case builds a small synthetic before/after snapshot pair, so the classifier is tested
independently of what the package happens to contain today.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Callable

import pytest

from tvexp._tooling import api_diff
from tvexp._tooling.api_diff import covers, diff_snapshots

MODULE = "torch.nn.modules.module.Module"


def param(name: str, kind: str = "positional-or-keyword", annotation: str | None = "int", default: str | None = None):
    return {"name": name, "kind": kind, "annotation": annotation, "default": default}


def sig(*parameters: dict[str, Any], returns: str | None = None) -> dict[str, Any]:
    return {"parameters": list(parameters), "returns": returns}


def entry(role: str = "parameter", shape: tuple[int, ...] = (4, 4), dtype: str = "float32", persistent: bool = True):
    return {"role": role, "dtype": dtype, "shape": list(shape), "persistent": persistent}


def layer(tier: str = "stable", name: str = "Layer") -> dict[str, Any]:
    return {
        "tier": tier,
        "since": "0.1.0",
        "kind": "class",
        "defined": f"tvexp._layers.layer:{name}",
        "deprecated": None,
        "bases": ["tvexp._layers.base.Base", MODULE],
        "abstract": False,
        "signature": sig(
            param("a"),
            param("b", default="1"),
            param("k", "keyword-only", "float", "0.5"),
            param("j", "keyword-only", "str", "'x'"),
        ),
        "prototype_parameters": {},
        "deprecated_parameters": {},
        "members": {
            "forward": {
                "kind": "method",
                "origin": f"tvexp._layers.layer.{name}",
                "abstract": False,
                "signature": sig(param("x", annotation="Tensor"), returns="Tensor"),
            },
            "helper": {
                "kind": "method",
                "origin": f"tvexp._layers.layer.{name}",
                "abstract": False,
                "signature": sig(returns="int"),
            },
            "build": {
                "kind": "classmethod",
                "origin": f"tvexp._layers.layer.{name}",
                "abstract": False,
                "signature": sig(param("x"), returns=name),
            },
            "scale": {
                "kind": "property",
                "origin": f"tvexp._layers.layer.{name}",
                "abstract": False,
                "annotation": "float",
            },
            "fc": {
                "kind": "attribute",
                "origin": "instance",
                "abstract": False,
                "annotation": "torch.nn.modules.linear.Linear",
            },
        },
        "state_dict_version": 1,
        "state_dict_migrations": [],
        "state_dict": {
            f"{name}/default": {
                "fc.weight": entry(),
                "fc.bias": entry(shape=(4,)),
                "running": entry("buffer", (4,)),
                "cache": entry("buffer", (4,), persistent=False),
            }
        },
    }


def function(tier: str = "stable") -> dict[str, Any]:
    return {
        "tier": tier,
        "since": "0.1.0",
        "kind": "function",
        "defined": "tvexp._layers.layer:layer_fn",
        "deprecated": None,
        "signature": sig(
            param("x", annotation="Tensor"), param("p", annotation="float", default="0.5"), returns="Tensor"
        ),
        "prototype_parameters": {},
        "deprecated_parameters": {},
    }


def snapshot(objects: dict[str, Any], version: str = "0.2.0.dev0") -> dict[str, Any]:
    return {"version": version, "objects": objects}


def base_objects(tier: str = "stable") -> dict[str, Any]:
    # The facts carry the tier; the symbols stay the same so every mutation applies to both tiers.
    if tier == "prototype":  # a promotion starts from the prototype path
        return {
            "tvexp.prototype.Layer": layer(tier),
            "tvexp.stable.functional.layer_fn": function("stable"),
            "tvexp.TvexpDeprecationWarning": {**function("core"), "defined": "tvexp._api.warnings:Warn"},
        }
    return {
        "tvexp.stable.Layer": layer(tier),
        "tvexp.stable.functional.layer_fn": function(tier),
        "tvexp.TvexpDeprecationWarning": {**function("core"), "defined": "tvexp._api.warnings:Warn"},
    }


def changes_for(
    mutate: Callable[[dict[str, Any]], None],
    tier: str = "stable",
    version: str = "0.2.0.dev0",
    prepare: Callable[[dict[str, Any]], None] | None = None,
):
    old = base_objects(tier)
    if prepare is not None:
        prepare(old)
    new = copy.deepcopy(old)
    mutate(new)
    return diff_snapshots(snapshot(old, "0.1.0"), snapshot(new, version))


L = "tvexp.stable.Layer"
F = "tvexp.stable.functional.layer_fn"


def _sig(o: dict[str, Any], symbol: str = L) -> list[dict[str, Any]]:
    return o[symbol]["signature"]["parameters"]


def _member_sig(o: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return o[L]["members"][name]["signature"]["parameters"]


def _sd(o: dict[str, Any]) -> dict[str, Any]:
    return o[L]["state_dict"]["Layer/default"]


def _rename_key(o: dict[str, Any], old: str, new: str) -> None:
    _sd(o)[new] = _sd(o).pop(old)


BREAKING: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "object removed": (lambda o: o.pop(L), "object-removed"),
    "function removed (dropped from __all__)": (lambda o: o.pop(F), "object-removed"),
    "parameter removed": (lambda o: _sig(o).pop(1), "parameter-removed"),
    "parameter renamed": (lambda o: _sig(o)[1].update(name="c"), "parameter-removed"),
    "positional parameters reordered": (lambda o: _sig(o).insert(0, _sig(o).pop(1)), "parameter-moved"),
    "optional parameter inserted before a positional one": (
        lambda o: _sig(o).insert(1, param("z", default="0")),
        "parameter-moved",
    ),
    "new required parameter": (lambda o: _sig(o).insert(2, param("c")), "parameter-added-required"),
    "new required keyword-only parameter": (
        lambda o: _sig(o).append(param("m", "keyword-only")),
        "parameter-added-required",
    ),
    "optional becomes required": (lambda o: _sig(o)[1].update(default=None), "parameter-now-required"),
    "parameter becomes keyword-only": (lambda o: _sig(o)[1].update(kind="keyword-only"), "parameter-kind-changed"),
    "parameter becomes positional-only": (
        lambda o: [p.update(kind="positional-only") for p in _sig(o)[:2]],
        "parameter-kind-changed",
    ),
    "default value changed": (lambda o: _sig(o)[1].update(default="2"), "parameter-default-changed"),
    "keyword-only default changed (loss reduction)": (
        lambda o: _sig(o)[3].update(default="'sum'"),
        "parameter-default-changed",
    ),
    "parameter annotation narrowed": (lambda o: _sig(o)[0].update(annotation="bool"), "parameter-annotation-narrowed"),
    "parameter annotation changed to another type": (
        lambda o: _sig(o)[0].update(annotation="str"),
        "parameter-annotation-narrowed",
    ),
    "return annotation widened": (
        lambda o: o[F]["signature"].update(returns="Tensor | tuple[Tensor, Tensor]"),
        "return-annotation-widened",
    ),
    "return annotation removed": (lambda o: o[F]["signature"].update(returns=None), "return-annotation-widened"),
    "*args removed": (None, "parameter-removed"),  # filled below: needs a prepared signature
    "base class removed": (lambda o: o[L]["bases"].remove("tvexp._layers.base.Base"), "base-removed"),
    "method removed": (lambda o: o[L]["members"].pop("helper"), "method-removed"),
    "property removed": (lambda o: o[L]["members"].pop("scale"), "property-removed"),
    "attribute (sub-layer) removed": (lambda o: o[L]["members"].pop("fc"), "attribute-removed"),
    "method becomes a property": (lambda o: o[L]["members"]["helper"].update(kind="property"), "member-kind-changed"),
    "classmethod becomes a staticmethod": (
        lambda o: o[L]["members"]["build"].update(kind="staticmethod"),
        "member-kind-changed",
    ),
    "method parameter removed": (lambda o: _member_sig(o, "forward").clear(), "parameter-removed"),
    "new abstract method": (
        lambda o: o[L]["members"].update(extra={"kind": "method", "origin": "x", "abstract": True}),
        "new-abstract-method",
    ),
    "existing method becomes abstract": (
        lambda o: o[L]["members"]["helper"].update(abstract=True),
        "new-abstract-method",
    ),
    "state_dict key renamed": (lambda o: _rename_key(o, "fc.weight", "linear.weight"), "state-dict-key-renamed"),
    "state_dict key removed": (lambda o: _sd(o).pop("running"), "state-dict-key-removed"),
    "state_dict key added": (lambda o: _sd(o).update(extra=entry("buffer", (2,))), "state-dict-key-added"),
    "state_dict shape changed": (lambda o: _sd(o)["fc.weight"].update(shape=[4, 8]), "state-dict-shape-changed"),
    "state_dict dtype changed": (lambda o: _sd(o)["running"].update(dtype="bfloat16"), "state-dict-dtype-changed"),
    "buffer no longer persistent": (
        lambda o: _sd(o)["running"].update(persistent=False),
        "state-dict-persistence-changed",
    ),
    "buffer becomes persistent": (lambda o: _sd(o)["cache"].update(persistent=True), "state-dict-persistence-changed"),
    "parameter becomes a buffer": (lambda o: _sd(o)["fc.bias"].update(role="buffer"), "state-dict-role-changed"),
    "demoted to prototype": (
        lambda o: o.update({"tvexp.prototype.Layer": {**o.pop(L), "tier": "prototype"}}),
        "demoted",
    ),
    "defining module changed (pickles)": (
        lambda o: o[L].update(defined="tvexp._layers.other:Layer"),
        "defining-module-changed",
    ),
    "class becomes abstract": (lambda o: o[L].update(abstract=True), "class-now-abstract"),
    "core object parameter removed": (
        lambda o: o["tvexp.TvexpDeprecationWarning"]["signature"]["parameters"].pop(1),
        "parameter-removed",
    ),
    "object kind changed": (lambda o: o[F].update(kind="class"), "object-kind-changed"),
}


def _remove_var_positional(o: dict[str, Any]) -> None:
    _sig(o, F).pop()


BREAKING["*args removed"] = (_remove_var_positional, "parameter-removed")
_PREPARE = {"*args removed": lambda o: _sig(o, F).append(param("args", "var-positional", None))}


@pytest.mark.parametrize("name", sorted(BREAKING))
def test_breaking_change_is_flagged(name: str) -> None:
    mutate, kind = BREAKING[name]
    changes = changes_for(mutate, prepare=_PREPARE.get(name))
    matching = [c for c in changes if c.kind == kind]
    assert matching, f"{name}: expected a {kind} change, got {changes}"
    assert all(c.breaking for c in matching), matching


@pytest.mark.parametrize("name", sorted(BREAKING))
def test_the_same_change_in_the_prototype_tier_is_reported_but_never_breaking(name: str) -> None:
    mutate, _ = BREAKING[name]

    def prepare(o: dict[str, Any]) -> None:
        for facts in o.values():
            if facts["tier"] == "stable":
                facts["tier"] = "prototype"
        if name in _PREPARE:
            _PREPARE[name](o)

    changes = changes_for(mutate, prepare=prepare)
    assert changes, f"{name}: the change was not reported"
    if name.startswith("core"):
        assert any(c.breaking for c in changes), "core objects keep the stable promise"
    else:
        assert not any(c.breaking for c in changes), changes


def _deprecate_alias(o: dict[str, Any]) -> None:
    o["tvexp.stable.NewLayer"] = {**o.pop(L), "defined": "tvexp._layers.layer:NewLayer"}
    o[L] = {
        "tier": "stable",
        "since": "0.2.0",
        "kind": "moved-name",
        "moved_to": "tvexp.stable.NewLayer",
        "removed_in": "0.4.0",
    }


def _promote(o: dict[str, Any]) -> None:
    facts = o.pop("tvexp.prototype.Layer")
    o["tvexp.stable.Layer"] = {**facts, "tier": "stable", "since": "0.2.0"}
    o["tvexp.prototype.Layer"] = {
        "tier": "prototype",
        "since": "0.2.0",
        "kind": "moved-name",
        "moved_to": "tvexp.stable.Layer",
        "removed_in": "0.3.0",
    }


def _migrated_rename(o: dict[str, Any]) -> None:
    _rename_key(o, "fc.weight", "linear.weight")
    o[L]["state_dict_version"] = 2
    o[L]["state_dict_migrations"] = [
        {
            "from_version": 1,
            "renames": {"fc.weight": "linear.weight"},
            "drops": [],
            "since": "0.2.0",
            "removed_in": "0.4.0",
        }
    ]


def _override_removed(o: dict[str, Any]) -> None:
    o[L]["members"]["helper"]["origin"] = "tvexp._layers.base.Base"


COMPATIBLE: dict[str, tuple[Callable[[dict[str, Any]], None], str | None, str]] = {
    "new optional parameter at the end": (
        lambda o: _sig(o).append(param("n", "keyword-only", "int", "3")),
        "parameter-added",
        "stable",
    ),
    "new optional positional parameter at the end of the positional ones": (
        lambda o: _sig(o).insert(2, param("c", default="0")),
        "parameter-added",
        "stable",
    ),
    "keyword-only parameters reordered": (lambda o: _sig(o).insert(2, _sig(o).pop(3)), None, "stable"),
    "class renamed, old name kept as deprecated alias": (_deprecate_alias, "renamed", "stable"),
    "promotion with the old path kept": (_promote, "promoted", "prototype"),
    "removed override whose base method remains": (_override_removed, "member-origin-changed", "stable"),
    "parameter annotation widened": (
        lambda o: _sig(o)[0].update(annotation="int | tuple[int, int]"),
        "parameter-annotation-widened",
        "stable",
    ),
    "int parameter widened to float": (
        lambda o: _sig(o)[0].update(annotation="float"),
        "parameter-annotation-widened",
        "stable",
    ),
    "return annotation narrowed": (None, "return-annotation-narrowed", "stable"),
    "state_dict rename with a declared migration": (_migrated_rename, "state-dict-key-renamed-migrated", "stable"),
    "new method": (
        lambda o: o[L]["members"].update(extra={"kind": "method", "origin": "x", "abstract": False}),
        "member-added",
        "stable",
    ),
    "new object": (lambda o: o.update({"tvexp.stable.Other": layer(name="Other")}), "object-added", "stable"),
    "non-persistent buffer added": (
        lambda o: _sd(o).update(scratch=entry("buffer", (2,), persistent=False)),
        "non-persistent-buffer-changed",
        "stable",
    ),
    "positional-only becomes positional-or-keyword": (None, "parameter-kind-changed", "stable"),
    "deprecation that follows the policy": (
        lambda o: o[L].update(deprecated={"since": "0.2.0", "removed_in": "0.4.0", "instead": "tvexp.stable.X"}),
        "deprecated",
        "stable",
    ),
}


def _narrow_return(o: dict[str, Any]) -> None:
    o[F]["signature"]["returns"] = "Tensor"


COMPATIBLE["return annotation narrowed"] = (_narrow_return, "return-annotation-narrowed", "stable")
COMPATIBLE["positional-only becomes positional-or-keyword"] = (
    lambda o: _sig(o)[0].update(kind="positional-or-keyword"),
    "parameter-kind-changed",
    "stable",
)
_COMPATIBLE_PREPARE = {
    "return annotation narrowed": lambda o: o[F]["signature"].update(returns="Tensor | None"),
    "positional-only becomes positional-or-keyword": lambda o: _sig(o)[0].update(kind="positional-only"),
}


@pytest.mark.parametrize("name", sorted(COMPATIBLE))
def test_compatible_change_is_not_flagged(name: str) -> None:
    mutate, kind, tier = COMPATIBLE[name]
    changes = changes_for(mutate, tier=tier, prepare=_COMPATIBLE_PREPARE.get(name))
    assert not [c for c in changes if c.breaking], changes
    if kind is None:
        assert changes == [], changes
    else:
        assert any(c.kind == kind for c in changes), f"{name}: expected a {kind} report, got {changes}"


def test_promotion_reports_one_change_not_a_removal_and_an_addition() -> None:
    changes = changes_for(_promote, tier="prototype")
    assert [c.kind for c in changes if c.symbol.endswith("Layer")] == ["promoted"]
    assert "old path warns" in changes[0].detail


def test_removal_covered_by_a_deprecation_that_followed_the_policy_is_compatible() -> None:
    deprecated = {"since": "0.2.0", "removed_in": "0.4.0", "instead": None}
    changes = changes_for(
        lambda o: o.pop(L), version="0.4.0.dev0", prepare=lambda o: o[L].update(deprecated=deprecated)
    )
    assert [(c.kind, c.breaking) for c in changes] == [("object-removed-after-deprecation", False)]


def test_deprecation_shim_removed_before_its_removed_in_is_breaking() -> None:
    deprecated = {"since": "0.2.0", "removed_in": "0.4.0", "instead": None}
    changes = changes_for(
        lambda o: o.pop(L), version="0.3.0.dev0", prepare=lambda o: o[L].update(deprecated=deprecated)
    )
    assert [(c.kind, c.breaking) for c in changes] == [("shim-removed-early", True)]


def test_removal_after_a_deprecation_shorter_than_the_policy_is_breaking() -> None:
    deprecated = {"since": "0.2.0", "removed_in": "0.3.0", "instead": None}
    changes = changes_for(lambda o: o.pop(L), version="0.3.0", prepare=lambda o: o[L].update(deprecated=deprecated))
    assert changes and all(c.breaking for c in changes)


def test_moved_name_shim_removed_early_is_breaking_and_on_time_is_compatible() -> None:
    def prepare(o: dict[str, Any]) -> None:
        o["tvexp.stable.Old"] = {
            "tier": "stable",
            "since": "0.2.0",
            "kind": "moved-name",
            "moved_to": "tvexp.stable.Layer",
            "removed_in": "0.4.0",
        }

    early = changes_for(lambda o: o.pop("tvexp.stable.Old"), version="0.3.0", prepare=prepare)
    on_time = changes_for(lambda o: o.pop("tvexp.stable.Old"), version="0.4.0.dev0", prepare=prepare)
    assert [(c.kind, c.breaking) for c in early] == [("shim-removed-early", True)]
    assert [(c.kind, c.breaking) for c in on_time] == [("moved-name-removed", False)]


def test_deprecated_parameter_shim_removed_early_is_breaking() -> None:
    record = {"since": "0.2.0", "removed_in": "0.4.0", "instead": "b", "detail": "renamed"}
    changes = changes_for(
        lambda o: o[L]["deprecated_parameters"].clear(),
        version="0.3.0",
        prepare=lambda o: o[L]["deprecated_parameters"].update(old=record),
    )
    assert [(c.kind, c.breaking) for c in changes] == [("shim-removed-early", True)]


def test_renamed_parameter_with_a_deprecation_shim_is_compatible() -> None:
    def mutate(o: dict[str, Any]) -> None:
        _sig(o)[1]["name"] = "c"
        o[L]["deprecated_parameters"]["b"] = {
            "since": "0.2.0",
            "removed_in": "0.4.0",
            "instead": "c",
            "detail": "renamed",
        }

    changes = changes_for(mutate)
    assert not [c for c in changes if c.breaking], changes
    assert {c.kind for c in changes} == {"parameter-renamed-deprecated", "parameter-deprecated"}


def test_prototype_option_of_a_stable_object_may_change() -> None:
    def mutate(o: dict[str, Any]) -> None:
        _sig(o)[3]["default"] = "'y'"

    changes = changes_for(mutate, prepare=lambda o: o[L]["prototype_parameters"].update(j="0.1.0"))
    assert changes and not any(c.breaking for c in changes)
    assert changes[0].tier == "prototype"


@pytest.mark.parametrize(
    ("wide", "narrow", "expected"),
    [
        ("int | tuple[int, int]", "int", True),
        ("int", "int | tuple[int, int]", False),
        ("Optional[int]", "int", True),
        ("int", "Optional[int]", False),
        ("float", "int", True),
        ("Sequence[int]", "list[int]", True),
        ("tuple[int, ...]", "tuple[int, int]", True),
        ("Literal['mean', 'sum', 'none']", "Literal['mean', 'sum']", True),
        ("str", "Literal['mean']", True),
        ("Callable[..., nn.Module]", "Callable[..., nn.Module] | None", False),
        ("Callable[..., nn.Module] | None", "Callable[..., nn.Module]", True),
        ("torch.Tensor", "Tensor", True),
        (None, "int", True),
        ("int", None, False),
    ],
)
def test_annotation_compatibility(wide: str | None, narrow: str | None, expected: bool) -> None:
    assert covers(wide, narrow) is expected


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("Optional[torch.device]", "torch.device | None"),
        ("Union[None, int]", "int | None"),
        ("typing.Union[int, typing.Tuple[int, int]]", "int | tuple[int, int]"),
        ("Optional[Union[int, None]]", "int | None"),
        ("typing.Callable[..., torch.nn.Module]", "Callable[..., nn.Module]"),
        ("List[Dict[str, int]]", "list[dict[str, int]]"),
        ("not an annotation (", "not an annotation ("),
    ],
)
def test_one_type_has_one_spelling(spelling: str, canonical: str) -> None:
    from tvexp._tooling.annotations import canonical_annotation

    assert canonical_annotation(spelling) == canonical


def test_respelling_an_annotation_is_not_a_change() -> None:
    old = {"version": "0.1.0", "objects": {"tvexp.stable.f": _function("x: Optional[torch.device] = None")}}
    new = {"version": "0.2.0", "objects": {"tvexp.stable.f": _function("x: torch.device | None = None")}}
    assert api_diff.diff_snapshots(old, new) == []
    widened = {"version": "0.2.0", "objects": {"tvexp.stable.f": _function("x: torch.device | str | None = None")}}
    (change,) = api_diff.diff_snapshots(old, widened)
    assert change.kind is api_diff.ChangeKind.PARAMETER_ANNOTATION_WIDENED and not change.breaking


def _function(parameter: str) -> dict[str, object]:
    name, _, rest = parameter.partition(": ")
    annotation, _, default = rest.partition(" = ")
    return {
        "tier": "stable",
        "since": "0.1.0",
        "kind": "function",
        "defined": "m:f",
        "signature": {
            "parameters": [
                {"name": name, "kind": "positional-or-keyword", "default": default, "annotation": annotation}
            ],
            "returns": None,
        },
    }


def test_every_change_kind_is_documented() -> None:
    from tvexp._tooling.change_kinds import ChangeKind

    assert len({kind.value for kind in ChangeKind}) == len(ChangeKind) > 50
    source = Path(api_diff.__file__).read_text()
    for kind in ChangeKind:
        assert kind.description.endswith("."), kind
    used = set(re.findall(r"ChangeKind\.([A-Z_]+)", source))
    assert used == {kind.name for kind in ChangeKind}, "kinds the differ never reports, or reports undeclared"


def _layer(behaviour: dict[str, Any]) -> dict[str, Any]:
    return {
        "tier": "stable",
        "since": "0.1.0",
        "kind": "class",
        "defined": "m:Block",
        "signature": None,
        "state_dict_version": None,
        "state_dict": {},
        "behaviour": {"Block/default": behaviour},
    }


def test_behaviour_changes_are_classified() -> None:
    before = {
        "output": "Tensor(2,8) float32",
        "capabilities": ["compile", "export", "script"],
        "raises": {"in_channels=0": "ValueError", "3-d input": "RuntimeError"},
    }
    after = {
        "output": "tuple[Tensor(2,8) float32; Tensor(2) float32]",
        "capabilities": ["compile", "export", "fx"],
        "raises": {"in_channels=0": "TypeError", "channels=-1": "ValueError"},
    }
    old = {"version": "0.1.0", "objects": {"tvexp.stable.Block": _layer(before)}}
    new = {"version": "0.2.0", "objects": {"tvexp.stable.Block": _layer(after)}}
    found = {(c.kind.value, c.breaking) for c in diff_snapshots(old, new)}
    assert found == {
        ("output-changed", True),
        ("capability-lost", True),
        ("capability-gained", False),
        ("exception-changed", True),
        ("rejection-added", False),
        ("rejection-dropped", False),
    }
    assert diff_snapshots(old, copy.deepcopy(old)) == []


def test_an_exception_narrowed_to_a_subclass_is_compatible() -> None:
    before = {"output": "Tensor(2) float32", "raises": {"3-d input": "RuntimeError"}}
    after = {"output": "Tensor(2) float32", "raises": {"3-d input": "InvalidInputError(ValueError,RuntimeError)"}}
    old = {"version": "0.1.0", "objects": {"tvexp.stable.Block": _layer(before)}}
    new = {"version": "0.2.0", "objects": {"tvexp.stable.Block": _layer(after)}}
    (change,) = diff_snapshots(old, new)
    assert change.kind.value == "exception-changed" and not change.breaking
    (reverse,) = diff_snapshots(new, old)
    assert reverse.breaking, "RuntimeError no longer reaches `except ValueError` clauses"
