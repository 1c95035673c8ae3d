"""PT2E (torch.export + torchao prepare_pt2e/convert_pt2e, x86 inductor quantizer) on tvexp blocks."""

from __future__ import annotations

import logging
import types
from collections import Counter

import pytest
import torch
from torch import nn

import tvexp.prototype as tvp
import tvexp.stable as tvs
from tests.quantization._nets import block_builders, build, calibration_batches, cosine
from tvexp._tooling.conformance.table import randn
from tvexp.prototype import split_repeated_module_calls

pytest.importorskip("torchao")
logging.getLogger("torchao").setLevel(logging.ERROR)

FLOAT = types.SimpleNamespace(
    **{
        name: getattr(tvs, name, None) or getattr(tvp, name)
        for name in (
            "Conv2dNormActivation",
            "SqueezeExcitation",
            "BasicBlock",
            "Bottleneck",
            "InvertedResidual",
            "MBConv",
            "FusedMBConv",
            "MLP",
            "NamedConv2dNormActivation",
            "ShuffleNetV2Unit",
        )
    }
)

QUANTIZE = torch.ops.quantized_decomposed.quantize_per_tensor.default
DEQUANTIZE = torch.ops.quantized_decomposed.dequantize_per_tensor.default
DEQUANTIZE_WEIGHT = torch.ops.quantized_decomposed.dequantize_per_channel.default
WEIGHTED = (torch.ops.aten.conv2d.default, torch.ops.aten.linear.default)


def weighted_nodes(graph_module: torch.fx.GraphModule) -> list[torch.fx.Node]:
    return [node for node in graph_module.graph.nodes if node.op == "call_function" and node.target in WEIGHTED]


def assert_int8_everywhere(graph_module: torch.fx.GraphModule, expected_weighted: int) -> Counter:
    """Every conv/linear reads a dequantized int8 activation and a dequantized per-channel int8 weight."""
    nodes = weighted_nodes(graph_module)
    assert len(nodes) == expected_weighted
    for node in nodes:
        activation, weight = node.args[0], node.args[1]
        assert activation.target is DEQUANTIZE, f"{node.name} input is not dequantized: {activation.target}"
        assert activation.args[0].target is QUANTIZE
        assert weight.target is DEQUANTIZE_WEIGHT, f"{node.name} weight is not int8 per channel"
        assert weight.args[-1] is torch.int8
    counts = Counter(node.target for node in graph_module.graph.nodes if node.op == "call_function")
    assert counts[DEQUANTIZE_WEIGHT] == expected_weighted
    assert counts[QUANTIZE] >= 1 and counts[DEQUANTIZE] >= counts[QUANTIZE]
    return counts


def expected_weighted(model: nn.Module) -> int:
    return sum(isinstance(module, (nn.Conv2d, nn.Linear)) for module in model.modules())


@pytest.mark.parametrize("name", sorted(block_builders(FLOAT)))
def test_block_quantizes_with_x86_inductor_quantizer(name: str) -> None:
    builder, shape = block_builders(FLOAT)[name]
    model = build(builder)
    x = randn(*shape, seed=1)
    quantized = tvp.quantize_pt2e(model, (x,), calibration_batches(shape))
    assert_int8_everywhere(quantized, expected_weighted(model))
    with torch.no_grad():
        assert cosine(quantized(x), model(x)) > 0.99


def test_skip_addition_is_fused_into_the_convolution_pattern() -> None:
    # conv2 + bn2 (folded) + add + relu is one x86 pattern: the identity enters the add quantized, the
    # add's output stays float for the fused kernel, and only then is the block output re-quantized.
    model = build(lambda: FLOAT.BasicBlock(16, 16))
    x = randn(2, 16, 16, 16)
    quantized = tvp.quantize_pt2e(model, (x,), [x])
    add = next(
        node for node in quantized.graph.nodes if node.target in (torch.ops.aten.add.Tensor, torch.ops.aten.add_.Tensor)
    )
    conv_input, identity = add.args
    assert conv_input.target is torch.ops.aten.conv2d.default
    assert identity.target is DEQUANTIZE


@pytest.mark.slow
def test_network_of_blocks_matches_float_and_restores_training_mode() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(
        FLOAT.Conv2dNormActivation(3, 16, stride=2),
        FLOAT.BasicBlock(16, 16),
        FLOAT.Bottleneck(16, 8),
        FLOAT.InvertedResidual(32, 32, expand_ratio=2),
        FLOAT.MBConv(32, 32, expand_ratio=2, kernel_size=3, stride=1),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        FLOAT.MLP(32, [32, 10]),
    )
    net = build(lambda: net)
    net.train()
    x = randn(2, 3, 32, 32, seed=3)
    quantized = tvp.quantize_pt2e(net, (x,), calibration_batches((2, 3, 32, 32)))
    assert all(module.training for module in net.modules()), "quantize_pt2e left part of the model in eval mode"
    net.eval()
    assert_int8_everywhere(quantized, expected_weighted(net))
    with torch.no_grad():
        assert cosine(quantized(x), net(x)) > 0.99


def test_repeated_activation_calls_are_split_for_the_quantizer() -> None:
    from torchao.quantization.pt2e.quantize_pt2e import prepare_pt2e
    from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import (
        X86InductorQuantizer,
        get_default_x86_inductor_quantization_config,
    )

    block = build(lambda: FLOAT.BasicBlock(8, 8))
    x = randn(1, 8, 8, 8)
    quantizer = X86InductorQuantizer().set_global(get_default_x86_inductor_quantization_config())
    # Without the split, both calls of block.relu form one pattern with two outputs, which the x86
    # quantizer rejects; the helper renames the second call, and nothing else.
    with pytest.raises(ValueError, match="more than one output node"):
        prepare_pt2e(torch.export.export(block, (x,)).module(), quantizer)
    exported = torch.export.export(block, (x,)).module()
    assert split_repeated_module_calls(exported) == 1
    assert split_repeated_module_calls(exported) == 0
    prepare_pt2e(exported, quantizer)


def test_quantize_pt2e_rejects_bad_arguments() -> None:
    model = build(lambda: FLOAT.Conv2dNormActivation(3, 4))
    x = randn(1, 3, 8, 8)
    with pytest.raises(ValueError, match="at least one batch"):
        tvp.quantize_pt2e(model, (x,), [])
    with pytest.raises(TypeError, match="example_inputs must be a tuple"):
        tvp.quantize_pt2e(model, x, [x])  # type: ignore[arg-type]


def test_dynamic_batch_size_is_kept() -> None:
    model = build(lambda: FLOAT.BasicBlock(8, 8))
    x = randn(2, 8, 8, 8)
    quantized = tvp.quantize_pt2e(model, (x,), [x], dynamic_shapes=({0: torch.export.Dim("batch")},))
    bigger = randn(5, 8, 8, 8, seed=9)
    with torch.no_grad():
        assert quantized(bigger).shape == (5, 8, 8, 8)
        assert cosine(quantized(bigger), model(bigger)) > 0.99
