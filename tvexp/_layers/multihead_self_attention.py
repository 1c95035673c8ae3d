"""Multi-head self-attention on ``scaled_dot_product_attention``, with the checkpoint layouts of torchvision's transformers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.fx
import torch.nn.functional as F
from torch import Tensor, nn

from tvexp._api.tiers import prototype
from tvexp._api.validation import (
    InvalidInputError,
    check_bool,
    check_positive,
    check_positive_int,
    check_probability,
    is_integer,
)
from tvexp._layers._block_parts import Factory
from tvexp._layers._input_checks import checked_features
from tvexp._layers.relative_position import relative_position_index, relative_position_table_size

__all__ = [
    "ATTENTION_LAYOUTS",
    "MultiheadSelfAttention",
    "attention",
    "checked_tokens",
    "checked_window_tokens",
    "combined_mask",
]


def checked_tokens(input: Tensor, layer: str, features: int) -> Tensor:
    """``input`` if it is a floating-point (or quantized) batch of tokens ``(N, L, features)``."""
    if input.dim() != 3:
        hint = "; for a single unbatched sequence, pass input.unsqueeze(0)" if input.dim() == 2 else ""
        raise InvalidInputError(
            f"{layer} expects a 3-D input (N, L, {features}) of tokens, got a {input.dim()}-D input of shape "
            f"{list(input.shape)}{hint}"
        )
    return checked_features(input, layer, features)


def checked_window_tokens(input: Tensor, layer: str, tokens: int) -> Tensor:
    """``input`` if it holds ``tokens`` tokens per sequence (the window a relative-position bias is built for)."""
    if input.shape[1] != tokens:
        raise InvalidInputError(
            f"{layer} has a relative-position bias for windows of {tokens} tokens, got sequences of "
            f"{input.shape[1]} tokens (input shape {list(input.shape)})"
        )
    return input


def attention(q: Tensor, k: Tensor, v: Tensor, attn_mask: Tensor | None, dropout_p: float, scale: float) -> Tensor:
    """``softmax(q k^T * scale + attn_mask) v`` with dropout on the weights, for ``(N, heads, L, head_dim)`` inputs.

    ``scaled_dot_product_attention`` computes it, with a 3-D mask given as 4-D (the same broadcast):
    on the CPU, torch 2.13/2.14 take the flash kernel only for 2-D or 4-D masks (MaxViT's 49-token
    windows: 32 ms instead of 212 ms for the math fallback with a 3-D mask, and 126-149 ms for three
    explicit operations). A floating-point mask that requires grad (a learned bias in training) sends
    CPU SDPA to its math fallback, 1.2-1.5x slower than the explicit operations forward+backward, so
    that case runs explicitly.
    """
    if attn_mask is not None and attn_mask.dim() == 3:
        attn_mask = attn_mask.unsqueeze(0)
    if attn_mask is not None and attn_mask.requires_grad and attn_mask.dtype != torch.bool and q.device.type == "cpu":
        weights = torch.softmax(torch.matmul(q * scale, k.transpose(-2, -1)) + attn_mask, dim=-1)
        if dropout_p > 0.0:
            weights = F.dropout(weights, dropout_p)
        return torch.matmul(weights, v)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, scale=scale)


def combined_mask(bias: Tensor, attn_mask: Tensor | None) -> Tensor:
    """The additive ``bias`` with ``attn_mask`` (float: added; boolean: ``-inf`` where ``False``) applied."""
    if attn_mask is None:
        return bias
    if attn_mask.dtype == torch.bool:
        return bias.masked_fill(attn_mask.logical_not(), float("-inf"))
    return bias + attn_mask


# Leaves for torch.fx: the input checks read the traced input's shape, the mask's dtype decides how it
# combines with the bias, and the attention reads the device.
torch.fx.wrap("checked_tokens")
torch.fx.wrap("checked_window_tokens")
torch.fx.wrap("combined_mask")
torch.fx.wrap("attention")


def _check_window(value: object, name: str) -> tuple[int, int] | None:
    if value is None:
        return None
    if is_integer(value):
        size = check_positive_int(value, name)
        return (size, size)
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return (check_positive_int(value[0], name), check_positive_int(value[1], name))
    raise TypeError(
        f"{name} must be None, a positive int or a (height, width) pair of positive ints, "
        f"got {value!r} of type {type(value).__name__}"
    )


# layout -> (fused q/k/v input projection, output projection): the names torchvision's models give them.
# "in_proj" is nn.MultiheadAttention's pair of parameters (in_proj_weight, in_proj_bias), whose rows are
# those of a fused Linear's weight ([3 * embed_dim, embed_dim], q then k then v); "project.0" is a Linear
# inside an nn.Sequential. Every other name is an nn.Linear.
ATTENTION_LAYOUTS: dict[str, tuple[str, str]] = {
    "vit": ("in_proj", "out_proj"),  # ViT (nn.MultiheadAttention)
    "swin": ("qkv", "proj"),  # Swin v1/v2/3d, and timm's Attention
    "maxvit": ("to_qkv", "merge"),  # MaxViT's RelativePositionalMultiHeadAttention
    "mvit": ("qkv", "project.0"),  # MViT's MultiscaleAttention
}


@prototype(since="0.2.0")
class MultiheadSelfAttention(nn.Module):
    r"""Multi-head self-attention with a fused q/k/v projection, computed by ``scaled_dot_product_attention``.

    From `Attention Is All You Need <https://arxiv.org/abs/1706.03762>`_:

    .. math::
        \operatorname{head}_i = \operatorname{softmax}\!\left(\frac{Q_i K_i^\top}{\sqrt{d}} + M\right) V_i,
        \qquad y = [\operatorname{head}_1, \ldots, \operatorname{head}_h]\, W_O + b_O

    where :math:`[Q, K, V] = x W_{QKV} + b_{QKV}` is one matrix product (the ``3 * embed_dim`` output
    rows are q, then k, then v), :math:`d` is ``embed_dim // num_heads`` and :math:`M` the optional
    additive (or boolean) mask. The attention itself is :func:`torch.nn.functional.scaled_dot_product_attention`,
    so fused kernels are used wherever torch has them.

    ``layout`` only chooses the names of the two projections, so that the checkpoints of
    torchvision's transformers load with ``strict=True`` (the math is the same for all):

    ==========  ====================================  =======================  ======================
    layout      used by                               input projection         output projection
    ==========  ====================================  =======================  ======================
    ``vit``     ViT (``nn.MultiheadAttention``)       ``in_proj_weight``,      ``out_proj``
                                                      ``in_proj_bias``
    ``swin``    Swin v1/v2/3d, timm's ``Attention``   ``qkv``                  ``proj``
    ``maxvit``  MaxViT                                ``to_qkv``               ``merge``
    ``mvit``    MViT v1/v2                            ``qkv``                  ``project.0``
    ==========  ====================================  =======================  ======================

    With ``relative_position_window=(h, w)`` the scores get a learned bias per head and per offset
    between two tokens of an ``h x w`` window (Swin, MaxViT): the parameter
    ``relative_position_bias_table`` of shape ``((2h - 1)(2w - 1), heads)`` and the (persistent, as in
    torchvision's MaxViT) int64 buffer ``relative_position_index`` of shape ``(hw, hw)`` that looks the
    bias up for each pair of tokens, whose order is the window's row-major order. The input then has
    ``L = h * w`` tokens. The bias (plus any ``attn_mask``) is the additive mask of the attention; while
    it requires grad on the CPU (training), where SDPA falls back to a slower kernel, the three
    operations run explicitly.

    The parameters are initialised like ``nn.MultiheadAttention``'s: Xavier-uniform fused input
    weight, zero biases, PyTorch's default ``nn.Linear`` initialisation for the output weight; the bias
    table from a normal truncated at two standard deviations, ``std=0.02`` (torchvision's Swin and MaxViT).

    Args:
        embed_dim: Features ``D`` of each token (the last input dimension).
        num_heads: Number of attention heads; must divide ``embed_dim``.
        qkv_bias: Whether the fused input projection has a bias.
        proj_bias: Whether the output projection has a bias.
        attention_dropout: Dropout probability on the attention weights (training only).
        layout: Names of the projections, from the table above. Default: ``"swin"`` (``qkv``/``proj``).
        relative_position_window: ``(height, width)`` (or one int for a square) of the window of
            tokens a learned relative-position bias is added for; ``None``: no bias.
        scale: Factor of the scores ``q k^T``. ``None`` means ``1 / sqrt(embed_dim // num_heads)``;
            torchvision's MaxViT uses ``1 / sqrt(embed_dim)``.
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(N, L, D)` tokens; optional ``attn_mask`` broadcastable to :math:`(N, h, L, L)`
          (float masks are added to the scores, boolean masks mark the pairs that may attend). Tokens of
          another rank, width or dtype raise a ``ValueError`` (also a ``RuntimeError``, torch's type) naming the expected input.
        - Output: :math:`(N, L, D)`

    Example:
        >>> attention = MultiheadSelfAttention(64, num_heads=4)
        >>> attention(torch.randn(2, 10, 64)).shape
        torch.Size([2, 10, 64])
        >>> sorted(MultiheadSelfAttention(64, 4, layout="vit").state_dict())
        ['in_proj_bias', 'in_proj_weight', 'out_proj.bias', 'out_proj.weight']
        >>> windowed = MultiheadSelfAttention(64, 2, layout="maxvit", relative_position_window=7)
        >>> windowed(torch.randn(3, 49, 64)).shape
        torch.Size([3, 49, 64])
        >>> windowed.relative_position_bias_table.shape, windowed.relative_position_index.shape
        (torch.Size([169, 2]), torch.Size([49, 49]))
    """

    if TYPE_CHECKING:  # the attributes of the layouts (each instance has the two of its layout)
        in_proj_weight: nn.Parameter
        in_proj_bias: nn.Parameter | None
        qkv: nn.Linear
        to_qkv: nn.Linear
        out_proj: nn.Linear
        proj: nn.Linear
        merge: nn.Linear
        project: nn.Sequential
        relative_position_bias_table: nn.Parameter
        relative_position_index: Tensor

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        *,
        qkv_bias: bool = True,
        proj_bias: bool = True,
        attention_dropout: float = 0.0,
        layout: str = "swin",
        relative_position_window: int | tuple[int, int] | None = None,
        scale: float | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        embed_dim = check_positive_int(embed_dim, "embed_dim")
        num_heads = check_positive_int(num_heads, "num_heads")
        if embed_dim % num_heads != 0:
            raise ValueError(
                f"embed_dim must be divisible by num_heads, got embed_dim={embed_dim} and num_heads={num_heads} "
                f"(embed_dim % num_heads = {embed_dim % num_heads})"
            )
        qkv_bias = check_bool(qkv_bias, "qkv_bias")
        proj_bias = check_bool(proj_bias, "proj_bias")
        attention_dropout = check_probability(attention_dropout, "attention_dropout")
        if not isinstance(layout, str) or layout not in ATTENTION_LAYOUTS:
            raise ValueError(f"layout must be one of {sorted(ATTENTION_LAYOUTS)}, got {layout!r}")
        window = _check_window(relative_position_window, "relative_position_window")
        custom_scale = scale is not None
        scale = (embed_dim // num_heads) ** -0.5 if scale is None else check_positive(scale, "scale")
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.attention_dropout = attention_dropout
        self.layout = layout
        self.scale = scale
        self._custom_scale = custom_scale
        self.relative_position_window = window
        # Tokens per window (0: any number of tokens, no bias).
        self.window_tokens = 0 if window is None else window[0] * window[1]
        factory: Factory = {"device": device, "dtype": dtype}
        if window is not None:
            self.relative_position_bias_table = nn.Parameter(
                torch.empty(relative_position_table_size(window), num_heads, **factory)
            )
            self.register_buffer("relative_position_index", relative_position_index(window, device=device))
        input_name, output_name = ATTENTION_LAYOUTS[layout]
        if input_name == "in_proj":
            self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim, **factory))
            bias = nn.Parameter(torch.empty(3 * embed_dim, **factory)) if qkv_bias else None
            self.register_parameter("in_proj_bias", bias)
        else:
            self.add_module(input_name, nn.Linear(embed_dim, 3 * embed_dim, bias=qkv_bias, **factory))
        output = nn.Linear(embed_dim, embed_dim, bias=proj_bias, **factory)
        if output_name.endswith(".0"):
            self.add_module(output_name[:-2], nn.Sequential(output))
        else:
            self.add_module(output_name, output)
        self.reset_parameters()

    def _input_projection(self) -> tuple[Tensor, Tensor | None]:
        input_name = ATTENTION_LAYOUTS[self.layout][0]
        if input_name == "in_proj":
            return self.in_proj_weight, self.in_proj_bias
        linear = self.get_submodule(input_name)
        assert isinstance(linear, nn.Linear)
        return linear.weight, linear.bias

    def _output_projection(self) -> nn.Linear:
        linear = self.get_submodule(ATTENTION_LAYOUTS[self.layout][1])
        assert isinstance(linear, nn.Linear)
        return linear

    def reset_parameters(self) -> None:
        """Xavier-uniform fused input weight, zero biases, default ``nn.Linear`` output weight."""
        weight, bias = self._input_projection()
        nn.init.xavier_uniform_(weight)
        if bias is not None:
            nn.init.zeros_(bias)
        output = self._output_projection()
        output.reset_parameters()
        if output.bias is not None:
            nn.init.zeros_(output.bias)
        if self.relative_position_window is not None:
            nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
            # The index is a constant: recomputed here so that a module built on the meta device and
            # materialised with to_empty gets it back.
            with torch.no_grad():
                index = relative_position_index(self.relative_position_window)
                self.relative_position_index.copy_(index.to(self.relative_position_index.device))

    def relative_position_bias(self) -> Tensor:
        """The ``(heads, L, L)`` bias of the scores, looked up in the table (with ``relative_position_window`` only)."""
        bias = self.relative_position_bias_table[self.relative_position_index.reshape(-1)]
        return bias.reshape(self.window_tokens, self.window_tokens, self.num_heads).permute(2, 0, 1)

    def _project_qkv(self, x: Tensor) -> Tensor:
        # The names come from ATTENTION_LAYOUTS; hasattr on a constant name is resolved statically by
        # TorchScript, torch.compile and FX, so only the branch of this instance's layout is compiled.
        if hasattr(self, "in_proj_weight"):
            return F.linear(x, self.in_proj_weight, self.in_proj_bias)
        if hasattr(self, "to_qkv"):
            return self.to_qkv(x)
        return self.qkv(x)

    def _project_output(self, x: Tensor) -> Tensor:
        if hasattr(self, "out_proj"):
            return self.out_proj(x)
        if hasattr(self, "merge"):
            return self.merge(x)
        if hasattr(self, "project"):
            return self.project(x)
        return self.proj(x)

    def _bias_mask(self, attn_mask: Tensor | None) -> Tensor | None:
        # hasattr on a constant name is resolved statically (see _project_qkv): without a bias table,
        # TorchScript never compiles the lookup.
        if hasattr(self, "relative_position_bias_table"):
            return combined_mask(self.relative_position_bias().unsqueeze(0), attn_mask)
        return attn_mask

    def forward(self, x: Tensor, attn_mask: Tensor | None = None) -> Tensor:
        x = checked_tokens(x, "MultiheadSelfAttention", self.embed_dim)
        if self.window_tokens > 0:
            x = checked_window_tokens(x, "MultiheadSelfAttention", self.window_tokens)
        # (N, L, 3D) -> (3, N, heads, L, head_dim): q, k and v as SDPA wants them.
        qkv = self._project_qkv(x).unflatten(-1, (3, self.num_heads, self.head_dim)).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        dropout = self.attention_dropout if self.training else 0.0
        out = attention(q, k, v, self._bias_mask(attn_mask), dropout, self.scale)
        return self._project_output(out.transpose(1, 2).flatten(2))

    def extra_repr(self) -> str:
        text = f"{self.embed_dim}, num_heads={self.num_heads}, layout={self.layout!r}"
        if self.relative_position_window is not None:
            text += f", relative_position_window={self.relative_position_window}"
        if self._custom_scale:
            text += f", scale={self.scale}"
        if self.attention_dropout:
            text += f", attention_dropout={self.attention_dropout}"
        return text
