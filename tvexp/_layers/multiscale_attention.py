"""MultiscaleAttention: pooling attention over a spatio-temporal token grid (MViT, arXiv:2104.11227; MViTv2,
arXiv:2112.01526), on ``scaled_dot_product_attention``."""

from __future__ import annotations

import math
from functools import partial
from typing import Callable, Sequence

import torch
import torch.fx
import torch.nn.functional as F
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import check_bool, check_positive_int, check_probability
from tvexp._layers._block_parts import Factory
from tvexp._layers._token_grid import TokenGridPool, check_grid_triple, checked_grid_tokens, pooled_size
from tvexp._layers.layer_builders import build_layer, check_builder

__all__ = ["MultiscaleAttention"]

# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_grid_tokens")

Triple = tuple[int, int, int]


def _as_pooling(kernel_size: tuple[int, ...], stride: tuple[int, ...]) -> tuple[Triple, Triple]:
    # An empty kernel or stride (torchvision's MViT v1 configuration for "no pooling") means 1 x 1 x 1.
    k = kernel_size if kernel_size else (1, 1, 1)
    s = stride if stride else (1, 1, 1)
    return (k[0], k[1], k[2]), (s[0], s[1], s[2])


def _relative_position_table(table: Tensor, length: int, q_size: int, k_size: int) -> Tensor:
    """The ``(q_size, k_size, C)`` embeddings of the relative positions between a query and a key axis.

    The offsets are measured on the finer of the two grids (the coarser one's positions are scaled up), and
    a table of another length than the ``2 * max(q_size, k_size) - 1`` offsets is resized linearly first, as
    in MViTv2 (and torchvision's ``_add_rel_pos``).
    """
    needed = 2 * max(q_size, k_size) - 1
    if length != needed:
        table = F.interpolate(table.permute(1, 0).unsqueeze(0), size=needed, mode="linear").squeeze(0).permute(1, 0)
    q_ratio = max(k_size / q_size, 1.0)
    k_ratio = max(q_size / k_size, 1.0)
    q_positions = torch.arange(q_size, device=table.device)[:, None] * q_ratio
    k_positions = (torch.arange(k_size, device=table.device)[None, :] + (1.0 - k_size)) * k_ratio
    return table[(q_positions - k_positions).long()]


