"""The builder checks shared by the basic layers: instances rejected, ``inplace`` passed only when accepted."""

from __future__ import annotations

import functools

import pytest
import torch
from torch import nn

from tvexp._layers.layer_builders import accepts_keyword, build_activation, build_layer, check_builder


@pytest.mark.parametrize("instance", [nn.ReLU(), nn.BatchNorm2d(4)])
def test_a_module_instance_is_a_type_error_naming_the_argument_and_the_fix(instance: nn.Module) -> None:
    with pytest.raises(
        TypeError, match=r"norm_layer .*module instance.*pass the class \(torch\.nn\.\w+\) or a functools\.partial"
    ):
        check_builder(instance, "norm_layer")


def test_non_callables_are_type_errors_and_none_is_allowed_only_when_optional() -> None:
    with pytest.raises(TypeError, match="activation_layer must be a class or a callable"):
        check_builder("relu", "activation_layer")
    check_builder(None, "norm_layer")
    with pytest.raises(TypeError, match="scale_activation must be a class .* got None"):
        check_builder(None, "scale_activation", optional=False)


class _TakesKwargs(nn.Module):
    def __init__(self, **kwargs: object) -> None:
        super().__init__()
        self.kwargs = kwargs


@pytest.mark.parametrize(
    ("builder", "accepted"),
    [
        (nn.ReLU, True),
        (nn.GELU, False),
        (nn.Tanh, False),
        (functools.partial(nn.LeakyReLU, 0.2), True),
        (functools.partial(nn.GELU, approximate="tanh"), False),
        (_TakesKwargs, True),
        (lambda: nn.Identity(), False),
    ],
)
def test_accepts_keyword_reads_the_signature(builder: object, accepted: bool) -> None:
    assert accepts_keyword(builder, "inplace") is accepted  # type: ignore[arg-type]


def test_build_activation_passes_inplace_only_when_accepted_and_not_none() -> None:
    assert build_activation(nn.ReLU, "a", True).inplace is True  # type: ignore[union-attr]
    assert build_activation(nn.ReLU, "a", None).inplace is False  # type: ignore[union-attr]
    assert isinstance(build_activation(nn.GELU, "a", True), nn.GELU)
    assert build_activation(_TakesKwargs, "a", False).kwargs == {"inplace": False}  # type: ignore[union-attr]


def test_a_type_error_raised_by_the_builder_itself_is_not_swallowed() -> None:
    def broken(inplace: bool = False) -> nn.Module:
        raise TypeError("broken builder")

    with pytest.raises(TypeError, match="broken builder"):
        build_activation(broken, "activation_layer", True)


def test_build_layer_rejects_builders_that_return_something_else() -> None:
    with pytest.raises(TypeError, match=r"norm_layer must build an nn.Module, but it returned int"):
        build_layer(lambda channels: channels, "norm_layer", 4)  # type: ignore[arg-type,return-value]


def test_factory_kwargs_are_passed_when_accepted_and_applied_with_to_otherwise() -> None:
    direct = build_layer(nn.BatchNorm2d, "norm_layer", 3, dtype=torch.float64)
    assert direct.weight.dtype == torch.float64
    moved = build_layer(lambda channels: nn.GroupNorm(1, channels), "norm_layer", 3, device="meta")
    assert moved.weight.is_meta
