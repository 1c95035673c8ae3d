"""Shifted-window multi-head self-attention with relative position bias: Swin v1, Swin v2 and video Swin."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, List, Optional

import torch
import torch.fx
import torch.nn.functional as F
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import check_bool, check_int, check_positive_int, check_probability
from tvexp._layers._block_parts import Factory
from tvexp._layers._shifted_windows import (
    check_window_and_shift,
    checked_channels_last,
    effective_windows,
    label_mask,
    pad_to_windows,
    partition_index,
    region_labels,
    shift_mask,
    window_coordinates,
    window_token_index,
)
from tvexp._layers.multihead_self_attention import attention

__all__ = ["ShiftedWindowAttention", "shifted_window_attention"]


def shifted_window_attention(
    input: Tensor,
    qkv_weight: Tensor,
    qkv_bias: Optional[Tensor],
    proj_weight: Tensor,
    proj_bias: Optional[Tensor],
    position_bias_table: Tensor,
    position_index: Tensor,
    window_size: List[int],
    shift_size: List[int],
    num_heads: int,
    shrink_window: bool,
    logit_scale: Optional[Tensor],
    attention_dropout: float,
    dropout: float,
    training: bool,
) -> Tensor:
    """Window attention on a channels-last ``(N, *S, C)`` input; see :class:`ShiftedWindowAttention`.

    ``position_bias_table`` is ``(positions, heads)`` (v1's learnt table, or v2's MLP output) and
    ``position_index`` the ``(tokens, tokens)`` index into it; ``logit_scale`` selects cosine attention.
    """
    rank = len(window_size)
    sizes = [input.shape[i + 1] for i in range(rank)]
    channels = input.shape[-1]
    windows, shifts, padded = effective_windows(sizes, window_size, shift_size, shrink_window)
    shifted = sum(shift_size) > 0  # the configuration, not the input: a static branch
    coordinates = window_coordinates(padded, windows, input.device)
    # Under torch.export the windows join the batch and no tensor has the window count (or a part of the
    # padded map) as a dimension of its own: torch's view and contiguity checks ask whether such a dimension
    # is 1, and export would keep that answer as a guard (a map that is one window in total, or a video's
    # 1 x 1 plane, then fails the program). The cost is a shift mask per sample, so eager and compiled code
    # keep the windows apart and the mask broadcast over the batch.
    windows_in_batch = False
    if not torch.jit.is_scripting():
        windows_in_batch = torch.compiler.is_exporting()
    if windows_in_batch:
        # Pad, roll and partition as one advanced index per dimension (flattening the padded map first would
        # ask whether its trailing dimensions are 1): (N, *S, C) -> (N, windows * tokens, C).
        rolled = [(coordinates[i] + shifts[i]) % padded[i] for i in range(rank)]
        padded_map = pad_to_windows(input, padded)
        if rank == 2:
            x = padded_map[:, rolled[0], rolled[1]]
        else:
            x = padded_map[:, rolled[0], rolled[1], rolled[2]]
    else:  # one pad and one gather
        x = pad_to_windows(input, padded).flatten(1, rank).index_select(1, partition_index(coordinates, padded, shifts))
    batch, tokens, count = input.shape[0], 1, 1
    for i in range(rank):
        tokens *= windows[i]
        count *= padded[i] // windows[i]
    head_dim = channels // num_heads
    if windows_in_batch:
        # (N, nW * tokens, C) -> (N * nW * tokens, 3C) -> 3 x (N * nW, heads, tokens, head_dim)
        qkv = F.linear(x.reshape(batch * count * tokens, channels), qkv_weight, qkv_bias)
        qkv = qkv.view(batch * count, tokens, 3, num_heads, head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
    else:
        # (N, nW, tokens, 3C) -> 3 x (N, nW, heads, tokens, head_dim)
        qkv = F.linear(x.view(batch, count, tokens, channels), qkv_weight, qkv_bias)
        qkv = qkv.view(batch, count, tokens, 3, num_heads, head_dim)
        q, k, v = qkv.permute(3, 0, 1, 4, 2, 5).unbind(0)
    scale: Optional[float] = None
    if logit_scale is not None:  # Swin v2: cosine similarity, temperature clamped at 100 as torchvision
        q = F.normalize(q, dim=-1) * torch.clamp(logit_scale, max=math.log(100.0)).exp()
        k = F.normalize(k, dim=-1)
        scale = 1.0

    # The relative position bias of the (possibly shrunken) window: (heads, tokens, tokens).
    # position_index[:tokens, :tokens] as torchvision, but as a gather: a slice of the (full, full) buffer is
    # contiguous only when tokens is the full window, a size comparison export would specialise on.
    if shrink_window:
        first = torch.arange(tokens, device=position_index.device)
        index = position_index.index_select(0, first).index_select(1, first).reshape(-1)
    else:  # the full window: the whole index
        index = position_index.reshape(-1)
    bias = position_bias_table[index].view(tokens, tokens, num_heads).permute(2, 0, 1)
    if windows_in_batch:
        mask = bias.unsqueeze(0)
        if shifted:  # (N * nW, heads, tokens, tokens): the windows' labels repeated for every sample
            labels = region_labels(coordinates, padded, windows, shifts).repeat(batch).view(batch * count, tokens)
            mask = mask + label_mask(labels, bias.dtype).unsqueeze(1)
        shape = [batch * count, num_heads, tokens, head_dim]
    elif shifted:
        # The mask differs per window, not per sample: fold windows into the head dimension, so the
        # (windows * heads, tokens, tokens) bias + mask broadcasts over the batch without a copy per sample.
        mask = bias.unsqueeze(0) + shift_mask(coordinates, padded, windows, shifts, count, bias.dtype).unsqueeze(1)
        mask = mask.reshape(1, count * num_heads, tokens, tokens)
        shape = [batch, count * num_heads, tokens, head_dim]
    else:
        mask = bias.unsqueeze(0)
        shape = [batch * count, num_heads, tokens, head_dim]
    # attention(): SDPA, or the explicit matmul/softmax/matmul where a learnt bias needs a gradient on the CPU
    # (SDPA's math fallback there also scans every score row for NaN safety: ~4% of the block's
    # forward+backward at swin_t's first stage).
    out = attention(
        q.reshape(shape),
        k.reshape(shape),
        v.reshape(shape),
        mask.to(q.dtype),
        attention_dropout if training else 0.0,
        head_dim**-0.5 if scale is None else scale,
    )
    if windows_in_batch:
        out = out.transpose(1, 2).reshape(batch * count * tokens, channels)
    else:
        out = (
            out.view(batch, count, num_heads, tokens, head_dim).transpose(2, 3).reshape(batch, count, tokens, channels)
        )
    out = F.dropout(F.linear(out, proj_weight, proj_bias), p=dropout, training=training).reshape(
        batch, count * tokens, channels
    )
    # Windows -> map: one gather undoes the partition, the shift and the padding.
    index = window_token_index(sizes, padded, windows, shifts, out.device)
    return out.index_select(1, index).view(input.shape)


# A leaf for torch.fx: the partition reads the traced input's sizes.
torch.fx.wrap("shifted_window_attention")
torch.fx.wrap("checked_channels_last")


def _relative_position_index(window_size: Sequence[int]) -> Tensor:
    """torchvision's ``(tokens, tokens)`` index of each token pair's offset into the bias table."""
    coords = torch.stack(torch.meshgrid(*[torch.arange(w) for w in window_size], indexing="ij")).flatten(1)
    relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)  # (tokens, tokens, rank)
    index = torch.zeros(relative.shape[:2], dtype=torch.long)
    for i, w in enumerate(window_size):
        index = index * (2 * w - 1) + relative[:, :, i] + (w - 1)
    return index


def _relative_coords_table(window_size: Sequence[int]) -> Tensor:
    """Swin v2's log-spaced relative coordinates, ``(1, 2Wh-1, 2Ww-1, 2)`` in ``[-8, 8]`` before the log."""
    axes = [torch.arange(-(w - 1), w, dtype=torch.float32) / (w - 1) for w in window_size]
    table = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).unsqueeze(0) * 8
    return torch.sign(table) * torch.log2(table.abs() + 1.0) / 3.0


