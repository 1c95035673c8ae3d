"""TransformerEncoderBlock: the pre-norm encoder block of vision transformers (ViT, arXiv:2010.11929)."""

from __future__ import annotations

from functools import partial
from typing import Callable

import torch
import torch.fx
from torch import Tensor, nn

from tvexp._api.deprecation import StateDictMigration, migrate_state_dict
from tvexp._api.tiers import prototype
from tvexp._api.validation import check_positive_int, check_probability
from tvexp._layers._block_parts import Factory, reset_each
from tvexp._layers.layer_builders import build_layer, check_builder
from tvexp._layers.mlp import MLP
from tvexp._layers.multihead_self_attention import MultiheadSelfAttention, checked_tokens
from tvexp._layers.stochastic_depth import StochasticDepth

__all__ = ["TransformerEncoderBlock"]

# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_tokens")

# torchvision < 0.14 named the MLP's linear layers linear_1/linear_2 (pytorch/vision#6053); its
# MLPBlock renames them on load, and so does this block.
_LEGACY_MLP_KEYS = StateDictMigration(
    from_version=1,
    renames={
        "mlp.linear_1.weight": "mlp.0.weight",
        "mlp.linear_1.bias": "mlp.0.bias",
        "mlp.linear_2.weight": "mlp.3.weight",
        "mlp.linear_2.bias": "mlp.3.bias",
    },
    since="0.2.0",
    removed_in="0.4.0",
)


@prototype(since="0.2.0")
@migrate_state_dict(_LEGACY_MLP_KEYS)
class TransformerEncoderBlock(nn.Module):
    r"""A pre-norm transformer encoder block: self-attention and an MLP, each in a residual branch.

    From `An Image is Worth 16x16 Words <https://arxiv.org/abs/2010.11929>`_ (ViT):

    .. math::
        x' = x + \operatorname{drop}(\operatorname{MSA}(\operatorname{LN}_1(x))),
        \qquad y = x' + \operatorname{drop}(\operatorname{MLP}(\operatorname{LN}_2(x')))

    where "drop" is the dropout after the attention (for the first branch) followed by stochastic
    depth (both branches). The attention is a :class:`MultiheadSelfAttention` with ViT's layout
    and the MLP a :class:`~tvexp.stable.MLP` (``Linear -> activation -> Dropout -> Linear ->
    Dropout``).

    Submodules follow torchvision's ``EncoderBlock``: ``ln_1``, ``self_attention``
    (``in_proj_weight``, ``in_proj_bias``, ``out_proj``, as ``nn.MultiheadAttention``), ``ln_2`` and
    ``mlp`` (``mlp.0``, ``mlp.3``), so torchvision ViT checkpoints load with ``strict=True``;
    checkpoints with the MLP keys of torchvision before 0.14 (``mlp.linear_1``, ``mlp.linear_2``)
    are renamed on load, with a :class:`~tvexp.TvexpDeprecationWarning`. ``stochastic_depth``
    has no parameters; torchvision's block has none (``stochastic_depth_prob=0``).

    Args:
        num_heads: Attention heads; must divide ``hidden_dim``.
        hidden_dim: Features ``D`` of each token.
        mlp_dim: Width of the MLP's hidden layer.
        dropout: Dropout probability after the attention and in the MLP.
        attention_dropout: Dropout probability on the attention weights.
        norm_layer: Builds both norms from ``D``. ``None`` means ``nn.LayerNorm(D, eps=1e-6)``.
        stochastic_depth_prob: Probability of dropping each residual branch per sample in training.
        activation_layer: Builds the MLP's activation. Default: :class:`torch.nn.GELU`.
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: :math:`(N, L, D)`, floating point; another rank, width or dtype raises
          a ``ValueError`` (also a ``RuntimeError``, torch's type) naming the expected input.
        - Output: :math:`(N, L, D)`

    Example:
        >>> block = TransformerEncoderBlock(num_heads=4, hidden_dim=64, mlp_dim=128)
        >>> block(torch.randn(2, 10, 64)).shape
        torch.Size([2, 10, 64])
        >>> sorted({key.split(".")[0] for key in block.state_dict()})
        ['ln_1', 'ln_2', 'mlp', 'self_attention']
    """

    _version = 2

    def __init__(
        self,
        num_heads: int,
        hidden_dim: int,
        mlp_dim: int,
        dropout: float = 0.0,
        attention_dropout: float = 0.0,
        norm_layer: Callable[..., nn.Module] | None = None,
        *,
        stochastic_depth_prob: float = 0.0,
        activation_layer: Callable[..., nn.Module] = nn.GELU,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        num_heads = check_positive_int(num_heads, "num_heads")
        hidden_dim = check_positive_int(hidden_dim, "hidden_dim")
        mlp_dim = check_positive_int(mlp_dim, "mlp_dim")
        if hidden_dim % num_heads != 0:
            raise ValueError(
                f"hidden_dim must be divisible by num_heads, got hidden_dim={hidden_dim} and num_heads={num_heads}"
            )
        dropout = check_probability(dropout, "dropout")
        attention_dropout = check_probability(attention_dropout, "attention_dropout")
        check_builder(norm_layer, "norm_layer")
        stochastic_depth_prob = check_probability(stochastic_depth_prob, "stochastic_depth_prob")
        check_builder(activation_layer, "activation_layer", optional=False)
        super().__init__()
        norm = partial(nn.LayerNorm, eps=1e-6) if norm_layer is None else norm_layer
        factory: Factory = {"device": device, "dtype": dtype}
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.ln_1 = build_layer(norm, "norm_layer", hidden_dim, **factory)
        self.self_attention = MultiheadSelfAttention(
            hidden_dim, num_heads, attention_dropout=attention_dropout, layout="vit", **factory
        )
        self.dropout = nn.Dropout(dropout)
        self.ln_2 = build_layer(norm, "norm_layer", hidden_dim, **factory)
        self.mlp = MLP(hidden_dim, [mlp_dim, hidden_dim], activation_layer=activation_layer, dropout=dropout, **factory)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self._init_mlp()

    def _init_mlp(self) -> None:
        # torchvision's MLPBlock initialisation.
        for module in self.mlp.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.normal_(module.bias, std=1e-6)

    def reset_parameters(self) -> None:
        """Re-initialises the norms and the attention (their defaults) and the MLP (as torchvision's ViT)."""
        reset_each((self.ln_1, self.ln_2, self.self_attention))
        self._init_mlp()

    def forward(self, x: Tensor) -> Tensor:
        x = checked_tokens(x, "TransformerEncoderBlock", self.hidden_dim)
        x = x + self.stochastic_depth(self.dropout(self.self_attention(self.ln_1(x))))
        return x + self.stochastic_depth(self.mlp(self.ln_2(x)))

    def extra_repr(self) -> str:
        text = f"num_heads={self.num_heads}, hidden_dim={self.hidden_dim}"
        if self.stochastic_depth.p:
            text += f", stochastic_depth_prob={self.stochastic_depth.p}"
        return text
