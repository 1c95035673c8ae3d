"""One regression test per case of the input-contract issue (silent wrong results, torchvision's calls
and errors, one validator per argument, readable signatures). Box-loss shapes, focal-loss alpha and
gamma, and stochastic depth's tensor ``p`` are pinned next to those losses' and layers' own tests."""

from __future__ import annotations

import inspect
import math
import re
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import tvexp.prototype as tvp
import tvexp.stable as tvs
from tvexp.prototype.losses import (
    CompleteBoxIoULoss,
    DiceLoss,
    DistanceBoxIoULoss,
    GeneralizedBoxIoULoss,
    SigmoidFocalLoss,
    SoftmaxFocalLoss,
    dice_loss,
    softmax_focal_loss,
)
from tvexp.stable.functional import drop_block2d, drop_block3d
from tvexp.stable.losses import (
    complete_box_iou_loss,
    distance_box_iou_loss,
    generalized_box_iou_loss,
    sigmoid_focal_loss,
)

BOXES = torch.tensor([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 4.0]])
LOGITS = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
CLASSES = torch.tensor([0, 2])

# ------------------------------------------------------------------ silent wrong results


@pytest.mark.parametrize(
    ("block", "x"),
    [
        (lambda: tvs.Conv1dNormActivation(4, 8), torch.randn(4, 8)),
        (lambda: tvs.Conv1dNormActivation(4, 8), torch.randn(4, 5)),
        (lambda: tvp.ConvTranspose1dNormActivation(4, 8), torch.randn(4, 8)),
    ],
)
def test_unbatched_input_to_1d_blocks_is_rejected_naming_the_expected_layout(block, x) -> None:
    # It used to return a (8, 8) result normalised over the wrong axis (or fail inside batch norm).
    module = block().eval()
    with pytest.raises(ValueError, match=r"expects a 3-D input \(N, C, L\), got a 2-D input .*unsqueeze\(0\)"):
        module(x)
    assert module(x[None]).shape[0] == 1
    with pytest.raises(RuntimeError):  # InvalidInputError is a RuntimeError too, torch's type for bad inputs
        module(x)


@pytest.mark.parametrize(
    "build",
    [
        lambda: tvs.FrozenBatchNorm2d(4, eps=math.inf),
        lambda: tvp.FrozenBatchNorm1d(4, eps=math.inf),
        lambda: tvp.FrozenBatchNorm3d(4, eps=math.inf),
        lambda: tvs.DropBlock2d(0.1, 3, eps=math.inf),
        lambda: tvs.DropBlock3d(0.1, 3, eps=math.inf),
        lambda: GeneralizedBoxIoULoss(eps=math.inf),
        lambda: DistanceBoxIoULoss(eps=math.inf),
        lambda: CompleteBoxIoULoss(eps=math.inf),
        lambda: tvp.LayerNorm2d(8, eps=math.inf),
        lambda: DiceLoss(smooth=math.inf),
        lambda: SoftmaxFocalLoss(alpha=[1.0, math.nan, 1.0]),
        lambda: tvp.MBConv(8, 8, expand_ratio=math.inf),
        lambda: tvp.FusedMBConv(8, 8, expand_ratio=math.inf),
        lambda: tvp.InvertedResidual(8, 8, expand_ratio=math.inf),
    ],
)
def test_non_finite_hyper_parameters_are_rejected(build) -> None:
    with pytest.raises(ValueError, match=r"(eps|smooth|alpha|expand_ratio) must be .*finite"):
        build()


