"""Checks of hyper-parameter values shared by layers, losses and transforms.

Each raises ``TypeError`` for a value of the wrong type and ``ValueError`` for a value out of range,
naming the argument, the value and what is allowed, at construction time (never inside ``forward``).
"""

from __future__ import annotations

import numbers
from typing import Any

import torch

__all__ = [
    "check_bool",
    "check_floating_dtype",
    "check_non_negative",
    "check_positive_int",
    "check_probability",
    "is_real_number",
]


def check_positive_int(value: Any, name: str) -> None:
    """Raises unless ``value`` is a positive ``int`` (``bool`` is rejected)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a positive int, got {value!r} of type {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value}")


def is_real_number(value: Any) -> bool:
    """Whether ``value`` is a real number (``bool`` excluded)."""
    # bool is an int subclass, but True as a probability or an epsilon is a mistake, not a number.
    return not isinstance(value, bool) and isinstance(value, numbers.Real)


def check_probability(value: Any, name: str) -> None:
    """Raises ``TypeError`` unless ``value`` is a real number, ``ValueError`` unless it is in ``[0, 1]``."""
    if not is_real_number(value):
        raise TypeError(f"{name} must be a probability in [0, 1], got {value!r} of type {type(value).__name__}")
    if not 0.0 <= float(value) <= 1.0:  # also rejects NaN
        raise ValueError(f"{name} must be a probability in [0, 1], got {value}")


def check_non_negative(value: Any, name: str) -> None:
    """Raises ``TypeError`` unless ``value`` is a real number, ``ValueError`` if it is negative or NaN."""
    if not is_real_number(value):
        raise TypeError(f"{name} must be a non-negative number, got {value!r} of type {type(value).__name__}")
    if not float(value) >= 0.0:  # also rejects NaN
        raise ValueError(f"{name} must be a non-negative number, got {value}")


def check_bool(value: Any, name: str) -> None:
    """Raises ``TypeError`` unless ``value`` is a ``bool``."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r} of type {type(value).__name__}")


def check_floating_dtype(dtype: torch.dtype | None, name: str = "dtype") -> None:
    """Raises ``ValueError`` unless ``dtype`` is ``None`` or a floating-point ``torch.dtype``.

    Parameters of another dtype fail later inside torch with a message about gradients.
    """
    if dtype is None:
        return
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"{name} must be a torch.dtype or None, got {dtype!r} of type {type(dtype).__name__}")
    if not dtype.is_floating_point:
        raise ValueError(f"{name} must be a floating-point torch.dtype (e.g. torch.float32) or None, got {dtype}")
