"""The argument contract, driven by the conformance table: every constructor argument of every public
layer, every option of every loss (function and module form) and of the functional layers.

For each argument (classified by its annotation: int-like, real, flag, builder, choice), values a new
user might pass (wrong types, negatives, zero, NaN, infinities, strings, numpy scalars, 0-d and 1-d
tensors) are tried one at a time on top of a working configuration. Each outcome must be

- a ``TypeError`` or ``ValueError`` whose message names the argument, or
- a working layer: it runs on the case's inputs, and where the value is a spelling of the original
  one (``numpy.int64(3)`` for ``3``, a 0-d tensor for ``0.25``) it is the same layer, with the same
  output under the same seed.

Function and module forms of a loss (and of ``stochastic_depth``/``drop_block*``) must agree: both
reject a value with the same exception type naming it, or both accept it with equal results.
"""

from __future__ import annotations

import inspect
import math
import re
import warnings
from typing import Any, Callable

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import Tensor, nn
from torch.utils._pytree import tree_leaves

from tvexp._tooling.conformance.builders import TierBuilder
from tvexp._tooling.conformance.cases import LAYER_CASES, LOSS_CASES
from tvexp._tooling.conformance.checks import assert_close
from tvexp._tooling.conformance.table import LayerCase, LossCase, seeded
from tvexp.stable.functional import drop_block2d, drop_block3d, stochastic_depth

CASES_RUN = [0]  # cases checked in this run, reported by conftest.py

PROPERTY = settings(
    derandomize=True,
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
)

_SKIPPED = {"device", "dtype", "downsample", "dims", "hidden_channels", "self"}


def _kind(annotation: str, name: str) -> str | None:
    """The kind of an argument, read from its annotation (all tvexp signatures are postponed strings)."""
    if name in _SKIPPED:
        return None
    if "Callable" in annotation or "LayerBuilder" in annotation:
        return "builder"
    if annotation in ("bool", "bool | None"):
        return "flag"
    if "Literal" in annotation or annotation == "str":
        return "choice"
    if "float" in annotation and "list" not in annotation:
        return "real"
    if annotation.startswith(("int", "Union[int")):
        return "int"
    return None


def _one_case_per_class() -> list[LayerCase]:
    chosen: dict[str, LayerCase] = {}
    for case in LAYER_CASES:
        if isinstance(case.build, TierBuilder):
            chosen.setdefault(case.class_name, case)
    return list(chosen.values())


def _arguments(case: LayerCase) -> tuple[type[nn.Module], dict[str, Any], dict[str, inspect.Parameter]]:
    builder = case.build
    assert isinstance(builder, TierBuilder)
    cls = builder.layer_class()
    signature = inspect.signature(cls)
    bound = signature.bind(*builder.args, **builder.kwargs)
    bound.apply_defaults()
    return cls, dict(bound.arguments), dict(signature.parameters)


def _tier(case: LayerCase) -> str:
    assert isinstance(case.build, TierBuilder)
    return case.build.tier


def _spellings(value: Any, kind: str) -> list[Any]:
    """Other spellings of a valid value that torchvision accepts and that must give the same layer."""
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return [np.int64(value), np.int32(value), torch.tensor(value)]
    if kind == "int" and isinstance(value, tuple) and all(isinstance(v, int) for v in value):
        return [tuple(np.int64(v) for v in value), [int(v) for v in value]]
    if kind == "real" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return [np.float64(value), torch.tensor(float(value), dtype=torch.float64)]
    if kind == "flag" and isinstance(value, bool):
        return [np.bool_(value)]
    return []


# The Quantizable* blocks check their arguments through their float bases' code: slow-marked here.
LAYER_ARGUMENTS = [
    pytest.param(
        case,
        name,
        kind,
        id=f"{case.class_name}.{name}",
        marks=[pytest.mark.slow] if case.class_name.startswith("Quantizable") else [],
    )
    for case in _one_case_per_class()
    for name, parameter in _arguments(case)[2].items()
    if (kind := _kind(str(parameter.annotation), name)) is not None
]
# Spellings torchvision accepts matter most for the stable drop-ins; the prototype blocks run under slow.
SPELLING_ARGUMENTS = [
    pytest.param(*p.values, id=p.id, marks=[] if _tier(p.values[0]) == "stable" else [pytest.mark.slow])
    for p in LAYER_ARGUMENTS
    if _spellings(_arguments(p.values[0])[1][p.values[1]], p.values[2])
]

