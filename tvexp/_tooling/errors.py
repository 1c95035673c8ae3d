"""The one error type of the developer tooling."""

from __future__ import annotations

__all__ = ["UsageError"]


class UsageError(Exception):
    """A refusal or bad argument: printed as ``tvexp-api: error: ...`` with exit status 1 or 2."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status
