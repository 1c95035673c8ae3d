"""The conformance table covers the whole public surface, and its entries are well formed.

Rules:
- every ``nn.Module`` subclass exported by ``tvexp.stable`` or ``tvexp.prototype`` has a case, and
  every case builds a public layer whose class name is the case id's prefix;
- every class has exactly one ``reference=True`` case (its state_dict schema goes into the API snapshot);
- declared expected failures name known checks that the battery actually runs for that case;
- every public functional (``tvexp.stable.functional``, ``tvexp.prototype.functional``) is covered by the
  table: the training-mode forward of at least one case calls it, or it is defined in the same
  implementation module (one concept per file) as a layer that has a case, e.g. ``stochastic_depth`` and
  ``StochasticDepth`` in ``tvexp._layers.stochastic_depth``, where the layer may call a private kernel
  shared with the functional. A functional with neither needs a case whose layer calls it.
"""

from __future__ import annotations

import collections
import importlib
import inspect
import sys
from types import CodeType, FrameType
from typing import Any

import pytest
import torch
from torch import nn

from tvexp._tooling.conformance.cases import LAYER_CASES
from tvexp._tooling.conformance.checks import CHECK_NAMES
from tvexp._tooling.conformance.table import LayerCase, seeded

_LAYER_NAMESPACES = ("tvexp.stable", "tvexp.prototype")
_FUNCTIONAL_NAMESPACES = ("tvexp.stable.functional", "tvexp.prototype.functional")
_TAG_GATED_CHECKS = ("inductor", "onnx")
_KNOWN_TAGS = frozenset(_TAG_GATED_CHECKS)


def public_layers() -> dict[str, type[nn.Module]]:
    layers = {}
    for namespace in _LAYER_NAMESPACES:
        module = importlib.import_module(namespace)
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, type) and issubclass(obj, nn.Module):
                layers[f"{namespace}.{name}"] = obj
    return layers


def public_functionals() -> dict[str, Any]:
    functionals = {}
    for namespace in _FUNCTIONAL_NAMESPACES:
        module = importlib.import_module(namespace)
        for name in module.__all__:
            obj = getattr(module, name)
            if callable(obj) and not isinstance(obj, type):
                functionals[f"{namespace}.{name}"] = obj
    return functionals


def built_types() -> dict[str, type[nn.Module]]:
    return {case.id: type(seeded(case.build)) for case in LAYER_CASES}


def test_case_ids_are_unique_and_name_a_class() -> None:
    counts = collections.Counter(case.id for case in LAYER_CASES)
    assert not [case_id for case_id, count in counts.items() if count > 1], "duplicate case ids"
    malformed = [case.id for case in LAYER_CASES if "/" not in case.id or not case.id.split("/", 1)[1]]
    assert not malformed, f"case ids must read 'ClassName/description': {malformed}"


def test_every_case_builds_the_public_class_it_names() -> None:
    public = set(public_layers().values())
    names = {case.id: case.class_name for case in LAYER_CASES}
    wrong_name = {case_id: cls.__name__ for case_id, cls in built_types().items() if cls.__name__ != names[case_id]}
    assert not wrong_name, f"cases whose builder names another class than the one built: {wrong_name}"
    wrong_id = [case.id for case in LAYER_CASES if case.id.split("/", 1)[0] != case.class_name]
    assert not wrong_id, f"case ids must start with the class they configure: {wrong_id}"
    not_public = {case_id: cls.__qualname__ for case_id, cls in built_types().items() if cls not in public}
    assert not not_public, f"cases of classes no tier namespace exports: {not_public}"


def test_every_public_layer_has_a_case() -> None:
    covered = set(built_types().values())
    missing = sorted(name for name, cls in public_layers().items() if cls not in covered)
    assert not missing, f"public layers without a LayerCase in tvexp._tooling.conformance: {missing}"


