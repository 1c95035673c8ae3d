"""torch.nn.SyncBatchNorm.convert_sync_batchnorm converts the norms inside tvexp blocks.

SyncBatchNorm only synchronises statistics on a GPU process group; without an initialised process
group it normalises like BatchNorm on the CPU, so the conversion is checked by types, state and outputs.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import tvexp.prototype as tvp
import tvexp.stable as tvs


def blocks() -> dict[str, nn.Module]:
    return {
        "Conv2dNormActivation": tvs.Conv2dNormActivation(3, 8),
        "Conv3dNormActivation": tvs.Conv3dNormActivation(3, 8),
        "Conv1dNormActivation": tvs.Conv1dNormActivation(3, 8),
        "ConvTranspose2dNormActivation": tvp.ConvTranspose2dNormActivation(3, 8, kernel_size=2, stride=2),
        "MLP": tvs.MLP(3, [8, 4], norm_layer=nn.BatchNorm1d),
        "BasicBlock": tvp.BasicBlock(8, 8),
        "BasicBlock/downsample": tvp.BasicBlock(
            3, 8, stride=2, downsample=nn.Sequential(nn.Conv2d(3, 8, 1, stride=2, bias=False), nn.BatchNorm2d(8))
        ),
        "Bottleneck": tvp.Bottleneck(16, 4),
        "InvertedResidual": tvp.InvertedResidual(8, 8, 1, 2, norm_layer=nn.BatchNorm2d),
        "MBConv": tvp.MBConv(8, 8),
        "FusedMBConv": tvp.FusedMBConv(8, 8),
    }


def sample_input(name: str) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    shapes = {
        "Conv3dNormActivation": (2, 3, 4, 6, 6),
        "Conv1dNormActivation": (2, 3, 10),
        "MLP": (4, 3),
    }
    channels = {"BasicBlock": 8, "Bottleneck": 16, "InvertedResidual": 8, "MBConv": 8, "FusedMBConv": 8}
    shape = shapes.get(name, (2, channels.get(name, 3), 6, 6))
    return torch.randn(*shape, generator=generator)


def perturb_statistics(module: nn.Module) -> None:
    with torch.no_grad():
        for norm in module.modules():
            if isinstance(norm, nn.modules.batchnorm._BatchNorm):
                norm.running_mean.uniform_(-0.5, 0.5)
                norm.running_var.uniform_(0.5, 2.0)
                norm.weight.uniform_(0.5, 1.5)
                norm.bias.uniform_(-0.5, 0.5)
                norm.num_batches_tracked.fill_(7)


BLOCKS = list(blocks())


@pytest.mark.parametrize("name", BLOCKS)
def test_conversion_replaces_every_batch_norm_and_keeps_the_blocks(name: str) -> None:
    original = blocks()[name]
    batch_norms = [key for key, sub in original.named_modules() if isinstance(sub, nn.modules.batchnorm._BatchNorm)]
    assert batch_norms, "the block has no BatchNorm to convert"
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(original))
    assert type(converted) is type(original)
    converted_modules = dict(converted.named_modules())
    assert list(converted_modules) == [key for key, _ in original.named_modules()], "the module tree changed"
    for key, sub in original.named_modules():
        if key in batch_norms:
            assert type(converted_modules[key]) is nn.SyncBatchNorm, key
            assert converted_modules[key].num_features == sub.num_features
            assert converted_modules[key].eps == sub.eps and converted_modules[key].momentum == sub.momentum
        else:
            assert type(converted_modules[key]) is type(sub), key


@pytest.mark.parametrize("name", BLOCKS)
def test_conversion_carries_state_under_the_same_keys(name: str) -> None:
    original = blocks()[name]
    perturb_statistics(original)
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(original))
    before, after = original.state_dict(), converted.state_dict()
    assert list(after) == list(before), "state_dict keys changed"
    torch.testing.assert_close(dict(after), dict(before), rtol=0, atol=0)
    # A checkpoint saved before the conversion loads strictly into the converted model.
    fresh = nn.SyncBatchNorm.convert_sync_batchnorm(blocks()[name])
    fresh.load_state_dict(before, strict=True)


@pytest.mark.parametrize("name", BLOCKS)
@pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])
def test_converted_block_computes_the_same_on_cpu(name: str, training: bool) -> None:
    original = blocks()[name]
    perturb_statistics(original)
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(original))
    original.train(training)
    converted.train(training)
    x = sample_input(name)
    with torch.no_grad():
        torch.testing.assert_close(converted(x), original(x))
    torch.testing.assert_close(dict(converted.state_dict()), dict(original.state_dict()))


def test_conversion_leaves_frozen_batch_norm_alone() -> None:
    model = nn.Sequential(
        tvs.Conv2dNormActivation(3, 8, norm_layer=tvs.FrozenBatchNorm2d),
        tvp.BasicBlock(8, 8, norm_layer=tvs.FrozenBatchNorm2d),
        tvs.Conv2dNormActivation(8, 8),
    )
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(model))
    frozen = [key for key, sub in model.named_modules() if isinstance(sub, tvs.FrozenBatchNorm2d)]
    converted_modules = dict(converted.named_modules())
    assert len(frozen) == 3
    assert all(type(converted_modules[key]) is tvs.FrozenBatchNorm2d for key in frozen)
    assert type(converted_modules["2.1"]) is nn.SyncBatchNorm