@prototype(since="0.2.0")
class MultiscaleAttention(nn.Module):
    r"""Multi-head attention whose queries, keys and values are pooled on the token grid (MViT's pooling attention).

    From `Multiscale Vision Transformers <https://arxiv.org/abs/2104.11227>`_ (MViT) and
    `MViTv2 <https://arxiv.org/abs/2112.01526>`_. The input is a class token followed by one token per cell of
    a ``T x H x W`` grid (``input_size``). After the fused projection :math:`[Q, K, V] = x W_{QKV} + b`, each
    head's :math:`Q`, :math:`K` and :math:`V` grids are pooled by a depthwise ``Conv3d`` (no bias, padding
    ``kernel // 2``) followed by a norm, the class token passing through unpooled:

    .. math::
        \operatorname{head} = \operatorname{softmax}\!\left(\frac{\hat Q \hat K^\top}{\sqrt{d}} + B\right)\hat V
        \;[+\, \hat Q], \qquad y = [\operatorname{head}_1, \ldots, \operatorname{head}_h]\, W_O + b_O

    where :math:`d` is ``output_dim // num_heads``. With ``relative_position_embedding`` (MViTv2), :math:`B` is
    the decomposed relative-position bias :math:`B_{ij} = \hat Q_i \cdot (R^t_{t_i t_j} + R^h_{h_i h_j} +
    R^w_{w_i w_j})` between grid tokens (zero for pairs with the class token), from the learned tables
    ``rel_pos_t``, ``rel_pos_h`` and ``rel_pos_w``; otherwise :math:`B = 0`. With ``residual_pooling`` (MViTv2)
    the pooled query :math:`\hat Q` is added to each head's output (to the grid tokens only unless
    ``residual_with_class_token``). The attention runs in
    :func:`torch.nn.functional.scaled_dot_product_attention`, :math:`B` as its additive ``attn_mask``.

    The pooled grid is ``(n + 2 * (k // 2) - k) // s + 1`` per dimension (``output_size``). Submodules
    and parameters follow torchvision's ``MultiscaleAttention`` (``qkv``, ``project.0``, ``pool_q``/``pool_k``/
    ``pool_v`` with ``pool`` and ``norm_act.0``, ``rel_pos_h``/``rel_pos_w``/``rel_pos_t``), so its checkpoints
    load with ``strict=True``; the tables have torchvision's lengths (``2 * max(H, W) // stride - 1`` spatially,
    ``2 * T - 1`` in time) and are resized linearly where the pooled grids need other lengths. Initialisation is
    that of torchvision's MViT: truncated normal (std 0.02) linear weights and tables, zero biases.

    Args:
        embed_dim: Features ``D`` of each input token.
        num_heads: Attention heads; must divide ``output_dim``.
        input_size: The token grid ``(T, H, W)``; the input holds ``1 + T * H * W`` tokens.
        output_dim: Features of each output token (torchvision's ``output_dim``). Default: ``embed_dim``.
        query_kernel_size: ``(kT, kH, kW)`` of the query pooling, or ``()`` (no pooling unless a stride asks).
        query_stride: ``(sT, sH, sW)`` of the query pooling, or ``()`` (stride 1). The output grid is the
            query's pooled grid.
        key_value_kernel_size: Kernel of the key and value pooling, or ``()``.
        key_value_stride: Stride of the key and value pooling, or ``()``.
        residual_pooling: Add the pooled query to the attention output (MViTv2).
        residual_with_class_token: With ``residual_pooling``, add it to the class token too.
        relative_position_embedding: Add the decomposed relative-position bias (MViTv2).
        dropout: Dropout probability after the output projection (training only).
        norm_layer: Builds the pooling norms from ``output_dim // num_heads``. ``None`` means
            ``nn.LayerNorm(d, eps=1e-6)`` (torchvision's MViT); a stage without pooling has no norm.
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(N, 1 + T H W, D)`, floating point; another rank, width, token count or dtype raises a
          ``ValueError`` (also a ``RuntimeError``, torch's type) naming the expected input.
        - Output: :math:`(N, 1 + T' H' W', D_{out})` with :math:`(T', H', W')` = ``output_size``.

    Example:
        >>> attention = MultiscaleAttention(
        ...     16, 2, (2, 4, 4), output_dim=32, query_kernel_size=(3, 3, 3), query_stride=(1, 2, 2),
        ...     key_value_kernel_size=(3, 3, 3), key_value_stride=(1, 2, 2), relative_position_embedding=True)
        >>> attention.output_size
        (2, 2, 2)
        >>> attention(torch.randn(3, 1 + 2 * 4 * 4, 16)).shape
        torch.Size([3, 9, 32])
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
        dropout: float = 0.0,
        norm_layer: Callable[..., nn.Module] | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        embed_dim = check_positive_int(embed_dim, "embed_dim")
        num_heads = check_positive_int(num_heads, "num_heads")
        grid = check_grid_triple(input_size, "input_size")
        output_dim = embed_dim if output_dim is None else check_positive_int(output_dim, "output_dim")
        if output_dim % num_heads != 0:
            raise ValueError(
                f"output_dim must be divisible by num_heads, got output_dim={output_dim} and num_heads={num_heads} "
                f"(output_dim % num_heads = {output_dim % num_heads})"
            )
        kernel_q, stride_q = _as_pooling(
            check_grid_triple(query_kernel_size, "query_kernel_size", allow_empty=True),
            check_grid_triple(query_stride, "query_stride", allow_empty=True),
        )
        kernel_kv, stride_kv = _as_pooling(
            check_grid_triple(key_value_kernel_size, "key_value_kernel_size", allow_empty=True),
            check_grid_triple(key_value_stride, "key_value_stride", allow_empty=True),
        )
        residual_pooling = check_bool(residual_pooling, "residual_pooling")
        residual_with_class_token = check_bool(residual_with_class_token, "residual_with_class_token")
        relative_position_embedding = check_bool(relative_position_embedding, "relative_position_embedding")
        dropout = check_probability(dropout, "dropout")
        check_builder(norm_layer, "norm_layer")
        super().__init__()
        norm = partial(nn.LayerNorm, eps=1e-6) if norm_layer is None else norm_layer
        factory: Factory = {"device": device, "dtype": dtype}
        t, h, w = grid
        self.embed_dim = embed_dim
        self.output_dim = output_dim
        self.num_heads = num_heads
        self.head_dim = output_dim // num_heads
        self.scale = 1.0 / math.sqrt(self.head_dim)
        self.input_size: Triple = (t, h, w)
        self.query_kernel_size = kernel_q
        self.query_stride = stride_q
        self.key_value_kernel_size = kernel_kv
        self.key_value_stride = stride_kv
        self.residual_pooling = residual_pooling
        self.residual_with_class_token = residual_with_class_token
        self.dropout = dropout
        self.relative_position_embedding = relative_position_embedding
        self.key_value_size: Triple = pooled_size(self.input_size, kernel_kv, stride_kv)
        self.output_size: Triple = pooled_size(self.input_size, kernel_q, stride_q)

        self.qkv = nn.Linear(embed_dim, 3 * output_dim, **factory)
        project: list[nn.Module] = [nn.Linear(output_dim, output_dim, **factory)]
        if dropout > 0.0:
            project.append(nn.Dropout(dropout))
        self.project = nn.Sequential(*project)

        def pool(kernel: Triple, stride: Triple, output_size: Triple) -> TokenGridPool:
            conv = nn.Conv3d(
                self.head_dim,
                self.head_dim,
                kernel,
                stride=stride,
                padding=(kernel[0] // 2, kernel[1] // 2, kernel[2] // 2),
                groups=self.head_dim,
                bias=False,
                **factory,
            )
            norm_module = build_layer(norm, "norm_layer", self.head_dim, **factory)
            return TokenGridPool(conv, norm_module, self.input_size, output_size)

        pools_q = math.prod(kernel_q) > 1 or math.prod(stride_q) > 1
        pools_kv = math.prod(kernel_kv) > 1 or math.prod(stride_kv) > 1
        self.pool_q = pool(kernel_q, stride_q, self.output_size) if pools_q else None
        self.pool_k = pool(kernel_kv, stride_kv, self.key_value_size) if pools_kv else None
        self.pool_v = pool(kernel_kv, stride_kv, self.key_value_size) if pools_kv else None

        # torchvision's table lengths: 2 * max(H, W) // stride - 1 (from the H strides), 2 * T - 1 in time.
        spatial = max(h, w)
        self.spatial_table_length = 2 * max(spatial // stride_q[1], spatial // stride_kv[1]) - 1
        self.temporal_table_length = 2 * t - 1
        self.rel_pos_h: nn.Parameter | None = None
        self.rel_pos_w: nn.Parameter | None = None
        self.rel_pos_t: nn.Parameter | None = None
        if relative_position_embedding:
            self.rel_pos_h = nn.Parameter(torch.empty(self.spatial_table_length, self.head_dim, **factory))
            self.rel_pos_w = nn.Parameter(torch.empty(self.spatial_table_length, self.head_dim, **factory))
            self.rel_pos_t = nn.Parameter(torch.empty(self.temporal_table_length, self.head_dim, **factory))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torchvision's MViT initialisation: truncated normal (std 0.02) linear weights and relative-position
        tables, zero biases; the pooling convolutions and norms get their own defaults."""
        for linear in (self.qkv, self.project[0]):
            assert isinstance(linear, nn.Linear)
            nn.init.trunc_normal_(linear.weight, std=0.02)
            if linear.bias is not None:
                nn.init.zeros_(linear.bias)
        for table in (self.rel_pos_h, self.rel_pos_w, self.rel_pos_t):
            if table is not None:
                nn.init.trunc_normal_(table, std=0.02)

    def _relative_position_bias(self, q: Tensor, rel_pos_h: Tensor, rel_pos_w: Tensor, rel_pos_t: Tensor) -> Tensor:
        """The additive ``(N, heads, 1 + Lq, 1 + Lk)`` bias (zero in the class token's row and column)."""
        q_t, q_h, q_w = self.output_size
        k_t, k_h, k_w = self.key_value_size
        table_h = _relative_position_table(rel_pos_h, self.spatial_table_length, q_h, k_h)
        table_w = _relative_position_table(rel_pos_w, self.spatial_table_length, q_w, k_w)
        table_t = _relative_position_table(rel_pos_t, self.temporal_table_length, q_t, k_t)
        grid_q = q[:, :, 1:].reshape(q.shape[0], self.num_heads, q_t, q_h, q_w, self.head_dim)
        bias_h = torch.einsum("bnthwc,hkc->bnthwk", grid_q, table_h)
        bias_w = torch.einsum("bnthwc,wkc->bnthwk", grid_q, table_w)
        bias_t = torch.einsum("bnthwc,tkc->bnthwk", grid_q, table_t)
        bias = (
            bias_t[:, :, :, :, :, :, None, None]
            + bias_h[:, :, :, :, :, None, :, None]
            + bias_w[:, :, :, :, :, None, None, :]
        )
        bias = bias.reshape(q.shape[0], self.num_heads, q_t * q_h * q_w, k_t * k_h * k_w)
        return F.pad(bias, (1, 0, 1, 0))

    def forward(self, x: Tensor) -> Tensor:
        x = checked_grid_tokens(x, "MultiscaleAttention", self.embed_dim, self.input_size)
        batch = x.shape[0]
        # (N, L, 3 * D_out) -> (3, N, heads, L, d)
        tokens = 1 + self.input_size[0] * self.input_size[1] * self.input_size[2]
        qkv = self.qkv(x).reshape(batch, tokens, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        if self.pool_k is not None:
            k = self.pool_k(k)
        if self.pool_v is not None:
            v = self.pool_v(v)
        if self.pool_q is not None:
            q = self.pool_q(q)
        bias: Tensor | None = None
        if self.rel_pos_h is not None and self.rel_pos_w is not None and self.rel_pos_t is not None:
            bias = self._relative_position_bias(q, self.rel_pos_h, self.rel_pos_w, self.rel_pos_t)
        # The bias goes to SDPA as an additive mask. Measured on 2 CPU threads (mvit_v2_s's second block at
        # 16x112x112, 1569 query and 393 key tokens): the forward takes 0.80-0.93x the explicit
        # matmul/softmax/matmul, forward+backward is on par (within the noise of a shared machine); folding the
        # bias into q and k (per-axis one-hot key features, no L x L mask) was 1.3-1.7x slower forward.
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=self.scale)
        if self.residual_pooling:
            if self.residual_with_class_token:
                out = out + q
            else:
                out = torch.cat((out[:, :, :1], out[:, :, 1:] + q[:, :, 1:]), dim=2)
        tokens = 1 + self.output_size[0] * self.output_size[1] * self.output_size[2]
        return self.project(out.transpose(1, 2).reshape(batch, tokens, self.output_dim))

    def extra_repr(self) -> str:
        text = f"{self.embed_dim}, num_heads={self.num_heads}, input_size={self.input_size}"
        if self.output_dim != self.embed_dim:
            text += f", output_dim={self.output_dim}"
        if self.pool_q is not None:
            text += f", query_kernel_size={self.query_kernel_size}, query_stride={self.query_stride}"
        if self.pool_k is not None:
            text += f", key_value_kernel_size={self.key_value_kernel_size}, key_value_stride={self.key_value_stride}"
        if self.residual_pooling:
            text += f", residual_pooling=True, residual_with_class_token={self.residual_with_class_token}"
        if self.relative_position_embedding:
            text += ", relative_position_embedding=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        return text
