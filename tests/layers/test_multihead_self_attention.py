"""MultiheadSelfAttention: nn.MultiheadAttention's numbers, the four key layouts, masks, validation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tvexp.prototype import MultiheadSelfAttention

LAYOUT_KEYS = {
    "vit": ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"],
    "swin": ["qkv.weight", "qkv.bias", "proj.weight", "proj.bias"],
    "maxvit": ["to_qkv.weight", "to_qkv.bias", "merge.weight", "merge.bias"],
    "mvit": ["qkv.weight", "qkv.bias", "project.0.weight", "project.0.bias"],
}


@pytest.mark.parametrize("layout", sorted(LAYOUT_KEYS))
def test_each_layout_has_its_keys_and_the_same_function(layout: str) -> None:
    reference = MultiheadSelfAttention(16, 4, layout="swin").eval()
    attention = MultiheadSelfAttention(16, 4, layout=layout).eval()
    assert list(attention.state_dict()) == LAYOUT_KEYS[layout]
    # The layouts differ only in names: the same tensors, renamed, give the same output.
    renamed = dict(zip(LAYOUT_KEYS[layout], reference.state_dict().values()))
    attention.load_state_dict(renamed, strict=True)
    x = torch.randn(2, 7, 16)
    torch.testing.assert_close(attention(x), reference(x))


def test_vit_layout_loads_nn_multihead_attention_and_matches_it() -> None:
    torch.manual_seed(0)
    reference = nn.MultiheadAttention(32, 4, batch_first=True).eval()
    attention = MultiheadSelfAttention(32, 4, layout="vit").eval()
    attention.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(3, 9, 32)
    expected, _ = reference(x, x, x, need_weights=False)
    torch.testing.assert_close(attention(x), expected, rtol=1e-5, atol=1e-6)


def test_matches_a_hand_written_softmax_attention_with_an_additive_mask() -> None:
    torch.manual_seed(1)
    attention = MultiheadSelfAttention(8, 2).eval()
    x = torch.randn(2, 5, 8)
    mask = torch.randn(5, 5)
    q, k, v = attention.qkv(x).reshape(2, 5, 3, 2, 4).permute(2, 0, 3, 1, 4)
    weights = torch.softmax(q @ k.transpose(-2, -1) / 2.0 + mask, dim=-1)
    expected = attention.proj((weights @ v).transpose(1, 2).reshape(2, 5, 8))
    torch.testing.assert_close(attention(x, attn_mask=mask), expected)


def test_a_boolean_mask_stops_attention_to_masked_tokens() -> None:
    attention = MultiheadSelfAttention(8, 2).eval()
    x = torch.randn(1, 4, 8)
    allowed = torch.tensor([True, True, False, False]).expand(4, 4)
    changed = x.clone()
    changed[:, 2:] += 5.0  # only the masked tokens change
    out, out_changed = attention(x, attn_mask=allowed), attention(changed, attn_mask=allowed)
    torch.testing.assert_close(out[:, :2], out_changed[:, :2])


def test_attention_dropout_acts_in_training_only() -> None:
    attention = MultiheadSelfAttention(8, 2, attention_dropout=0.5)
    x = torch.randn(2, 6, 8)
    torch.manual_seed(0)
    first = attention(x)
    torch.manual_seed(1)
    assert not torch.allclose(first, attention(x))
    attention.eval()
    torch.testing.assert_close(attention(x), attention(x))


def test_reset_parameters_initialises_like_nn_multihead_attention() -> None:
    attention = MultiheadSelfAttention(16, 2, layout="mvit")
    assert torch.count_nonzero(attention.qkv.bias) == 0 and torch.count_nonzero(attention.project[0].bias) == 0
    bound = (6 / (16 + 48)) ** 0.5  # Xavier-uniform over the fused [3D, D] weight
    assert attention.qkv.weight.abs().max() <= bound


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"embed_dim": 30, "num_heads": 4}, ValueError, r"embed_dim must be divisible by num_heads, got embed_dim=30"),
        ({"num_heads": 0}, ValueError, "num_heads must be a positive int, got 0"),
        ({"embed_dim": 16.0}, TypeError, "embed_dim must be a positive int"),
        ({"attention_dropout": -0.1}, ValueError, r"attention_dropout must be a probability in \[0, 1\], got -0.1"),
        ({"attention_dropout": float("nan")}, ValueError, "attention_dropout must be a probability"),
        ({"layout": "timm"}, ValueError, r"layout must be one of \['maxvit', 'mvit', 'swin', 'vit'\], got 'timm'"),
        ({"qkv_bias": 1}, TypeError, "qkv_bias must be True or False"),
    ],
)
def test_invalid_arguments_are_rejected_at_construction(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        MultiheadSelfAttention(**{"embed_dim": 16, "num_heads": 4, **kwargs})


@pytest.mark.parametrize("shape", [(2, 16), (2, 3, 8), (1, 2, 3, 16)])
def test_wrong_input_shape_names_the_expected_shape(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"MultiheadSelfAttention expects .*16.*, got .*shape \["):
        MultiheadSelfAttention(16, 4)(torch.randn(shape))


def test_device_dtype_and_repr() -> None:
    attention = MultiheadSelfAttention(8, 2, layout="vit", device="meta", dtype=torch.float64)
    assert {p.device.type for p in attention.parameters()} == {"meta"}
    assert {p.dtype for p in attention.parameters()} == {torch.float64}
    assert repr(attention).startswith("MultiheadSelfAttention(\n  8, num_heads=2, layout='vit'")
