"""Small networks of tvexp blocks and helpers shared by the quantization tests."""

from __future__ import annotations

from functools import partial

import torch
from torch import Tensor, nn

from tvexp._tooling.conformance.table import randn, seeded


def realistic_norms(model: nn.Module, seed: int = 0) -> nn.Module:
    """Gives every BatchNorm non-trivial statistics and affine parameters (fresh ones fold to identity)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                n = module.num_features
                module.running_mean.copy_(torch.rand(n, generator=generator) * 0.4 - 0.2)
                module.running_var.copy_(torch.rand(n, generator=generator) * 0.5 + 0.75)
                module.weight.copy_(torch.rand(n, generator=generator) * 0.5 + 0.75)
                module.bias.copy_(torch.rand(n, generator=generator) * 0.2 - 0.1)
    return model.eval()


def cosine(a: Tensor, b: Tensor) -> float:
    return torch.nn.functional.cosine_similarity(a.flatten().double(), b.flatten().double(), dim=0).item()


def calibration_batches(shape: tuple[int, ...], count: int = 4) -> list[Tensor]:
    return [randn(*shape, seed=100 + index) for index in range(count)]


def block_builders(tv: object) -> dict[str, tuple[object, tuple[int, ...]]]:
    """One small configuration per block kind: ``name -> (build, input shape)``; ``tv`` is a namespace
    holding the block classes (float or quantizable), so both flows test the same configurations."""
    se = partial(tv.SqueezeExcitation, scale_activation=nn.Hardsigmoid)  # type: ignore[attr-defined]
    return {
        "conv_norm_activation": (lambda: tv.Conv2dNormActivation(8, 16, stride=2), (2, 8, 16, 16)),
        "conv_norm_hardswish": (lambda: tv.Conv2dNormActivation(8, 16, activation_layer=nn.Hardswish), (2, 8, 16, 16)),
        "squeeze_excitation": (lambda: tv.SqueezeExcitation(16, 4), (2, 16, 8, 8)),
        "basic_block": (lambda: tv.BasicBlock(16, 16), (2, 16, 16, 16)),
        "basic_block_downsample": (lambda: tv.BasicBlock(16, 32, stride=2), (2, 16, 16, 16)),
        "bottleneck": (lambda: tv.Bottleneck(64, 16), (2, 64, 8, 8)),
        "inverted_residual_v2": (lambda: tv.InvertedResidual(16, 16, expand_ratio=4), (2, 16, 16, 16)),
        "inverted_residual_v3_se": (
            lambda: tv.InvertedResidual(
                16,
                16,
                expanded_channels=48,
                kernel_size=5,
                activation_layer=nn.Hardswish,
                se_layer=se,
                layout="mobilenet_v3",
            ),
            (2, 16, 16, 16),
        ),
        "inverted_residual_mnasnet": (
            lambda: tv.InvertedResidual(16, 16, 1, 3, kernel_size=5, activation_layer=nn.ReLU, layout="mnasnet"),
            (2, 16, 16, 16),
        ),
        "mbconv": (lambda: tv.MBConv(16, 16, expand_ratio=4, kernel_size=3, stride=1), (2, 16, 16, 16)),
        "fused_mbconv": (lambda: tv.FusedMBConv(16, 16, expand_ratio=4, kernel_size=3, stride=1), (2, 16, 16, 16)),
        "mlp": (lambda: tv.MLP(32, [64, 16]), (4, 32)),
        "named_conv_norm_activation": (
            lambda: tv.NamedConv2dNormActivation(8, 16, (1, 7), padding=(0, 3)),
            (2, 8, 16, 16),
        ),
        "shufflenet_unit_stride1": (lambda: tv.ShuffleNetV2Unit(16, 16), (2, 16, 8, 8)),
        "shufflenet_unit_stride2": (lambda: tv.ShuffleNetV2Unit(8, 16, 2), (2, 8, 8, 8)),
    }


def build(builder: object, seed: int = 0) -> nn.Module:
    return realistic_norms(seeded(builder, seed=seed))  # type: ignore[arg-type]