def test_every_class_has_exactly_one_reference_case() -> None:
    references = collections.Counter(case.class_name for case in LAYER_CASES if case.reference)
    classes = {case.class_name for case in LAYER_CASES}
    wrong = {name: references[name] for name in sorted(classes) if references[name] != 1}
    assert not wrong, f"classes need exactly one reference=True case; found counts {wrong}"


@pytest.mark.parametrize("case", LAYER_CASES, ids=lambda case: case.id)
def test_expected_failures_name_known_checks_with_a_reason(case: LayerCase) -> None:
    unknown = sorted(set(case.expected_failures) - set(CHECK_NAMES))
    assert not unknown, f"unknown checks {unknown}; known: {CHECK_NAMES}"
    empty = [check for check, reason in case.expected_failures.items() if not str(reason).strip()]
    assert not empty, f"expected failures without a reason: {empty}"


@pytest.mark.parametrize("case", LAYER_CASES, ids=lambda case: case.id)
def test_expected_failures_and_tags_are_not_dead(case: LayerCase) -> None:
    assert case.tags <= _KNOWN_TAGS, f"unknown tags {sorted(case.tags - _KNOWN_TAGS)}"
    dead = [check for check in _TAG_GATED_CHECKS if check in case.expected_failures and check not in case.tags]
    assert not dead, f"expected failures for {dead} are never checked: the case lacks the tag"
    if "channels_last" in case.expected_failures:
        first = case.inputs()[0]
        assert isinstance(first, torch.Tensor) and first.dim() in (4, 5), (
            "channels_last is only checked for 4-d/5-d inputs: this expected failure is never checked"
        )


def _codes_called_by_forwards() -> set[CodeType]:
    called: set[CodeType] = set()

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            called.add(frame.f_code)

    for case in LAYER_CASES:
        module = seeded(case.build).train()
        inputs = case.inputs()
        previous = sys.getprofile()
        sys.setprofile(profile)
        try:
            with torch.no_grad():
                seeded(lambda module=module, inputs=inputs: module(*inputs))
        finally:
            sys.setprofile(previous)
    return called


def test_every_public_functional_is_exercised_by_a_case() -> None:
    functionals = public_functionals()
    assert functionals, "the functional namespaces export nothing: the rule below would pass vacuously"
    layer_modules = {cls.__module__ for cls in built_types().values()}
    candidates = {
        name: inspect.unwrap(fn)
        for name, fn in functionals.items()
        if inspect.unwrap(fn).__module__ not in layer_modules
    }
    called = _codes_called_by_forwards() if candidates else set()
    missing = sorted(name for name, fn in candidates.items() if getattr(fn, "__code__", None) not in called)
    assert not missing, (
        f"public functionals that no case's forward calls and whose module has no layer with a case: "
        f"{missing}. Add a case for the layer defined next to them, or a LayerCase whose layer calls them"
    )


def test_functional_coverage_detects_a_call() -> None:
    # The rule relies on sys.setprofile seeing calls made inside nn.Module.forward.
    def marker(x: torch.Tensor) -> torch.Tensor:
        return x + 1

    class Caller(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return marker(x)

    called: set[CodeType] = set()
    previous = sys.getprofile()
    sys.setprofile(lambda frame, event, arg: called.add(frame.f_code) if event == "call" else None)
    try:
        Caller()(torch.zeros(1))
    finally:
        sys.setprofile(previous)
    assert marker.__code__ in called


def test_every_stable_class_records_bad_uses_that_raise() -> None:
    # Their exception types are in the API snapshot: a change of type is a reviewed, breaking change.

    stable = {name for name in importlib.import_module("tvexp.stable").__all__}
    for case in LAYER_CASES:
        if not case.reference or case.class_name not in stable:
            continue
        assert case.rejects, f"{case.id}: record at least one bad use in rejects="
        for description, call in case.rejects.items():
            with pytest.raises((TypeError, ValueError, RuntimeError)):
                call()
                pytest.fail(f"{case.id}: {description} did not raise")
