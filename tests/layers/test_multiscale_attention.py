"""MultiscaleAttention and MultiscaleBlock (MViT): behaviour beyond the parity fixtures and the battery."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch import nn

from tvexp._api.validation import InvalidInputError
from tvexp.prototype import MultiscaleAttention, MultiscaleBlock

_V2: dict[str, Any] = {
    "query_kernel_size": (3, 3, 3),
    "query_stride": (1, 2, 2),
    "key_value_kernel_size": (3, 3, 3),
    "key_value_stride": (1, 2, 2),
    "residual_pooling": True,
    "residual_with_class_token": False,
    "relative_position_embedding": True,
}


def _explicit_attention(layer: MultiscaleAttention, x: torch.Tensor) -> torch.Tensor:
    """softmax(q k^T / sqrt(d) + bias) v (+ q) written out, with the bias built one token pair at a time."""
    n, length, _ = x.shape
    q, k, v = layer.qkv(x).reshape(n, length, 3, layer.num_heads, layer.head_dim).permute(2, 0, 3, 1, 4)
    k = layer.pool_k(k) if layer.pool_k is not None else k
    v = layer.pool_v(v) if layer.pool_v is not None else v
    q = layer.pool_q(q) if layer.pool_q is not None else q
    scores = q @ k.transpose(-1, -2) / math.sqrt(layer.head_dim)
    if layer.rel_pos_h is not None:
        assert layer.rel_pos_w is not None and layer.rel_pos_t is not None
        (qt, qh, qw), (kt, kh, kw) = layer.output_size, layer.key_value_size
        tables = (layer.rel_pos_t, layer.rel_pos_h, layer.rel_pos_w)
        # Same-size grids and torchvision-length tables: offsets index the tables directly.
        assert (qt, qh, qw) == (kt, kh, kw) and all(t.shape[0] == 2 * s - 1 for t, s in zip(tables, (qt, qh, qw)))
        cells = [(t, h, w) for t in range(qt) for h in range(qh) for w in range(qw)]
        bias = torch.zeros_like(scores)
        for i, query_cell in enumerate(cells):
            for j, key_cell in enumerate(cells):
                embedding = sum(
                    table[a - b + size - 1] for table, a, b, size in zip(tables, query_cell, key_cell, (qt, qh, qw))
                )
                bias[:, :, 1 + i, 1 + j] = q[:, :, 1 + i] @ embedding
        scores = scores + bias
    out = scores.softmax(-1) @ v
    if layer.residual_pooling:
        out[:, :, 1:] += q[:, :, 1:]
    return layer.project(out.transpose(1, 2).reshape(n, -1, layer.output_dim))


def test_attention_is_pooled_softmax_attention_with_the_decomposed_relative_position_bias() -> None:
    # Query and keys pooled to the same 2 x 2 x 2 grid, so the tables are used at their own length.
    layer = MultiscaleAttention(8, 2, (2, 4, 4), output_dim=16, **_V2).eval()
    with torch.no_grad():
        for table in (layer.rel_pos_h, layer.rel_pos_w, layer.rel_pos_t):
            assert table is not None
            table.normal_()
    assert (layer.rel_pos_h.shape, layer.rel_pos_t.shape) == ((3, 8), (3, 8))  # type: ignore[union-attr]
    x = torch.randn(2, 33, 8)
    with torch.no_grad():
        torch.testing.assert_close(layer(x), _explicit_attention(layer, x), rtol=1e-5, atol=1e-5)


def test_attention_without_pooling_is_plain_multi_head_attention() -> None:
    layer = MultiscaleAttention(8, 2, (1, 2, 3)).eval()
    assert layer.pool_q is None and layer.pool_k is None and layer.rel_pos_h is None
    assert [key for key in layer.state_dict()] == ["qkv.weight", "qkv.bias", "project.0.weight", "project.0.bias"]
    x = torch.randn(3, 7, 8)
    with torch.no_grad():
        torch.testing.assert_close(layer(x), _explicit_attention(layer, x))


def test_relative_position_tables_receive_gradients() -> None:
    layer = MultiscaleAttention(8, 2, (2, 4, 4), output_dim=16, **_V2)
    layer(torch.randn(2, 33, 8)).square().sum().backward()
    for table in (layer.rel_pos_h, layer.rel_pos_w, layer.rel_pos_t):
        assert table is not None and table.grad is not None and table.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "expected"),
    [((5, 7, 6), (3, 3, 3), (1, 2, 2), (5, 4, 3)), ((4, 4, 4), (1, 1, 1), (2, 2, 2), (2, 2, 2))],
)
def test_pooled_grid_is_the_convolution_output_size(
    size: tuple[int, int, int], kernel: tuple[int, int, int], stride: tuple[int, int, int], expected: tuple[int, ...]
) -> None:
    layer = MultiscaleAttention(4, 1, size, query_kernel_size=kernel, query_stride=stride)
    assert layer.output_size == expected
    assert layer(torch.randn(2, 1 + math.prod(size), 4)).shape == (2, 1 + math.prod(expected), 4)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"num_heads": 3}, ValueError, ["output_dim", "num_heads=3"]),
        ({"input_size": (2, 4)}, ValueError, ["input_size", "(2, 4)", "three positive ints"]),
        ({"input_size": (2, 0, 4)}, ValueError, ["input_size", "(2, 0, 4)"]),
        ({"input_size": "244"}, TypeError, ["input_size", "'244'"]),
        ({"query_stride": (1, 2.0, 2)}, TypeError, ["query_stride", "2.0"]),
        ({"key_value_kernel_size": (3, 3, -3)}, ValueError, ["key_value_kernel_size", "-3"]),
        ({"dropout": float("nan")}, ValueError, ["dropout", "nan", "[0, 1]"]),
        ({"residual_pooling": "yes"}, TypeError, ["residual_pooling", "'yes'"]),
        ({"norm_layer": nn.LayerNorm(4)}, TypeError, ["norm_layer", "instance"]),
    ],
)
def test_attention_rejects_bad_arguments_naming_them(
    kwargs: dict[str, Any], error: type[Exception], words: list[str]
) -> None:
    arguments: dict[str, Any] = {"embed_dim": 8, "num_heads": 2, "input_size": (2, 4, 4), **kwargs}
    with pytest.raises(error) as raised:
        MultiscaleAttention(**arguments)
    assert all(word in str(raised.value) for word in words), str(raised.value)


def test_inputs_with_another_token_count_or_width_are_rejected_by_name() -> None:
    block = MultiscaleBlock(8, 2, (2, 4, 4))
    with pytest.raises(InvalidInputError, match=r"expects 33 tokens \(a class token and T\*H\*W = 2\*4\*4"):
        block(torch.randn(2, 32, 8))
    with pytest.raises(InvalidInputError, match="expects 8 features"):
        block(torch.randn(2, 33, 6))
    with pytest.raises(InvalidInputError, match="3-D input"):
        block(torch.randn(33, 8))


def test_block_checks_the_width_its_attention_gets_and_the_skip_path_grid() -> None:
    # v1 keeps the attention at embed_dim: heads must divide it, whatever output_dim is.
    with pytest.raises(ValueError, match=r"attention's width \(embed_dim=6 with project_after_attention=False\)"):
        MultiscaleBlock(6, 4, (1, 2, 2), output_dim=8)
    MultiscaleBlock(6, 4, (1, 2, 2), output_dim=8, project_after_attention=True)
    # An even query kernel pools 4 -> 3 at stride 2 where the skip path's max pooling (kernel 3) gives 2.
    with pytest.raises(ValueError, match=r"skip path's pooling .* gives \(1, 2, 2\); use an odd query kernel"):
        MultiscaleBlock(8, 2, (1, 4, 4), query_kernel_size=(2, 2, 2), query_stride=(1, 2, 2))


def test_block_v1_projects_the_mlp_skip_and_v2_the_attention_skip() -> None:
    v1 = MultiscaleBlock(8, 2, (1, 2, 2), output_dim=16).eval()
    v2 = MultiscaleBlock(8, 2, (1, 2, 2), output_dim=16, project_after_attention=True).eval()
    x = torch.randn(2, 5, 8)
    with torch.no_grad():
        hidden = x + v1.attn(v1.norm1(x))
        torch.testing.assert_close(v1(x), v1.project(v1.norm2(hidden)) + v1.mlp(v1.norm2(hidden)))
        hidden = v2.project(v2.norm1(x)) + v2.attn(v2.norm1(x))
        torch.testing.assert_close(v2(x), hidden + v2.mlp(v2.norm2(hidden)))
    assert v1.attn.output_dim == 8 and v2.attn.output_dim == 16


def test_block_stochastic_depth_drops_both_branches_of_whole_samples() -> None:
    block = MultiscaleBlock(8, 2, (1, 2, 2), stochastic_depth_prob=1.0).train()
    x = torch.randn(3, 5, 8)
    torch.testing.assert_close(block(x), x)
