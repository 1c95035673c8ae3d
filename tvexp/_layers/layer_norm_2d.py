"""LayerNorm2d: layer normalization over the channels of NCHW tensors (ConvNeXt, arXiv:2201.03545)."""

from __future__ import annotations

import torch
import torch.fx
import torch.nn.functional as F
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import InvalidInputError, check_bool, check_positive, check_positive_int

__all__ = ["LayerNorm2d"]


def _layer_norm_2d(
    x: Tensor, normalized_shape: list[int], weight: Tensor | None, bias: Tensor | None, eps: float
) -> Tensor:
    if x.dim() != 4:
        raise InvalidInputError(f"LayerNorm2d expects a 4-D (N, C, H, W) input, got {x.dim()}-D")
    if x.shape[1] != normalized_shape[0]:
        # F.layer_norm on the permuted view would report the NHWC size, which names the wrong axis.
        raise InvalidInputError(
            f"LayerNorm2d({normalized_shape[0]}) expects an (N, {normalized_shape[0]}, H, W) input, got "
            f"{x.shape[1]} channels (shape {list(x.shape)})"
        )
    if not x.is_floating_point():
        raise InvalidInputError(f"LayerNorm2d expects a floating-point input, got dtype {x.dtype}")
    if weight is not None and x.dtype != weight.dtype:
        # Half and bfloat16 inputs with float32 parameters are supported by layer_norm (mixed precision).
        if not ((x.dtype == torch.float16 or x.dtype == torch.bfloat16) and weight.dtype == torch.float32):
            raise InvalidInputError(
                f"LayerNorm2d has {weight.dtype} parameters and got a {x.dtype} input; convert one of them "
                f"(module.to({x.dtype}) or input.to({weight.dtype}))"
            )
    # A channels_last tensor permuted to NHWC is a contiguous view, so F.layer_norm runs on it
    # directly and the result, permuted back, is channels_last again: no copy at all.
    if x.is_contiguous(memory_format=torch.channels_last):
        return F.layer_norm(x.permute(0, 2, 3, 1), normalized_shape, weight, bias, eps).permute(0, 3, 1, 2)
    if not torch.jit.is_scripting():  # (TorchScript compiles only the layer_norm route)
        if _takes_inference_path(x, weight, bias):
            return _contiguous_inference(x, weight, bias, eps)
    # For a contiguous input the permuted output is channels_last; copying it back keeps the
    # caller's memory format (timm returns it as is, which silently switches the rest of the
    # network to channels_last, huggingface/pytorch-image-models#1340). The output is allocated
    # before the intermediate: allocating it after, glibc returned the freed intermediate's pages to
    # the OS every call and the page faults made the layer 3-4x slower.
    out = torch.empty_like(x, memory_format=torch.contiguous_format)
    y = F.layer_norm(x.permute(0, 2, 3, 1), normalized_shape, weight, bias, eps)
    out.copy_(y.permute(0, 3, 1, 2))
    return out


def _takes_inference_path(x: Tensor, weight: Tensor | None, bias: Tensor | None) -> bool:
    """One thread, a contiguous input, no autograd, not traced by torch.compile or torch.export."""
    if torch.compiler.is_compiling() or torch.get_num_threads() != 1 or not x.is_contiguous():
        return False
    if not torch.is_grad_enabled():
        return True
    return not (
        x.requires_grad or (weight is not None and weight.requires_grad) or (bias is not None and bias.requires_grad)
    )


# Elements normalised per step of the single-thread inference path: 256K float32 values (1 MiB)
# stay in the core's L2 cache through the passes over them.
_BLOCK_ELEMENTS = 1 << 18