@prototype(since="0.2.0")
class ShiftedWindowAttention(nn.Module):
    r"""Multi-head self-attention inside (shifted) local windows, with a relative position bias.

    From `Swin Transformer <https://arxiv.org/abs/2103.14030>`_ (``version=1``), `Swin Transformer V2
    <https://arxiv.org/abs/2111.09883>`_ (``version=2``) and `Video Swin Transformer
    <https://arxiv.org/abs/2106.13230>`_ (a 3-entry ``window_size``). The input is padded at the end
    of each spatial dimension to a multiple of the window, cyclically shifted by ``-shift_size``,
    cut into windows of :math:`n = \prod` ``window_size`` tokens, and every window attends to itself:

    .. math::
        \operatorname{head}_i = \operatorname{softmax}\!\left(S_i + B_i + M\right) V_i

    with :math:`S_i = Q_i K_i^\top / \sqrt{d}` (v1) or :math:`S_i = \tau_i \cos(Q_i, K_i)` (v2, the
    temperature :math:`\tau_i = \exp(\min(\text{logit\_scale}_i, \log 100))`), :math:`B_i` the
    relative position bias (v1: a learnt table; v2: ``16 * sigmoid`` of a small MLP on log-spaced
    coordinates) and :math:`M` the shift mask (``-100`` between tokens that the roll brought together
    from different image regions, as torchvision). The output is shifted back and cropped.

    Matches torchvision's ``ShiftedWindowAttention``, ``ShiftedWindowAttentionV2`` and
    ``ShiftedWindowAttention3d`` (``torchvision.models.swin_transformer`` and
    ``torchvision.models.video.swin_transformer``): same parameters (``qkv``, ``proj``,
    ``relative_position_bias_table``; v2: ``logit_scale``, ``cpb_mlp``), same persistent buffers
    (``relative_position_index``; v2: ``relative_coords_table``), same initialisation, same
    outputs. Like torchvision, padded positions are zeros that take part in the attention; the
    shift is off along a dimension that one window covers, and the video variant (3-D) also cuts
    such a window to the input size. v2 ignores the key third of the ``qkv`` bias (zero at
    initialisation, and zeroed again in every forward, as torchvision).

    Unlike torchvision, the padding, shift and mask are computed from the input sizes without Python
    branches, so ``torch.export`` keeps height and width (and depth) dynamic, and the attention runs in
    :func:`torch.nn.functional.scaled_dot_product_attention`. One exported program serves every size,
    maps that are a single window included (under ``torch.export`` the windows are folded into the batch,
    so no guard asks whether the window count is 1); a video program still guards against a video of one
    token (``T = H = W = 1``).

    Args:
        dim: Channels ``C`` of the input (its last dimension).
        window_size: Window size per spatial dimension: 2 entries ``(Wh, Ww)`` for images,
            3 entries ``(Wt, Wh, Ww)`` for video.
        shift_size: Cyclic shift per dimension, each in ``[0, window)``; all zeros for the unshifted
            block of a pair (torchvision's blocks alternate ``0`` and ``window // 2``).
        num_heads: Attention heads; must divide ``dim``.
        qkv_bias: Whether the fused q/k/v projection has a bias.
        proj_bias: Whether the output projection has a bias.
        attention_dropout: Dropout probability on the attention weights.
        dropout: Dropout probability after the output projection.
        version: ``1`` (scaled dot product, bias table) or ``2`` (cosine attention, continuous
            position bias; 2-D windows only).
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(N, H, W, C)` for a 2-entry window, :math:`(N, T, H, W, C)` for a 3-entry
          one; any sizes (not only multiples of the window). Another rank, channel count or a
          non-floating dtype raises a ``ValueError`` (also a ``RuntimeError``) naming the expected input.
        - Output: the input's shape.

    Example:
        >>> attention = ShiftedWindowAttention(32, window_size=[4, 4], shift_size=[2, 2], num_heads=4)
        >>> attention(torch.randn(2, 9, 10, 32)).shape
        torch.Size([2, 9, 10, 32])
        >>> sorted(attention.state_dict())
        ['proj.bias', 'proj.weight', 'qkv.bias', 'qkv.weight', 'relative_position_bias_table', 'relative_position_index']
        >>> video = ShiftedWindowAttention(16, [2, 4, 4], [1, 2, 2], num_heads=2)
        >>> video(torch.randn(1, 3, 5, 6, 16)).shape
        torch.Size([1, 3, 5, 6, 16])
    """

    if TYPE_CHECKING:
        relative_position_index: Tensor
        relative_coords_table: Tensor
        relative_position_bias_table: nn.Parameter
        logit_scale: nn.Parameter
        cpb_mlp: nn.Sequential

    def __init__(
        self,
        dim: int,
        window_size: Sequence[int],
        shift_size: Sequence[int],
        num_heads: int,
        qkv_bias: bool = True,
        proj_bias: bool = True,
        attention_dropout: float = 0.0,
        dropout: float = 0.0,
        *,
        version: int = 1,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        dim = check_positive_int(dim, "dim")
        window, shift = check_window_and_shift(window_size, shift_size, (2, 3))
        num_heads = check_positive_int(num_heads, "num_heads")
        if dim % num_heads != 0:
            raise ValueError(f"dim must be divisible by num_heads, got dim={dim} and num_heads={num_heads}")
        qkv_bias = check_bool(qkv_bias, "qkv_bias")
        proj_bias = check_bool(proj_bias, "proj_bias")
        attention_dropout = check_probability(attention_dropout, "attention_dropout")
        dropout = check_probability(dropout, "dropout")
        version = check_int(version, "version", minimum=1)
        if version not in (1, 2):
            raise ValueError(f"version must be 1 (Swin) or 2 (Swin V2), got {version}")
        if version == 2 and len(window) != 2:
            raise ValueError(f"version=2 supports 2-D windows only (as Swin V2), got window_size={window!r}")
        if version == 2 and min(window) < 2:
            raise ValueError(f"version=2 needs windows of at least 2 in every dimension, got window_size={window!r}")
        super().__init__()
        factory: Factory = {"device": device, "dtype": dtype}
        self.dim = dim
        self.window_size = window
        self.shift_size = shift
        self.num_heads = num_heads
        self.attention_dropout = attention_dropout
        self.dropout = dropout
        self.version = version
        # torchvision's video variant cuts a window that covers a dimension to its size; the 2-D ones pad.
        self.shrink_window = len(window) == 3
        self.num_tokens = math.prod(window)
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias, **factory)
        self.proj = nn.Linear(dim, dim, bias=proj_bias, **factory)
        positions = math.prod(2 * w - 1 for w in window)
        if version == 1:
            self.relative_position_bias_table = nn.Parameter(torch.empty(positions, num_heads, **factory))
        else:
            self.logit_scale = nn.Parameter(torch.empty(num_heads, 1, 1, **factory))
            self.cpb_mlp = nn.Sequential(
                nn.Linear(2, 512, **factory), nn.ReLU(inplace=True), nn.Linear(512, num_heads, bias=False, **factory)
            )
            table_shape = [1] + [2 * w - 1 for w in window] + [2]
            self.register_buffer("relative_coords_table", torch.empty(table_shape, device=device, dtype=dtype))
        # torchvision keeps the 2-D index flat (tokens * tokens,) and the 3-D one square.
        tokens = self.num_tokens
        index_shape = (tokens, tokens) if self.shrink_window else (tokens * tokens,)
        self.register_buffer("relative_position_index", torch.empty(index_shape, dtype=torch.long, device=device))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torchvision's initialisation; also recomputes the buffers (after ``to_empty``)."""
        with torch.no_grad():
            if self.relative_position_index.device.type != "meta":
                index = _relative_position_index(self.window_size)
                self.relative_position_index.copy_(index.reshape(self.relative_position_index.shape))
                if hasattr(self, "relative_coords_table"):
                    self.relative_coords_table.copy_(_relative_coords_table(self.window_size))
        self.qkv.reset_parameters()
        self.proj.reset_parameters()
        if hasattr(self, "relative_position_bias_table"):
            nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        if hasattr(self, "cpb_mlp"):
            nn.init.constant_(self.logit_scale, math.log(10.0))
            for module in self.cpb_mlp:
                if isinstance(module, nn.Linear):
                    module.reset_parameters()
            if self.qkv.bias is not None:
                nn.init.zeros_(self.qkv.bias[self.dim : 2 * self.dim])

    def _position_bias_table(self) -> Tensor:
        # hasattr on a constant name is resolved statically by TorchScript, torch.compile and FX.
        if hasattr(self, "cpb_mlp"):
            return 16 * torch.sigmoid(self.cpb_mlp(self.relative_coords_table).view(-1, self.num_heads))
        return self.relative_position_bias_table

    def _qkv_bias(self) -> Optional[Tensor]:
        bias: Optional[Tensor] = self.qkv.bias
        if hasattr(self, "cpb_mlp") and bias is not None:
            # Swin v2 has no key bias: torchvision zeroes that third of the bias in every forward.
            bias = torch.cat([bias[: self.dim], torch.zeros_like(bias[self.dim : 2 * self.dim]), bias[2 * self.dim :]])
        return bias

    def _logit_scale(self) -> Optional[Tensor]:
        if hasattr(self, "logit_scale"):
            return self.logit_scale
        return None

    def forward(self, x: Tensor) -> Tensor:
        x = checked_channels_last(x, "ShiftedWindowAttention", self.dim, len(self.window_size))
        return shifted_window_attention(
            x,
            self.qkv.weight,
            self._qkv_bias(),
            self.proj.weight,
            self.proj.bias,
            self._position_bias_table(),
            self.relative_position_index.view(-1, self.num_tokens),
            self.window_size,
            self.shift_size,
            self.num_heads,
            self.shrink_window,
            self._logit_scale(),
            self.attention_dropout,
            self.dropout,
            self.training,
        )

    def extra_repr(self) -> str:
        text = f"{self.dim}, window_size={self.window_size}, shift_size={self.shift_size}, num_heads={self.num_heads}"
        if self.version != 1:
            text += f", version={self.version}"
        if self.attention_dropout:
            text += f", attention_dropout={self.attention_dropout}"
        if self.dropout:
            text += f", dropout={self.dropout}"
        return text
