"""Functional forms of the stable layers."""

from tvexp._api.deprecation import moved_name_getattr
from tvexp._layers.drop_block import drop_block2d, drop_block3d
from tvexp._layers.stochastic_depth import stochastic_depth

__all__: list[str] = [
    "drop_block2d",
    "drop_block3d",
    "stochastic_depth",
]

__getattr__ = moved_name_getattr(__name__)
