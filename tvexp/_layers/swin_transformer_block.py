"""SwinTransformerBlock: window attention and an MLP in residual branches (Swin v1 pre-norm, v2 post-norm)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Callable

import torch
import torch.fx
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import check_int, check_positive, check_positive_int, check_probability
from tvexp._layers._block_parts import Factory, reset_each
from tvexp._layers._shifted_windows import check_window_and_shift, checked_channels_last
from tvexp._layers.layer_builders import build_layer, check_builder
from tvexp._layers.mlp import MLP
from tvexp._layers.shifted_window_attention import ShiftedWindowAttention
from tvexp._layers.stochastic_depth import StochasticDepth

__all__ = ["SwinTransformerBlock"]

# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_channels_last")


@prototype(since="0.2.0")
class SwinTransformerBlock(nn.Module):
    r"""A Swin transformer block: shifted-window attention and an MLP, each in a residual branch.

    From `Swin Transformer <https://arxiv.org/abs/2103.14030>`_ (``version=1``, pre-norm), `Swin
    Transformer V2 <https://arxiv.org/abs/2111.09883>`_ (``version=2``, residual post-norm) and
    `Video Swin Transformer <https://arxiv.org/abs/2106.13230>`_ (a 3-entry ``window_size``):

    .. math::
        \text{v1:}\quad x' = x + \operatorname{drop}(\operatorname{W\text{-}MSA}(\operatorname{LN}_1(x))),
        \qquad y = x' + \operatorname{drop}(\operatorname{MLP}(\operatorname{LN}_2(x')))

    .. math::
        \text{v2:}\quad x' = x + \operatorname{drop}(\operatorname{LN}_1(\operatorname{W\text{-}MSA}(x))),
        \qquad y = x' + \operatorname{drop}(\operatorname{LN}_2(\operatorname{MLP}(x')))

    where W-MSA is a :class:`ShiftedWindowAttention` of the same ``version``, "drop" is stochastic
    depth and the MLP is a :class:`~tvexp.stable.MLP` ``Linear -> GELU -> Dropout -> Linear -> Dropout``
    of hidden width ``int(dim * mlp_ratio)``. Children follow torchvision's ``SwinTransformerBlock`` /
    ``SwinTransformerBlockV2`` (``norm1``, ``attn``, ``norm2``, ``mlp.0``, ``mlp.3``), so torchvision's
    Swin, Swin V2 and video Swin checkpoints load with ``strict=True``; the MLP is initialised as
    torchvision's (Xavier-uniform weights, biases of standard deviation ``1e-6``). torchvision chooses the
    attention with an ``attn_layer`` argument; here ``version`` and the length of ``window_size`` do.

    Args:
        dim: Channels ``C`` of the input (its last dimension).
        num_heads: Attention heads; must divide ``dim``.
        window_size: Window size per spatial dimension (2 entries for images, 3 for video).
        shift_size: Cyclic shift per dimension, each in ``[0, window)``.
        mlp_ratio: Hidden width of the MLP as a multiple of ``dim``.
        dropout: Dropout probability after the attention's projection and in the MLP.
        attention_dropout: Dropout probability on the attention weights.
        stochastic_depth_prob: Probability of dropping each residual branch per sample in training.
        norm_layer: Builds both norms from ``dim``. Default: :class:`torch.nn.LayerNorm`.
        version: ``1`` (pre-norm, scaled dot-product attention) or ``2`` (post-norm, cosine
            attention; 2-D windows only).
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(N, H, W, C)` (2-entry window) or :math:`(N, T, H, W, C)` (3-entry window),
          channels last, any sizes; another rank, channel count or dtype raises a ``ValueError``
          (also a ``RuntimeError``) naming the expected input.
        - Output: the input's shape.

    Example:
        >>> block = SwinTransformerBlock(32, num_heads=4, window_size=[4, 4], shift_size=[2, 2])
        >>> block(torch.randn(2, 9, 10, 32)).shape
        torch.Size([2, 9, 10, 32])
        >>> sorted({key.split(".")[0] for key in block.state_dict()})
        ['attn', 'mlp', 'norm1', 'norm2']
        >>> v2 = SwinTransformerBlock(32, 4, [4, 4], [0, 0], version=2)
        >>> v2(torch.randn(1, 8, 8, 32)).shape
        torch.Size([1, 8, 8, 32])
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        window_size: Sequence[int],
        shift_size: Sequence[int],
        mlp_ratio: float = 4.0,
        dropout: float = 0.0,
        attention_dropout: float = 0.0,
        stochastic_depth_prob: float = 0.0,
        norm_layer: Callable[..., nn.Module] = nn.LayerNorm,
        *,
        version: int = 1,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        dim = check_positive_int(dim, "dim")
        num_heads = check_positive_int(num_heads, "num_heads")
        window, shift = check_window_and_shift(window_size, shift_size, (2, 3))
        mlp_ratio = check_positive(mlp_ratio, "mlp_ratio")
        hidden = int(dim * mlp_ratio)
        if hidden < 1:
            raise ValueError(
                f"mlp_ratio must give an MLP at least 1 wide (int(dim * mlp_ratio) >= 1), got mlp_ratio={mlp_ratio} "
                f"with dim={dim}"
            )
        dropout = check_probability(dropout, "dropout")
        attention_dropout = check_probability(attention_dropout, "attention_dropout")
        stochastic_depth_prob = check_probability(stochastic_depth_prob, "stochastic_depth_prob")
        check_builder(norm_layer, "norm_layer", optional=False)
        version = check_int(version, "version", minimum=1)
        super().__init__()
        factory: Factory = {"device": device, "dtype": dtype}
        # The attention checks dim/num_heads, version and the window rank, naming the arguments.
        attention = ShiftedWindowAttention(
            dim,
            window,
            shift,
            num_heads,
            attention_dropout=attention_dropout,
            dropout=dropout,
            version=version,
            **factory,
        )
        self.dim = dim
        self.version = version
        self.spatial_dims = len(window)
        self.post_norm = version == 2
        self.norm1 = build_layer(norm_layer, "norm_layer", dim, **factory)
        self.attn = attention
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.norm2 = build_layer(norm_layer, "norm_layer", dim, **factory)
        self.mlp = MLP(dim, [hidden, dim], activation_layer=nn.GELU, dropout=dropout, **factory)
        self._init_mlp()

    def _init_mlp(self) -> None:
        for module in self.mlp.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.normal_(module.bias, std=1e-6)

    def reset_parameters(self) -> None:
        """Re-initialises the norms and the attention (their own initialisation) and the MLP (as torchvision)."""
        reset_each((self.norm1, self.norm2, self.attn))
        self._init_mlp()

    def forward(self, x: Tensor) -> Tensor:
        x = checked_channels_last(x, "SwinTransformerBlock", self.dim, self.spatial_dims)
        if self.post_norm:
            x = x + self.stochastic_depth(self.norm1(self.attn(x)))
            return x + self.stochastic_depth(self.norm2(self.mlp(x)))
        x = x + self.stochastic_depth(self.attn(self.norm1(x)))
        return x + self.stochastic_depth(self.mlp(self.norm2(x)))

    def extra_repr(self) -> str:
        text = f"{self.dim}, num_heads={self.attn.num_heads}"
        if self.version != 1:
            text += f", version={self.version}"
        if self.stochastic_depth.p:
            text += f", stochastic_depth_prob={self.stochastic_depth.p}"
        return text