# Values that are never a valid spelling of an argument of this kind: rejected, naming the argument.
_NOT_A_NUMBER = ["3", "0.5", b"1", {}, object(), 1j, torch.tensor([1, 2]), torch.ones(1, 1)]
INVALID = {
    "int": [*_NOT_A_NUMBER, True, False, 2.5, 3.0, math.nan, math.inf, np.float64(2.0), torch.tensor(2.0)],
    "real": [*_NOT_A_NUMBER, True, False, math.nan, math.inf, -math.inf, np.bool_(True), torch.tensor(True)],
    "flag": ["False", "True", "", 0, 1, 1.0, [], torch.tensor([True, False])],
    "builder": ["relu", 3, 1.5, nn.ReLU(), nn.BatchNorm2d(4), object()],
    "choice": ["", "bogus", 3, None, b"row"],
}
# Values that may be valid or out of range: rejected naming the argument, or a layer that runs.
BORDERLINE = {
    "int": [0, -1, -3],
    "real": [0, 0.0, -1.0, 1.5, 1e-12, -0.0],
    "flag": [],
    "builder": [],
    "choice": [],
}


# Declared limits, each with its reason; a value listed here is skipped for that argument only.
KNOWN_LIMITS: dict[tuple[str, str], tuple[Callable[[Any], bool], str]] = {}


