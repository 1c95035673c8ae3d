"""Quantizable Conv2dNormActivation: the float block plus ``fuse_model`` for eager-mode quantization."""

from __future__ import annotations

from tvexp._api.tiers import prototype
from tvexp._layers.conv_norm_activation import Conv2dNormActivation
from tvexp._layers.quantizable._fusion import fuse_sequential

__all__ = ["QuantizableConv2dNormActivation"]


@prototype(since="0.1.0")
class QuantizableConv2dNormActivation(Conv2dNormActivation):
    """:class:`~tvexp.stable.Conv2dNormActivation` that fuses itself for eager-mode quantization.

    Same arguments, children and ``state_dict`` keys as the float block, so a float checkpoint loads
    strictly. :meth:`fuse_model` fuses ``0`` (conv), ``1`` (:class:`~torch.nn.BatchNorm2d`) and ``2``
    (:class:`~torch.nn.ReLU`) into one module; other activations (ReLU6, Hardswish, ...) stay separate
    quantized modules. The eager ``torch.ao.quantization`` API this serves is deprecated in torch; the
    PT2E flow (:func:`tvexp.prototype.quantize_pt2e`) quantizes the float block directly.

    Example:
        >>> from torch.ao.nn.intrinsic import ConvReLU2d
        >>> block = QuantizableConv2dNormActivation(3, 8).eval()
        >>> block.fuse_model()
        >>> type(block[0]) is ConvReLU2d, type(block[1]).__name__
        (True, 'Identity')
    """

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """Fuses conv, BatchNorm2d and ReLU in place (``is_qat=None``: QAT fusion in training mode)."""
        fuse_sequential(self, is_qat)
