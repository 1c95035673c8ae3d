"""Functional forms of the prototype layers."""

from tvexp._api.deprecation import moved_name_getattr
from tvexp._layers.channel_shuffle import channel_shuffle

__all__: list[str] = [
    "channel_shuffle",
]

__getattr__ = moved_name_getattr(__name__)
