"""LayerNorm2d: layer normalization over the channels of NCHW tensors (ConvNeXt, arXiv:2201.03545)."""

from __future__ import annotations

from typing import Any

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
    if not torch.jit.is_scripting():
        if torch._C._are_functorch_transforms_active():  # vmap cannot query the memory format
            return F.layer_norm(x.permute(0, 2, 3, 1), normalized_shape, weight, bias, eps).permute(0, 3, 1, 2)
    # A channels_last tensor permuted to NHWC is a contiguous view, so F.layer_norm runs on it
    # directly and the result, permuted back, is channels_last again: no copy at all.
    if x.is_contiguous(memory_format=torch.channels_last):
        return F.layer_norm(x.permute(0, 2, 3, 1), normalized_shape, weight, bias, eps).permute(0, 3, 1, 2)
    if not torch.jit.is_scripting():  # (TorchScript compiles only the layer_norm route)
        if _takes_sample_path(x, weight, bias):
            return _normalize_by_sample(x, weight, bias, eps)
    return _permuted_layer_norm(x, normalized_shape, weight, bias, eps)


def _permuted_layer_norm(
    x: Tensor, normalized_shape: list[int], weight: Tensor | None, bias: Tensor | None, eps: float
) -> Tensor:
    # For a contiguous input the permuted output is channels_last; copying it back keeps the
    # caller's memory format (timm returns it as is, which silently switches the rest of the
    # network to channels_last, huggingface/pytorch-image-models#1340). The output is allocated
    # before the intermediate: allocating it after, glibc returned the freed intermediate's pages to
    # the OS every call and the page faults made the layer 3-4x slower.
    out = torch.empty_like(x, memory_format=torch.contiguous_format)
    y = F.layer_norm(x.permute(0, 2, 3, 1), normalized_shape, weight, bias, eps)
    out.copy_(y.permute(0, 3, 1, 2))
    return out


_PLAIN = (Tensor, nn.Parameter)


def _takes_sample_path(x: Tensor, weight: Tensor | None, bias: Tensor | None) -> bool:
    """One intra-op thread, eager CPU computation on a plain contiguous tensor, outside graph captures.

    torch.compile, torch.export, tracing and TorchScript see the layer_norm route (a compiler fuses it
    anyway); so do tensor subclasses (DTensor, fake tensors) and autocast, whose rules are written
    for layer_norm (functorch transforms never get here). Training takes the path in float32 and float64.

    Why one thread only: the path runs a few operations per sample, and with several threads each is
    a parallel region that ends waiting for its slowest thread. On the idle 2-core benchmark machine it
    took 1.02-1.06x timm's forward at 2 threads (the layer_norm route 1.7-1.9x); whenever another
    process wanted the cores it took 10-31x (one descheduled worker stalls every region; the route,
    with three regions, 1.5x). On one thread there are no regions to stall.
    """
    # Graph captures first: torch.compile cannot trace get_num_threads (it would break the graph).
    if torch.compiler.is_compiling() or torch.jit.is_tracing() or torch.is_autocast_enabled("cpu"):
        return False
    if torch.get_num_threads() != 1:
        return False
    if type(x) is not Tensor or x.device.type != "cpu" or not x.is_contiguous() or x.numel() == 0:
        return False
    if (weight is not None and type(weight) not in _PLAIN) or (bias is not None and type(bias) not in _PLAIN):
        return False
    if _needs_grad(x, weight, bias):
        return x.dtype == torch.float32 or x.dtype == torch.float64
    return True


def _needs_grad(x: Tensor, weight: Tensor | None, bias: Tensor | None) -> bool:
    return torch.is_grad_enabled() and (
        x.requires_grad or (weight is not None and weight.requires_grad) or (bias is not None and bias.requires_grad)
    )


@torch.jit.unused
def _normalize_by_sample(x: Tensor, weight: Tensor | None, bias: Tensor | None, eps: float) -> Tensor:
    if _needs_grad(x, weight, bias):
        return _SampleLayerNorm.apply(x, weight, bias, eps)
    return _normalized_samples(x, weight, bias, eps)[0]


