# The "old" release of the catalogue package: one public object per row of the breaking-change
# catalogue (shared/anchors/tooling.md, section 8). new_impl.py makes each row's edit.
from __future__ import annotations

import abc
import enum
from typing import Optional

import torch
from torch import Tensor, nn

from tvexp._api.tiers import stable


@stable(since="0.1.0")
def r01_removed(x: int) -> int:
    return x


@stable(since="0.1.0")
def r03_unlisted(x: int) -> int:
    return x


@stable(since="0.1.0")
class R04Moved:
    pass


@stable(since="0.1.0")
def r05(a: int, b: int) -> int:
    return a


@stable(since="0.1.0")
def r06(a: int, b: int) -> int:
    return a


@stable(since="0.1.0")
def r07(a: int, b: int) -> int:
    return a


@stable(since="0.1.0")
def r08(a: int) -> int:
    return a


@stable(since="0.1.0")
def r09(a: int) -> int:
    return a


@stable(since="0.1.0")
def r10(a: int, b: int | None = None) -> int:
    return a


@stable(since="0.1.0")
def r11(a: int, b: int = 1) -> int:
    return a


@stable(since="0.1.0")
def r12(a: int, b: int = 1) -> int:
    return a


@stable(since="0.1.0")
def r13(a: int, b: int) -> int:
    return a


@stable(since="0.1.0")
class R14:
    def __init__(self, a: int, b: int = 1) -> None:
        self.a = a


@stable(since="0.1.0")
def r15(a: int, *args: int) -> int:
    return a


@stable(since="0.1.0")
def r16(a: int, **kwargs: int) -> int:
    return a


@stable(since="0.1.0")
def r17(a: int, b: int = 1) -> int:
    return a


@stable(since="0.1.0")
def r18(a: int) -> int:
    return a


@stable(since="0.1.0")
def r19() -> int:
    return 0


@stable(since="0.1.0")
def r20() -> Optional[int]:
    return 0


@stable(since="0.1.0")
def r21() -> int:
    return 0


@stable(since="0.1.0")
def r22() -> int:
    return 0


@stable(since="0.1.0")
class R23:
    def meth(self) -> int:
        return 0


@stable(since="0.1.0")
class R24:
    @staticmethod
    def f(x: int) -> int:
        return x


@stable(since="0.1.0")
class R25:
    @classmethod
    def build(cls, x: int) -> int:
        return x


class Base:
    pass


class Mixin:
    pass


@stable(since="0.1.0")
class R26(Base, Mixin):
    pass


@stable(since="0.1.0")
class R27:
    other: int = 2


@stable(since="0.1.0")
class R28:
    x: int = 0


class _Layer(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x

    def extra_repr(self) -> str:
        return "layer"


@stable(since="0.1.0")
class R30(_Layer):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(4, 4)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x)


@stable(since="0.1.0")
class R31(_Layer):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("scale", torch.ones(4))


@stable(since="0.1.0")
class R31b(_Layer):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("scale", torch.ones(4))


@stable(since="0.1.0")
class R32(_Layer):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("gain", torch.ones(4))


@stable(since="0.1.0")
class R33(_Layer):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("gain", torch.ones(4))


@stable(since="0.1.0")
class R34(_Layer):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("gain", torch.ones(4), persistent=True)


@stable(since="0.1.0")
class R35(_Layer):
    def forward(self, x: Tensor) -> Tensor:
        return x * 2


@stable(since="0.1.0")
def r36(prediction: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    return (prediction - target).abs().mean()


@stable(since="0.1.0")
class R37(_Layer):
    def __init__(self, channels: int = 4) -> None:
        super().__init__()
        if channels <= 0:
            raise ValueError(f"channels must be positive, got {channels}")


@stable(since="0.1.0")
class R38:
    pass


@stable(since="0.1.0")
class R39:
    pass


@stable(since="0.1.0")
class R40(_Layer):
    pass


@stable(since="0.1.0")
def r41(a: int, b: int = 1) -> int:
    return a


@stable(since="0.1.0")
class R42(abc.ABC):  # noqa: B024 (the new release adds its first abstract method)
    def run(self) -> int:
        return 0


@stable(since="0.1.0")
class R43(enum.Enum):
    RED = 1
    GREEN = 2


@stable(since="0.1.0")
class R44:
    pass


@stable(since="0.1.0")
def r45(a: int, *, x: int = 1, y: int = 2) -> int:
    return a


class _HelperBase:
    def helper(self) -> int:
        return 0


@stable(since="0.1.0")
class R46(_HelperBase):
    def helper(self) -> int:
        return 0
