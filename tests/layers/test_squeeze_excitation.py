"""SqueezeExcitation: the gate formula, torchvision's layout, the forward-order repr, validation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tvexp.stable import SqueezeExcitation


def test_output_is_the_input_scaled_by_the_gate_of_its_channel_means() -> None:
    torch.manual_seed(0)
    se = SqueezeExcitation(6, 3, nn.SiLU, nn.Hardsigmoid)
    x = torch.randn(2, 6, 4, 5)
    pooled = nn.AdaptiveAvgPool2d(1)(x)  # the stateless submodule forward replaces with a mean
    gate = nn.functional.hardsigmoid(se.fc2(nn.functional.silu(se.fc1(pooled))))
    torch.testing.assert_close(se(x), gate * x)


def test_unbatched_and_channels_last_inputs() -> None:
    se = SqueezeExcitation(4, 2)
    x = torch.randn(4, 3, 3)
    torch.testing.assert_close(se(x), se(x[None])[0])
    x4 = torch.randn(2, 4, 5, 5)
    torch.testing.assert_close(se(x4.to(memory_format=torch.channels_last)), se(x4))


def test_children_keep_torchvisions_registration_order_but_repr_follows_forward() -> None:
    se = SqueezeExcitation(8, 2)
    assert list(dict(se.named_children())) == ["avgpool", "fc1", "fc2", "activation", "scale_activation"]
    text = repr(se)
    positions = [text.index(f"({name})") for name in ("avgpool", "fc1", "activation", "fc2", "scale_activation")]
    assert positions == sorted(positions), text
    assert text.startswith("SqueezeExcitation(\n  input_channels=8, squeeze_channels=2\n")


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ((0, 2), ValueError, "input_channels must be a positive int, got 0"),
        ((4, 0), ValueError, "squeeze_channels must be a positive int, got 0"),
        ((4, 2, nn.ReLU()), TypeError, "activation must be a class or a callable .* module instance ReLU()"),
        ((4, 2, nn.ReLU, nn.Sigmoid()), TypeError, "scale_activation .* module instance Sigmoid()"),
        ((4, 2, None), TypeError, "activation must be a class or a callable .* got None"),
    ],
)
def test_invalid_arguments_are_rejected_at_construction(args: tuple, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        SqueezeExcitation(*args)


def test_factory_kwargs() -> None:
    se = SqueezeExcitation(4, 2, activation=nn.PReLU, dtype=torch.float64)
    assert {p.dtype for p in se.parameters()} == {torch.float64}
    assert se(torch.randn(1, 4, 2, 2, dtype=torch.float64)).dtype == torch.float64
