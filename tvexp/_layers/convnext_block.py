"""ConvNeXtBlock: depthwise convolution, channels-last LayerNorm and MLP with layer scale (ConvNeXt, arXiv:2201.03545)."""

from __future__ import annotations

from functools import partial
from typing import Callable

import torch
import torch.fx
import torch.nn.functional as F
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import check_finite, check_positive_int, check_probability
from tvexp._layers._block_parts import Factory, reset_children
from tvexp._layers._input_checks import checked_channels_first
from tvexp._layers.layer_builders import build_activation, build_layer, check_builder
from tvexp._layers.permute import Permute
from tvexp._layers.stochastic_depth import StochasticDepth

__all__ = ["ConvNeXtBlock"]

# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_channels_first")


def _hooked(module: nn.Module) -> bool:
    return bool(module._forward_pre_hooks or module._forward_hooks)


def _tracing() -> bool:
    return torch.compiler.is_compiling() or torch.fx._symbolic_trace.is_fx_symbolic_tracing()


@prototype(since="0.2.0")
class ConvNeXtBlock(nn.Module):
    r"""ConvNeXt's residual block: depthwise 7x7 convolution, LayerNorm over channels, MLP, layer scale.

    From `A ConvNet for the 2020s <https://arxiv.org/abs/2201.03545>`_:
    ``x + drop_path(gamma * pwconv2(act(pwconv1(norm(dwconv(x))))))``, where the norm and the two
    pointwise layers work channels-last (``nn.LayerNorm`` and ``nn.Linear`` on NHWC) and
    :math:`\gamma` is a learned per-channel scale initialised to ``layer_scale``.

    Submodules and parameters follow torchvision's ``CNBlock``: ``block.0`` (depthwise conv),
    ``block.1`` (:class:`~tvexp.stable.Permute` to NHWC), ``block.2`` (norm), ``block.3`` and
    ``block.5`` (linear layers), ``block.4`` (activation), ``block.6`` (permute back),
    ``layer_scale`` of shape ``(C, 1, 1)`` and ``stochastic_depth``; torchvision ConvNeXt
    checkpoints load with ``strict=True`` and the class can be passed as ``block`` to
    ``torchvision.models.ConvNeXt`` (same positional arguments). Unlike torchvision, the output
    keeps the input's memory format (torchvision returns a ``channels_last`` tensor for a contiguous
    input). In eager mode, when ``block.5`` is an :class:`~torch.nn.Linear`, the forward calls ``block.0`` to
    ``block.4`` and ``block.6`` one by one and applies ``block.5`` through its ``weight`` and ``bias``
    scaled by :math:`\gamma` (the same value as scaling its output, up to rounding), which saves a
    pass over the activation forward and backward; another module as ``block.5``, or forward hooks
    on ``block`` or ``block.5`` (FSDP2's ``fully_shard`` of ``block``, for one), run ``block`` as a module,
    and so do traced graphs (``torch.export``, ``torch.compile``, ``torch.fx``: quantizers see ``block.5``).
    Forward+backward at 8x64x56x56 float32 takes about the time of torchvision's ``CNBlock`` and
    timm's ``ConvNeXtBlock`` on contiguous input, although the contiguous gradient that the
    contiguous output receives is transposed once for the channels-last MLP (torchvision's block
    avoids that copy by returning ``channels_last``); ``benchmarks/RESULTS.md`` has the numbers.

    Args:
        channels: Channels ``C`` of the input and the output.
        layer_scale: Initial value of the per-channel scale :math:`\gamma` (any finite number).
        stochastic_depth_prob: Probability of dropping the residual branch per sample in training
            (``StochasticDepth(p, "row")``).
        norm_layer: Builds the channels-last norm from ``C``. ``None`` means
            ``nn.LayerNorm(C, eps=1e-6)``.
        kernel_size: Size of the depthwise convolution (odd; padding keeps the size).
        hidden_channels: Width of the MLP. ``None`` means ``4 * channels``.
        activation_layer: Builds the MLP's activation. Default: :class:`torch.nn.GELU`.
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(N, C, H, W)`, floating point; another rank, channel count or dtype raises
          a ``ValueError`` (also a ``RuntimeError``, torch's type) naming the expected input.
        - Output: :math:`(N, C, H, W)`, in the input's memory format.

    Example:
        >>> block = ConvNeXtBlock(32, layer_scale=1e-6, stochastic_depth_prob=0.1)
        >>> block(torch.randn(2, 32, 14, 14)).shape
        torch.Size([2, 32, 14, 14])
        >>> [key for key in block.state_dict() if not key.startswith("block.")]
        ['layer_scale']
    """

    def __init__(
        self,
        channels: int,
        layer_scale: float = 1e-6,
        stochastic_depth_prob: float = 0.0,
        norm_layer: Callable[..., nn.Module] | None = None,
        *,
        kernel_size: int = 7,
        hidden_channels: int | None = None,
        activation_layer: Callable[..., nn.Module] = nn.GELU,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        channels = check_positive_int(channels, "channels")
        layer_scale = check_finite(layer_scale, "layer_scale")
        stochastic_depth_prob = check_probability(stochastic_depth_prob, "stochastic_depth_prob")
        check_builder(norm_layer, "norm_layer")
        kernel_size = check_positive_int(kernel_size, "kernel_size")
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (the padding keeps the spatial size), got {kernel_size}")
        hidden = 4 * channels if hidden_channels is None else check_positive_int(hidden_channels, "hidden_channels")
        check_builder(activation_layer, "activation_layer", optional=False)
        super().__init__()
        norm = partial(nn.LayerNorm, eps=1e-6) if norm_layer is None else norm_layer
        factory: Factory = {"device": device, "dtype": dtype}
        self.channels = channels
        self.layer_scale_init = layer_scale
        self.stochastic_depth_prob = stochastic_depth_prob
        self.block = nn.Sequential(
            nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2, groups=channels, **factory),
            Permute([0, 2, 3, 1]),
            build_layer(norm, "norm_layer", channels, **factory),
            nn.Linear(channels, hidden, **factory),
            build_activation(activation_layer, "activation_layer", None, **factory),
            nn.Linear(hidden, channels, **factory),
            Permute([0, 3, 1, 2]),
        )
        self.layer_scale = nn.Parameter(torch.empty(channels, 1, 1, **factory))
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        nn.init.constant_(self.layer_scale, self.layer_scale_init)

    def reset_parameters(self) -> None:
        """PyTorch's default initialisation of the convolution, norm and linear layers; ``layer_scale`` to its initial value."""
        reset_children(self)
        nn.init.constant_(self.layer_scale, self.layer_scale_init)

    def forward(self, x: Tensor) -> Tensor:
        x = checked_channels_first(x, "ConvNeXtBlock", self.channels, 4, False, True)
        fc2 = self.block[5]
        fold = isinstance(fc2, nn.Linear)
        if fold and not torch.jit.is_scripting():
            # Eager only. Traced graphs (torch.export, torch.compile, torch.fx) keep ``block.5`` a linear
            # layer applied to its own weight, which quantizers and graph passes match (PT2E quantizes it;
            # inductor fuses the scale anyway). Calling the parts one by one would also skip hooks on
            # ``block`` and ``block.5`` (FSDP2's fully_shard gathers a wrapped ``block``'s parameters in a
            # forward pre-hook, for one).
            fold = not (_tracing() or _hooked(self.block) or _hooked(fc2))
        if fold and isinstance(fc2, nn.Linear):  # (isinstance again for the type checker)
            # gamma * fc2(h) computed as a linear layer with gamma-scaled weight and bias: the scaling
            # costs C x hidden multiplications instead of a pass over the whole activation, forward and
            # backward (where it also replaces a reduction over the activation for gamma's gradient).
            block = self.block
            hidden = block[4](block[3](block[2](block[1](block[0](x)))))
            scale = self.layer_scale.reshape(-1)
            bias = fc2.bias
            branch = block[6](F.linear(hidden, fc2.weight * scale.unsqueeze(1), None if bias is None else bias * scale))
        else:
            branch = self.block(x) * self.layer_scale
        if self.training and self.stochastic_depth_prob > 0.0:
            branch = self.stochastic_depth(branch)
        # The sum takes x's memory format (branch is channels_last).
        return x + branch

    def extra_repr(self) -> str:
        text = f"{self.channels}, layer_scale={self.layer_scale_init}"
        if self.stochastic_depth_prob:
            text += f", stochastic_depth_prob={self.stochastic_depth_prob}"
        return text
