"""MaxViTBlock: MBConv, window attention and grid attention in sequence (MaxViT, arXiv:2204.01697)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable

import torch
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import check_positive_int
from tvexp._layers._block_parts import reset_each
from tvexp._layers.layer_builders import check_builder
from tvexp._layers.partition_attention_block import PartitionAttentionBlock
from tvexp._layers.pre_norm_mbconv import PreNormMBConv

__all__ = ["MaxViTBlock"]


@prototype(since="0.2.0")
class MaxViTBlock(nn.Module):
    r"""One MaxViT block: a :class:`PreNormMBConv`, then attention in windows, then attention over a grid.

    From `MaxViT: Multi-Axis Vision Transformer <https://arxiv.org/abs/2204.01697>`_ (Fig. 2): the
    convolution (which may change the width and halve the resolution) is followed by two
    :class:`PartitionAttentionBlock`\ s with the same ``partition_size``, ``"window"`` (local) then
    ``"grid"`` (global, sparse). All three share ``stochastic_depth_prob``.

    Submodules follow torchvision's ``MaxVitLayer`` (torchvision's ``MaxVitBlock`` is a stage of these):
    ``layers.MBconv``, ``layers.window_attention`` and ``layers.grid_attention``, so torchvision MaxViT
    checkpoints load with ``strict=True``.

    Args:
        in_channels: Channels of the input.
        out_channels: Channels of the output (and of the attention).
        head_dim: Features per attention head; must divide ``out_channels``.
        partition_size: Side of the windows and of the grid of the attention.
        stride: Stride of the convolution: 1 or 2.
        expand_ratio: Expansion of the MBConv, relative to ``out_channels``.
        se_ratio: Squeeze width of the MBConv, relative to ``out_channels``.
        mlp_ratio: Width of the attention blocks' MLP relative to ``out_channels``.
        attention_dropout: Dropout probability after each attention.
        mlp_dropout: Dropout probability after each MLP.
        stochastic_depth_prob: Probability of dropping each residual branch per sample in training.
        norm_layer: Builds the MBConv's norms. ``None`` means MaxViT's
            ``nn.BatchNorm2d(C, eps=1e-3, momentum=0.01)``.
        activation_layer: Builds the activations of the MBConv and of the MLPs. Default: :class:`torch.nn.GELU`.
        attention_norm_layer: Builds the attention blocks' token norms. Default: :class:`torch.nn.LayerNorm`.
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(N, C_{in}, H, W)`, floating point, with :math:`\lceil H / stride \rceil` and
          :math:`\lceil W / stride \rceil` divisible by ``partition_size``.
        - Output: :math:`(N, C_{out}, \lceil H / stride \rceil, \lceil W / stride \rceil)`

    Example:
        >>> block = MaxViTBlock(32, 64, head_dim=32, partition_size=4, stride=2)
        >>> block(torch.randn(2, 32, 16, 16)).shape
        torch.Size([2, 64, 8, 8])
        >>> [name for name, _ in block.layers.named_children()]
        ['MBconv', 'window_attention', 'grid_attention']
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        head_dim: int,
        partition_size: int,
        *,
        stride: int = 1,
        expand_ratio: float = 4.0,
        se_ratio: float = 0.25,
        mlp_ratio: int = 4,
        attention_dropout: float = 0.0,
        mlp_dropout: float = 0.0,
        stochastic_depth_prob: float = 0.0,
        norm_layer: Callable[..., nn.Module] | None = None,
        activation_layer: Callable[..., nn.Module] = nn.GELU,
        attention_norm_layer: Callable[..., nn.Module] = nn.LayerNorm,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        # The parts check their own arguments (and name them); these two are only used here.
        in_channels = check_positive_int(in_channels, "in_channels")
        out_channels = check_positive_int(out_channels, "out_channels")
        check_builder(attention_norm_layer, "attention_norm_layer", optional=False)
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        convolution = PreNormMBConv(
            in_channels,
            out_channels,
            expand_ratio=expand_ratio,
            se_ratio=se_ratio,
            stride=stride,
            stochastic_depth_prob=stochastic_depth_prob,
            norm_layer=norm_layer,
            activation_layer=activation_layer,
            device=device,
            dtype=dtype,
        )
        attention = [
            PartitionAttentionBlock(
                out_channels,
                head_dim,
                partition_size,
                partition_type,
                mlp_ratio=mlp_ratio,
                activation_layer=activation_layer,
                norm_layer=attention_norm_layer,
                attention_dropout=attention_dropout,
                mlp_dropout=mlp_dropout,
                stochastic_depth_prob=stochastic_depth_prob,
                device=device,
                dtype=dtype,
            )
            for partition_type in ("window", "grid")
        ]
        self.layers = nn.Sequential(
            OrderedDict([("MBconv", convolution), ("window_attention", attention[0]), ("grid_attention", attention[1])])
        )

    def forward(self, x: Tensor) -> Tensor:
        # Each part checks its input (rank, channels, divisibility by the partition size).
        return self.layers(x)

    def reset_parameters(self) -> None:
        """Re-initialises the three parts (their defaults)."""
        reset_each(self.layers)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}"
