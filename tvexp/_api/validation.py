"""Checks of hyper-parameter values shared by layers, losses and transforms.

Each raises ``TypeError`` for a value of the wrong type and ``ValueError`` for a value out of range,
naming the argument, the value and what is allowed, at construction time (never inside ``forward``).
The function and module forms of an operation call the same checks, so they accept and reject the
same values.

What counts as a number follows torchvision, which accepts anything Python arithmetic accepts:

- an integer argument takes any :class:`numbers.Integral` (``int``, ``numpy.int64``, ...) or a
  0-d integer tensor, and the checks return it as a Python ``int``;
- a real argument takes any :class:`numbers.Real` (``float``, ``int``, ``numpy.float32``, ...) or
  a 0-d integer or floating tensor, returned as a Python ``float``;
- ``bool`` is never a number here (``eps=True`` is a mistake, not ``1.0``), and a flag takes only
  ``True``/``False`` (or a ``numpy.bool_``): the string ``"False"`` is truthy, so torchvision's
  ``bias="False"`` silently means ``bias=True``.

Unless a check says otherwise, ``NaN`` and infinities are rejected: no hyper-parameter of tvexp
has a meaning for them, and they turn outputs into zeros or ``NaN`` far from their cause.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch

__all__ = [
    "InvalidInputError",
    "as_int",
    "as_real",
    "check_bool",
    "check_finite",
    "check_floating_dtype",
    "check_int",
    "check_non_negative",
    "check_non_negative_int",
    "check_optional_bool",
    "check_positive",
    "check_positive_int",
    "check_probability",
    "is_integer",
    "is_real_number",
]


class InvalidInputError(ValueError, RuntimeError):
    """An input a layer rejects before torch would: its message names the expected shape or dtype.

    A ``ValueError`` like tvexp's other input checks, and also a ``RuntimeError``, the type torch
    raised for the same input, so ``except RuntimeError`` written for torch or torchvision still
    catches it.
    """


def _describe(value: Any) -> str:
    return f"{value!r} of type {type(value).__name__}"


def _is_numpy_bool(value: Any) -> bool:
    kind = type(value)
    return kind.__module__ == "numpy" and kind.__name__ in ("bool_", "bool")


def is_integer(value: Any) -> bool:
    """Whether ``value`` is an integer torchvision would accept: a non-bool ``numbers.Integral`` or a
    0-d integer tensor."""
    if isinstance(value, bool) or _is_numpy_bool(value):
        return False
    if isinstance(value, numbers.Integral):
        return True
    return (
        isinstance(value, torch.Tensor)
        and value.dim() == 0
        and not value.is_floating_point()
        and not value.is_complex()
        and value.dtype != torch.bool
        and value.device.type != "meta"
    )


def is_real_number(value: Any) -> bool:
    """Whether ``value`` is a real number: a non-bool ``numbers.Real`` or a 0-d integer/floating tensor."""
    # bool is an int subclass, but True as a probability or an epsilon is a mistake, not a number.
    if isinstance(value, bool) or _is_numpy_bool(value):
        return False
    if isinstance(value, numbers.Real):
        return True
    return (
        isinstance(value, torch.Tensor)
        and value.dim() == 0
        and not value.is_complex()
        and value.dtype != torch.bool
        and value.device.type != "meta"
    )


def as_int(value: Any, name: str, what: str = "an int") -> int:
    """``value`` as a Python ``int``; ``TypeError`` naming ``what`` unless :func:`is_integer`."""
    if not is_integer(value):
        raise TypeError(f"{name} must be {what}, got {_describe(value)}")
    return int(value)


def as_real(value: Any, name: str, what: str = "a real number") -> float:
    """``value`` as a Python ``float``; ``TypeError`` naming ``what`` unless :func:`is_real_number`."""
    if not is_real_number(value):
        raise TypeError(f"{name} must be {what}, got {_describe(value)}")
    return float(value)


def check_int(value: Any, name: str, *, minimum: int | None = None) -> int:
    """``value`` as an ``int``; ``ValueError`` if it is below ``minimum``."""
    if minimum == 1:
        what = "a positive int"
    elif minimum == 0:
        what = "a non-negative int"
    elif minimum is None:
        what = "an int"
    else:
        what = f"an int >= {minimum}"
    result = as_int(value, name, what)
    if minimum is not None and result < minimum:
        raise ValueError(f"{name} must be {what}, got {value}")
    return result


def check_positive_int(value: Any, name: str) -> int:
    """``value`` as a positive ``int`` (``numbers.Integral`` and 0-d integer tensors are converted)."""
    return check_int(value, name, minimum=1)


def check_non_negative_int(value: Any, name: str) -> int:
    """``value`` as a non-negative ``int``."""
    return check_int(value, name, minimum=0)


def check_finite(value: Any, name: str, what: str = "a finite number") -> float:
    """``value`` as a finite ``float`` (``NaN`` and infinities raise ``ValueError``)."""
    result = as_real(value, name, what)
    if not math.isfinite(result):
        raise ValueError(f"{name} must be {what}, got {value}")
    return result


def check_probability(value: Any, name: str, *, torchvision_message: str | None = None) -> float:
    """``value`` as a ``float`` in ``[0, 1]`` (``NaN`` rejected).

    ``torchvision_message``, where given, starts the ``ValueError``'s message: the text torchvision
    raises for the same value, which code and tests match on.
    """
    what = "a probability in [0, 1]"
    result = as_real(value, name, what)
    if not 0.0 <= result <= 1.0:  # also rejects NaN
        message = f"{name} must be {what}, got {value}"
        if torchvision_message is not None:
            message = f"{torchvision_message} ({message})"
        raise ValueError(message)
    return result


def check_non_negative(value: Any, name: str) -> float:
    """``value`` as a finite, non-negative ``float``."""
    what = "a finite non-negative number"
    result = as_real(value, name, what)
    if not (result >= 0.0 and math.isfinite(result)):  # also rejects NaN
        raise ValueError(f"{name} must be {what}, got {value}")
    return result


def check_positive(value: Any, name: str) -> float:
    """``value`` as a finite, positive ``float``."""
    what = "a finite positive number"
    result = as_real(value, name, what)
    if not (result > 0.0 and math.isfinite(result)):  # also rejects NaN
        raise ValueError(f"{name} must be {what}, got {value}")
    return result


def check_bool(value: Any, name: str) -> bool:
    """``value`` as a ``bool``: only ``True``, ``False`` or a ``numpy.bool_`` (a string such as ``"False"``
    is truthy, so accepting it would silently mean the opposite)."""
    if isinstance(value, bool):
        return value
    if _is_numpy_bool(value):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {_describe(value)}")


def check_optional_bool(value: Any, name: str) -> bool | None:
    """Like :func:`check_bool`, but ``None`` (meaning "the default rule") is passed through."""
    if value is None:
        return None
    if isinstance(value, bool) or _is_numpy_bool(value):
        return bool(value)
    raise TypeError(f"{name} must be True, False or None, got {_describe(value)}")


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
