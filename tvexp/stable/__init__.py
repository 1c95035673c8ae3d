"""The stable tier: layers covered by tvexp's compatibility promise.

Names here change or disappear only after a deprecation that spans at least two minor releases.
Functional forms live in :mod:`tvexp.stable.functional`, losses in :mod:`tvexp.stable.losses`.
Importing this namespace never imports :mod:`tvexp.prototype` and never warns.
"""

from tvexp._api.deprecation import moved_name_getattr
from tvexp._layers.conv_norm_activation import (
    Conv1dNormActivation,
    Conv2dNormActivation,
    Conv3dNormActivation,
)
from tvexp._layers.drop_block import DropBlock2d, DropBlock3d
from tvexp._layers.frozen_batch_norm import FrozenBatchNorm2d
from tvexp._layers.mlp import MLP
from tvexp._layers.permute import Permute
from tvexp._layers.squeeze_excitation import SqueezeExcitation
from tvexp._layers.stochastic_depth import StochasticDepth

__all__: list[str] = [
    "Conv1dNormActivation",
    "Conv2dNormActivation",
    "Conv3dNormActivation",
    "DropBlock2d",
    "DropBlock3d",
    "FrozenBatchNorm2d",
    "MLP",
    "Permute",
    "SqueezeExcitation",
    "StochasticDepth",
]

__getattr__ = moved_name_getattr(__name__)
