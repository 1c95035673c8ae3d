"""Quantizable NamedConv2dNormActivation: the float block plus ``fuse_model`` for eager-mode quantization."""

from __future__ import annotations

from tvexp._api.tiers import prototype
from tvexp._layers.named_conv_norm_activation import NamedConv2dNormActivation
from tvexp._layers.quantizable._fusion import fuse_sequential

__all__ = ["QuantizableNamedConv2dNormActivation"]


@prototype(since="0.2.0")
class QuantizableNamedConv2dNormActivation(NamedConv2dNormActivation):
    """:class:`~tvexp.prototype.NamedConv2dNormActivation` that fuses itself, as torchvision's ``QuantizableBasicConv2d``.

    Same arguments, children (``conv``, ``bn``, ``act``) and ``state_dict`` keys as the float block, so
    a float checkpoint (and torchvision's quantizable GoogLeNet/Inception v3 float weights) loads
    strictly. :meth:`fuse_model` fuses ``conv``, ``bn`` (:class:`~torch.nn.BatchNorm2d`) and ``act``
    (:class:`~torch.nn.ReLU`); other activations stay separate quantized modules.

    Example:
        >>> from torch.ao.nn.intrinsic import ConvReLU2d
        >>> block = QuantizableNamedConv2dNormActivation(3, 8, kernel_size=3).eval()
        >>> block.fuse_model()
        >>> type(block.conv) is ConvReLU2d, type(block.bn).__name__, type(block.act).__name__
        (True, 'Identity', 'Identity')
    """

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """Fuses conv, BatchNorm2d and ReLU in place (``is_qat=None``: QAT fusion in training mode)."""
        fuse_sequential(self, is_qat)
