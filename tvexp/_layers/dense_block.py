"""DenseNet's dense layer, dense block and transition (Huang et al., arXiv:1608.06993)."""

# No ``from __future__ import annotations`` here: TorchScript resolves the annotations of the
# ``@torch.jit.unused`` checkpointing method, and cannot read them as strings.

from typing import Callable, Union

import torch
import torch.fx
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils import checkpoint

from tvexp._api.deprecation import StateDictMigration, migrate_state_dict
from tvexp._api.tiers import prototype
from tvexp._api.validation import check_bool, check_positive_int, check_probability
from tvexp._layers._block_parts import Factory, reset_children
from tvexp._layers._input_checks import checked_channels_first
from tvexp._layers.layer_builders import build_activation, build_layer, check_builder

__all__ = ["DenseBlock", "DenseLayer", "DenseTransition"]

# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_channels_first")

# Checkpoints of torchvision's hosted DenseNet weights (ported from LuaTorch) name the dense layers'
# parameters ``norm.1.weight`` ... ``conv.2.weight``; torchvision renames them with a regex when it
# loads its weights. Here the layer itself migrates them, so any old-format checkpoint loads.
_LEGACY_RENAMES = {
    f"{part}.{index}.{name}": f"{part}{index}.{name}"
    for index in (1, 2)
    for part, names in (
        ("norm", ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")),
        ("conv", ("weight",)),
    )
    for name in names
}


def _check_activation_and_norm(norm_layer: object, activation_layer: object) -> None:
    check_builder(norm_layer, "norm_layer")
    check_builder(activation_layer, "activation_layer", optional=False)


@migrate_state_dict(
    StateDictMigration(from_version=1, renames=_LEGACY_RENAMES, since="0.2.0", removed_in="0.4.0"),
)
@prototype(since="0.2.0")
class DenseLayer(nn.Module):
    r"""DenseNet-BC's composite layer: norm, activation, 1x1 bottleneck, norm, activation, 3x3.

    From `Densely Connected Convolutional Networks <https://arxiv.org/abs/1608.06993>`_: the input
    is the concatenation of all earlier feature maps of the block, given either as one tensor or
    as a list of tensors (concatenated along channels inside the layer, so that
    ``memory_efficient=True`` can recompute the concatenation in the backward pass instead of
    keeping it, `arXiv:1707.06990 <https://arxiv.org/abs/1707.06990>`_). The output has
    ``growth_rate`` channels. Submodule names follow torchvision's ``_DenseLayer`` (``norm1``,
    ``relu1``, ``conv1``, ``norm2``, ``relu2``, ``conv2``).

    Old checkpoints: torchvision's hosted DenseNet weights use the legacy keys ``norm.1.weight``,
    ``conv.1.weight``, ... (torchvision renames them in its weight loader). This layer renames
    them when it loads such a checkpoint (a :class:`~tvexp.TvexpDeprecationWarning` asks to save
    the model again), so ``model.load_state_dict(old_state_dict)`` works with ``strict=True``
    for any network built from it, whatever the layer's prefix.

    Args:
        in_channels: Channels of the (concatenated) input.
        growth_rate: Channels of the output (``k`` in the paper).
        bn_size: The bottleneck has ``bn_size * growth_rate`` channels.
        drop_rate: Dropout probability on the output in training.
        memory_efficient: Recompute the concatenation, first norm, activation and 1x1 convolution in
            the backward pass (gradient checkpointing) when an input requires grad; slower, and
            the concatenated input is not kept for the backward pass. Ignored in TorchScript (which
            cannot checkpoint) and not symbolically traceable with ``torch.fx`` (it reads
            ``requires_grad``); ``torch.compile`` and ``torch.export`` handle it.
        norm_layer: Builds each norm from a channel count. ``None`` means :class:`torch.nn.BatchNorm2d`.
        activation_layer: Builds the activations (``inplace=True`` is passed where accepted).
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(N, C_{in}, H, W)`, or a list of :math:`(N, C_i, H, W)` with
          :math:`\sum_i C_i = C_{in}`.
        - Output: :math:`(N, growth\_rate, H, W)`

    Example:
        >>> layer = DenseLayer(64, growth_rate=32)
        >>> layer(torch.randn(2, 64, 8, 8)).shape
        torch.Size([2, 32, 8, 8])
        >>> layer([torch.randn(2, 48, 8, 8), torch.randn(2, 16, 8, 8)]).shape
        torch.Size([2, 32, 8, 8])
    """

    _version = 2

    def __init__(
        self,
        in_channels: int,
        growth_rate: int,
        bn_size: int = 4,
        drop_rate: float = 0.0,
        memory_efficient: bool = False,
        *,
        norm_layer: Callable[..., nn.Module] | None = None,
        activation_layer: Callable[..., nn.Module] = nn.ReLU,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        in_channels = check_positive_int(in_channels, "in_channels")
        growth_rate = check_positive_int(growth_rate, "growth_rate")
        bn_size = check_positive_int(bn_size, "bn_size")
        drop_rate = check_probability(drop_rate, "drop_rate")
        memory_efficient = check_bool(memory_efficient, "memory_efficient")
        _check_activation_and_norm(norm_layer, activation_layer)
        super().__init__()
        norm = nn.BatchNorm2d if norm_layer is None else norm_layer
        factory: Factory = {"device": device, "dtype": dtype}
        width = bn_size * growth_rate
        self.in_channels = in_channels
        self.out_channels = growth_rate
        self.norm1 = build_layer(norm, "norm_layer", in_channels, **factory)
        self.relu1 = build_activation(activation_layer, "activation_layer", True, **factory)
        self.conv1 = nn.Conv2d(in_channels, width, kernel_size=1, bias=False, **factory)
        self.norm2 = build_layer(norm, "norm_layer", width, **factory)
        self.relu2 = build_activation(activation_layer, "activation_layer", True, **factory)
        self.conv2 = nn.Conv2d(width, growth_rate, kernel_size=3, padding=1, bias=False, **factory)
        self.drop_rate = float(drop_rate)
        self.memory_efficient = memory_efficient

    def reset_parameters(self) -> None:
        """Re-initialises every submodule that has parameters or buffers (PyTorch's default init)."""
        reset_children(self)

    def _bottleneck(self, features: list[Tensor]) -> Tensor:
        x = features[0] if len(features) == 1 else torch.cat(features, 1)
        return self.conv1(self.relu1(self.norm1(x)))

    @torch.jit.unused
    def _checkpointed_bottleneck(self, features: list[Tensor]) -> Tensor:
        def bottleneck(*inputs: Tensor) -> Tensor:
            return self._bottleneck(list(inputs))

        return checkpoint.checkpoint(bottleneck, *features, use_reentrant=False)

    def _checkpoint(self, features: list[Tensor]) -> bool:
        if not self.memory_efficient or torch.jit.is_scripting():
            return False
        for feature in features:
            if feature.requires_grad:
                return True
        return False

    def forward(self, input: Union[Tensor, list[Tensor]]) -> Tensor:
        if isinstance(input, list):
            # Inside a DenseBlock: the block's input and the earlier layers' outputs, checked by the block.
            features = input
        else:
            features = [checked_channels_first(input, "DenseLayer", self.in_channels, 4, False, True)]
        if self._checkpoint(features):
            bottleneck = self._checkpointed_bottleneck(features)
        else:
            bottleneck = self._bottleneck(features)
        out = self.conv2(self.relu2(self.norm2(bottleneck)))
        if self.drop_rate > 0:
            out = F.dropout(out, p=self.drop_rate, training=self.training)
        return out

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, growth_rate={self.out_channels}"
        if self.drop_rate:
            text += f", drop_rate={self.drop_rate}"
        if self.memory_efficient:
            text += ", memory_efficient=True"
        return text


@prototype(since="0.2.0")
class DenseBlock(nn.ModuleDict):
    r"""A DenseNet dense block: ``num_layers`` :class:`DenseLayer` s, each fed every earlier feature map.

    The output is the concatenation of the input and every layer's output, with
    ``in_channels + num_layers * growth_rate`` channels. Layers are named ``denselayer1`` ...
    ``denselayerN`` and the positional arguments follow torchvision's ``_DenseBlock``, so the
    checkpoint keys are torchvision's.

    Args:
        num_layers: Number of dense layers.
        in_channels: Channels of the input.
        bn_size: Bottleneck factor of each layer (see :class:`DenseLayer`).
        growth_rate: Channels each layer adds.
        drop_rate: Dropout probability on each layer's output in training.
        memory_efficient: Gradient checkpointing in each layer (see :class:`DenseLayer`).
        norm_layer: Builds each norm from a channel count. ``None`` means :class:`torch.nn.BatchNorm2d`.
        activation_layer: Builds the activations.
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(N, C_{in}, H, W)`
        - Output: :math:`(N, C_{in} + num\_layers \cdot growth\_rate, H, W)`

    Example:
        >>> block = DenseBlock(3, 16, bn_size=4, growth_rate=8)
        >>> block(torch.randn(2, 16, 8, 8)).shape
        torch.Size([2, 40, 8, 8])
    """

    _version = 2

    def __init__(
        self,
        num_layers: int,
        in_channels: int,
        bn_size: int = 4,
        growth_rate: int = 32,
        drop_rate: float = 0.0,
        memory_efficient: bool = False,
        *,
        norm_layer: Callable[..., nn.Module] | None = None,
        activation_layer: Callable[..., nn.Module] = nn.ReLU,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        num_layers = check_positive_int(num_layers, "num_layers")
        in_channels = check_positive_int(in_channels, "in_channels")
        bn_size = check_positive_int(bn_size, "bn_size")
        growth_rate = check_positive_int(growth_rate, "growth_rate")
        drop_rate = check_probability(drop_rate, "drop_rate")
        memory_efficient = check_bool(memory_efficient, "memory_efficient")
        _check_activation_and_norm(norm_layer, activation_layer)
        super().__init__()
        for index in range(num_layers):
            self.add_module(
                f"denselayer{index + 1}",
                DenseLayer(
                    in_channels + index * growth_rate,
                    growth_rate,
                    bn_size,
                    drop_rate,
                    memory_efficient,
                    norm_layer=norm_layer,
                    activation_layer=activation_layer,
                    device=device,
                    dtype=dtype,
                ),
            )
        self.in_channels = in_channels
        self.out_channels = in_channels + num_layers * growth_rate

    def reset_parameters(self) -> None:
        """Re-initialises every submodule that has parameters or buffers (PyTorch's default init)."""
        reset_children(self)

    def forward(self, x: Tensor) -> Tensor:
        features = [checked_channels_first(x, "DenseBlock", self.in_channels, 4, False, True)]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}"


@prototype(since="0.2.0")
class DenseTransition(nn.Sequential):
    r"""DenseNet's transition between dense blocks: norm, activation, 1x1 convolution, 2x2 average pooling.

    Children ``norm``, ``relu``, ``conv``, ``pool`` as in torchvision's ``_Transition`` (DenseNet-BC
    halves the channels here: ``out_channels = in_channels // 2``).

    Args:
        in_channels: Channels of the input.
        out_channels: Channels of the output.
        norm_layer: Builds the norm from a channel count. ``None`` means :class:`torch.nn.BatchNorm2d`.
        activation_layer: Builds the activation (``inplace=True`` is passed where accepted).
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(N, C_{in}, H, W)`
        - Output: :math:`(N, C_{out}, \lfloor H / 2 \rfloor, \lfloor W / 2 \rfloor)`

    Example:
        >>> transition = DenseTransition(64, 32)
        >>> transition(torch.randn(2, 64, 9, 9)).shape
        torch.Size([2, 32, 4, 4])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        norm_layer: Callable[..., nn.Module] | None = None,
        activation_layer: Callable[..., nn.Module] = nn.ReLU,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        in_channels = check_positive_int(in_channels, "in_channels")
        out_channels = check_positive_int(out_channels, "out_channels")
        _check_activation_and_norm(norm_layer, activation_layer)
        super().__init__()
        factory: Factory = {"device": device, "dtype": dtype}
        self.norm = build_layer(
            nn.BatchNorm2d if norm_layer is None else norm_layer, "norm_layer", in_channels, **factory
        )
        self.relu = build_activation(activation_layer, "activation_layer", True, **factory)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False, **factory)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)
        self.in_channels = in_channels
        self.out_channels = out_channels

    def reset_parameters(self) -> None:
        """Re-initialises every submodule that has parameters or buffers (PyTorch's default init)."""
        reset_children(self)

    def forward(self, input: Tensor) -> Tensor:
        input = checked_channels_first(input, "DenseTransition", self.in_channels, 4, False, True)
        for module in self:
            input = module(input)
        return input

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}"
