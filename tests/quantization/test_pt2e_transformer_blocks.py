"""PT2E int8 quantization (x86 inductor quantizer) of the transformer-era blocks: ViT's encoder block and ConvNeXt's.

torchao's ``X86InductorQuantizer`` quantizes the linear layers and convolutions it recognises; LayerNorm,
``scaled_dot_product_attention``, GELU, the residual additions and ConvNeXt's layer scale stay in float.
In the encoder block it also leaves the attention's input projection in float: the block keeps
torchvision's ``in_proj_weight`` layout, a functional ``linear`` the quantizer does not annotate. The
tests pin what is quantized (quantize/dequantize node counts) so that a change of the quantizer or of
the blocks shows up, and compare the residual branch (output minus input), not only the output, with
the float block: the identity path alone would give a cosine near 1.
"""

from __future__ import annotations

import logging
from collections import Counter

import pytest
import torch
from torch import nn

import tvexp.prototype as tvp
from tests.quantization._nets import calibration_batches, cosine
from tvexp._tooling.conformance.table import randn, seeded

pytest.importorskip("torchao")
logging.getLogger("torchao").setLevel(logging.ERROR)

QUANTIZE = torch.ops.quantized_decomposed.quantize_per_tensor.default
DEQUANTIZE = torch.ops.quantized_decomposed.dequantize_per_tensor.default
DEQUANTIZE_WEIGHT = torch.ops.quantized_decomposed.dequantize_per_channel.default


def _module_path(node: torch.fx.Node) -> str:
    return next(reversed(node.meta["nn_module_stack"].values()))[0]


def _quantized_weighted_paths(graph_module: torch.fx.GraphModule) -> dict[str, bool]:
    """Module path of each conv/linear -> whether it reads an int8 activation and an int8 per-channel weight."""
    return {
        _module_path(node): node.args[0].target is DEQUANTIZE and node.args[1].target is DEQUANTIZE_WEIGHT
        for node in graph_module.graph.nodes
        if node.target in (torch.ops.aten.conv2d.default, torch.ops.aten.linear.default)
    }


def _quantize(block: nn.Module, shape: tuple[int, ...]) -> tuple[torch.fx.GraphModule, torch.Tensor]:
    x = randn(*shape, seed=1)
    return tvp.quantize_pt2e(block, (x,), calibration_batches(shape)), x


def test_vit_encoder_block_quantizes_its_linear_layers() -> None:
    block = seeded(lambda: tvp.TransformerEncoderBlock(num_heads=4, hidden_dim=64, mlp_dim=128)).eval()
    quantized, x = _quantize(block, (2, 10, 64))
    assert _quantized_weighted_paths(quantized) == {
        "self_attention": False,  # the fused q/k/v projection, F.linear on in_proj_weight
        "self_attention.out_proj": True,
        "mlp.0": True,
        "mlp.3": True,
    }
    counts = Counter(node.target for node in quantized.graph.nodes)
    assert (counts[QUANTIZE], counts[DEQUANTIZE], counts[DEQUANTIZE_WEIGHT]) == (3, 3, 3)
    with torch.no_grad():
        expected, output = block(x), quantized(x)
    assert cosine(output - x, expected - x) >= 0.99
    assert cosine(output, expected) >= 0.99


def test_convnext_block_quantizes_its_convolution_and_linear_layers() -> None:
    # layer_scale 1: torchvision's 1e-6 would make the block an identity and the comparison empty.
    block = seeded(lambda: tvp.ConvNeXtBlock(32, layer_scale=1.0)).eval()
    quantized, x = _quantize(block, (2, 32, 14, 14))
    assert _quantized_weighted_paths(quantized) == {"block.0": True, "block.3": True, "block.5": True}
    counts = Counter(node.target for node in quantized.graph.nodes)
    assert (counts[QUANTIZE], counts[DEQUANTIZE], counts[DEQUANTIZE_WEIGHT]) == (3, 3, 3)
    with torch.no_grad():
        expected, output = block(x), quantized(x)
    assert cosine(output - x, expected - x) >= 0.99
    assert cosine(output, expected) >= 0.99
