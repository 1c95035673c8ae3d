"""Stable losses: the loss functions torchvision already proved, compile-clean and correct."""

from tvexp._api.deprecation import moved_name_getattr

__all__: list[str] = [
]

__getattr__ = moved_name_getattr(__name__)