@pytest.mark.parametrize(
    ("function", "name"),
    [
        (lambda: generalized_box_iou_loss(BOXES, BOXES, eps=math.inf), "eps"),
        (lambda: complete_box_iou_loss(BOXES, BOXES, eps=math.nan), "eps"),
        (lambda: dice_loss(torch.zeros(2, 3), torch.ones(2, 3), smooth=math.inf), "smooth"),
        (lambda: softmax_focal_loss(LOGITS, CLASSES, alpha=[1.0, math.inf, 1.0]), "alpha"),
        (lambda: drop_block2d(torch.ones(1, 1, 4, 4), 0.1, 3, eps=math.inf), "eps"),
    ],
)
def test_function_forms_reject_non_finite_values_too(function, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        function()


@pytest.mark.parametrize(
    "build",
    [
        lambda: tvs.Conv2dNormActivation(3, 4, bias="False"),
        lambda: tvs.Conv2dNormActivation(3, 4, inplace="False"),
        lambda: tvs.Conv1dNormActivation(3, 4, bias="True"),
        lambda: tvs.MLP(4, [8], bias="False"),
        lambda: tvs.MLP(4, [8], inplace="False"),
        lambda: tvp.LinearNormActivation(4, 8, bias="False"),
        lambda: tvs.DropBlock2d(0.1, 3, inplace="False"),
        lambda: tvp.LayerNorm2d(8, elementwise_affine="False"),
        lambda: tvp.Bottleneck(64, 16, stride_in_1x1="False"),
        lambda: tvp.freeze_batch_norm(nn.BatchNorm2d(2), inplace="False"),
    ],
)
def test_truthy_strings_are_not_flags(build) -> None:
    # torchvision's Conv2dNormActivation(3, 4, bias="False") has a bias; inplace="False" builds ReLU(inplace='False').
    with pytest.raises(
        TypeError, match=r"(bias|inplace|elementwise_affine|stride_in_1x1) must be True(, False or None| or False)"
    ):
        build()


def test_numpy_bools_are_flags() -> None:
    assert tvs.Conv2dNormActivation(3, 4, bias=np.bool_(True))[0].bias is not None


def test_layer_norm_on_a_conv_block_warns_and_still_builds_as_torchvision() -> None:
    with pytest.warns(
        UserWarning, match=r"norm_layer=nn.LayerNorm.*normalises the last \(spatial\) dimension.*LayerNorm2d"
    ):
        block = tvs.Conv2dNormActivation(3, 8, norm_layer=nn.LayerNorm)
    assert isinstance(block[1], nn.LayerNorm) and block[1].normalized_shape == (8,)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tvs.Conv2dNormActivation(3, 8, norm_layer=tvp.LayerNorm2d)  # the right layer does not warn
        tvs.MLP(8, [8], norm_layer=nn.LayerNorm)  # nor does LayerNorm where it normalises the features


def test_fuse_conv_norm_reports_pairs_it_cannot_fold() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(4)).eval()
    with pytest.warns(UserWarning, match=r"0 \(8 channels\) -> 1 \(4 features\)"):
        fused = tvp.fuse_conv_norm(model)
    assert isinstance(fused[1], nn.BatchNorm2d)  # left unfused
    nested = nn.Sequential(nn.Sequential(nn.Conv2d(3, 8, 3)), nn.BatchNorm2d(4)).eval()
    with pytest.raises(ValueError, match="8 output channels and the norm 4 features"):
        tvp.fuse_conv_norm(nested, pairs=[("0.0", "1")])


# --------------------------------------------------------------------- drop-in fidelity


@pytest.mark.parametrize("spelling", [np.int64(4), np.int32(4), torch.tensor(4)])
def test_integer_arguments_take_numpy_integers_and_0d_tensors(spelling) -> None:
    x = torch.randn(2, 4, 6, 6)
    torch.manual_seed(0)
    reference = tvs.Conv2dNormActivation(4, 8).eval()(x)
    torch.manual_seed(0)
    block = tvs.Conv2dNormActivation(spelling, 8).eval()
    assert type(block.in_channels) is int
    torch.testing.assert_close(block(x), reference)
    assert tvs.SqueezeExcitation(spelling, 2)(x).shape == x.shape
    assert tvs.MLP(spelling, [np.int64(3)])(torch.randn(2, 4)).shape == (2, 3)
    assert tvs.FrozenBatchNorm2d(spelling)(x).shape == x.shape
    assert tvs.DropBlock2d(0.1, np.int64(3))(x).shape == x.shape
    assert tvs.DropBlock2d(0.1, (np.int64(3), torch.tensor(2)))(x).shape == x.shape
    assert tvs.Permute([np.int64(0), 2, 3, 1])(x).shape == (2, 6, 6, 4)


def test_drop_block_on_an_integer_tensor_returns_a_float_result_as_torchvision() -> None:
    x = torch.ones(2, 3, 8, 8, dtype=torch.long)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        output = drop_block2d(x, 0.3, 3)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        reference = drop_block2d(x.float(), 0.3, 3)
    assert output.dtype == torch.float32
    torch.testing.assert_close(output, reference)
    assert tvs.DropBlock2d(0.3, 3)(x).dtype == torch.float32
    assert drop_block3d(torch.ones(1, 1, 4, 4, 4, dtype=torch.int32), 0.3, 2).dtype == torch.float32


