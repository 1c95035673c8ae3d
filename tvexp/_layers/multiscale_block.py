"""MultiscaleBlock: the pre-norm transformer block of MViT (arXiv:2104.11227) and MViTv2 (arXiv:2112.01526)."""

from __future__ import annotations

import math
from functools import partial
from typing import Callable, Sequence

import torch
import torch.fx
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import check_bool, check_positive_int, check_probability
from tvexp._layers._block_parts import Factory, reset_each
from tvexp._layers._token_grid import TokenGridPool, check_grid_triple, checked_grid_tokens, pooled_size
from tvexp._layers.layer_builders import build_layer, check_builder
from tvexp._layers.mlp import MLP
from tvexp._layers.multiscale_attention import MultiscaleAttention
from tvexp._layers.stochastic_depth import StochasticDepth

__all__ = ["MultiscaleBlock"]

# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_grid_tokens")


@prototype(since="0.2.0")
class MultiscaleBlock(nn.Module):
    r"""MViT's transformer block: pooling attention and an MLP in pre-norm residual branches, changing the
    token grid (by the query stride) and the width.

    From `Multiscale Vision Transformers <https://arxiv.org/abs/2104.11227>`_ and
    `MViTv2 <https://arxiv.org/abs/2112.01526>`_:

    .. math::
        x' = \operatorname{pool}(s(x)) + \operatorname{drop}(\operatorname{MSA}(\operatorname{LN}_1(x))),
        \qquad y = p(x') + \operatorname{drop}(\operatorname{MLP}(\operatorname{LN}_2(x')))

    where MSA is a :class:`MultiscaleAttention`, "pool" a max pooling of the skip path on the token grid
    (kernel ``stride + 1`` where the query stride is above 1, padding ``kernel // 2``, class token kept;
    present when the query stride is), "drop" stochastic depth, and the MLP ``Linear -> GELU -> Dropout ->
    Linear -> Dropout`` with hidden width 4 times its input. Where ``output_dim`` differs from ``embed_dim``
    a linear ``project`` changes the width: MViT v1 projects the MLP's skip path (:math:`s = \mathrm{id}`,
    :math:`p = \operatorname{project} \circ \operatorname{LN}_2`, the attention keeps ``embed_dim``);
    MViTv2 (``project_after_attention``) projects the attention's (:math:`s = \operatorname{project} \circ
    \operatorname{LN}_1`, the attention and the MLP already at ``output_dim``).

    Submodules follow torchvision's ``MultiscaleBlock`` (``norm1``, ``norm2``, ``attn``, ``mlp`` with
    ``mlp.0``/``mlp.3``, ``project``), so its checkpoints load with ``strict=True``. Initialisation is
    torchvision's MViT's: truncated normal (std 0.02) linear weights, zero biases, unit norms.

    Args:
        embed_dim: Features ``D`` of each input token.
        num_heads: Attention heads; must divide the attention's width (``output_dim`` with
            ``project_after_attention``, else ``embed_dim``).
        input_size: The token grid ``(T, H, W)``; the input holds ``1 + T * H * W`` tokens.
        output_dim: Features of each output token. Default: ``embed_dim``.
        query_kernel_size: As in :class:`MultiscaleAttention`.
        query_stride: As in :class:`MultiscaleAttention`; also the stride of the skip path's pooling.
        key_value_kernel_size: As in :class:`MultiscaleAttention`.
        key_value_stride: As in :class:`MultiscaleAttention`.
        residual_pooling: As in :class:`MultiscaleAttention` (MViTv2).
        residual_with_class_token: As in :class:`MultiscaleAttention`.
        relative_position_embedding: As in :class:`MultiscaleAttention` (MViTv2).
        project_after_attention: Change the width in the attention branch (MViTv2) rather than in the MLP
            branch (MViT v1).
        dropout: Dropout probability after the attention's projection and in the MLP.
        stochastic_depth_prob: Probability of dropping each residual branch per sample in training.
        norm_layer: Builds the norms (and the attention's pooling norms). ``None`` means
            ``nn.LayerNorm(width, eps=1e-6)``. An ``nn.BatchNorm1d`` builder is applied channels-first to the
            block's two norms, as torchvision does; the pooling norms normalise the last dimension of
            ``(N, heads, L, d)``, so a block that pools needs a norm of the last dimension there.
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(N, 1 + T H W, D)`, floating point; another rank, width, token count or dtype raises a
          ``ValueError`` (also a ``RuntimeError``, torch's type) naming the expected input.
        - Output: :math:`(N, 1 + T' H' W', D_{out})` with :math:`(T', H', W')` = ``output_size``.

    Example:
        >>> block = MultiscaleBlock(
        ...     16, 2, (2, 4, 4), output_dim=32, query_kernel_size=(3, 3, 3), query_stride=(1, 2, 2),
        ...     key_value_kernel_size=(3, 3, 3), key_value_stride=(1, 2, 2), residual_pooling=True,
        ...     residual_with_class_token=False, relative_position_embedding=True, project_after_attention=True)
        >>> block.output_size
        (2, 2, 2)
        >>> block(torch.randn(3, 1 + 2 * 4 * 4, 16)).shape
        torch.Size([3, 9, 32])
        >>> [name for name, _ in block.named_children()]
        ['pool_skip', 'norm1', 'norm2', 'attn', 'mlp', 'stochastic_depth', 'project']
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        input_size: Sequence[int],
        *,
        output_dim: int | None = None,
        query_kernel_size: Sequence[int] = (),
        query_stride: Sequence[int] = (),
        key_value_kernel_size: Sequence[int] = (),
        key_value_stride: Sequence[int] = (),
        residual_pooling: bool = False,
        residual_with_class_token: bool = True,
        relative_position_embedding: bool = False,
        project_after_attention: bool = False,
        dropout: float = 0.0,
        stochastic_depth_prob: float = 0.0,
        norm_layer: Callable[..., nn.Module] | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        embed_dim = check_positive_int(embed_dim, "embed_dim")
        num_heads = check_positive_int(num_heads, "num_heads")
        grid = check_grid_triple(input_size, "input_size")
        output_dim = embed_dim if output_dim is None else check_positive_int(output_dim, "output_dim")
        project_after_attention = check_bool(project_after_attention, "project_after_attention")
        attention_dim = output_dim if project_after_attention else embed_dim
        if attention_dim % num_heads != 0:
            width = "output_dim" if project_after_attention else "embed_dim"
            raise ValueError(
                f"num_heads must divide the attention's width ({width}={attention_dim} with "
                f"project_after_attention={project_after_attention}), got num_heads={num_heads}"
            )
        stride = check_grid_triple(query_stride, "query_stride", allow_empty=True)
        stochastic_depth_prob = check_probability(stochastic_depth_prob, "stochastic_depth_prob")
        check_builder(norm_layer, "norm_layer")
        norm = partial(nn.LayerNorm, eps=1e-6) if norm_layer is None else norm_layer
        factory: Factory = {"device": device, "dtype": dtype}
        attention = MultiscaleAttention(
            embed_dim,
            num_heads,
            grid,
            output_dim=attention_dim,
            query_kernel_size=query_kernel_size,
            query_stride=query_stride,
            key_value_kernel_size=key_value_kernel_size,
            key_value_stride=key_value_stride,
            residual_pooling=residual_pooling,
            residual_with_class_token=residual_with_class_token,
            relative_position_embedding=relative_position_embedding,
            dropout=dropout,
            norm_layer=norm,
            **factory,
        )
        skip_size = grid
        pool_skip: TokenGridPool | None = None
        if stride and math.prod(stride) > 1:
            kernel = tuple(s + 1 if s > 1 else s for s in stride)
            skip_size = pooled_size(grid, kernel, stride)
            pooling = nn.MaxPool3d(kernel, stride=stride, padding=tuple(k // 2 for k in kernel))
            pool_skip = TokenGridPool(pooling, None, (grid[0], grid[1], grid[2]), skip_size)
        if tuple(skip_size) != attention.output_size:
            raise ValueError(
                f"query_kernel_size={tuple(query_kernel_size)} with query_stride={tuple(query_stride)} pools the "
                f"grid {grid} to {attention.output_size}, but the skip path's pooling (kernel stride + 1) gives "
                f"{tuple(skip_size)}; use an odd query kernel"
            )
        super().__init__()
        self.embed_dim = embed_dim
        self.output_dim = output_dim
        self.num_heads = num_heads
        self.input_size = attention.input_size
        self.output_size = attention.output_size
        self.project_after_attention = project_after_attention
        self.pool_skip = pool_skip
        self.norm1 = build_layer(norm, "norm_layer", embed_dim, **factory)
        self.norm2 = build_layer(norm, "norm_layer", attention_dim, **factory)
        self.norms_channels_first = isinstance(self.norm1, nn.BatchNorm1d)
        self.attn = attention
        self.mlp = MLP(
            attention_dim, [4 * attention_dim, output_dim], activation_layer=nn.GELU, dropout=dropout, **factory
        )
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.project = nn.Linear(embed_dim, output_dim, **factory) if embed_dim != output_dim else None
        self._init_linears()

    def _init_linears(self) -> None:
        for module in (self.mlp, self.project):
            if module is None:
                continue
            for linear in module.modules():
                if isinstance(linear, nn.Linear):
                    nn.init.trunc_normal_(linear.weight, std=0.02)
                    if linear.bias is not None:
                        nn.init.zeros_(linear.bias)

    def reset_parameters(self) -> None:
        """Re-initialises as torchvision's MViT: the norms to their defaults, the attention as
        :meth:`MultiscaleAttention.reset_parameters`, the MLP and projection truncated normal (std 0.02)."""
        reset_each((self.norm1, self.norm2, self.attn))
        self._init_linears()

    def forward(self, x: Tensor) -> Tensor:
        x = checked_grid_tokens(x, "MultiscaleBlock", self.embed_dim, self.input_size)
        # A BatchNorm1d (norms_channels_first) normalises (N, D, L): the tokens go channels-first for it.
        if self.norms_channels_first:
            x_norm1 = self.norm1(x.transpose(1, 2)).transpose(1, 2)
        else:
            x_norm1 = self.norm1(x)
        x_attention = self.attn(x_norm1)
        if self.project is not None and self.project_after_attention:
            x = self.project(x_norm1)
        if self.pool_skip is not None:
            x = self.pool_skip(x.unsqueeze(1)).squeeze(1)
        x = x + self.stochastic_depth(x_attention)
        if self.norms_channels_first:
            x_norm2 = self.norm2(x.transpose(1, 2)).transpose(1, 2)
        else:
            x_norm2 = self.norm2(x)
        if self.project is not None and not self.project_after_attention:
            x = self.project(x_norm2)
        return x + self.stochastic_depth(self.mlp(x_norm2))

    def extra_repr(self) -> str:
        text = f"{self.embed_dim}, num_heads={self.num_heads}, input_size={self.input_size}"
        if self.output_dim != self.embed_dim:
            text += f", output_dim={self.output_dim}, project_after_attention={self.project_after_attention}"
        if self.stochastic_depth.p:
            text += f", stochastic_depth_prob={self.stochastic_depth.p}"
        return text
