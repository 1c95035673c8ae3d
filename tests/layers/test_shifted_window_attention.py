"""ShiftedWindowAttention and the window helpers: behaviour beyond the parity fixtures."""

from __future__ import annotations

import math

import pytest
import torch

from tvexp._layers._shifted_windows import (
    effective_windows,
    partition_index,
    shift_mask,
    window_coordinates,
    window_token_index,
)
from tvexp.prototype import ShiftedWindowAttention


def _reference_mask(padded: list[int], window: list[int], shift: list[int]) -> torch.Tensor:
    """torchvision's slice-by-slice construction of the 2-D shift mask, written out for the test."""
    labels = torch.zeros(padded)
    count = 0
    for h in ((0, -window[0]), (-window[0], -shift[0]), (-shift[0], None)):
        for w in ((0, -window[1]), (-window[1], -shift[1]), (-shift[1], None)):
            labels[h[0] : h[1], w[0] : w[1]] = count
            count += 1
    windows = labels.view(padded[0] // window[0], window[0], padded[1] // window[1], window[1])
    windows = windows.permute(0, 2, 1, 3).reshape(-1, window[0] * window[1])
    difference = windows.unsqueeze(1) - windows.unsqueeze(2)
    return difference.masked_fill(difference != 0, -100.0).masked_fill(difference == 0, 0.0)


@pytest.mark.parametrize(
    ("padded", "window", "shift"),
    [([8, 8], [4, 4], [2, 2]), ([12, 8], [4, 4], [1, 3]), ([8, 12], [4, 4], [0, 2]), ([9, 8], [3, 4], [2, 0])],
)
def test_shift_mask_equals_torchvisions_construction(padded: list[int], window: list[int], shift: list[int]) -> None:
    expected = _reference_mask(padded, window, shift)
    coordinates = window_coordinates(padded, window, torch.device("cpu"))
    actual = shift_mask(coordinates, padded, window, shift, expected.shape[0], torch.float32)
    torch.testing.assert_close(actual, expected)


def test_effective_windows_turn_the_shift_off_where_one_window_covers_the_dimension() -> None:
    assert effective_windows([3, 9], [4, 4], [2, 2], False) == ([4, 4], [0, 2], [4, 12])
    assert effective_windows([4, 5], [4, 4], [2, 2], False) == ([4, 4], [0, 2], [4, 8])
    # Video Swin also cuts such a window to the size (and pads nothing there).
    assert effective_windows([1, 3, 10], [2, 4, 4], [1, 2, 2], True) == ([1, 3, 4], [0, 0, 2], [1, 3, 12])


def test_gathers_equal_torchvisions_roll_and_partition_and_undo_them() -> None:
    x = torch.randn(2, 6, 8, 3, 5)
    padded, window, shift = [6, 8, 3], [2, 4, 3], [1, 2, 0]
    rolled = torch.roll(x, [-s for s in shift], [1, 2, 3])
    expected = rolled.view(2, 3, 2, 2, 4, 1, 3, 5).permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(2, 6, 24, 5)
    coordinates = window_coordinates(padded, window, torch.device("cpu"))
    windows = x.flatten(1, 3).index_select(1, partition_index(coordinates, padded, shift)).view(2, 6, 24, 5)
    torch.testing.assert_close(windows, expected)
    back = windows.flatten(1, 2).index_select(1, window_token_index([5, 7, 3], padded, window, shift, x.device))
    torch.testing.assert_close(back.view(2, 5, 7, 3, 5), x[:, :5, :7])


def test_windows_attend_only_within_themselves() -> None:
    attention = ShiftedWindowAttention(8, [4, 4], [0, 0], 2).eval()
    x = torch.randn(1, 8, 8, 8)
    changed = x.clone()
    changed[0, 5, 6] += 1.0  # a token of the bottom-right window
    difference = (attention(changed) - attention(x)).abs().sum(-1)[0]
    assert difference[4:, 4:].min() > 0
    assert difference[:4].max() == 0 and difference[:, :4].max() == 0


@pytest.mark.parametrize(
    ("window", "shift", "version"),
    [([4, 4], [2, 2], 1), ([4, 4], [0, 0], 1), ([4, 4], [2, 2], 2), ([2, 4, 4], [1, 2, 2], 1)],
)
def test_autograd_path_equals_the_inference_path(
    window: list[int], shift: list[int], version: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In training the learnt bias needs a gradient, so the attention is an explicit matmul/softmax/matmul;
    # without autograd, SDPA: same values, and the gradients equal those of SDPA's own backward.
    from tvexp._layers import shifted_window_attention as module

    torch.manual_seed(0)
    attention = ShiftedWindowAttention(8, window, shift, 2, version=version)
    x = torch.randn(2, *([3] if len(window) == 3 else []), 9, 10, 8, requires_grad=True)
    with torch.no_grad():
        expected = attention(x)
    y = attention(x)
    torch.testing.assert_close(y, expected)
    grad = torch.randn_like(y)
    ours = torch.autograd.grad(y, [x, *attention.parameters()], grad, allow_unused=True)

    def sdpa(
        q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor, dropout_p: float, scale: float
    ) -> torch.Tensor:
        return torch.nn.functional.scaled_dot_product_attention(q, k, v, mask, dropout_p, scale=scale)

    with monkeypatch.context() as patch:
        patch.setattr(module, "attention", sdpa)
        y_sdpa = attention(x)
    reference = torch.autograd.grad(y_sdpa, [x, *attention.parameters()], grad, allow_unused=True)
    for got, want in zip(ours, reference):
        if want is None:
            assert got is None or not got.any()
        else:
            torch.testing.assert_close(got, want)


def test_v2_has_torchvisions_parameters_and_initialisation() -> None:
    attention = ShiftedWindowAttention(8, [4, 4], [2, 2], 2, version=2)
    torch.testing.assert_close(attention.logit_scale, torch.full((2, 1, 1), math.log(10.0)))
    assert attention.qkv.bias[8:16].abs().max() == 0
    assert attention.relative_coords_table.shape == (1, 7, 7, 2)
    assert attention.relative_position_index.shape == (256,)
    assert not hasattr(attention, "relative_position_bias_table")
    assert sorted(attention.state_dict()) == [
        "cpb_mlp.0.bias",
        "cpb_mlp.0.weight",
        "cpb_mlp.2.weight",
        "logit_scale",
        "proj.bias",
        "proj.weight",
        "qkv.bias",
        "qkv.weight",
        "relative_coords_table",
        "relative_position_index",
    ]


def test_buffers_are_recomputed_by_reset_parameters_after_to_empty() -> None:
    reference = ShiftedWindowAttention(8, [2, 3, 3], [1, 1, 1], 2)
    with torch.device("meta"):
        attention = ShiftedWindowAttention(8, [2, 3, 3], [1, 1, 1], 2)
    attention.to_empty(device="cpu")
    attention.reset_parameters()
    assert torch.equal(attention.relative_position_index, reference.relative_position_index)
    assert attention.relative_position_index.shape == (18, 18)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"dim": 10, "num_heads": 4}, "dim must be divisible by num_heads"),
        ({"window_size": [4, 0]}, "window_size must contain positive ints"),
        ({"shift_size": [4, 1]}, "shift_size must be smaller than window_size"),
        ({"shift_size": [-1, 1]}, "shift_size must contain non-negative ints"),
        ({"window_size": [4, 4, 4]}, "window_size and shift_size must have the same length"),
        ({"window_size": 4}, "window_size must be a list or tuple"),
        ({"attention_dropout": float("nan")}, "attention_dropout must be a probability"),
        ({"dropout": -0.5}, "dropout must be a probability"),
        ({"version": 3}, "version must be 1"),
        ({"window_size": [2, 2, 2], "shift_size": [0, 0, 0], "version": 2}, "version=2 supports 2-D windows"),
    ],
)
def test_invalid_arguments_are_rejected_naming_them(arguments: dict[str, object], message: str) -> None:
    base: dict[str, object] = {"dim": 8, "window_size": [4, 4], "shift_size": [2, 2], "num_heads": 2}
    with pytest.raises((TypeError, ValueError), match=message):
        ShiftedWindowAttention(**{**base, **arguments})


def test_wrong_inputs_name_the_expected_shape() -> None:
    attention = ShiftedWindowAttention(8, [4, 4], [2, 2], 2)
    with pytest.raises(ValueError, match=r"expects a 4-D channels-last input \(N, H, W, 8\)"):
        attention(torch.randn(2, 16, 8))
    with pytest.raises(RuntimeError, match=r"expects 8 channels in the last dimension"):
        attention(torch.randn(2, 4, 4, 6))
    with pytest.raises(ValueError, match="floating-point"):
        attention(torch.ones(2, 4, 4, 8, dtype=torch.long))