def test_frozen_batch_norm_2d_broadcasts_an_unbatched_input_as_torchvision() -> None:
    norm = tvs.FrozenBatchNorm2d(4)
    with torch.no_grad():
        norm.weight.copy_(torch.tensor([1.0, 2.0, 3.0, 4.0]))
        norm.running_mean.copy_(torch.tensor([0.5, -1.0, 0.0, 2.0]))
    x = torch.randn(4, 5, 5)  # (C, H, W); H != C, so the channel axis is unambiguous
    scale = norm.weight * (norm.running_var + norm.eps).rsqrt()
    shift = norm.bias - norm.running_mean * scale
    expected = x * scale.reshape(1, -1, 1, 1) + shift.reshape(1, -1, 1, 1)  # torchvision's arithmetic
    assert expected.shape == (1, 4, 5, 5)
    torch.testing.assert_close(norm(x), expected)
    square = torch.randn(4, 4, 4)  # H == C used to normalise over H silently
    torch.testing.assert_close(norm(square), norm(square[None]))


LOSS_CALLS = [
    lambda r: sigmoid_focal_loss(torch.zeros(2), torch.zeros(2), reduction=r),
    lambda r: generalized_box_iou_loss(BOXES, BOXES, reduction=r),
    lambda r: distance_box_iou_loss(BOXES, BOXES, reduction=r),
    lambda r: complete_box_iou_loss(BOXES, BOXES, reduction=r),
    lambda r: softmax_focal_loss(LOGITS, CLASSES, reduction=r),
    lambda r: dice_loss(torch.zeros(2, 3), torch.ones(2, 3), reduction=r),
    lambda r: SigmoidFocalLoss(reduction=r),
    lambda r: GeneralizedBoxIoULoss(reduction=r),
    lambda r: SoftmaxFocalLoss(reduction=r),
    lambda r: DiceLoss(reduction=r),
]


@pytest.mark.parametrize("call", LOSS_CALLS)
def test_invalid_reduction_message_starts_with_torchvisions_text(call) -> None:
    # torchvision's own tests match on this text; tvexp's plainer words follow it.
    torchvision_text = "Invalid Value for arg 'reduction': 'bogus \n Supported reduction modes: 'none', 'mean', 'sum'"
    with pytest.raises(ValueError, match=re.escape(torchvision_text)) as info:
        call("bogus")
    assert "reduction must be one of 'none', 'mean', 'sum', got 'bogus'" in str(info.value)


def test_drop_probability_and_rank_messages_contain_torchvisions_text() -> None:
    with pytest.raises(ValueError, match=r"drop probability has to be between 0 and 1, but got 1.5\."):
        drop_block2d(torch.ones(1, 1, 4, 4), 1.5, 3)
    with pytest.raises(ValueError, match="input should be 4 dimensional. Got 3 dimensions."):
        drop_block2d(torch.ones(1, 4, 4), 0.5, 3)
    with pytest.raises(ValueError, match="input should be 4 dimensional. Got 3 dimensions."):
        tvs.DropBlock2d(0.5, 3).eval()(torch.ones(1, 4, 4))


