"""The contract every public loss keeps, checked over the conformance table (``LOSS_CASES``).

Every loss takes the prediction first and the target second, offers ``reduction`` "none" | "mean" |
"sum" with a documented output shape, agrees with its module form, scripts, compiles without graph
breaks, exports with a dynamic batch (or box) dimension, passes ``gradcheck`` in float64, returns
``0`` with a gradient for ``mean`` over an empty input, and runs in float16 and bfloat16.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any, Callable

import pytest
import torch
from torch import Tensor, nn

import tvexp.prototype.losses as prototype_losses
import tvexp.stable.losses as stable_losses
from tvexp._tooling.conformance.cases import LOSS_CASES
from tvexp._tooling.conformance.losses import boxes
from tvexp._tooling.conformance.table import LossCase

BOX_LOSSES = {"generalized_box_iou_loss", "distance_box_iou_loss", "complete_box_iou_loss"}

# Output shape for reduction="none", from (prediction, target); "mean" and "sum" give a scalar.
NONE_SHAPE: dict[str, Callable[[Tensor, Tensor], tuple[int, ...]]] = {
    "sigmoid_focal_loss": lambda prediction, target: tuple(prediction.shape),
    "generalized_box_iou_loss": lambda prediction, target: tuple(prediction.shape[:-1]),
    "distance_box_iou_loss": lambda prediction, target: tuple(prediction.shape[:-1]),
    "complete_box_iou_loss": lambda prediction, target: tuple(prediction.shape[:-1]),
    "softmax_focal_loss": lambda prediction, target: tuple(target.shape),
    "dice_loss": lambda prediction, target: (prediction.shape[0],),
}
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
    return case.id.split("/", 1)[0]


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
    assert set(NONE_SHAPE) == {name_of(case) for case in LOSS_CASES}


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
    expected = NONE_SHAPE[name_of(case)](prediction, target) if reduction == "none" else ()
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


def _smooth_box_pair(same_aspect: bool = False) -> tuple[Tensor, Tensor]:
    # No touching edges or equal coordinates: gradcheck's finite differences need a smooth point.
    target = boxes(6, seed=11).double()
    prediction = target + torch.tensor(
        [
            [0.3, -0.2, 0.5, 0.1],
            [1.1, 0.7, -0.4, 0.9],
            [-0.6, 0.2, 0.3, -0.3],
            [7.0, 6.0, 8.0, 9.0],
            [0.2, 0.25, -0.15, -0.35],
            [-2.1, 0.4, 0.6, 1.3],
        ],
        dtype=torch.float64,
    )
    if same_aspect:
        # Scaled copies of the target, shifted: the aspect-ratio term v and its derivative are 0 here.
        sizes = (target[:, 2:] - target[:, :2]) * torch.tensor(
            [[1.3], [0.7], [1.1], [0.9], [1.6], [0.8]], dtype=torch.float64
        )
        corners = prediction[:, :2]
        prediction = torch.cat((corners, corners + sizes), dim=1)
    return prediction.requires_grad_(), target.requires_grad_()


@over_cases("float64")
def test_gradcheck_float64(case: LossCase) -> None:
    if name_of(case) in BOX_LOSSES:
        # CIoU's trade-off weight alpha is a constant by design (no gradient), which finite differences
        # cannot know; gradcheck it where v = 0, and test_box_iou_losses checks its full gradient
        # against a reference with alpha held fixed.
        inputs = _smooth_box_pair(same_aspect=name_of(case) == "complete_box_iou_loss")
    else:
        inputs = tuple(x.detach().double().requires_grad_() if x.is_floating_point() else x for x in case.inputs())
        if name_of(case) == "sigmoid_focal_loss":
            inputs[1].requires_grad_(False)
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


@pytest.mark.parametrize("name", sorted(BOX_LOSSES))
def test_degenerate_boxes_are_finite(name: str) -> None:
    function = getattr(stable_losses, name)
    prediction = torch.tensor(
        [
            [1.0, 1.0, 1.0, 1.0],  # point
            [1.0, 1.0, 3.0, 1.0],  # zero height
            [1.0, 1.0, 1.0, 4.0],  # zero width
            [3.0, 3.0, 1.0, 1.0],  # x2 < x1 and y2 < y1
            [3.0, 1.0, 1.0, 2.0],  # x2 < x1 only
            [0.0, 0.0, 0.0, 0.0],  # point, against the same point
            [2.0, 2.0, 2.0, 2.0],
            [0.0, 0.0, 2.0, 2.0],  # valid, against a degenerate target
        ],
        requires_grad=True,
    )
    target = torch.tensor(
        [
            [0.0, 0.0, 2.0, 2.0],
            [0.0, 0.0, 2.0, 2.0],
            [0.0, 0.0, 2.0, 2.0],
            [0.0, 0.0, 2.0, 2.0],
            [2.0, 2.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0],
            [2.0, 2.0, 2.0, 5.0],
            [1.0, 1.0, 1.0, 1.0],
        ],
        requires_grad=True,
    )
    for reduction in ("none", "sum"):
        output = function(prediction, target, reduction=reduction)
        assert torch.isfinite(output).all(), output
        gradients = torch.autograd.grad(output.sum(), (prediction, target))
        assert all(torch.isfinite(g).all() for g in gradients), gradients


@over_cases("bfloat16")
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_inputs(case: LossCase, dtype: torch.dtype) -> None:
    inputs = detached(case.inputs())
    low = tuple(x.to(dtype) if x.is_floating_point() else x for x in inputs)
    low[0].requires_grad_()
    output = case.function(*low, **case.kwargs)
    # Box losses compute and return float32 (as torchvision); the others return the input dtype.
    assert output.dtype == (torch.float32 if name_of(case) in BOX_LOSSES else dtype)
    assert torch.isfinite(output).all()
    reference = case.function(*(x.to(torch.float32) if x.is_floating_point() else x for x in low), **case.kwargs)
    tolerance = 1e-2 if dtype == torch.float16 else 4e-2
    torch.testing.assert_close(output.float(), reference, rtol=tolerance, atol=tolerance)
    output.float().sum().backward()
    assert low[0].grad is not None and low[0].grad.dtype == dtype and torch.isfinite(low[0].grad).all()
