"""layer_builder: names from text configurations resolved to builders that every tvexp layer accepts."""

from __future__ import annotations

import functools

import pytest
import torch
from torch import nn

import tvexp.stable as tvs
from tvexp.prototype import FrozenBatchNorm1d, FrozenBatchNorm3d, LayerNorm2d, MBConv, layer_builder
from tvexp.stable import FrozenBatchNorm2d

ACTIVATIONS = {
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "swish": nn.SiLU,
    "hardswish": nn.Hardswish,
    "hardsigmoid": nn.Hardsigmoid,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "identity": nn.Identity,
    "leakyrelu": nn.LeakyReLU,
    "mish": nn.Mish,
    "elu": nn.ELU,
}

NORMS_2D = {
    "batchnorm": nn.BatchNorm2d,
    "batchnorm2d": nn.BatchNorm2d,
    "frozenbatchnorm": FrozenBatchNorm2d,
    "layernorm2d": LayerNorm2d,
    "instancenorm": nn.InstanceNorm2d,
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_names_build_working_conv_blocks(name: str) -> None:
    builder = layer_builder(name)
    assert builder is ACTIVATIONS[name]
    block = tvs.Conv2dNormActivation(3, 4, activation_layer=builder)
    assert type(block[2]) is ACTIVATIONS[name]
    assert block(torch.randn(2, 3, 5, 5)).shape == (2, 4, 5, 5)


@pytest.mark.parametrize("name", sorted(NORMS_2D))
def test_norm_names_build_from_a_channel_count(name: str) -> None:
    block = tvs.Conv2dNormActivation(3, 4, norm_layer=layer_builder(name))
    assert type(block[1]) is NORMS_2D[name]
    assert block(torch.randn(2, 3, 5, 5)).shape == (2, 4, 5, 5)


def test_dimensioned_norms_and_sync_batch_norm() -> None:
    assert layer_builder("batchnorm1d") is nn.BatchNorm1d
    assert layer_builder("BatchNorm3d") is nn.BatchNorm3d
    assert layer_builder("frozen_batch_norm_1d") is FrozenBatchNorm1d
    assert layer_builder("frozenbatchnorm3d") is FrozenBatchNorm3d
    assert layer_builder("instancenorm3d") is nn.InstanceNorm3d
    assert layer_builder("syncbatchnorm") is nn.SyncBatchNorm
    assert layer_builder("layernorm") is nn.LayerNorm
    mlp = tvs.MLP(8, [16, 4], norm_layer=layer_builder("layer_norm"))
    assert type(mlp[1]) is nn.LayerNorm


def test_group_norm_takes_its_group_count_and_follows_device_and_dtype() -> None:
    builder = layer_builder("groupnorm", num_groups=2, eps=1e-3)
    norm = builder(8)
    assert isinstance(norm, nn.GroupNorm) and (norm.num_groups, norm.num_channels, norm.eps) == (2, 8, 1e-3)
    block = tvs.Conv2dNormActivation(3, 8, norm_layer=builder, dtype=torch.float64)
    assert block[1].weight.dtype == torch.float64
    assert block(torch.randn(1, 3, 4, 4, dtype=torch.float64)).shape == (1, 8, 4, 4)
    with pytest.raises(ValueError, match="needs num_groups"):
        layer_builder("groupnorm")
    with pytest.raises(ValueError, match="num_groups must be a positive int, got 0"):
        layer_builder("groupnorm", num_groups=0)


def test_options_are_bound_and_checked_against_the_layer() -> None:
    gelu = layer_builder("gelu", approximate="tanh")
    assert isinstance(gelu, functools.partial)
    assert gelu().approximate == "tanh"
    bn = layer_builder("batch_norm", eps=1e-3, momentum=0.01)(16)
    assert (bn.eps, bn.momentum) == (1e-3, 0.01)
    block = MBConv(16, 16, norm_layer=layer_builder("batchnorm", eps=1e-3), activation_layer=layer_builder("silu"))
    assert block(torch.randn(1, 16, 4, 4)).shape == (1, 16, 4, 4)
    with pytest.raises(TypeError, match=r"unknown options \['epsilon'\]; BatchNorm2d accepts .*eps"):
        layer_builder("batchnorm", epsilon=1e-3)
    with pytest.raises(TypeError, match=r"unknown options \['beta'\]; Sigmoid accepts no options"):
        layer_builder("sigmoid", beta=2)
    with pytest.raises(TypeError, match="does not take inplace: set the layer's own inplace argument"):
        layer_builder("relu", inplace=True)
    with pytest.raises(TypeError, match="does not take num_features"):
        layer_builder("batchnorm", num_features=8)


def test_unknown_names_list_the_valid_ones() -> None:
    with pytest.raises(
        ValueError, match=r"unknown layer name 'relu7'; valid names are activations: .*relu6.*; norms: "
    ):
        layer_builder("relu7")
    with pytest.raises(TypeError, match="name must be a string"):
        layer_builder(nn.ReLU)  # type: ignore[arg-type]
