"""MaxViT's layers: which tokens attend to which (window vs grid), the relative-position bias, the pre-norm
MBConv's structure, and the messages of the argument and input checks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tvexp._layers.relative_position import relative_position_index
from tvexp.prototype import MaxViTBlock, MultiheadSelfAttention, PartitionAttentionBlock, PreNormMBConv


def _changed_positions(block: nn.Module, x: torch.Tensor, row: int, column: int) -> set[tuple[int, int]]:
    """The (row, column) positions of the output that change when one input position changes."""
    block.eval()
    changed = x.clone()
    changed[:, 0, row, column] += 3.0  # one channel: a shift of all channels is normalised away
    with torch.no_grad():
        difference = (block(changed) - block(x)).abs().amax(dim=(0, 1))
    return {(int(r), int(c)) for r, c in (difference > 1e-6).nonzero()}


def test_window_attention_mixes_only_the_window_of_the_changed_token() -> None:
    torch.manual_seed(0)
    block = PartitionAttentionBlock(8, 4, 2, "window")
    positions = _changed_positions(block, torch.randn(1, 8, 4, 6), 2, 3)
    assert positions == {(2, 2), (2, 3), (3, 2), (3, 3)}


def test_grid_attention_mixes_tokens_spaced_height_and_width_over_partition_size_apart() -> None:
    # A non-square 4x6 input with a 2x2 grid: the group of (1, 2) holds the rows 1, 3 and the columns 2, 5.
    torch.manual_seed(0)
    block = PartitionAttentionBlock(8, 4, 2, "grid")
    positions = _changed_positions(block, torch.randn(1, 8, 4, 6), 1, 2)
    assert positions == {(1, 2), (1, 5), (3, 2), (3, 5)}


def test_partition_attention_matches_attention_run_on_each_group_by_hand() -> None:
    torch.manual_seed(1)
    block = PartitionAttentionBlock(8, 4, 2, "grid").eval()
    x = torch.randn(2, 8, 4, 6)
    expected = torch.empty_like(x)
    for r in range(2):  # the group of offset (r, c): rows r, r + 2 and columns c, c + 3
        for c in range(3):
            tokens = x[:, :, r::2, c::3].flatten(2).transpose(1, 2)  # (N, 4, C), row-major
            tokens = tokens + block.attn_layer(tokens)
            tokens = tokens + block.mlp_layer(tokens)
            expected[:, :, r::2, c::3] = tokens.transpose(1, 2).reshape(2, 8, 2, 2)
    with torch.no_grad():
        torch.testing.assert_close(block(x), expected)


def test_relative_position_bias_is_the_table_row_of_each_offset() -> None:
    attention = MultiheadSelfAttention(8, 2, relative_position_window=(2, 3))
    table = attention.relative_position_bias_table
    bias = attention.relative_position_bias()
    assert bias.shape == (2, 6, 6) and table.shape == (3 * 5, 2)
    # Token 0 is (0, 0), token 5 is (1, 2): the offset (dy, dx) = (-1, -2) is row (0 * 5 + 0) = 0.
    torch.testing.assert_close(bias[:, 0, 5], table[0])
    torch.testing.assert_close(bias[:, 5, 0], table[(2 * 5) + 4])
    assert relative_position_index((2, 3)).diagonal().unique().tolist() == [1 * 5 + 2]


def test_relative_position_bias_enters_the_scores_and_combines_with_masks() -> None:
    torch.manual_seed(2)
    attention = MultiheadSelfAttention(8, 2, relative_position_window=2, scale=0.5).eval()
    x = torch.randn(3, 4, 8)
    q, k, v = attention.qkv(x).reshape(3, 4, 3, 2, 4).permute(2, 0, 3, 1, 4)
    mask = torch.randn(4, 4)
    scores = q @ k.transpose(-2, -1) * 0.5 + attention.relative_position_bias() + mask
    expected = attention.proj((scores.softmax(-1) @ v).transpose(1, 2).reshape(3, 4, 8))
    torch.testing.assert_close(attention(x, attn_mask=mask), expected)
    allowed = torch.tensor([True, True, False, True]).expand(4, 4)
    bool_scores = scores - mask + torch.zeros(4, 4).masked_fill(~allowed, float("-inf"))
    expected = attention.proj((bool_scores.softmax(-1) @ v).transpose(1, 2).reshape(3, 4, 8))
    torch.testing.assert_close(attention(x, attn_mask=allowed), expected)


def test_sdpa_and_the_explicit_cpu_path_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    from tvexp._layers import multihead_self_attention
    from tvexp._layers.multihead_self_attention import attention

    torch.manual_seed(3)
    q, k, v = torch.randn(3, 2, 2, 5, 4).unbind(0)
    mask = torch.randn(2, 5, 5)
    weights = torch.softmax(q @ k.transpose(-2, -1) * 0.3 + mask, dim=-1)
    expected = weights @ v
    # A constant 3-D mask goes to SDPA (as 4-D); one that requires grad to the explicit operations.
    sdpa_calls: list[int] = []
    sdpa = multihead_self_attention.F.scaled_dot_product_attention
    monkeypatch.setattr(
        multihead_self_attention.F,
        "scaled_dot_product_attention",
        lambda *args, **kwargs: sdpa_calls.append(1) or sdpa(*args, **kwargs),
    )
    torch.testing.assert_close(attention(q, k, v, mask, 0.0, 0.3), expected)
    assert sdpa_calls == [1]
    torch.testing.assert_close(attention(q, k, v, mask.clone().requires_grad_(), 0.0, 0.3), expected)
    assert sdpa_calls == [1]


def test_pre_norm_mbconv_structure_follows_torchvision() -> None:
    identity = PreNormMBConv(8, 8)
    assert isinstance(identity.proj, nn.Identity)
    assert [name for name, _ in identity.layers.named_children()] == [
        "pre_norm",
        "conv_a",
        "conv_b",
        "squeeze_excitation",
        "conv_c",
    ]
    assert isinstance(identity.layers.squeeze_excitation.activation, nn.SiLU)
    assert identity.layers.conv_b[0].groups == 32 and identity.layers.squeeze_excitation.fc1.out_channels == 2
    assert identity.layers.pre_norm.eps == 1e-3 and identity.layers.pre_norm.momentum == 0.01
    strided = PreNormMBConv(8, 16, stride=2, expand_ratio=2, se_ratio=0.5)
    assert [key for key in strided.state_dict() if key.startswith("proj")] == ["proj.1.weight", "proj.1.bias"]
    assert strided.layers.conv_a[0].out_channels == 32 and strided.layers.squeeze_excitation.fc1.out_channels == 8
    assert [key for key in PreNormMBConv(8, 16).state_dict() if key.startswith("proj")] == [
        "proj.0.weight",
        "proj.0.bias",
    ]


def test_maxvit_block_composes_the_three_parts_in_order() -> None:
    block = MaxViTBlock(8, 16, 8, 2, stride=2, stochastic_depth_prob=0.3)
    parts = dict(block.layers.named_children())
    assert list(parts) == ["MBconv", "window_attention", "grid_attention"]
    assert [parts["window_attention"].partition_type, parts["grid_attention"].partition_type] == ["window", "grid"]
    assert {part.stochastic_dropout.p for part in list(parts.values())[1:]} == {0.3}
    assert parts["MBconv"].stochastic_depth.p == 0.3
    assert block(torch.randn(1, 8, 8, 8)).shape == (1, 16, 4, 4)


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: PartitionAttentionBlock(16, 5, 2), ValueError, r"head_dim must divide channels, got channels=16 and head_dim=5"),
        (lambda: PartitionAttentionBlock(16, 8, 0), ValueError, r"partition_size must be a positive int, got 0"),
        (lambda: PartitionAttentionBlock(16, 8, 2, "block"), ValueError, r"partition_type must be one of \['window', 'grid'\], got 'block'"),
        (lambda: PartitionAttentionBlock(16, 8, 2, mlp_ratio=1.5), TypeError, r"mlp_ratio must be a positive int, got 1.5"),
        (lambda: PartitionAttentionBlock(16, 8, 2, mlp_dropout=2.0), ValueError, r"mlp_dropout must be a probability"),
        (lambda: PreNormMBConv(8, 8, stride=3), ValueError, r"stride must be 1 or 2 .*, got 3"),
        (lambda: PreNormMBConv(8, 8, se_ratio=0.1), ValueError, r"se_ratio must give at least one channel: .* = 0"),
        (lambda: PreNormMBConv(8, 8, norm_layer=nn.BatchNorm2d(8)), TypeError, r"norm_layer must be a class"),
        (lambda: MaxViTBlock(8, 16, 5, 2), ValueError, r"head_dim must divide channels, got channels=16"),
        (lambda: MaxViTBlock(8, 16, 8, 2, attention_norm_layer="ln"), TypeError, r"attention_norm_layer must be"),
        (lambda: MultiheadSelfAttention(8, 2, relative_position_window=(2, 0)), ValueError, r"relative_position_window must be a positive int, got 0"),
        (lambda: MultiheadSelfAttention(8, 2, relative_position_window="7"), TypeError, r"relative_position_window must be None, a positive int or a \(height, width\) pair"),
        (lambda: MultiheadSelfAttention(8, 2, scale=0.0), ValueError, r"scale must be a finite positive number, got 0.0"),
    ],
)  # fmt: skip
def test_invalid_arguments_name_the_argument_and_the_value(build, error, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=message):
        build()


@pytest.mark.parametrize(
    ("layer", "x", "message"),
    [
        (PartitionAttentionBlock(8, 4, 2), torch.randn(8, 4, 4), r"expects a 4-D input \(N, C, H, W\), got a 3-D input"),
        (PartitionAttentionBlock(8, 4, 2), torch.randn(1, 6, 4, 4), r"expects 8 channels in dimension 1"),
        (PartitionAttentionBlock(8, 4, 2), torch.randn(1, 8, 4, 5), r"height and width must be divisible by partition_size=2, got an input of shape \[1, 8, 4, 5\]"),
        (PreNormMBConv(8, 8), torch.randn(1, 4, 4, 4), r"PreNormMBConv expects 8 channels"),
        (PreNormMBConv(8, 8, stride=2), torch.randn(1, 8, 4, 0), r"stride 2 average-pools its shortcut and needs a non-empty height and width, got an input of shape \[1, 8, 4, 0\]"),
        (MaxViTBlock(8, 16, 8, 2, stride=2), torch.randn(1, 8, 6, 6), r"PartitionAttentionBlock .* divisible by partition_size=2, got an input of shape \[1, 16, 3, 3\]"),
        (MultiheadSelfAttention(8, 2, relative_position_window=3), torch.randn(2, 8, 8), r"relative-position bias for windows of 9 tokens, got sequences of 8 tokens"),
    ],
)  # fmt: skip
def test_wrong_inputs_are_rejected_with_a_message_naming_the_expected_input(
    layer: nn.Module, x: torch.Tensor, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        layer(x)


def test_the_attention_scale_default_is_one_over_sqrt_head_dim() -> None:
    assert MultiheadSelfAttention(64, 4).scale == pytest.approx(0.25)
    assert "scale" not in repr(MultiheadSelfAttention(64, 4))
    assert "scale=0.125" in repr(PartitionAttentionBlock(64, 16, 2).attn_layer[1])


@pytest.mark.parametrize("partition_type", ["window", "grid"])
def test_partition_attention_keeps_the_memory_format(partition_type: str) -> None:
    torch.manual_seed(4)
    block = PartitionAttentionBlock(8, 4, 2, partition_type).eval()
    x = torch.randn(2, 8, 4, 6)
    with torch.no_grad():
        contiguous, channels_last = block(x), block(x.contiguous(memory_format=torch.channels_last))
    assert contiguous.is_contiguous()
    assert channels_last.is_contiguous(memory_format=torch.channels_last) and not channels_last.is_contiguous()
    torch.testing.assert_close(channels_last, contiguous)


def test_a_meta_built_attention_gets_its_relative_position_index_back_on_reset() -> None:
    with torch.device("meta"):
        attention = MultiheadSelfAttention(8, 2, relative_position_window=(2, 3))
    attention.to_empty(device="cpu")
    attention.reset_parameters()
    assert torch.equal(attention.relative_position_index, relative_position_index((2, 3)))
