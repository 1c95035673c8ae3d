"""Converting every BatchNorm of a model to FrozenBatchNorm and back (as detectron2 and timm do for fine-tuning)."""

from __future__ import annotations

import copy
from typing import Callable, Mapping

import torch
from torch import nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import check_bool
from tvexp._layers.frozen_batch_norm import FrozenBatchNorm1d, FrozenBatchNorm2d, FrozenBatchNorm3d, _FrozenBatchNorm

__all__ = ["freeze_batch_norm", "unfreeze_batch_norm"]

# SyncBatchNorm accepts any rank; it becomes the 2-d class, the usual case (the frozen forward works for any rank).
_FROZEN_BY_BATCH_NORM: dict[type[nn.Module], type[_FrozenBatchNorm]] = {
    nn.BatchNorm1d: FrozenBatchNorm1d,
    nn.BatchNorm2d: FrozenBatchNorm2d,
    nn.BatchNorm3d: FrozenBatchNorm3d,
    nn.SyncBatchNorm: FrozenBatchNorm2d,
}
_BATCH_NORM_BY_FROZEN: dict[type[nn.Module], type[nn.modules.batchnorm._BatchNorm]] = {
    FrozenBatchNorm1d: nn.BatchNorm1d,
    FrozenBatchNorm2d: nn.BatchNorm2d,
    FrozenBatchNorm3d: nn.BatchNorm3d,
}


def _frozen(norm: nn.Module, path: str) -> nn.Module:
    assert isinstance(norm, nn.modules.batchnorm._BatchNorm)  # _FROZEN_BY_BATCH_NORM's keys are all batch norms
    if not norm.track_running_stats or norm.running_mean is None or norm.running_var is None:
        raise ValueError(
            f"cannot freeze {path or 'the module'} ({norm!r}): with track_running_stats=False it normalizes "
            "with the statistics of each batch, even in eval mode, so there are no statistics to freeze"
        )
    frozen_class = _FROZEN_BY_BATCH_NORM[type(norm)]
    reference = norm.running_var
    frozen = frozen_class(norm.num_features, norm.eps, device=reference.device, dtype=reference.dtype)
    with torch.no_grad():
        # affine=False means weight 1 and bias 0, which the frozen norm's defaults already are.
        if norm.weight is not None:
            frozen.weight.copy_(norm.weight)
        if norm.bias is not None:
            frozen.bias.copy_(norm.bias)
        frozen.running_mean.copy_(norm.running_mean)
        frozen.running_var.copy_(norm.running_var)
    frozen.train(norm.training)
    return frozen


def _unfrozen(frozen: nn.Module, _path: str) -> nn.Module:
    assert isinstance(frozen, _FrozenBatchNorm)  # _BATCH_NORM_BY_FROZEN's keys are all frozen batch norms
    reference = frozen.running_var
    norm = _BATCH_NORM_BY_FROZEN[type(frozen)](
        frozen.num_features, eps=frozen.eps, device=reference.device, dtype=reference.dtype
    )
    # Built with track_running_stats=True (the default), so the statistics exist.
    running_mean, running_var = norm.running_mean, norm.running_var
    assert running_mean is not None and running_var is not None
    with torch.no_grad():
        norm.weight.copy_(frozen.weight)
        norm.bias.copy_(frozen.bias)
        running_mean.copy_(frozen.running_mean)
        running_var.copy_(frozen.running_var)
    norm.train(frozen.training)
    return norm


def _convert(
    module: nn.Module,
    table: Mapping[type[nn.Module], type[nn.Module]],
    convert: Callable[[nn.Module, str], nn.Module],
    path: str,
) -> nn.Module:
    if type(module) in table:
        return convert(module, path)
    for name, child in module.named_children():
        converted = _convert(child, table, convert, f"{path}.{name}" if path else name)
        if converted is not child:
            setattr(module, name, converted)
    return module


@prototype(since="0.1.0")
def freeze_batch_norm(module: nn.Module, *, inplace: bool = False) -> nn.Module:
    """Replaces every batch norm in ``module`` by the frozen batch norm of the same dimension.

    ``nn.BatchNorm1d``/``2d``/``3d`` become :class:`~tvexp.prototype.FrozenBatchNorm1d`,
    :class:`~tvexp.stable.FrozenBatchNorm2d` and :class:`~tvexp.prototype.FrozenBatchNorm3d`;
    ``nn.SyncBatchNorm`` becomes ``FrozenBatchNorm2d``. Weight, bias, running statistics, ``eps``,
    device and dtype are copied, so the model's eval-mode outputs are unchanged (up to float
    rounding) while the norms stop updating and their affine parameters become buffers. Norms
    inside tvexp blocks, ``nn.Sequential`` containers and any other module are found by walking
    the children; subclasses of the batch norms are left alone (their forward may differ).
    A norm with ``affine=False`` freezes to weight 1 and bias 0. A norm with
    ``track_running_stats=False`` raises ``ValueError``: it has no statistics to freeze.

    Args:
        module: A model, or a single batch norm.
        inplace: Convert ``module`` itself. By default a deep copy is converted and ``module`` is
            left untouched. Either way use the returned module: a batch norm passed as ``module``
            is replaced, not changed.

    Returns:
        The converted module.

    Example:
        >>> model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU())
        >>> frozen = freeze_batch_norm(model)
        >>> type(frozen[1]).__name__, type(model[1]).__name__
        ('FrozenBatchNorm2d', 'BatchNorm2d')
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be an nn.Module, got {type(module).__name__}")
    target = module if check_bool(inplace, "inplace") else copy.deepcopy(module)
    return _convert(target, _FROZEN_BY_BATCH_NORM, _frozen, "")


@prototype(since="0.1.0")
def unfreeze_batch_norm(module: nn.Module, *, inplace: bool = False) -> nn.Module:
    """Replaces every frozen batch norm in ``module`` by a trainable ``nn.BatchNorm1d``/``2d``/``3d``.

    The inverse of :func:`freeze_batch_norm`: weight and bias become parameters again, the running
    statistics and ``eps`` are copied, and eval-mode outputs are unchanged. The new norms have
    ``affine=True``, ``track_running_stats=True``, the default ``momentum=0.1`` (a frozen norm does
    not keep one) and ``num_batches_tracked = 0``. A frozen norm that came from ``nn.SyncBatchNorm``
    comes back as ``nn.BatchNorm2d``; use ``nn.SyncBatchNorm.convert_sync_batchnorm`` afterwards.

    Args:
        module: A model, or a single frozen batch norm.
        inplace: Convert ``module`` itself instead of a deep copy; use the returned module either way.

    Returns:
        The converted module.

    Example:
        >>> model = freeze_batch_norm(nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8)))
        >>> type(unfreeze_batch_norm(model)[1]).__name__
        'BatchNorm2d'
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be an nn.Module, got {type(module).__name__}")
    target = module if check_bool(inplace, "inplace") else copy.deepcopy(module)
    return _convert(target, _BATCH_NORM_BY_FROZEN, _unfrozen, "")