def _normalized_samples(
    x: Tensor, weight: Tensor | None, bias: Tensor | None, eps: float
) -> tuple[Tensor, Tensor, Tensor]:
    """LayerNorm2d of a contiguous NCHW tensor without transposing it, with the statistics per position.

    The permute -> layer_norm -> permute route costs two transposing copies on a contiguous input
    (into NHWC for layer_norm, back for the output). But one sample ``(C, H, W)`` viewed as a
    ``(C, H * W)`` matrix is a batch of ``C`` rows with ``H * W`` features, and batch normalization
    in training mode normalises each feature over the rows: exactly this layer's statistics (mean and
    biased variance over ``C`` per position, computed by torch's fused, vectorised batch-norm kernel).
    So each sample takes one batch-norm call into the output, then the per-channel affine in place,
    while the sample is still in cache. Half and bfloat16 inputs are normalised in float32, as
    layer_norm does, and rounded once. Returns the output, and the mean and ``1 / std`` of each
    position as ``(N, H * W)`` (for the backward).
    """
    n, c = x.shape[0], x.shape[1]
    positions = x.shape[2] * x.shape[3]
    out = torch.empty_like(x, memory_format=torch.contiguous_format)
    source, target = x.view(n, c, positions), out.view(n, c, positions)
    compute = torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype
    mean = torch.empty(n, positions, dtype=compute)
    invstd = torch.empty(n, positions, dtype=compute)
    scale = None if weight is None else weight.detach().to(compute).view(c, 1)
    shift = None if bias is None else bias.detach().to(compute).view(c, 1)
    cast = compute != x.dtype
    staged = torch.empty(c, positions, dtype=compute) if cast else None
    normalized = torch.empty(c, positions, dtype=compute) if cast else None
    with torch.no_grad():
        for i in range(n):
            sample = source[i]
            result = target[i]
            if staged is not None and normalized is not None:
                staged.copy_(sample)
                sample, result = staged, normalized
            torch.ops.aten.native_batch_norm.out(
                sample, None, None, None, None, True, 0.0, eps, out=result, save_mean=mean[i], save_invstd=invstd[i]
            )
            if cast:
                if scale is not None and shift is not None:
                    torch.addcmul(shift, result, scale, out=target[i])
                else:
                    target[i].copy_(result if scale is None else result.mul_(scale))
                continue
            if scale is not None:
                result.mul_(scale)
            if shift is not None:
                result.add_(shift)
    return out, mean, invstd


class _SampleLayerNorm(torch.autograd.Function):
    """The per-sample batch-norm formulation with its backward (float32 and float64 inputs)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, weight: Tensor | None, bias: Tensor | None, eps: float) -> Tensor:
        out, mean, invstd = _normalized_samples(x, weight, bias, eps)
        ctx.save_for_backward(x, weight, bias, mean, invstd)
        ctx.eps = eps
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        x, weight, bias, mean, invstd = ctx.saved_tensors
        needs = ctx.needs_input_grad[:3]
        if torch.is_grad_enabled():
            # create_graph=True (double backward): differentiate the layer_norm formulation instead,
            # whose gradient is itself differentiable in x, weight and bias.
            out = _permuted_layer_norm(x, [x.shape[1]], weight, bias, ctx.eps)
            inputs = [t for t, needed in zip((x, weight, bias), needs) if needed]
            grads = iter(torch.autograd.grad(out, inputs, grad, create_graph=True))
            return (*(next(grads) if needed else None for needed in needs), None)
        n, c = x.shape[0], x.shape[1]
        positions = x.shape[2] * x.shape[3]
        grad = grad.contiguous().view(n, c, positions)
        source = x.view(n, c, positions)
        grad_x = torch.empty_like(x, memory_format=torch.contiguous_format) if needs[0] else None
        grad_weight = torch.zeros(c, dtype=x.dtype) if weight is not None and needs[1] else None
        grad_bias = torch.zeros(c, dtype=x.dtype) if bias is not None and needs[2] else None
        scale = None if weight is None else weight.view(c, 1)
        # Per-sample scratch, reused: the sample stays in cache through the passes over it.
        centred = torch.empty(c, positions, dtype=x.dtype) if grad_weight is not None else None
        scaled = torch.empty(c, positions, dtype=x.dtype) if grad_x is not None and scale is not None else None
        for i in range(n):
            g = grad[i]
            if grad_weight is not None and centred is not None:
                # sum over positions of g * (x - mean) * invstd: the products, then one matrix-vector product.
                torch.sub(source[i], mean[i], out=centred).mul_(g)
                grad_weight += torch.mv(centred, invstd[i])
            if grad_bias is not None:
                grad_bias += g.sum(1)
            if grad_x is not None:
                # Batch norm's backward on the sample's (C, H * W) matrix, for the gradient before the affine.
                grad_x.view(n, c, positions)[i] = torch.ops.aten.native_batch_norm_backward(
                    g if scale is None or scaled is None else torch.mul(g, scale, out=scaled),
                    source[i],
                    None,
                    None,
                    None,
                    mean[i],
                    invstd[i],
                    True,
                    ctx.eps,
                    [True, False, False],
                )[0]
        return grad_x, grad_weight, grad_bias, None


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
