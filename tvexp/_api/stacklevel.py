"""Finds the first stack frame outside tvexp, so that warnings point at the user's own line."""

from __future__ import annotations

import os
import sys
from types import FrameType

__all__ = ["external_stacklevel", "external_caller"]

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
# Frames of torch.nn.Module machinery (``__call__``, ``load_state_dict``) are skipped too, so a
# warning raised while torch drives a tvexp module still lands on the user's call.
_TORCH_NN_DIR: str | None = None
# ``co_filename`` -> whether it is internal; filled once torch is imported (before that the torch.nn
# folder is unknown and nothing is remembered).
_INTERNAL_FILES: dict[str, bool] = {}


def _torch_nn_dir() -> str | None:
    global _TORCH_NN_DIR
    if _TORCH_NN_DIR is None:
        torch = sys.modules.get("torch")
        if torch is None or torch.__file__ is None:
            return None
        _TORCH_NN_DIR = os.path.join(os.path.dirname(os.path.abspath(torch.__file__)), "nn") + os.sep
    return _TORCH_NN_DIR


def _is_internal(filename: str) -> bool:
    known = _INTERNAL_FILES.get(filename)
    if known is not None:
        return known
    path = os.path.abspath(filename)
    if path.startswith(_PACKAGE_DIR):
        internal = True
    else:
        nn_dir = _torch_nn_dir()
        if nn_dir is None:
            return False
        internal = path.startswith(nn_dir)
    _INTERNAL_FILES[filename] = internal
    return internal


def external_caller() -> tuple[int, str | None]:
    """The ``stacklevel`` of the first frame outside tvexp, and that frame's module ``__name__``.

    Counts from the function that calls this one (stacklevel 1 is that function), so that
    ``warnings.warn(..., stacklevel=level)`` in the caller points at the returned frame. The module
    is read from the frame's globals; it is ``None`` when the stack has no frame outside tvexp.
    """
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and _is_internal(frame.f_code.co_filename):
        frame = frame.f_back
        level += 1
    return level, (frame.f_globals.get("__name__") if frame is not None else None)


def external_stacklevel() -> int:
    """The ``stacklevel`` that makes a ``warnings.warn`` in the caller point outside tvexp.

    Counts from the function that calls :func:`warnings.warn` (stacklevel 1 is that function).
    """
    frame: FrameType | None = sys._getframe(1)  # the caller, which is the frame that will call warnings.warn
    level = 1
    while frame is not None and _is_internal(frame.f_code.co_filename):
        frame = frame.f_back
        level += 1
    return level
