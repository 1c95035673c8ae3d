"""Batch normalization with frozen statistics and affine parameters (buffers, not parameters).

Used to fine-tune detection and segmentation backbones with small batches, where batch
statistics are too noisy (e.g. `Faster R-CNN <https://arxiv.org/abs/1506.01497>`_ in torchvision
and detectron2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
import torch.fx
import torch.nn.functional as F
from torch import Tensor, nn

from tvexp._api.tiers import prototype, stable
from tvexp._api.validation import InvalidInputError, check_non_negative, check_positive_int

__all__ = ["FrozenBatchNorm1d", "FrozenBatchNorm2d", "FrozenBatchNorm3d"]


def _frozen_batch_norm(
    x: Tensor, weight: Tensor, bias: Tensor, running_mean: Tensor, running_var: Tensor, eps: float
) -> Tensor:
    if x.dim() < 2 or x.shape[1] != weight.shape[0]:
        raise InvalidInputError(
            f"FrozenBatchNorm expects an (N, {weight.shape[0]}, ...) input with the channels in dimension 1, "
            f"got shape {list(x.shape)}"
        )
    if x.dtype == weight.dtype and not (torch.is_grad_enabled() and x.requires_grad):
        # Inference: the fused batch-norm kernel reads and writes the input once.
        return F.batch_norm(x, running_mean, running_var, weight, bias, False, 0.0, eps)
    # With autograd: scale and shift are computed on the (C,) vectors first (torchvision's
    # fuser-friendly form), so the backward of the large tensor is a single multiply.
    shape = [1, -1] + [1] * (x.dim() - 2)
    scale = weight * (running_var + eps).rsqrt()
    shift = bias - running_mean * scale
    if x.device.type == "cpu" or x.dtype != weight.dtype:
        # On CPU, mul + add beats addcmul's broadcasting kernel for NCHW inputs; mixed dtypes keep
        # torchvision's type promotion.
        return x * scale.reshape(shape) + shift.reshape(shape)
    # On accelerators one fused kernel instead of two passes over the input.
    return torch.addcmul(shift.reshape(shape), x, scale.reshape(shape))


# A leaf for torch.fx: the branch on the input's dtype and autograd state cannot be traced symbolically.
torch.fx.wrap("_frozen_batch_norm")


def _frozen_batch_norm_2d(
    x: Tensor, weight: Tensor, bias: Tensor, running_mean: Tensor, running_var: Tensor, eps: float
) -> Tensor:
    if x.dim() == 3:
        # An unbatched (C, H, W) input: torchvision's (1, C, 1, 1) statistics broadcast it to a
        # (1, C, H, W) result, normalising each channel correctly; the fused kernel would take H for
        # the channels instead. Same result as torchvision, shape included.
        x = x.unsqueeze(0)
    return _frozen_batch_norm(x, weight, bias, running_mean, running_var, eps)


torch.fx.wrap("_frozen_batch_norm_2d")


class _FrozenBatchNorm(nn.Module):
    """Shared implementation of the frozen batch norms (no tier).

    ``weight``, ``bias``, ``running_mean`` and ``running_var`` are buffers, so they are saved and
    moved with the module but never trained. A ``BatchNorm`` state dict loads strictly: its
    ``num_batches_tracked`` entry is dropped.
    """

    if TYPE_CHECKING:  # buffers; class-level annotations would confuse TorchScript under postponed evaluation
        weight: Tensor
        bias: Tensor
        running_mean: Tensor
        running_var: Tensor

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        num_features = check_positive_int(num_features, "num_features")
        eps = check_non_negative(eps, "eps")
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        self.register_buffer("weight", torch.ones(num_features, **factory))
        self.register_buffer("bias", torch.zeros(num_features, **factory))
        self.register_buffer("running_mean", torch.zeros(num_features, **factory))
        self.register_buffer("running_var", torch.ones(num_features, **factory))

    def reset_parameters(self) -> None:
        """Resets the buffers to the identity transform (weight 1, bias 0, mean 0, variance 1)."""
        with torch.no_grad():
            self.weight.fill_(1.0)
            self.bias.zero_()
            self.running_mean.zero_()
            self.running_var.fill_(1.0)

    def _load_from_state_dict(
        self,
        state_dict: dict[str, Any],
        prefix: str,
        local_metadata: dict[str, Any],
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        # BatchNorm checkpoints carry a step counter that has no meaning once the statistics are frozen.
        state_dict.pop(prefix + "num_batches_tracked", None)
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )

    def forward(self, x: Tensor) -> Tensor:
        return _frozen_batch_norm(x, self.weight, self.bias, self.running_mean, self.running_var, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}"


@stable(since="0.1.0")
class FrozenBatchNorm2d(_FrozenBatchNorm):
    r"""2-D batch normalization whose statistics and affine parameters are fixed.

    Computes :math:`y = (x - \mathrm{running\_mean}) / \sqrt{\mathrm{running\_var} + \epsilon}
    \cdot \mathrm{weight} + \mathrm{bias}` per channel, as :class:`torch.nn.BatchNorm2d` does in
    evaluation mode, in training too. The four tensors are buffers, not parameters, so
    optimizers never see them. Drop-in compatible with ``torchvision.ops.FrozenBatchNorm2d``
    (same buffers and ``state_dict`` keys); a :class:`torch.nn.BatchNorm2d` state dict loads with
    ``strict=True`` (its ``num_batches_tracked`` is dropped). Unlike torchvision's class it has a
    ``num_features`` attribute, like the batch norms it replaces.

    Args:
        num_features: Channels ``C`` of the input.
        eps: Added to the variance for numerical stability.
        device: torch.device | str | None of the buffers.
        dtype: Floating-point type of the buffers.

    Shape:
        - Input: :math:`(N, C, H, W)`, or an unbatched :math:`(C, H, W)`.
        - Output: :math:`(N, C, H, W)`, same as the input; :math:`(1, C, H, W)` for an unbatched
          input, as torchvision's broadcasting gives.

    Example:
        >>> frozen = FrozenBatchNorm2d(8)
        >>> frozen
        FrozenBatchNorm2d(8, eps=1e-05)
        >>> frozen.load_state_dict(torch.nn.BatchNorm2d(8).state_dict())
        <All keys matched successfully>
        >>> frozen(torch.randn(2, 8, 4, 4)).shape
        torch.Size([2, 8, 4, 4])
    """

    def forward(self, x: Tensor) -> Tensor:
        return _frozen_batch_norm_2d(x, self.weight, self.bias, self.running_mean, self.running_var, self.eps)


@prototype(since="0.1.0")
class FrozenBatchNorm1d(_FrozenBatchNorm):
    r"""1-D batch normalization whose statistics and affine parameters are fixed.

    The 1-D sibling of :class:`~tvexp.stable.FrozenBatchNorm2d`: the same buffers and loading
    rules, so a :class:`torch.nn.BatchNorm1d` state dict loads with ``strict=True``.

    Args:
        num_features: Channels ``C`` of the input.
        eps: Added to the variance for numerical stability.
        device: torch.device | str | None of the buffers.
        dtype: Floating-point type of the buffers.

    Shape:
        - Input: :math:`(N, C)` or :math:`(N, C, L)`
        - Output: the same shape as the input.

    Example:
        >>> frozen = FrozenBatchNorm1d(8)
        >>> frozen(torch.randn(2, 8, 5)).shape
        torch.Size([2, 8, 5])
    """


@prototype(since="0.1.0")
class FrozenBatchNorm3d(_FrozenBatchNorm):
    r"""3-D batch normalization whose statistics and affine parameters are fixed.

    The 3-D sibling of :class:`~tvexp.stable.FrozenBatchNorm2d`: the same buffers and loading
    rules, so a :class:`torch.nn.BatchNorm3d` state dict loads with ``strict=True``.

    Args:
        num_features: Channels ``C`` of the input.
        eps: Added to the variance for numerical stability.
        device: torch.device | str | None of the buffers.
        dtype: Floating-point type of the buffers.

    Shape:
        - Input: :math:`(N, C, D, H, W)`
        - Output: :math:`(N, C, D, H, W)`, same as the input.

    Example:
        >>> frozen = FrozenBatchNorm3d(4)
        >>> frozen(torch.randn(2, 4, 3, 5, 5)).shape
        torch.Size([2, 4, 3, 5, 5])
    """
