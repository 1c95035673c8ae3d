"""The forward-input contract, driven by the conformance table: every public layer and loss is fed the
inputs a new user might pass by mistake, and each outcome must be a correct result (checked against a
reference) or a ``TypeError``/``ValueError`` about the input.

Perturbations of a case's input ``x`` (``N`` = batch, dimension 1 = channels):

- ``unbatched`` (``x[0]``): equal to the batched result of ``x[:1]`` (any layout of the same values)
  or rejected; never normalised over the wrong axis;
- ``extra_dim`` (``x[None]``), ``wrong_channels`` (one channel more): rejected, unless the layer has
  no channel count at all (then it runs);
- ``int64``/``bool``/``complex`` dtypes: a result equal to that of the float input, or rejected;
- ``empty_batch`` (``N = 0``): an empty result of the documented shape, or rejected;
- ``zero_spatial`` (a spatial size 0): any result, or rejected (never a crash inside a kernel);
- ``non_contiguous`` and ``expanded`` views: the same result as the contiguous copy;
- ``nan_inf`` values: a result of the usual shape (NaN may propagate);
- ``meta`` tensors on a meta-device layer: a meta result of the usual shape.

Comparisons use evaluation mode (batch statistics of a single sample would differ); stochastic layers
are also compared in training mode under one seed. Where the first input holds several tensors (a
feature pyramid's dict of levels), each perturbation is applied to all of them, and outputs that hold
several tensors are compared tensor by tensor.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import Tensor, nn
from torch.utils._pytree import tree_leaves, tree_map

from tvexp._tooling.conformance.cases import LAYER_CASES, LOSS_CASES
from tvexp._tooling.conformance.checks import assert_close, shapes
from tvexp._tooling.conformance.table import LayerCase, LossCase, seeded

CASES_RUN = [0]  # cases checked in this run, reported by conftest.py

PROPERTY = settings(
    derandomize=True,
    max_examples=1,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
)

PERTURBATIONS = (
    "unbatched",
    "extra_dim",
    "wrong_channels",
    "int64",
    "bool",
    "complex",
    "empty_batch",
    "zero_spatial",
    "non_contiguous",
    "expanded",
    "nan_inf",
    "meta",
)

# Words an error about the input uses; a message without any of them does not say what was wrong.
_INPUT_WORDS = ("input", "shape", "dimension", "dtype", "channel", "feature", "size", "expected", "D ")

# Declared limits: (class, perturbation) -> reason. Each is a gap kept on purpose or left for later.
KNOWN_LIMITS: dict[tuple[str, str], str] = {
    **{
        ("QuantizableMLP", p): (
            "QuantizableMLP checks no input: after fuse_model its first child is a fused LinearReLU without "
            "in_features, so torch's own errors (RuntimeError from the matrix product or the dtype) pass through"
        )
        for p in ("wrong_channels", "int64", "bool", "complex", "zero_spatial")
    },
    **{
        (cls, "complex"): "the fused batch-norm kernel rejects complex inputs with torch's RuntimeError"
        for cls in ("FrozenBatchNorm1d", "FrozenBatchNorm2d", "FrozenBatchNorm3d")
    },
    # The FPN's extra blocks take three lists, (results, features, names), from FeaturePyramidNetwork, which
    # checks the maps; they do not check them again. Perturbing the first list alone makes calls the FPN never
    # makes (results of another batch size or device than the features), and a malformed map reaches the
    # pooling or convolution, which raises torch's RuntimeError as torchvision's blocks do.
    **{
        ("LastLevelMaxPool", p): (
            "an FPN extra block: its maps are the FeaturePyramidNetwork's checked outputs; max_pool2d raises torch's "
            "RuntimeError for a map of another rank, a bool/complex map or a zero-size map"
        )
        for p in ("extra_dim", "bool", "complex", "zero_spatial")
    },
    **{
        ("LastLevelP6P7", p): (
            "an FPN extra block: from C5 it reads the FeaturePyramidNetwork's checked inputs, not the results list "
            "this suite perturbs, which it passes through (so a perturbed results list is carried along)"
        )
        for p in ("wrong_channels", "complex", "empty_batch", "meta")
    },
}


def _layer_cases() -> list[Any]:
    # Each class's reference case runs in the default suite; its other configurations under slow.
    return [
        pytest.param(case, p, id=f"{case.id}:{p}", marks=[] if case.reference else [pytest.mark.slow])
        for case in LAYER_CASES
        for p in PERTURBATIONS
    ]


def _quiet(call: Callable[[], Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return call()


def _forward(module: nn.Module, inputs: tuple[Any, ...], seed: int = 0) -> Any:
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return module(*inputs)


# Layers whose features are the last dimension, (*, C), rather than dimension 1. For (N, L, C) tokens,
# dimension 1 is the sequence length, which may take any value: one channel more is one more feature.
_LAST_DIM_FEATURES = {
    "MLP",
    "QuantizableMLP",
    "LinearNormActivation",
    "MultiheadSelfAttention",
    "TransformerEncoderBlock",
    # channels-last maps (N, H, W, C) / (N, T, H, W, C): the Swin layers
    "ShiftedWindowAttention",
    "SwinTransformerBlock",
    "PatchMerging",
}
# Cases of layers that take either layout, whose case input has its features last.
_LAST_DIM_CASES = {"LayerScale/tokens"}


def _perturb(x: Tensor, perturbation: str, generator: torch.Generator, last_dim: bool = False) -> Tensor | None:
    """The perturbed input, or ``None`` when the perturbation does not apply to this input."""
    if perturbation == "unbatched":
        return x[0] if x.dim() >= 2 else None
    if perturbation == "extra_dim":
        return x[None]
    if perturbation == "wrong_channels":
        if last_dim:
            return torch.cat([x, x[..., :1]], dim=-1)
        if x.dim() < 2:
            return None
        return torch.cat([x, x[:, :1]], dim=1)
    if perturbation == "int64":
        return (x * 3).round().long()
    if perturbation == "bool":
        return x > 0
    if perturbation == "complex":
        return x.to(torch.complex64)
    if perturbation == "empty_batch":
        return x[:0]
    if perturbation == "zero_spatial":
        return x[..., :0] if x.dim() >= 3 else None
    if perturbation == "non_contiguous":
        if x.dim() < 2 or x.shape[-1] < 2 or x.shape[-2] < 2:
            return None
        return x.transpose(-1, -2).contiguous().transpose(-1, -2)
    if perturbation == "expanded":
        return x[:1].expand(x.shape)
    if perturbation == "nan_inf":
        y = x.clone()
        flat = y.view(-1)
        index = torch.randint(0, flat.numel(), (2,), generator=generator)
        flat[index[0]] = math.nan
        flat[index[1]] = math.inf
        return y
    if perturbation == "meta":
        return x.to("meta")
    raise AssertionError(perturbation)


def _perturb_all(x: Any, perturbation: str, generator: torch.Generator, last_dim: bool = False) -> Any | None:
    """:func:`_perturb` applied to every tensor in ``x`` (a tensor, or a dict/list of them); ``None`` when it
    does not apply to one of them."""
    perturbed = tree_map(
        lambda t: _perturb(t.detach(), perturbation, generator, last_dim) if isinstance(t, Tensor) else t, x
    )
    return None if any(leaf is None for leaf in tree_leaves(perturbed)) else perturbed


def _tensors(value: Any) -> list[Tensor]:
    return [leaf for leaf in tree_leaves(value) if isinstance(leaf, Tensor)]


def _on_tensors(function: Callable[[Tensor], Any], value: Any) -> Any:
    return tree_map(lambda leaf: function(leaf) if isinstance(leaf, Tensor) else leaf, value)


def _without_batch(layout: Any) -> Any:
    """``shapes(...)`` with the batch size dropped from every shape."""
    if isinstance(layout, tuple) and all(isinstance(size, int) for size in layout):
        return layout[1:]
    if isinstance(layout, (list, tuple)):  # a list of items, or a (key, item) pair of a mapping
        return type(layout)(_without_batch(item) for item in layout)
    return layout


def _has_channel_count(module: nn.Module) -> bool:
    return any(True for _ in module.parameters()) or any(True for _ in module.buffers())


# torch's own errors accepted as they are (kept on purpose): clear, about the input, and what torchvision raises.
ACCEPTED_TORCH_ERRORS = (
    # A spatial size too small for the kernel: only the convolution knows its padded size.
    "Kernel size can't be greater than actual input size",
    "Output size is too small",
    # A transposed convolution of a map with a zero-size spatial dimension.
    "Only zero batch or zero channel inputs are supported",
)


def _assert_input_error(error: Exception, what: str) -> None:
    if isinstance(error, RuntimeError) and any(text in str(error) for text in ACCEPTED_TORCH_ERRORS):
        return
    assert isinstance(error, (TypeError, ValueError)), f"{what}: {type(error).__name__} from inside torch: {error}"
    assert any(word in str(error) for word in _INPUT_WORDS), f"{what}: the message does not describe the input: {error}"


def _check_result(
    case: LayerCase, perturbation: str, module: nn.Module, x: Any, y: Any, output: Any, rest: tuple[Any, ...]
) -> None:
    """``output`` of the perturbed first input ``y`` (``x`` before), the other inputs ``rest`` unchanged."""
    what = f"{case.id} with a {perturbation} input"
    reference_input = (x, *rest)
    if perturbation == "unbatched":
        reference = _forward(module, (_on_tensors(lambda t: t[:1], x), *rest))
        for out, ref in zip(_tensors(output), _tensors(reference), strict=True):
            assert out.numel() == ref.numel(), f"{what}: shape {list(out.shape)}"
            torch.testing.assert_close(out.reshape(-1), ref.reshape(-1), msg=what)
    elif perturbation == "extra_dim":
        # Accepted only as a leading batch dimension: the values must be those of the original input.
        reference = _forward(module, reference_input)
        for out, ref in zip(_tensors(output), _tensors(reference), strict=True):
            torch.testing.assert_close(out.reshape(-1), ref.reshape(-1), msg=what)
    elif perturbation == "wrong_channels":
        assert not _has_channel_count(module), f"{what} was accepted (output shape {shapes(output)})"
    elif perturbation in ("int64", "bool"):
        reference = _forward(module, (_on_tensors(lambda t: t.to(torch.get_default_dtype()), y), *rest))
        assert_close(_on_tensors(lambda t: t.to(torch.get_default_dtype()), output), reference, what)
    elif perturbation == "complex":
        assert not _has_channel_count(module), f"{what} was accepted"
    elif perturbation in ("non_contiguous", "expanded"):
        assert_close(output, _forward(module, (_on_tensors(lambda t: t.contiguous(), y), *rest)), what)
    elif perturbation == "empty_batch":
        assert all(out.numel() == 0 for out in _tensors(output)), f"{what}: {shapes(output)}"
        assert _without_batch(shapes(output)) == _without_batch(shapes(case.output_shape)), f"{what}: {shapes(output)}"
    elif perturbation in ("nan_inf",):
        assert shapes(output) == shapes(case.output_shape), f"{what}: {shapes(output)}"
    elif perturbation == "meta":
        assert all(out.device.type == "meta" for out in _tensors(output)), what
        assert shapes(output) == shapes(case.output_shape), what


@pytest.mark.parametrize(("case", "perturbation"), _layer_cases())
@PROPERTY
@given(seed=st.integers(0, 2**16))
def test_layers_give_a_correct_result_or_an_input_error(case: LayerCase, perturbation: str, seed: int) -> None:
    limit = KNOWN_LIMITS.get((case.class_name, perturbation))
    if limit is not None:
        pytest.skip(limit)
    inputs = case.inputs()
    x = inputs[0]
    generator = torch.Generator().manual_seed(seed)
    y = _perturb_all(x, perturbation, generator, case.class_name in _LAST_DIM_FEATURES or case.id in _LAST_DIM_CASES)
    if y is None:
        return
    module = _quiet(lambda: seeded(case.build)).eval()
    if perturbation == "meta":
        module = module.to("meta")
    modes = [False, True] if case.stochastic and perturbation not in ("meta",) else [False]
    for training in modes:
        CASES_RUN[0] += 1
        module.train(training)
        try:
            output = _quiet(lambda: _forward(module, (y, *inputs[1:]), seed))
        except Exception as error:
            _assert_input_error(error, f"{case.id} with a {perturbation} input")
            continue
        if training:
            # A stochastic layer in training: compare with the contiguous float input under the same seed.
            if perturbation in ("non_contiguous", "expanded", "int64", "bool"):
                reference_input = _on_tensors(
                    lambda t: t.contiguous() if t.is_floating_point() else t.to(torch.get_default_dtype()), y
                )
                reference = _forward(module, (reference_input, *inputs[1:]), seed)
                assert_close(_on_tensors(lambda t: t.to(torch.get_default_dtype()), output), reference, case.id)
            continue
        _check_result(case, perturbation, module, _on_tensors(lambda t: t.detach(), x), y, output, inputs[1:])


# ---------------------------------------------------------------------------------- losses

LOSS_PERTURBATIONS = ("broadcast_first", "extra_dim", "int_prediction", "empty", "nan_inf", "non_contiguous", "meta")


def _loss_cases() -> list[Any]:
    return [
        pytest.param(case, p, id=f"{case.id}:{p}")
        for case in LOSS_CASES
        if case.module is not None
        for p in LOSS_PERTURBATIONS
    ]


def _perturb_loss(prediction: Tensor, target: Tensor, perturbation: str) -> tuple[Tensor, Tensor] | None:
    if perturbation == "broadcast_first":
        return prediction[:1], target  # a (1, ...) prediction against (N, ...) targets
    if perturbation == "extra_dim":
        return prediction[None], target
    if perturbation == "int_prediction":
        return (prediction * 3).round().long(), target
    if perturbation == "empty":
        return prediction[:0], target[:0]
    if perturbation == "nan_inf":
        bad = prediction.clone()
        bad.view(-1)[0] = math.nan
        bad.view(-1)[-1] = math.inf
        return bad, target
    if perturbation == "non_contiguous":
        if prediction.dim() < 2:
            return None
        transposed = prediction.transpose(0, -1).contiguous().transpose(0, -1)
        return transposed, target
    if perturbation == "meta":
        return prediction.to("meta"), target.to("meta")
    raise AssertionError(perturbation)


def _outcome(call: Callable[[], Tensor]) -> tuple[str, Any]:
    try:
        return "ok", call()
    except Exception as error:
        return type(error).__name__, error


@pytest.mark.parametrize(("case", "perturbation"), _loss_cases())
def test_losses_give_a_correct_result_or_an_input_error_in_both_forms(case: LossCase, perturbation: str) -> None:
    prediction, target = case.inputs()
    perturbed = _perturb_loss(prediction.detach(), target, perturbation)
    if perturbed is None:
        return
    CASES_RUN[0] += 2  # function and module form
    assert case.module is not None
    module = case.module(**case.kwargs)
    (f_status, f_result) = _outcome(lambda: case.function(*perturbed, **case.kwargs))
    (m_status, m_result) = _outcome(lambda: module(*perturbed))
    what = f"{case.id} with a {perturbation} input"
    assert f_status == m_status, f"{what}: function {f_status}, module {m_status}"
    if f_status != "ok":
        _assert_input_error(f_result, what)
        assert str(f_result) == str(m_result), f"{what}: the forms raise different messages"
        return
    torch.testing.assert_close(f_result, m_result, equal_nan=True, msg=what)
    if perturbation in ("broadcast_first", "extra_dim"):
        raise AssertionError(f"{what} was accepted: a loss must not broadcast mismatched shapes")
    if perturbation == "non_contiguous":
        torch.testing.assert_close(f_result, case.function(perturbed[0].contiguous(), target, **case.kwargs))
    if perturbation == "int_prediction":
        reference = case.function(perturbed[0].float(), target, **case.kwargs)
        torch.testing.assert_close(f_result.to(reference.dtype), reference, msg=what)
    if perturbation == "meta":
        assert f_result.device.type == "meta"