@torch.jit.unused
def _contiguous_inference(x: Tensor, weight: Tensor | None, bias: Tensor | None, eps: float) -> Tensor:
    """Normalise a contiguous NCHW tensor over dim 1 into a new contiguous tensor, without autograd.

    The permute -> layer_norm -> permute route costs two transposing copies on a contiguous input
    (into NHWC for layer_norm, back for the output). Here the statistics and the normalisation
    work on the NCHW layout directly, one cache-sized block at a time, with the centred two-pass
    variance (mean first, then the mean of squared deviations) that layer_norm computes; reduced
    precision inputs are computed in float32 like layer_norm does. On one thread this takes about
    timm's time (which skips the copy back by returning channels_last) instead of about 1.9x.
    With more threads each of the seven operations per block is a parallel region that waits for
    its slowest thread: on the shared 2-core benchmark machine under load that took 6-25x timm's
    time (medians), the permute route (three parallel regions) 1.4-1.8x, so it is used on one thread only. With
    gradients it would be many small autograd nodes, so that case keeps the layer_norm route too.
    """
    n, c = x.shape[0], x.shape[1]
    out = torch.empty_like(x, memory_format=torch.contiguous_format)
    if out.numel() == 0:
        return out
    positions = x.shape[2] * x.shape[3]
    source = x.view(n, c, positions)
    target = out.view(n, c, positions)
    compute = torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype
    scale = None if weight is None else weight.to(compute).view(c, 1)
    shift = None if bias is None else bias.to(compute).view(c, 1)
    budget = _BLOCK_ELEMENTS
    # Whole samples per block when they fit, else runs of positions of one sample.
    samples = max(1, budget // max(1, c * positions))
    step = positions if samples > 1 else max(1, budget // c)
    for first in range(0, n, samples):
        for start in range(0, positions, step):
            block = source[first : first + samples, :, start : start + step]
            result = target[first : first + samples, :, start : start + step]
            if compute != x.dtype:
                buffer = block.to(compute)
                buffer.sub_(buffer.mean(1, keepdim=True))
            else:
                buffer = torch.sub(block, block.mean(1, keepdim=True), out=result)
            buffer.mul_(buffer.square().mean(1, keepdim=True).add_(eps).rsqrt_())
            if scale is not None:
                buffer.mul_(scale)
            if compute == x.dtype:
                if shift is not None:
                    buffer.add_(shift)
            elif shift is not None:
                torch.add(buffer, shift, out=result)
            else:
                result.copy_(buffer)
    return out


# The memory-format branch is data-independent but reads a tensor property, which FX cannot
# trace through; as a leaf the whole function appears as one call in the traced graph.
torch.fx.wrap("_layer_norm_2d")


@prototype(since="0.1.0")
class LayerNorm2d(nn.LayerNorm):
    r"""Layer normalization over the channel dimension of an ``(N, C, H, W)`` tensor.

    From `A ConvNet for the 2020s <https://arxiv.org/abs/2201.03545>`_: each spatial position is
    normalized over its ``C`` channels,

    .. math::
        y_{n,c,h,w} = \frac{x_{n,c,h,w} - \mu_{n,h,w}}{\sqrt{\sigma^2_{n,h,w} + \epsilon}}
        \cdot \gamma_c + \beta_c

    with the mean :math:`\mu` and biased variance :math:`\sigma^2` taken over ``c``. The output
    keeps the input's memory format: a ``channels_last`` input is normalized without any copy, a
    contiguous input gives a contiguous output. The parameters are named ``weight`` and ``bias``
    with shape ``(C,)``, like torchvision ConvNeXt's ``LayerNorm2d``, whose checkpoints load as is.

    Args:
        num_channels: Channels ``C`` of the input.
        eps: Added to the variance for numerical stability; finite and positive. Default: ``1e-6``
            (ConvNeXt's value).
        elementwise_affine: Learn a per-channel scale ``weight`` (:math:`\gamma`, initialised to ones).
        bias: Learn a per-channel shift ``bias`` (:math:`\beta`, initialised to zeros); only used
            when ``elementwise_affine`` is true.
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(N, C, H, W)`, floating point (a float16/bfloat16 input may meet float32
          parameters; other dtype mismatches raise). A wrong rank, channel count or dtype raises
          :class:`ValueError` (which is also a ``RuntimeError``, torch's type) naming the expected input.
        - Output: :math:`(N, C, H, W)`, same shape and memory format as the input.

    Example:
        >>> norm = LayerNorm2d(16)
        >>> x = torch.randn(2, 16, 8, 8).to(memory_format=torch.channels_last)
        >>> y = norm(x)
        >>> y.shape, y.is_contiguous(memory_format=torch.channels_last)
        (torch.Size([2, 16, 8, 8]), True)
    """

    def __init__(
        self,
        num_channels: int,
        eps: float = 1e-6,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        num_channels = check_positive_int(num_channels, "num_channels")
        eps = check_positive(eps, "eps")
        elementwise_affine = check_bool(elementwise_affine, "elementwise_affine")
        bias = check_bool(bias, "bias")
        super().__init__(
            num_channels, eps=eps, elementwise_affine=elementwise_affine, bias=bias, device=device, dtype=dtype
        )
        self.num_channels = num_channels

    def forward(self, x: Tensor) -> Tensor:
        return _layer_norm_2d(x, list(self.normalized_shape), self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        text = f"{self.num_channels}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        if self.elementwise_affine and self.bias is None:
            text += ", bias=False"
        return text