def _names(message: str, name: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\b", message) is not None


def _quiet(call: Callable[[], Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return call()


def _outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", _quiet(call)
    except (TypeError, ValueError) as error:
        return type(error).__name__, str(error)


def _run(module: nn.Module, case: LayerCase) -> Any:
    """The eval output: a tensor, or a structure of them (a feature pyramid's dict of levels)."""
    module.eval()
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        output = module(*case.inputs())
    assert any(isinstance(leaf, Tensor) for leaf in tree_leaves(output)), f"output without a tensor: {output!r}"
    return output


def _check_value(case: LayerCase, name: str, value: Any, *, must_reject: bool) -> None:
    CASES_RUN[0] += 1
    cls, arguments, _ = _arguments(case)
    changed = {**arguments, name: value}
    status, result = _outcome(lambda: seeded(lambda: cls(**changed)))
    if status != "ok":
        assert _names(result, name), f"{cls.__name__}({name}={value!r}) raised {status} without naming {name}: {result}"
        return
    assert not must_reject, f"{cls.__name__}({name}={value!r}) was accepted"
    # An accepted value gives a layer that runs (a smaller output is fine: padding=0 shrinks it).
    try:
        _quiet(lambda: _run(result, case))
    except (TypeError, ValueError, RuntimeError) as error:
        message = str(error)
        if "Kernel size can't be greater" in message or "Output size is too small" in message:
            return  # the input is too small for the new configuration: torch's own input-size check
        raise AssertionError(f"{cls.__name__}({name}={value!r}) was accepted but fails at forward: {error}") from error


@pytest.mark.parametrize(("case", "name", "kind"), LAYER_ARGUMENTS)
def test_invalid_constructor_values_are_rejected_naming_the_argument(case: LayerCase, name: str, kind: str) -> None:
    _, arguments, parameters = _arguments(case)
    values = list(INVALID[kind])
    if kind in ("int", "real") and "tuple" not in str(parameters[name].annotation).lower():
        values += [[1], ()]  # a sequence where a scalar is expected
    if kind == "builder" and parameters[name].default is not None and "None" not in str(parameters[name].annotation):
        values.append(None)
    if kind in ("int", "real", "flag") and "None" not in str(parameters[name].annotation):
        values.append(None)
    limit = KNOWN_LIMITS.get((case.class_name, name))
    for value in values:
        if limit is not None and limit[0](value):
            continue
        _check_value(case, name, value, must_reject=True)
    for value in BORDERLINE[kind]:
        _check_value(case, name, value, must_reject=False)


@pytest.mark.parametrize(("case", "name", "kind"), SPELLING_ARGUMENTS)
def test_numpy_and_tensor_spellings_give_the_same_layer(case: LayerCase, name: str, kind: str) -> None:
    cls, arguments, _ = _arguments(case)
    spellings = _spellings(arguments[name], kind)
    expected = _run(_quiet(lambda: seeded(lambda: cls(**arguments))), case)
    for spelling in spellings:
        CASES_RUN[0] += 1
        module = _quiet(lambda spelling=spelling: seeded(lambda: cls(**{**arguments, name: spelling})))
        assert_close(_run(module, case), expected, f"{cls.__name__}({name}={spelling!r})")


# Bounded: a valid but huge value (expand_ratio=1e6) would build a huge layer, which is slow, not wrong.
_SPECIAL_FLOATS = st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 5e-324])
_NUMBERS = {
    "int": st.one_of(st.integers(-4, 0), st.floats(-4, 4), _SPECIAL_FLOATS, st.text(max_size=2), st.booleans()),
    "real": st.one_of(
        st.floats(-2, 2),
        _SPECIAL_FLOATS,
        st.integers(-3, 1),
        st.text(max_size=2),
        st.booleans(),
        st.complex_numbers(max_magnitude=2),
    ),
}


@pytest.mark.parametrize(("case", "name", "kind"), [p for p in LAYER_ARGUMENTS if p.values[2] in ("int", "real")])
@PROPERTY
@given(data=st.data())
def test_generated_numbers_are_rejected_or_give_a_working_layer(
    case: LayerCase, name: str, kind: str, data: Any
) -> None:
    value = data.draw(_NUMBERS[kind], label=name)
    # Non-numbers, bools, NaN and infinities are never valid: the property suite's strictest claim.
    invalid = (
        isinstance(value, (str, bool, complex))
        or (isinstance(value, float) and not math.isfinite(value))
        or (kind == "int" and isinstance(value, float))
    )
    _check_value(case, name, value, must_reject=invalid)


# ---------------------------------------------------------------------------------- losses


def _loss_options(case: LossCase) -> dict[str, inspect.Parameter]:
    function_parameters = dict(inspect.signature(case.function).parameters)
    names = list(function_parameters)[2:]
    return {name: function_parameters[name] for name in names}


LOSS_OPTIONS = [
    pytest.param(case, name, id=f"{case.id}.{name}")
    for case in LOSS_CASES
    if case.module is not None
    for name in _loss_options(case)
]

LOSS_VALUES = [
    "bad",
    "",
    None,
    True,
    1j,
    math.nan,
    math.inf,
    -math.inf,
    -1,
    -1.0,
    0,
    0.0,
    0.5,
    1,
    2,
    1e9,
    np.float64(0.5),
    np.int64(-100),
    torch.tensor(0.5),
    torch.tensor([0.5, 0.5]),
    [0.25, 0.5, 1.0, 1.0],
    (1.0, 1.0, 1.0, 1.0),
    [1.0, math.nan, 1.0, 1.0],
    [1.0, 1.0],
    "mean",
    "sum",
    "none",
    "cxcywh",
]


def _any_outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", _quiet(call)
    except Exception as error:  # every exception is classified by the callers
        return type(error).__name__, str(error)


# A target value outside [0, C) that is not ignore_index (e.g. ignore_index=0 with -100 in the target) is
# data, which forward never inspects; torch's gather reports it, in both forms, as F.cross_entropy does.
_DATA_ERRORS = ("out of bounds", "Class values must be non-negative", "Class values must be smaller than num_classes")


def _both_forms(case: LossCase, name: str, value: Any) -> tuple[tuple[str, Any], tuple[str, Any]]:
    CASES_RUN[0] += 1
    kwargs = {**case.kwargs, name: value}
    module_kwargs = {k: v for k, v in kwargs.items() if k in inspect.signature(case.module).parameters}

    def function() -> Tensor:
        prediction, target = case.inputs()
        return case.function(prediction.detach(), target, **kwargs)

    def module() -> Tensor:
        prediction, target = case.inputs()
        return case.module(**module_kwargs)(prediction.detach(), target)

    return _any_outcome(function), _any_outcome(module)


@pytest.mark.parametrize(("case", "name"), LOSS_OPTIONS)
def test_loss_function_and_module_agree_on_every_option(case: LossCase, name: str) -> None:
    for value in LOSS_VALUES:
        (f_status, f_result), (m_status, m_result) = _both_forms(case, name, value)
        assert f_status == m_status, (
            f"{case.id}: {name}={value!r} gives {f_status} in function form and {m_status} in module form: "
            f"{f_result if f_status != 'ok' else m_result}"
        )
        if f_status == "ok":
            torch.testing.assert_close(f_result, m_result, equal_nan=True, msg=f"{case.id}: {name}={value!r}")
        elif f_status not in ("TypeError", "ValueError"):
            assert any(text in f_result for text in _DATA_ERRORS), f"{case.id}: {name}={value!r}: {f_status} {f_result}"
        else:
            assert _names(f_result, name) or (name == "alpha" and "per class" in f_result), (
                f"{case.id}: {name}={value!r} raised {f_status} without naming {name}: {f_result}"
            )


@pytest.mark.parametrize(("case", "name"), LOSS_OPTIONS)
@PROPERTY
@given(value=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-200, 3), st.text(max_size=3)))
def test_generated_loss_options_agree_between_forms(case: LossCase, name: str, value: Any) -> None:
    (f_status, f_result), (m_status, m_result) = _both_forms(case, name, value)
    assert f_status == m_status, f"{case.id}: {name}={value!r}: function {f_status}, module {m_status}"
    if f_status == "ok":
        torch.testing.assert_close(f_result, m_result, equal_nan=True)
    if isinstance(value, float) and not math.isfinite(value) and name != "ignore_index":
        assert f_status == "ValueError", f"{case.id}: {name}={value!r} was accepted"


