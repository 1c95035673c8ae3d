"""Finds the first stack frame outside tvexp, so that warnings point at the user's own line."""

from __future__ import annotations

import os
import sys
from types import FrameType

__all__ = ["external_stacklevel"]

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
# Frames of torch.nn.Module machinery (``__call__``, ``load_state_dict``) are skipped too, so a
# warning raised while torch drives a tvexp module still lands on the user's call.
_TORCH_NN_DIR: str | None = None


def _torch_nn_dir() -> str | None:
    global _TORCH_NN_DIR
    if _TORCH_NN_DIR is None:
        torch = sys.modules.get("torch")
        if torch is None or torch.__file__ is None:
            return None
        _TORCH_NN_DIR = os.path.join(os.path.dirname(os.path.abspath(torch.__file__)), "nn") + os.sep
    return _TORCH_NN_DIR


def _is_internal(filename: str) -> bool:
    if filename.startswith(_PACKAGE_DIR):
        return True
    nn_dir = _torch_nn_dir()
    return nn_dir is not None and filename.startswith(nn_dir)


def external_stacklevel() -> int:
    """The ``stacklevel`` that makes a ``warnings.warn`` in the caller point outside tvexp.

    Counts from the function that calls :func:`warnings.warn` (stacklevel 1 is that function).
    """
    frame: FrameType | None = sys._getframe(1)  # the caller, which is the frame that will call warnings.warn
    level = 1
    while frame is not None and _is_internal(os.path.abspath(frame.f_code.co_filename)):
        frame = frame.f_back
        level += 1
    return level
