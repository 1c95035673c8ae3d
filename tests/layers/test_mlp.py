"""MLP and LinearNormActivation: torchvision's MLP layout, the fixed traps, the prototype block's layout."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tvexp.prototype import LinearNormActivation
from tvexp.stable import MLP


def test_layout_matches_torchvision_with_a_dropout_after_every_linear() -> None:
    mlp = MLP(8, [16, 12, 4], norm_layer=nn.LayerNorm)
    assert [type(m) for m in mlp] == [
        nn.Linear,
        nn.LayerNorm,
        nn.ReLU,
        nn.Dropout,
        nn.Linear,
        nn.LayerNorm,
        nn.ReLU,
        nn.Dropout,
        nn.Linear,
        nn.Dropout,
    ]


def test_activation_layer_none_leaves_the_activation_out() -> None:
    mlp = MLP(8, [6, 4], activation_layer=None)
    assert [type(m) for m in mlp] == [nn.Linear, nn.Dropout, nn.Linear, nn.Dropout]
    x = torch.randn(3, 8)
    torch.testing.assert_close(mlp(x), mlp[2](mlp[0](x)))


def test_inplace_reaches_the_activation_when_accepted_and_the_dropouts() -> None:
    mlp = MLP(4, [4, 4], activation_layer=nn.GELU, inplace=True)
    assert isinstance(mlp[1], nn.GELU) and mlp[2].inplace and mlp[4].inplace
    assert MLP(4, [4, 4], inplace=False)[1].inplace is False


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"hidden_channels": []}, ValueError, "hidden_channels must be a non-empty list"),
        ({"hidden_channels": 8}, TypeError, "hidden_channels must be a non-empty list of positive ints"),
        ({"hidden_channels": [8, 0]}, ValueError, r"hidden_channels must contain positive ints, got \[8, 0\]"),
        ({"in_channels": 0}, ValueError, "in_channels must be a positive int"),
        ({"dropout": 1.5}, ValueError, r"dropout must be a probability in \[0, 1\], got 1.5"),
        ({"activation_layer": nn.ReLU()}, TypeError, "activation_layer .* module instance"),
        ({"norm_layer": nn.LayerNorm(4)}, TypeError, "norm_layer .* module instance"),
    ],
)
def test_invalid_arguments_are_rejected_at_construction(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        MLP(**{"in_channels": 4, "hidden_channels": [8, 4], **kwargs})


def test_linear_norm_activation_layout_with_all_parts_and_without() -> None:
    full = LinearNormActivation(8, 4, nn.LayerNorm, nn.GELU, dropout=0.1)
    assert [type(m) for m in full] == [nn.Linear, nn.LayerNorm, nn.GELU, nn.Dropout]
    assert full[0].bias is None  # a norm follows: bias=None means no bias
    plain = LinearNormActivation(8, 4)
    assert [type(m) for m in plain] == [nn.Linear, nn.ReLU] and plain[0].bias is not None
    assert plain[1].inplace is True
    assert [type(m) for m in LinearNormActivation(8, 4, activation_layer=None, dropout=0.5)] == [nn.Linear, nn.Dropout]


def test_linear_norm_activation_computes_its_parts_and_validates() -> None:
    block = LinearNormActivation(5, 3, nn.LayerNorm, nn.Tanh).eval()
    x = torch.randn(2, 5)
    torch.testing.assert_close(block(x), torch.tanh(block[1](block[0](x))))
    with pytest.raises(ValueError, match="out_channels must be a positive int"):
        LinearNormActivation(5, 0)
    with pytest.raises(ValueError, match="dropout must be a probability"):
        LinearNormActivation(5, 3, dropout=-0.1)