# ------------------------------------------------------------------- functional layers

_FUNCTIONAL = {
    "stochastic_depth": (
        lambda x, **kw: stochastic_depth(x, **kw),
        lambda **kw: _module("StochasticDepth", **kw),
        {"p": 0.2, "mode": "row"},
        (4, 3, 5, 5),
    ),
    "drop_block2d": (
        lambda x, **kw: drop_block2d(x, **kw),
        lambda **kw: _module("DropBlock2d", **kw),
        {"p": 0.2, "block_size": 3, "inplace": False, "eps": 1e-6},
        (2, 3, 8, 8),
    ),
    "drop_block3d": (
        lambda x, **kw: drop_block3d(x, **kw),
        lambda **kw: _module("DropBlock3d", **kw),
        {"p": 0.2, "block_size": (1, 2, 3), "inplace": False, "eps": 1e-6},
        (2, 3, 4, 6, 6),
    ),
}


def _module(name: str, **kwargs: Any) -> nn.Module:
    import tvexp.stable

    return getattr(tvexp.stable, name)(**kwargs)


FUNCTIONAL_VALUES = [
    math.nan,
    math.inf,
    -0.5,
    1.5,
    0,
    1,
    0.0,
    1.0,
    "0.5",
    True,
    None,
    3.0,
    2,
    (3, 3),
    (2, 2, 2),
    [3],
    np.int64(3),
    np.float64(0.5),
    torch.tensor(0.5),
    torch.tensor(3),
    "row",
    "batch",
    "column",
    -1,
]


@pytest.mark.parametrize(
    ("function_name", "name"),
    [(f, n) for f, (_, _, defaults, _) in _FUNCTIONAL.items() for n in defaults],
)
def test_functional_layers_agree_with_their_modules(function_name: str, name: str) -> None:
    function, module, defaults, shape = _FUNCTIONAL[function_name]
    for value in FUNCTIONAL_VALUES:
        CASES_RUN[0] += 1
        kwargs = {**defaults, name: value}

        def call_function(kwargs: dict[str, Any] = kwargs) -> Tensor:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                return function(torch.ones(shape), **kwargs, training=True)

        def call_module(kwargs: dict[str, Any] = kwargs) -> Tensor:
            layer = module(**kwargs).train()
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                return layer(torch.ones(shape))

        (f_status, f_result), (m_status, m_result) = _outcome(call_function), _outcome(call_module)
        assert f_status == m_status, f"{function_name}({name}={value!r}): function {f_status}, module {m_status}"
        if f_status == "ok":
            torch.testing.assert_close(f_result, m_result)
        else:
            assert _names(f_result, name) or "drop probability" in f_result, f_result
