"""The contract every public loss keeps, checked over the conformance table (``LOSS_CASES``).

Every loss takes the prediction first and the target second, offers ``reduction`` "none" | "mean" |
"sum" with a documented output shape, agrees with its module form, scripts, compiles without graph
breaks, exports with a dynamic batch (or box) dimension, passes ``gradcheck`` in float64, returns
``0`` with a gradient for ``mean`` over an empty input, and runs in float16 and bfloat16.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import pytest
import torch
from torch import Tensor, nn

import tvexp.prototype.losses as prototype_losses
import tvexp.stable.losses as stable_losses
from tvexp._tooling.conformance.cases import LOSS_CASES
from tvexp._tooling.conformance.table import LossCase

ARGUMENT_NAMES = {("inputs", "targets"), ("boxes1", "boxes2"), ("logits", "target")}


def public_losses() -> dict[str, Any]:
    return {
        f"{namespace.__name__}.{name}": getattr(namespace, name)
        for namespace in (stable_losses, prototype_losses)
        for name in namespace.__all__
    }


def over_cases(check: str) -> Any:
    """Parametrises over every loss case; declared expected failures become strict xfails."""
    params = []
    for case in LOSS_CASES:
        reason = case.expected_failures.get(check)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(case, id=case.id, marks=marks))
    return pytest.mark.parametrize("case", params)


def name_of(case: LossCase) -> str:
    return case.function_name


def with_reduction(case: LossCase, reduction: str) -> dict[str, Any]:
    return {**case.kwargs, "reduction": reduction}


def detached(inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    return tuple(x.detach() for x in inputs)


# --------------------------------------------------------------------------- completeness


def test_every_public_loss_is_in_the_conformance_table() -> None:
    functions = {inspect.unwrap(case.function) for case in LOSS_CASES}
    modules = {case.module for case in LOSS_CASES if case.module is not None}
    missing = []
    for name, obj in public_losses().items():
        covered = obj in modules if isinstance(obj, type) else inspect.unwrap(obj) in functions
        if not covered:
            missing.append(name)
    assert not missing, f"public losses without a LossCase in tvexp._tooling.conformance: {missing}"


def test_cases_name_their_public_function() -> None:
    public = {inspect.unwrap(obj) for obj in public_losses().values() if not isinstance(obj, type)}
    for case in LOSS_CASES:
        assert inspect.unwrap(case.function).__name__ == name_of(case), case.id
        assert inspect.unwrap(case.function) in public, case.id


@pytest.mark.parametrize("name", sorted(public_losses()))
def test_prediction_first_target_second(name: str) -> None:
    obj = public_losses()[name]
    callable_ = obj.forward if isinstance(obj, type) else obj
    parameters = list(inspect.signature(callable_).parameters)
    if isinstance(obj, type):
        parameters = parameters[1:]
        assert issubclass(obj, nn.Module)
    assert tuple(parameters[:2]) in ARGUMENT_NAMES, f"{name} starts with {parameters[:2]}"
    if not isinstance(obj, type):
        assert inspect.signature(obj).parameters["reduction"].default in ("none", "mean")


# --------------------------------------------------------------------------- reductions and forms


@over_cases("shape")
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_reduction_output_shape(case: LossCase, reduction: str) -> None:
    prediction, target = case.inputs()
    output = case.function(prediction, target, **with_reduction(case, reduction))
    expected = case.none_shape(prediction, target) if reduction == "none" else ()
    assert tuple(output.shape) == expected
    assert torch.isfinite(output).all()
    if reduction == "sum":
        none = case.function(prediction, target, **with_reduction(case, "none"))
        torch.testing.assert_close(output, none.sum())


@over_cases("shape")
def test_function_and_module_agree(case: LossCase) -> None:
    assert case.module is not None, f"{case.id} has no module form"
    inputs = case.inputs()
    module = case.module(**case.kwargs)
    torch.testing.assert_close(module(*inputs), case.function(*inputs, **case.kwargs), rtol=0, atol=0)
    assert type(module).__name__ in repr(module) and "reduction=" in repr(module)


@over_cases("shape")
def test_invalid_reduction_is_rejected_by_name(case: LossCase) -> None:
    inputs = case.inputs()
    with pytest.raises(ValueError, match=r"reduction must be one of 'none', 'mean', 'sum', got 'avg'"):
        case.function(*inputs, **with_reduction(case, "avg"))
    with pytest.raises(ValueError, match="got 'avg'"):
        case.module(**with_reduction(case, "avg"))


# --------------------------------------------------------------------------- graph capture


def _function_module(case: LossCase) -> nn.Module:
    """The function form as a module (options baked in), for export."""
    function, kwargs = case.function, dict(case.kwargs)

    class Loss(nn.Module):
        def forward(self, prediction: Tensor, target: Tensor) -> Tensor:
            return function(prediction, target, **kwargs)

    return Loss()


@over_cases("script")
def test_script_matches_eager(case: LossCase) -> None:
    inputs = detached(case.inputs())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.script is deprecated in newer torch
        scripted_function = torch.jit.script(case.function)
        scripted_module = torch.jit.script(case.module(**case.kwargs))
    expected = case.function(*inputs, **case.kwargs)
    torch.testing.assert_close(scripted_function(*inputs, **case.kwargs), expected)
    torch.testing.assert_close(scripted_module(*inputs), expected)


@over_cases("compile")
def test_compiles_without_graph_breaks(case: LossCase) -> None:
    inputs = case.inputs()
    explanation = torch._dynamo.explain(case.function)(*inputs, **case.kwargs)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    assert explanation.graph_count == 1
    compiled = torch.compile(case.module(**case.kwargs), fullgraph=True, backend="eager")
    torch.testing.assert_close(compiled(*inputs), case.function(*inputs, **case.kwargs))


@over_cases("export")
def test_export_with_dynamic_first_dimension(case: LossCase) -> None:
    prediction, target = detached(case.inputs())
    size = torch.export.Dim("n", min=2)
    # The module form calls the same code as the function; the first case of each loss also exports the
    # function itself (options baked in).
    first = next(c for c in LOSS_CASES if name_of(c) == name_of(case)) is case
    builds = (
        (lambda: case.module(**case.kwargs), lambda: _function_module(case))
        if first
        else (lambda: case.module(**case.kwargs),)
    )
    bigger = (torch.cat((prediction, prediction.flip(0)[:1])), torch.cat((target, target.flip(0)[:1])))
    for build in builds:
        exported = torch.export.export(build(), (prediction, target), dynamic_shapes=({0: size}, {0: size}))
        torch.testing.assert_close(exported.module()(*bigger), case.function(*bigger, **case.kwargs))


INDUCTOR_CASES = [case for case in LOSS_CASES if "inductor" in case.tags]


@pytest.mark.slow
@pytest.mark.parametrize("case", INDUCTOR_CASES, ids=lambda case: case.id)
def test_inductor_matches_eager(case: LossCase) -> None:
    inputs = case.inputs()
    compiled = torch.compile(case.function, fullgraph=True)
    output = compiled(*inputs, **case.kwargs)
    torch.testing.assert_close(output, case.function(*inputs, **case.kwargs), rtol=1e-5, atol=1e-6)
    output.sum().backward()
    assert torch.isfinite(inputs[0].grad).all()


# --------------------------------------------------------------------------- numerics


@over_cases("float64")
def test_gradcheck_float64(case: LossCase) -> None:
    if case.gradcheck_inputs is not None:
        inputs = case.gradcheck_inputs()
    else:
        inputs = tuple(x.detach().double().requires_grad_() if x.is_floating_point() else x for x in case.inputs())
    assert torch.autograd.gradcheck(lambda *xs: case.function(*xs, **case.kwargs), inputs, fast_mode=True)


@over_cases("gradients")
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_empty_input(case: LossCase, reduction: str) -> None:
    prediction, target = (x.detach()[:0] for x in case.inputs())
    prediction.requires_grad_()
    for loss in (case.function, case.module(**with_reduction(case, reduction))):
        output = (
            loss(prediction, target, **with_reduction(case, reduction))
            if loss is case.function
            else loss(prediction, target)
        )
        if reduction == "none":
            assert output.numel() == 0
            continue
        assert output.shape == () and output.item() == 0.0
        assert output.grad_fn is not None
        (gradient,) = torch.autograd.grad(output, prediction)
        assert gradient.shape == prediction.shape


@pytest.mark.parametrize(
    "case", [case for case in LOSS_CASES if case.degenerate_inputs is not None], ids=lambda case: case.id
)
def test_degenerate_inputs_are_finite(case: LossCase) -> None:
    assert case.degenerate_inputs is not None
    prediction, target = case.degenerate_inputs()
    for reduction in ("none", "sum"):
        output = case.function(prediction, target, **with_reduction(case, reduction))
        assert torch.isfinite(output).all(), output
        gradients = torch.autograd.grad(output.sum(), (prediction, target))
        assert all(torch.isfinite(g).all() for g in gradients), gradients


def test_the_box_losses_declare_degenerate_inputs() -> None:
    # The degenerate-input check is only as good as the table: every box loss function has edge inputs.
    box_functions = {case.function_name for case in LOSS_CASES if case.degenerate_inputs is not None}
    assert box_functions == {name for name in stable_losses.__all__ if name.endswith("box_iou_loss")}


@over_cases("bfloat16")
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_inputs(case: LossCase, dtype: torch.dtype) -> None:
    inputs = detached(case.inputs())
    low = tuple(x.to(dtype) if x.is_floating_point() else x for x in inputs)
    low[0].requires_grad_()
    output = case.function(*low, **case.kwargs)
    assert output.dtype == (case.output_dtype or dtype)
    assert torch.isfinite(output).all()
    reference = case.function(*(x.to(torch.float32) if x.is_floating_point() else x for x in low), **case.kwargs)
    tolerance = 1e-2 if dtype == torch.float16 else 4e-2
    torch.testing.assert_close(output.float(), reference, rtol=tolerance, atol=tolerance)
    output.float().sum().backward()
    assert low[0].grad is not None and low[0].grad.dtype == dtype and torch.isfinite(low[0].grad).all()
