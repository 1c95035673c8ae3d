# The "new" release of the catalogue package: each row's edit of old_impl.py (see test_catalogue.py).
from __future__ import annotations

import abc
import enum

import torch
from torch import Tensor, nn

from tvexp._api.deprecation import StateDictMigration, migrate_state_dict
from tvexp._api.tiers import prototype, stable


@stable(since="0.1.0")
def r03_unlisted(x: int) -> int:
    return x


from catpkg._moved import R04Moved  # noqa: E402, F401  (row 4: defined elsewhere, re-exported here)


@stable(since="0.1.0")
def r05(a: int) -> int:
    return a


@stable(since="0.1.0")
def r06(a: int, c: int) -> int:
    return a


@stable(since="0.1.0")
def r07(b: int, a: int) -> int:
    return a


@stable(since="0.1.0")
def r08(a: int, b: int) -> int:
    return a


@stable(since="0.1.0")
def r09(a: int, *, k: int) -> int:
    return a


@stable(since="0.1.0")
def r10(a: int, b: int | None) -> int:
    return a


@stable(since="0.1.0")
def r11(a: int, b: int = 2) -> int:
    return a


@stable(since="0.1.0")
def r12(a: int, *, b: int = 1) -> int:
    return a


@stable(since="0.1.0")
def r13(a: int, b: int, /) -> int:
    return a


@stable(since="0.1.0")
class R14:
    def __init__(self, a: int, *, b: int = 1) -> None:
        self.a = a


@stable(since="0.1.0")
def r15(a: int) -> int:
    return a


@stable(since="0.1.0")
def r16(a: int) -> int:
    return a


@stable(since="0.1.0")
def r17(a: int, **kwargs: int) -> int:
    return a


@stable(since="0.1.0")
def r18(a: str) -> int:
    return a


@stable(since="0.1.0")
def r19() -> int | str:
    return 0


@stable(since="0.1.0")
def r20() -> int:
    return 0


@stable(since="0.1.0")
def r21():
    return 0


@stable(since="0.1.0")
class r22:
    pass


@stable(since="0.1.0")
class R23:
    @property
    def meth(self) -> int:
        return 0


@stable(since="0.1.0")
class R24:
    def f(self, x: int) -> int:
        return x


@stable(since="0.1.0")
class R25:
    @staticmethod
    def build(x: int) -> int:
        return x


class Base:
    pass


class Mixin:
    pass


@stable(since="0.1.0")
class R26(Base):
    pass


@stable(since="0.1.0")
class R27:
    pass


@stable(since="0.1.0")
class R28:
    y: int = 0


class _Layer(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x

    def extra_repr(self) -> str:
        return "layer"


@stable(since="0.1.0")
class R30(_Layer):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 4)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x)


@stable(since="0.1.0")
class R31(_Layer):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("gain", torch.ones(4))


@stable(since="0.1.0")
@migrate_state_dict(StateDictMigration(1, {"scale": "gain"}, since="0.2.0", removed_in="0.4.0"))
class R31b(_Layer):
    _version = 2

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("gain", torch.ones(4))


@stable(since="0.1.0")
class R32(_Layer):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("gain", torch.ones(4, 1))


@stable(since="0.1.0")
class R33(_Layer):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("gain", torch.ones(4, dtype=torch.bfloat16))


@stable(since="0.1.0")
class R34(_Layer):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("gain", torch.ones(4), persistent=False)


@stable(since="0.1.0")
class R35(_Layer):
    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        return x * 2, x


@stable(since="0.1.0")
def r36(prediction: Tensor, target: Tensor, reduction: str = "sum") -> Tensor:
    return (prediction - target).abs().mean()


@stable(since="0.1.0")
class R37(_Layer):
    def __init__(self, channels: int = 4) -> None:
        super().__init__()
        if channels <= 0:
            raise TypeError(f"channels must be positive, got {channels}")


@prototype(since="0.1.0")
class R38:
    pass


@stable(since="0.1.0")
class R39:
    pass


@stable(since="0.1.0")
class R40(_Layer):
    pass


@stable(since="0.1.0")
def r41(a: int, x: int = 0, b: int = 1) -> int:
    return a


@stable(since="0.1.0")
class R42(abc.ABC):
    def run(self) -> int:
        return 0

    @abc.abstractmethod
    def extra(self) -> int: ...


@stable(since="0.1.0")
class R43(enum.Enum):
    RED = 1


@stable(since="0.1.0")
class R44New:
    pass


R44 = R44New


@stable(since="0.1.0")
def r45(a: int, *, y: int = 2, x: int = 1) -> int:
    return a


class _HelperBase:
    def helper(self) -> int:
        return 0


@stable(since="0.1.0")
class R46(_HelperBase):
    pass
