"""TransformerEncoderBlock, ConvNeXtBlock and LayerScale: behaviour beyond the parity fixtures."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torch import nn

from tvexp import TvexpDeprecationWarning
from tvexp.prototype import ConvNeXtBlock, LayerScale, TransformerEncoderBlock

# ------------------------------------------------------------------------------ TransformerEncoderBlock


def test_encoder_block_is_pre_norm_attention_then_mlp() -> None:
    block = TransformerEncoderBlock(2, 8, 16).eval()
    x = torch.randn(2, 3, 8)
    hidden = x + block.self_attention(block.ln_1(x))
    torch.testing.assert_close(block(x), hidden + block.mlp(block.ln_2(hidden)))


def test_encoder_block_migrates_legacy_mlp_keys_once_and_not_its_own_checkpoints() -> None:
    source = TransformerEncoderBlock(2, 8, 16)
    legacy = OrderedDict(
        (key.replace("mlp.0.", "mlp.linear_1.").replace("mlp.3.", "mlp.linear_2."), value)
        for key, value in source.state_dict().items()
    )
    legacy._metadata = OrderedDict({"": {"version": 1}})  # type: ignore[attr-defined]
    target = TransformerEncoderBlock(2, 8, 16)
    with pytest.warns(TvexpDeprecationWarning, match=r"mlp\.linear_1\.weight, mlp\.linear_1\.bias"):
        target.load_state_dict(legacy, strict=True)
    torch.testing.assert_close(target.mlp[3].weight, source.mlp[3].weight)
    # A current checkpoint (version 2 in its metadata) loads silently; pytest turns warnings into errors.
    TransformerEncoderBlock(2, 8, 16).load_state_dict(source.state_dict(), strict=True)


def test_encoder_block_stochastic_depth_drops_whole_samples_in_training() -> None:
    block = TransformerEncoderBlock(2, 8, 16, stochastic_depth_prob=1.0)
    x = torch.randn(4, 3, 8)
    torch.testing.assert_close(block(x), x)  # both branches dropped
    assert not torch.allclose(block.eval()(x), x)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"hidden_dim": 10, "num_heads": 4}, ValueError, "hidden_dim must be divisible by num_heads"),
        ({"dropout": 2.0}, ValueError, r"dropout must be a probability in \[0, 1\], got 2.0"),
        ({"stochastic_depth_prob": float("nan")}, ValueError, "stochastic_depth_prob must be a probability"),
        ({"mlp_dim": 0}, ValueError, "mlp_dim must be a positive int"),
        ({"norm_layer": nn.LayerNorm(8)}, TypeError, "norm_layer .* module instance"),
    ],
)
def test_encoder_block_rejects_invalid_arguments(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        TransformerEncoderBlock(**{"num_heads": 2, "hidden_dim": 8, "mlp_dim": 16, **kwargs})


def test_encoder_block_rejects_wrong_token_width() -> None:
    with pytest.raises(ValueError, match=r"expects 8 features in the last dimension .*, got shape \[2, 3, 6\]"):
        TransformerEncoderBlock(2, 8, 16)(torch.randn(2, 3, 6))


# ------------------------------------------------------------------------------------- ConvNeXtBlock


def test_convnext_block_equals_its_definition() -> None:
    block = ConvNeXtBlock(8, 0.5).eval()
    x = torch.randn(2, 8, 6, 6)
    conv, _, norm, fc1, act, fc2, _ = block.block
    branch = fc2(act(fc1(norm(conv(x).permute(0, 2, 3, 1))))).permute(0, 3, 1, 2)
    torch.testing.assert_close(block(x), x + block.layer_scale * branch)


@pytest.mark.parametrize("variant", ["folded", "hook on block", "hook on block.5", "block.5 not a Linear"])
def test_convnext_block_gradients_equal_its_definition(variant: str) -> None:
    # The forward folds the layer scale into block.5's weight and bias; hooks on block or block.5
    # (FSDP2 gathers parameters in one) and a replaced block.5 make it run block as a module instead.
    block = ConvNeXtBlock(8, 0.5)
    calls = []
    if variant == "hook on block":
        block.block.register_forward_pre_hook(lambda module, args: calls.append(module))
    elif variant == "hook on block.5":
        block.block[5].register_forward_hook(lambda module, args, output: calls.append(module))
    elif variant == "block.5 not a Linear":
        block.block[5] = nn.Sequential(block.block[5])
    x = torch.randn(2, 8, 6, 6, requires_grad=True)
    conv, _, norm, fc1, act, fc2, _ = block.block
    branch = fc2(act(fc1(norm(conv(x).permute(0, 2, 3, 1))))).permute(0, 3, 1, 2)
    expected = x + block.layer_scale * branch
    calls.clear()
    actual = block(x)
    assert len(calls) == (0 if variant in ("folded", "block.5 not a Linear") else 1)
    torch.testing.assert_close(actual, expected)
    inputs = [x, *block.parameters()]
    grad_out = torch.randn_like(actual)
    for got, want in zip(
        torch.autograd.grad(actual, inputs, grad_out), torch.autograd.grad(expected, inputs, grad_out)
    ):
        torch.testing.assert_close(got, want)


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_convnext_block_keeps_the_input_memory_format(memory_format: torch.memory_format) -> None:
    block = ConvNeXtBlock(8).to(memory_format=memory_format)  # type: ignore[call-overload]
    x = torch.randn(2, 8, 5, 5).contiguous(memory_format=memory_format)
    for mode in (True, False):
        assert block.train(mode)(x).is_contiguous(memory_format=memory_format)


def test_convnext_block_layer_scale_is_a_channel_first_parameter() -> None:
    block = ConvNeXtBlock(8, layer_scale=0.25)
    assert block.layer_scale.shape == (8, 1, 1) and torch.all(block.layer_scale == 0.25)
    with torch.no_grad():
        block.layer_scale.zero_()
    block.reset_parameters()
    assert torch.all(block.layer_scale == 0.25)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"layer_scale": float("nan")}, ValueError, "layer_scale must be a finite number, got nan"),
        ({"layer_scale": "1e-6"}, TypeError, "layer_scale must be a finite number"),
        ({"stochastic_depth_prob": -0.5}, ValueError, "stochastic_depth_prob must be a probability"),
        ({"kernel_size": 4}, ValueError, "kernel_size must be odd"),
        ({"channels": 0}, ValueError, "channels must be a positive int"),
    ],
)
def test_convnext_block_rejects_invalid_arguments(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        ConvNeXtBlock(**{"channels": 8, **kwargs})


@pytest.mark.parametrize("shape", [(2, 6, 5, 5), (8, 5, 5)])
def test_convnext_block_rejects_wrong_input_shape(shape: tuple[int, ...]) -> None:
    with pytest.raises(
        ValueError, match=r"ConvNeXtBlock expects (8 channels in dimension 1|a 4-D input \(N, C, H, W\))"
    ):
        ConvNeXtBlock(8)(torch.randn(shape))


# ---------------------------------------------------------------------------------------- LayerScale


def test_layer_scale_scales_the_channel_dimension() -> None:
    tokens = LayerScale(4, 1.0)
    with torch.no_grad():
        tokens.scale.copy_(torch.arange(4.0))
    torch.testing.assert_close(tokens(torch.ones(2, 3, 4)), torch.arange(4.0).expand(2, 3, 4))
    maps = LayerScale(4, 2.0, spatial_dims=2)
    torch.testing.assert_close(maps(torch.ones(1, 4, 2, 3)), torch.full((1, 4, 2, 3), 2.0))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"init_value": float("inf")}, ValueError, "init_value must be a finite number, got inf"),
        ({"init_value": True}, TypeError, "init_value must be a finite number"),
        ({"spatial_dims": -1}, ValueError, "spatial_dims must be a non-negative int"),
        ({"num_channels": 0}, ValueError, "num_channels must be a positive int"),
    ],
)
def test_layer_scale_rejects_invalid_arguments(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        LayerScale(**{"num_channels": 4, **kwargs})


def test_layer_scale_rejects_a_wrong_channel_count() -> None:
    with pytest.raises(ValueError, match=r"4 channels in dimension -3, got shape \[1, 3, 2, 2\]"):
        LayerScale(4, spatial_dims=2)(torch.ones(1, 3, 2, 2))
