"""Functional forms of the prototype layers."""

from tvexp._api.deprecation import moved_name_getattr

__all__: list[str] = []

__getattr__ = moved_name_getattr(__name__)
