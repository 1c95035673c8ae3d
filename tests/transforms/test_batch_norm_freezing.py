"""freeze_batch_norm / unfreeze_batch_norm: eval outputs preserved, every dimension, copies and errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tvexp.prototype import (
    BasicBlock,
    FrozenBatchNorm1d,
    FrozenBatchNorm3d,
    MBConv,
    freeze_batch_norm,
    unfreeze_batch_norm,
)
from tvexp.stable import FrozenBatchNorm2d


def _randomize(model: nn.Module) -> nn.Module:
    generator = torch.Generator().manual_seed(0)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            with torch.no_grad():
                if module.weight is not None:
                    module.weight.copy_(1 + 0.3 * torch.randn(module.num_features, generator=generator))
                    module.bias.copy_(0.3 * torch.randn(module.num_features, generator=generator))
                module.running_mean.copy_(0.3 * torch.randn(module.num_features, generator=generator))
                module.running_var.copy_(0.5 + torch.rand(module.num_features, generator=generator))
    return model.eval()


class _AllDimensions(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = BasicBlock(4, 8, 2)
        self.norm3d = nn.BatchNorm3d(8, eps=1e-3)
        self.norm1d = nn.BatchNorm1d(8, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block(x)
        x = self.norm3d(x.unsqueeze(2)).squeeze(2)
        return self.norm1d(x.flatten(2))


def test_freeze_replaces_every_batch_norm_and_keeps_eval_outputs() -> None:
    model = _randomize(_AllDimensions())
    x = torch.randn(2, 4, 8, 8)
    frozen = freeze_batch_norm(model)
    kinds = {name: type(module) for name, module in frozen.named_modules()}
    assert kinds["block.bn1"] is FrozenBatchNorm2d and kinds["block.downsample.1"] is FrozenBatchNorm2d
    assert kinds["norm3d"] is FrozenBatchNorm3d and kinds["norm1d"] is FrozenBatchNorm1d
    assert frozen.norm3d.eps == 1e-3
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in frozen.modules())
    with torch.no_grad():
        torch.testing.assert_close(frozen(x), model(x))
    # Default: a converted copy; the original keeps its batch norms.
    assert type(model.block.bn1) is nn.BatchNorm2d


def test_unfreeze_restores_trainable_batch_norms_with_the_same_outputs() -> None:
    model = _randomize(MBConv(8, 8))
    x = torch.randn(2, 8, 6, 6)
    restored = unfreeze_batch_norm(freeze_batch_norm(model)).eval()
    assert sum(isinstance(m, nn.BatchNorm2d) for m in restored.modules()) == 3
    assert all(p.requires_grad for p in restored.parameters())
    restored.load_state_dict(model.state_dict())  # same keys as before freezing
    with torch.no_grad():
        torch.testing.assert_close(restored(x), model(x))


def test_inplace_converts_the_given_module_and_a_bare_norm_is_returned_converted() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
    assert freeze_batch_norm(model, inplace=True) is model
    assert isinstance(model[1], FrozenBatchNorm2d)
    assert isinstance(freeze_batch_norm(nn.BatchNorm1d(3)), FrozenBatchNorm1d)


def test_sync_batch_norm_becomes_frozen_batch_norm_2d() -> None:
    model = nn.SyncBatchNorm.convert_sync_batchnorm(_randomize(BasicBlock(4, 4)))
    assert isinstance(model.bn1, nn.SyncBatchNorm)
    frozen = freeze_batch_norm(model)
    assert isinstance(frozen.bn1, FrozenBatchNorm2d) and isinstance(frozen.bn2, FrozenBatchNorm2d)
    torch.testing.assert_close(frozen.bn1.running_var, model.bn1.running_var)


def test_norm_without_running_statistics_is_rejected_with_its_path() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4, track_running_stats=False))
    with pytest.raises(ValueError, match=r"1 .*track_running_stats=False"):
        freeze_batch_norm(model)


@pytest.mark.subprocess
def test_only_the_converter_warns(python_subprocess) -> None:
    result = python_subprocess(
        """
        import warnings
        from torch import nn
        import tvexp
        from tvexp.prototype import freeze_batch_norm
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            freeze_batch_norm(nn.Sequential(nn.BatchNorm1d(2), nn.BatchNorm3d(2)))
        print([str(w.message).split(" ")[0] for w in caught if issubclass(w.category, tvexp.PrototypeWarning)])
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['tvexp.prototype.freeze_batch_norm']"
