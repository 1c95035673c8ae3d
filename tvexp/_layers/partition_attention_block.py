"""PartitionAttentionBlock: a transformer block over windows or over a dilated grid of an image (MaxViT, arXiv:2204.01697)."""

from __future__ import annotations

from typing import Callable

import torch
import torch.fx
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import InvalidInputError, check_positive_int, check_probability
from tvexp._layers._block_parts import Factory, reset_each
from tvexp._layers._input_checks import checked_channels_first
from tvexp._layers.layer_builders import build_layer, check_builder
from tvexp._layers.multihead_self_attention import MultiheadSelfAttention
from tvexp._layers.stochastic_depth import StochasticDepth

__all__ = ["PARTITION_TYPES", "PartitionAttentionBlock", "checked_partitionable", "departitioned"]

PARTITION_TYPES = ("window", "grid")


def checked_partitionable(input: Tensor, layer: str, channels: int, partition_size: int) -> Tensor:
    """``input`` if it is ``(N, channels, H, W)`` (floating point) with ``H`` and ``W`` divisible by ``partition_size``."""
    input = checked_channels_first(input, layer, channels, 4, False, True)
    height, width = input.shape[2], input.shape[3]
    if height % partition_size != 0 or width % partition_size != 0:
        raise InvalidInputError(
            f"{layer} partitions its input into {partition_size}x{partition_size} parts, so its height and width "
            f"must be divisible by partition_size={partition_size}, got an input of shape {list(input.shape)}"
        )
    return input


