"""Quantizable MLP: the float MLP plus ``fuse_model`` for eager-mode quantization."""

from __future__ import annotations

from torch import Tensor

from tvexp._api.tiers import prototype
from tvexp._layers.mlp import MLP
from tvexp._layers.quantizable._fusion import fuse_sequential

__all__ = ["QuantizableMLP"]


@prototype(since="0.1.0")
class QuantizableMLP(MLP):
    """:class:`~tvexp.stable.MLP` that fuses itself for eager-mode quantization.

    :meth:`fuse_model` fuses each ``Linear`` with a following :class:`~torch.nn.BatchNorm1d` or
    :class:`~torch.nn.ReLU` (torch has no fused Linear-BatchNorm-ReLU). An MLP has no skip addition,
    so nothing else changes: same arguments, children and ``state_dict`` keys as the float block.

    Example:
        >>> mlp = QuantizableMLP(8, [16, 4]).eval()
        >>> mlp.fuse_model()
        >>> type(mlp[0]).__name__
        'LinearReLU'
    """

    def forward(self, input: Tensor) -> Tensor:
        # No input check: after fuse_model the first child is a fused LinearReLU without in_features.
        for module in self:
            input = module(input)
        return input

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """Fuses Linear-BatchNorm1d or Linear-ReLU pairs in place (``is_qat=None``: follows ``training``)."""
        fuse_sequential(self, is_qat)
