"""Frozen batch norms: equal to batch norm in eval, buffers only, BatchNorm checkpoints load strictly."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tvexp._api.tiers import tier_of
from tvexp.prototype import FrozenBatchNorm1d, FrozenBatchNorm3d
from tvexp.stable import FrozenBatchNorm2d

CASES = [
    (FrozenBatchNorm1d, nn.BatchNorm1d, (4, 6)),
    (FrozenBatchNorm1d, nn.BatchNorm1d, (4, 6, 5)),
    (FrozenBatchNorm2d, nn.BatchNorm2d, (2, 6, 4, 5)),
    (FrozenBatchNorm3d, nn.BatchNorm3d, (2, 6, 3, 4, 2)),
]


def _trained_batch_norm(cls: type[nn.Module], channels: int) -> nn.Module:
    generator = torch.Generator().manual_seed(0)
    bn = cls(channels, eps=1e-3)
    with torch.no_grad():
        bn.weight.copy_(torch.randn(channels, generator=generator))
        bn.bias.copy_(torch.randn(channels, generator=generator))
        bn.running_mean.copy_(torch.randn(channels, generator=generator))
        bn.running_var.copy_(torch.rand(channels, generator=generator) + 0.5)
        bn.num_batches_tracked.fill_(3)
    return bn.eval()


@pytest.mark.parametrize(("frozen_cls", "bn_cls", "shape"), CASES)
def test_loads_a_batch_norm_state_dict_strictly_and_matches_its_eval_output(frozen_cls, bn_cls, shape) -> None:  # type: ignore[no-untyped-def]
    bn = _trained_batch_norm(bn_cls, shape[1])
    frozen = frozen_cls(shape[1], eps=1e-3)
    result = frozen.load_state_dict(bn.state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    x = torch.randn(shape)
    with torch.no_grad():  # the inference path
        torch.testing.assert_close(frozen(x), bn(x))
    leaf = x.clone().requires_grad_(True)  # the autograd path
    reference = x.clone().requires_grad_(True)
    grad = torch.randn(shape)
    frozen.train()(leaf).backward(grad)  # training mode changes nothing
    bn(reference).backward(grad)
    torch.testing.assert_close(leaf.grad, reference.grad)
    assert list(frozen.state_dict()) == ["weight", "bias", "running_mean", "running_var"]


def test_has_no_parameters_and_training_does_not_change_the_buffers() -> None:
    frozen = FrozenBatchNorm2d(4)
    assert list(frozen.parameters()) == []
    before = {k: v.clone() for k, v in frozen.state_dict().items()}
    frozen.train()(torch.randn(3, 4, 2, 2) * 5 + 3)
    for key, value in frozen.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_num_features_repr_and_validation() -> None:
    frozen = FrozenBatchNorm2d(16, eps=1e-3)
    assert frozen.num_features == 16
    assert repr(frozen) == "FrozenBatchNorm2d(16, eps=0.001)"
    assert repr(FrozenBatchNorm3d(2)) == "FrozenBatchNorm3d(2, eps=1e-05)"
    with pytest.raises(ValueError, match="num_features must be a positive int, got 0"):
        FrozenBatchNorm2d(0)
    with pytest.raises(ValueError, match="eps must be a finite non-negative number, got -1"):
        FrozenBatchNorm2d(2, eps=-1)
    with pytest.raises(ValueError, match="eps must be a finite non-negative number, got nan"):
        FrozenBatchNorm2d(2, eps=float("nan"))
    for eps in ("x", True, None):
        with pytest.raises(TypeError, match="eps must be a finite non-negative number, got .* of type"):
            FrozenBatchNorm2d(8, eps=eps)  # type: ignore[arg-type]


def test_mixed_dtypes_promote_like_torchvision() -> None:
    frozen = FrozenBatchNorm2d(3)
    x = torch.randn(1, 3, 2, 2, dtype=torch.bfloat16)
    with torch.no_grad():
        assert frozen(x).dtype == torch.float32  # bf16 input * fp32 buffers, as torchvision computes it


def test_the_stable_class_has_no_prototype_base() -> None:
    tiers = [tier_of(base) for base in FrozenBatchNorm2d.__mro__[1:]]
    assert all(tier is None for tier in tiers), tiers


def test_reset_parameters_restores_the_identity_after_meta_construction() -> None:
    frozen = FrozenBatchNorm3d(3, device="meta")
    frozen.to_empty(device="cpu")
    frozen.reset_parameters()
    x = torch.randn(1, 3, 2, 2, 2)
    torch.testing.assert_close(frozen(x), x / (1 + 1e-5) ** 0.5)