def departitioned(tokens: Tensor, height: int, width: int, partition_size: int, grid: bool, like: Tensor) -> Tensor:
    """``(N, groups, P * P, C)`` tokens back to ``(N, C, H, W)``, in the memory format of ``like``
    (``channels_last`` or contiguous): the one copy of the rearrangement writes the output's layout."""
    n, c, p = tokens.shape[0], tokens.shape[3], partition_size
    # Window: (N, H/P, W/P, P, P, C); grid: (N, H/P, W/P, P, P, C) with the offsets first.
    x = tokens.reshape(n, height // p, width // p, p, p, c)
    if like.is_contiguous(memory_format=torch.channels_last) and not like.is_contiguous():
        # To (N, H, W, C) in memory, seen as (N, C, H, W).
        x = x.permute(0, 3, 1, 4, 2, 5) if grid else x.permute(0, 1, 3, 2, 4, 5)
        return x.reshape(n, height, width, c).permute(0, 3, 1, 2)
    x = x.permute(0, 5, 3, 1, 4, 2) if grid else x.permute(0, 5, 1, 3, 2, 4)
    return x.reshape(n, c, height, width)


# Leaves for torch.fx: the input check reads the traced input's shape, the departition its memory format.
torch.fx.wrap("checked_partitionable")
torch.fx.wrap("departitioned")


@prototype(since="0.2.0")
class PartitionAttentionBlock(nn.Module):
    r"""Pre-norm self-attention and MLP over the parts of an image: ``P x P`` windows, or a ``P x P`` dilated grid.

    From `MaxViT: Multi-Axis Vision Transformer <https://arxiv.org/abs/2204.01697>`_. The
    ``(N, C, H, W)`` input is cut into groups of :math:`P^2` tokens (``P = partition_size``):

    - ``"window"`` (MaxViT's block attention): each non-overlapping ``P x P`` window is a group,
      so attention is local;
    - ``"grid"`` (grid attention): each group is a ``P x P`` grid of tokens spaced ``H / P`` rows and
      ``W / P`` columns apart, so attention is global but sparse.

    In each group the tokens, in row-major order, go through a pre-norm transformer block,

    .. math::
        x' = x + \operatorname{drop}(\operatorname{MSA}(\operatorname{LN}(x))),
        \qquad y = x' + \operatorname{drop}(\operatorname{MLP}(\operatorname{LN}(x')))

    where "drop" is dropout (attention output, MLP output) followed by stochastic depth per sample.
    The attention is a :class:`MultiheadSelfAttention` with MaxViT's layout, a learned relative-position
    bias over the ``P x P`` group and torchvision's score scale ``1 / sqrt(C)`` (not ``1 / sqrt(head_dim)``).
    The groups are put back in place, so the output has the input's shape and memory format
    (contiguous or ``channels_last``). Unlike torchvision's layer,
    the block needs no grid size at construction, and any ``H`` and ``W`` divisible by ``P`` work
    (torchvision's grid partition is only right for square inputs).

    Submodules follow torchvision's ``PartitionAttentionLayer``: ``attn_layer`` (``.0`` norm, ``.1``
    attention with ``to_qkv``, ``merge``, ``relative_position_bias_table`` and the persistent buffer
    ``relative_position_index``, ``.2`` dropout), ``mlp_layer`` (``.0`` norm, ``.1`` linear, ``.2``
    activation, ``.3`` linear, ``.4`` dropout) and ``stochastic_dropout``, so torchvision MaxViT
    checkpoints load with ``strict=True``.

    Args:
        channels: Channels ``C`` of the input and the output.
        head_dim: Features per attention head; must divide ``channels`` (MaxViT: 32).
        partition_size: ``P``: the side of a window, or the number of grid tokens along each side.
        partition_type: ``"window"`` or ``"grid"``.
        mlp_ratio: Width of the MLP's hidden layer relative to ``channels``.
        activation_layer: Builds the MLP's activation. Default: :class:`torch.nn.GELU`.
        norm_layer: Builds both norms from ``C`` (they normalise each token). Default: :class:`torch.nn.LayerNorm`.
        attention_dropout: Dropout probability after the attention (torchvision's ``attention_dropout``).
        mlp_dropout: Dropout probability after the MLP.
        stochastic_depth_prob: Probability of dropping each residual branch per sample in training.
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(N, C, H, W)`, floating point, with :math:`H` and :math:`W` divisible by ``P``;
          another rank, channel count, size or dtype raises a ``ValueError`` (also a ``RuntimeError``,
          torch's type) naming the expected input.
        - Output: :math:`(N, C, H, W)`

    Example:
        >>> block = PartitionAttentionBlock(64, head_dim=32, partition_size=7, partition_type="grid")
        >>> block(torch.randn(2, 64, 14, 21)).shape
        torch.Size([2, 64, 14, 21])
        >>> block.attn_layer[1].relative_position_bias_table.shape
        torch.Size([169, 2])
    """

    def __init__(
        self,
        channels: int,
        head_dim: int,
        partition_size: int,
        partition_type: str = "window",
        *,
        mlp_ratio: int = 4,
        activation_layer: Callable[..., nn.Module] = nn.GELU,
        norm_layer: Callable[..., nn.Module] = nn.LayerNorm,
        attention_dropout: float = 0.0,
        mlp_dropout: float = 0.0,
        stochastic_depth_prob: float = 0.0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        channels = check_positive_int(channels, "channels")
        head_dim = check_positive_int(head_dim, "head_dim")
        if channels % head_dim != 0:
            raise ValueError(
                f"head_dim must divide channels, got channels={channels} and head_dim={head_dim} "
                f"(channels % head_dim = {channels % head_dim})"
            )
        partition_size = check_positive_int(partition_size, "partition_size")
        if not isinstance(partition_type, str) or partition_type not in PARTITION_TYPES:
            raise ValueError(f"partition_type must be one of {list(PARTITION_TYPES)}, got {partition_type!r}")
        mlp_ratio = check_positive_int(mlp_ratio, "mlp_ratio")
        check_builder(activation_layer, "activation_layer", optional=False)
        check_builder(norm_layer, "norm_layer", optional=False)
        attention_dropout = check_probability(attention_dropout, "attention_dropout")
        mlp_dropout = check_probability(mlp_dropout, "mlp_dropout")
        stochastic_depth_prob = check_probability(stochastic_depth_prob, "stochastic_depth_prob")
        super().__init__()
        factory: Factory = {"device": device, "dtype": dtype}
        self.channels = channels
        self.head_dim = head_dim
        self.partition_size = partition_size
        self.partition_type = partition_type
        self.attn_layer = nn.Sequential(
            build_layer(norm_layer, "norm_layer", channels, **factory),
            MultiheadSelfAttention(
                channels,
                channels // head_dim,
                layout="maxvit",
                relative_position_window=partition_size,
                scale=channels**-0.5,
                **factory,
            ),
            nn.Dropout(attention_dropout),
        )
        hidden = channels * mlp_ratio
        self.mlp_layer = nn.Sequential(
            build_layer(norm_layer, "norm_layer", channels, **factory),
            nn.Linear(channels, hidden, **factory),
            build_layer(activation_layer, "activation_layer", **factory),
            nn.Linear(hidden, channels, **factory),
            nn.Dropout(mlp_dropout),
        )
        self.stochastic_dropout = StochasticDepth(stochastic_depth_prob, "row")

    def _partition(self, x: Tensor) -> Tensor:
        """``(N, C, H, W)`` -> ``(N, groups, P * P, C)``, the tokens of each group in row-major order."""
        n, c, h, w = x.shape
        p = self.partition_size
        if self.partition_type == "window":
            # (N, C, H/P, P, W/P, P): groups are (H/P, W/P), tokens (P, P).
            x = x.reshape(n, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1)
        else:
            # (N, C, P, H/P, P, W/P): groups are the offsets (H/P, W/P), tokens the P x P grid.
            x = x.reshape(n, c, p, h // p, p, w // p).permute(0, 3, 5, 2, 4, 1)
        return x.reshape(n, (h // p) * (w // p), p * p, c)

    def forward(self, x: Tensor) -> Tensor:
        input = checked_partitionable(x, "PartitionAttentionBlock", self.channels, self.partition_size)
        h, w = input.shape[2], input.shape[3]
        x = self._partition(input)
        # The attention sees each group as one sequence; stochastic depth drops per sample (dimension 0).
        attended = self.attn_layer(x.flatten(0, 1)).reshape(x.shape)
        x = x + self.stochastic_dropout(attended)
        x = x + self.stochastic_dropout(self.mlp_layer(x))
        return departitioned(x, h, w, self.partition_size, self.partition_type == "grid", input)

    def reset_parameters(self) -> None:
        """Re-initialises the norms, the attention and the linear layers (their defaults)."""
        reset_each((*self.attn_layer, *self.mlp_layer))

    def extra_repr(self) -> str:
        text = (
            f"{self.channels}, head_dim={self.head_dim}, partition_size={self.partition_size}, "
            f"partition_type={self.partition_type!r}"
        )
        if self.stochastic_dropout.p:
            text += f", stochastic_depth_prob={self.stochastic_dropout.p}"
        return text