# ---------------------------------------------------------------- one validator per argument


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: drop_block2d(torch.ones(1, 1, 4, 4), math.nan, 3), ValueError, r"p must be a probability .*got nan"),
        (lambda: drop_block2d(torch.ones(1, 1, 4, 4), 0.1, 3.0), TypeError, "block_size must be an int or a tuple"),
        (
            lambda: drop_block3d(torch.ones(1, 1, 4, 4, 4), 0.1, (2, 2)),
            TypeError,
            "block_size must be an int or a tuple of 3",
        ),
        (lambda: drop_block2d(torch.ones(1, 1, 4, 4), 0.1, 3, eps=-1.0), ValueError, "eps must be a finite"),
        (
            lambda: drop_block2d(torch.ones(1, 1, 4, 4), 0.1, 3, inplace="no"),
            TypeError,
            "inplace must be True or False",
        ),
    ],
)
def test_drop_block_functions_use_the_modules_validator(call, error, message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_permute_with_the_wrong_rank_names_dims_and_the_rank() -> None:
    with pytest.raises(ValueError, match=r"Permute\(dims=\[0, 2, 3, 1\]\) expects an input with 4 dimensions, got 3"):
        tvs.Permute([0, 2, 3, 1])(torch.randn(2, 3, 4))


def test_layer_norm_2d_errors_name_the_channels_and_dtype() -> None:
    norm = tvp.LayerNorm2d(8)
    # It used to report the permuted NHWC size.
    with pytest.raises(ValueError, match=r"LayerNorm2d\(8\) expects an \(N, 8, H, W\) input, got 4 channels"):
        norm(torch.randn(2, 4, 5, 5))
    with pytest.raises(ValueError, match="torch.float32 parameters and got a torch.float64 input"):
        norm(torch.randn(2, 8, 5, 5, dtype=torch.float64))
    assert norm(torch.randn(2, 8, 5, 5, dtype=torch.bfloat16)).dtype == torch.bfloat16  # mixed precision works
    with pytest.raises(TypeError, match="num_channels must be a positive int, got '8'"):
        tvp.LayerNorm2d("8")
    with pytest.raises(TypeError, match="eps must be a finite positive number, got True"):
        tvp.LayerNorm2d(8, eps=True)
    converted = tvp.LayerNorm2d(8, eps=torch.tensor(1e-5))
    assert type(converted.eps) is float


def test_dice_loss_names_the_shapes_for_inputs_without_a_batch_dimension() -> None:
    for logits, target in ((torch.randn(4), torch.tensor(1.0)), (torch.tensor(0.5), torch.tensor(1.0))):
        with pytest.raises(ValueError, match="must have a batch dimension"):  # used to be an IndexError
            dice_loss(logits, target)
        with pytest.raises(ValueError, match="must have a batch dimension"):
            DiceLoss()(logits, target)


def test_wrong_channels_fail_with_the_layers_own_message() -> None:
    with pytest.raises(ValueError, match=r"Conv2dNormActivation expects 3 channels in dimension 1 of its input, got 4"):
        tvs.Conv2dNormActivation(3, 8)(torch.randn(2, 4, 5, 5))
    with pytest.raises(ValueError, match=r"SqueezeExcitation expects 8 channels"):
        tvs.SqueezeExcitation(8, 2)(torch.randn(2, 4, 5, 5))
    with pytest.raises(ValueError, match=r"FrozenBatchNorm expects an \(N, 8, \.\.\.\) input"):
        tvs.FrozenBatchNorm2d(8)(torch.randn(2, 4, 5, 5))
    with pytest.raises(ValueError, match="expects a floating-point input, got dtype torch.int64"):
        tvp.BasicBlock(4, 4)(torch.ones(1, 4, 5, 5, dtype=torch.long))


# --------------------------------------------------------------------------- signatures


@pytest.mark.parametrize("name", [n for n in tvp.__all__ if n.startswith("Quantizable")])
def test_quantizable_blocks_show_the_float_blocks_signature(name: str) -> None:
    quantizable = getattr(tvp, name)
    signature = inspect.signature(quantizable)
    assert not any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in signature.parameters.values())
    assert signature == inspect.signature(quantizable.__mro__[1])


LOSS_PAIRS = [
    (sigmoid_focal_loss, SigmoidFocalLoss),
    (generalized_box_iou_loss, GeneralizedBoxIoULoss),
    (distance_box_iou_loss, DistanceBoxIoULoss),
    (complete_box_iou_loss, CompleteBoxIoULoss),
    (softmax_focal_loss, SoftmaxFocalLoss),
    (dice_loss, DiceLoss),
]


@pytest.mark.parametrize(("function", "module"), LOSS_PAIRS, ids=[f.__name__ for f, _ in LOSS_PAIRS])
def test_loss_modules_default_to_their_functions_defaults(function, module) -> None:
    # The one rule: a module's option defaults are its function's, so Module()(x, y) == function(x, y).
    function_defaults = {n: p.default for n, p in inspect.signature(function).parameters.items()}
    for name, parameter in inspect.signature(module).parameters.items():
        if name in function_defaults:
            assert parameter.default == function_defaults[name], f"{module.__name__}.{name}"
