"""Functional forms of the stable layers."""

from tvexp._api.deprecation import moved_name_getattr
from tvexp._layers.drop_block import drop_block2d, drop_block3d

__all__: list[str] = [
    "drop_block2d",
    "drop_block3d",
]

__getattr__ = moved_name_getattr(__name__)
