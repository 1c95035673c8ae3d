"""fuse_conv_norm: equal eval outputs, independence from the input model, what is and is not folded."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tvexp.prototype import (
    BasicBlock,
    Bottleneck,
    ConvTranspose2dNormActivation,
    FrozenBatchNorm3d,
    InvertedResidual,
    fuse_conv_norm,
)
from tvexp.stable import Conv2dNormActivation, Conv3dNormActivation, FrozenBatchNorm2d


def randomise_norms(model: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial running statistics and affine parameters, so folding is really tested."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if hasattr(module, "running_var") and module.running_var is not None:
                n = module.running_var.numel()
                module.running_mean.copy_(torch.randn(n, generator=generator) * 0.5)
                module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
                if getattr(module, "weight", None) is not None:
                    module.weight.copy_(torch.randn(n, generator=generator) * 0.5 + 1)
                    module.bias.copy_(torch.randn(n, generator=generator) * 0.5)
    return model.eval()


def convolution_cases() -> list[tuple[str, nn.Module, tuple[int, ...]]]:
    return [
        ("conv1d", nn.Sequential(nn.Conv1d(4, 6, 3), nn.BatchNorm1d(6)), (2, 4, 10)),
        (
            "conv2d-grouped-bias",
            nn.Sequential(nn.Conv2d(4, 6, 3, groups=2, bias=True), nn.BatchNorm2d(6)),
            (2, 4, 9, 9),
        ),
        ("conv3d", nn.Sequential(nn.Conv3d(3, 5, 3), nn.BatchNorm3d(5)), (2, 3, 5, 6, 6)),
        ("conv-transpose1d", nn.Sequential(nn.ConvTranspose1d(4, 6, 3, stride=2), nn.BatchNorm1d(6)), (2, 4, 7)),
        (
            "conv-transpose2d-grouped",
            nn.Sequential(nn.ConvTranspose2d(4, 6, 3, stride=2, groups=2), nn.BatchNorm2d(6)),
            (2, 4, 5, 5),
        ),
        ("conv-transpose3d", nn.Sequential(nn.ConvTranspose3d(2, 4, 2, stride=2), nn.BatchNorm3d(4)), (1, 2, 3, 3, 3)),
        ("frozen-bn", nn.Sequential(nn.Conv2d(3, 8, 3), FrozenBatchNorm2d(8)), (2, 3, 8, 8)),
        ("frozen-bn3d", nn.Sequential(nn.Conv3d(3, 4, 1), FrozenBatchNorm3d(4)), (2, 3, 3, 3, 3)),
        ("bn-no-affine", nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4, affine=False)), (2, 3, 6, 6)),
        ("conv-norm-activation", Conv2dNormActivation(3, 8, 3, stride=2), (2, 3, 11, 11)),
        ("conv3d-norm-activation", Conv3dNormActivation(3, 4, 3), (1, 3, 5, 5, 5)),
        ("conv-transpose-norm-activation", ConvTranspose2dNormActivation(4, 6, 3, stride=2, groups=2), (2, 4, 5, 5)),
        (
            "basic-block-downsample",
            BasicBlock(
                8, 16, stride=2, downsample=nn.Sequential(nn.Conv2d(8, 16, 1, stride=2, bias=False), nn.BatchNorm2d(16))
            ),
            (2, 8, 8, 8),
        ),
        ("bottleneck", Bottleneck(16, 4), (2, 16, 6, 6)),
        ("inverted-residual", InvertedResidual(8, 8, stride=1, expand_ratio=4), (2, 8, 7, 7)),
    ]


@pytest.mark.parametrize("name, model, shape", convolution_cases(), ids=[c[0] for c in convolution_cases()])
def test_fused_model_matches_and_has_no_norms_left(name: str, model: nn.Module, shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    model = randomise_norms(model)
    x = torch.randn(shape)
    fused = fuse_conv_norm(model)
    torch.testing.assert_close(fused(x), model(x), atol=1e-5, rtol=1e-4)
    norms = (nn.modules.batchnorm._BatchNorm, FrozenBatchNorm2d, FrozenBatchNorm3d)
    assert not [m for m in fused.modules() if isinstance(m, norms)]
    # Every other key survives, and the folded norms' keys are gone.
    assert {k for k in model.state_dict() if not any(k.startswith(p) for p in _norm_paths(model))} <= set(
        fused.state_dict()
    )


def _norm_paths(model: nn.Module) -> list[str]:
    return [
        f"{path}."
        for path, m in model.named_modules()
        if isinstance(m, (nn.modules.batchnorm._BatchNorm, FrozenBatchNorm2d, FrozenBatchNorm3d))
    ]


def test_resnet_like_stem_is_folded_through_tracing() -> None:
    class Stem(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 3)
            self.bn1 = nn.BatchNorm2d(8)
            self.relu = nn.ReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.relu(self.bn1(self.conv1(x)))

    model = randomise_norms(Stem())
    fused = fuse_conv_norm(model)
    assert isinstance(fused.bn1, nn.Identity)
    x = torch.randn(2, 3, 8, 8)
    torch.testing.assert_close(fused(x), model(x), atol=1e-5, rtol=1e-4)


def test_a_norm_not_applied_directly_to_the_convolution_is_left_alone() -> None:
    class Skip(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 3, 3, padding=1)
            self.bn1 = nn.BatchNorm2d(3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.conv1(x)
            return self.bn1(y + x) + y  # the conv output has two users

    model = randomise_norms(Skip())
    fused = fuse_conv_norm(model)
    assert isinstance(fused.bn1, nn.BatchNorm2d)
    x = torch.randn(2, 3, 6, 6)
    torch.testing.assert_close(fused(x), model(x))


def test_norm_without_running_statistics_and_conv_subclasses_are_not_folded() -> None:
    class StandardisedConv(nn.Conv2d):
        pass

    model = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4, track_running_stats=False), StandardisedConv(4, 4, 1), nn.BatchNorm2d(4)
    ).eval()
    fused = fuse_conv_norm(model)
    assert isinstance(fused[1], nn.BatchNorm2d) and isinstance(fused[3], nn.BatchNorm2d)


def test_result_shares_no_state_with_the_input() -> None:
    model = randomise_norms(Conv2dNormActivation(3, 4, 3))
    x = torch.randn(1, 3, 6, 6)
    before = model(x)
    fused = fuse_conv_norm(model)
    fused_before = fused(x)
    with torch.no_grad():
        for tensor in list(fused.parameters()) + list(fused.buffers()):
            tensor.add_(1.0)
    torch.testing.assert_close(model(x), before)
    with torch.no_grad():
        for tensor in list(model.parameters()) + list(model.buffers()):
            tensor.mul_(3)
    fused_ptrs = {t.data_ptr() for t in list(fused.parameters()) + list(fused.buffers())}
    assert not fused_ptrs & {t.data_ptr() for t in list(model.parameters()) + list(model.buffers())}
    assert isinstance(model[1], nn.BatchNorm2d)  # the input model keeps its structure
    with torch.no_grad():
        for tensor in list(fused.parameters()):
            tensor.sub_(1.0)
    torch.testing.assert_close(fused(x), fused_before)


def test_training_mode_is_refused() -> None:
    model = Conv2dNormActivation(3, 4, 3)
    with pytest.raises(ValueError, match=r"needs a model in eval mode; call model.eval\(\)"):
        fuse_conv_norm(model)


def test_explicit_pairs_are_checked() -> None:
    model = nn.ModuleDict({"a": nn.Conv2d(3, 4, 1), "b": nn.BatchNorm2d(4), "c": nn.ReLU()}).eval()
    with pytest.raises(ValueError, match="not a submodule"):
        fuse_conv_norm(model, pairs=[("a", "missing")])
    with pytest.raises(ValueError, match="must name a convolution and a batch norm"):
        fuse_conv_norm(model, pairs=[("a", "c")])
    fused = fuse_conv_norm(model, pairs=[("a", "b")])
    x = torch.randn(1, 3, 4, 4)
    torch.testing.assert_close(fused["a"](x), model["b"](model["a"](x)))


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_fused_model_scripts_and_keeps_dtype() -> None:
    model = randomise_norms(Conv2dNormActivation(3, 4, 3, dtype=torch.float64))
    fused = fuse_conv_norm(model)
    assert fused[0].weight.dtype == torch.float64 and fused[0].bias.dtype == torch.float64
    x = torch.randn(1, 3, 6, 6, dtype=torch.float64)
    torch.testing.assert_close(torch.jit.script(fused)(x), model(x))
