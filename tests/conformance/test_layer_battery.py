"""The conformance battery: every check in ``CHECKS`` run over every case of the layer table.

Each check is a plain function ``check_<name>(case)`` that raises (``AssertionError`` or the error
torch raised) when the case does not conform. A case's ``expected_failures[check]`` turns that test
into a strict xfail with the declared reason, so a limit that disappears is noticed as well.
Checks that do not apply to a case (``onnx``/``inductor`` without the tag, ``channels_last`` without a
4-d or 5-d input) are not generated for it.

Comparisons use training mode for deterministic layers (so batch-statistics paths are covered) and
evaluation mode for stochastic ones; ``export`` and ``onnx`` are deployment paths and use evaluation
mode for every layer.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import pytest
import torch
from torch import Tensor, nn

from tvexp._tooling.conformance.cases import LAYER_CASES
from tvexp._tooling.conformance.checks import CHECKS, CHECKS_BY_NAME, Check
from tvexp._tooling.conformance.table import LayerCase, randn


def battery() -> list[Any]:
    """Every (check, case) pair the registry says applies, with declared limits as strict xfails."""
    params = []
    for check in CHECKS:
        for case in LAYER_CASES:
            if not check.applies(case):
                continue
            marks = [pytest.mark.slow] if check.slow else []
            if check.name in case.expected_failures:
                marks.append(pytest.mark.xfail(strict=True, reason=case.expected_failures[check.name]))
            params.append(pytest.param(check, case, id=f"{check.name}-{case.id}", marks=marks))
    return params


@pytest.mark.parametrize(("check", "case"), battery())
def test_battery(check: Check, case: LayerCase) -> None:
    check.run(case)


# ------------------------------------------------------- the battery itself: it passes and it can fail
# torch.nn layers that conform, and small layers that each break exactly one promise. These keep the
# battery honest while the table is small, and prove that every check can fail.


class _ConvNormAct(nn.Sequential):
    def __init__(self) -> None:
        super().__init__(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())


class _Scale(nn.Module):
    """Conforms: a learned per-channel scale with a deterministic buffer and reset_parameters."""

    def __init__(self, channels: int = 3) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(channels, 1, 1))
        self.register_buffer("offset", torch.empty(channels, 1, 1))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.uniform_(self.weight, 0.5, 1.5)
        nn.init.constant_(self.offset, 0.25)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.weight + self.offset

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}"


class _BufferNotReset(_Scale):
    def reset_parameters(self) -> None:
        nn.init.uniform_(self.weight, 0.5, 1.5)
        if not self.offset.is_meta and self.offset.abs().sum() == 0:
            nn.init.constant_(self.offset, 0.25)  # only in the constructor: to_empty leaves garbage

    def __init__(self) -> None:
        super().__init__()
        with torch.no_grad():
            self.offset.fill_(3.0)


class _UnusedParameter(_Scale):
    def __init__(self) -> None:
        super().__init__()
        self.unused = nn.Parameter(torch.ones(1))


class _TrainOnlyScaling(_Scale):
    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x) * (2.0 if self.training else 1.0)


class _LosesChannelsLast(_Scale):
    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x).contiguous()


class _PlainAttributeState(_Scale):
    def __init__(self) -> None:
        super().__init__()
        self.hidden = torch.rand(1)  # not a buffer: a state_dict does not carry it

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x) + self.hidden


class _DataDependentBranch(_Scale):
    def forward(self, x: Tensor) -> Tensor:
        if x.sum() > 0:
            return super().forward(x)
        return x


class _GraphBreak(_Scale):
    def forward(self, x: Tensor) -> Tensor:
        y = super().forward(x)
        print("side effect")
        return y


class _LambdaInForward(_Scale):
    def forward(self, x: Tensor) -> Tensor:
        double = lambda t: t * 2  # noqa: E731 (TorchScript rejects lambdas)
        return double(super().forward(x))


class _HoldsLambda(_Scale):
    def __init__(self) -> None:
        super().__init__()
        self.post = lambda t: t  # pickle cannot serialise a lambda


class _CastsToFloat32(_Scale):
    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x).float()


class _BareRepr(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x * 2


class _NotIdentityInEval(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return nn.functional.dropout(x, 0.5, self.training) * (1.0 if self.training else 0.5)

    def extra_repr(self) -> str:
        return "p=0.5"


def _image() -> tuple[Tensor, ...]:
    return (randn(2, 3, 5, 5),)


def _synthetic(cls: Callable[[], nn.Module], output_shape: tuple[int, ...] = (2, 3, 5, 5), **kwargs: Any) -> LayerCase:
    return LayerCase(
        id=f"{getattr(cls, '__name__', 'layer')}/synthetic",
        build=cls,
        inputs=_image,
        output_shape=output_shape,
        **kwargs,
    )


_CONFORMING = [
    _synthetic(_ConvNormAct, (2, 4, 5, 5)),
    _synthetic(_Scale),
    _synthetic(lambda: nn.Dropout(0.5), stochastic=True),
    LayerCase(id="Linear/synthetic", build=lambda: nn.Linear(4, 3), inputs=lambda: (randn(2, 4),), output_shape=(2, 3)),
]
_BROKEN = [  # (check, case, what the failure must say)
    ("shape", _synthetic(_Scale, (2, 3, 5, 4)), "output shape"),
    ("gradients", _synthetic(_UnusedParameter), "no gradient reached parameter 'unused'"),
    ("float64", _synthetic(_CastsToFloat32), "gave a torch.float32 output"),
    ("bfloat16", _synthetic(_CastsToFloat32), "gave a torch.float32 output"),
    ("state_dict", _synthetic(_PlainAttributeState), "output after state_dict round trip"),
    ("pickle", _synthetic(_HoldsLambda), "lambda"),
    ("script", _synthetic(_LambdaInForward), "Lambda"),
    ("export", _synthetic(_DataDependentBranch), "data-dependent"),
    ("compile", _synthetic(_GraphBreak), "1 graph break(s) in train mode"),
    ("fx", _synthetic(_DataDependentBranch), "control flow"),
    ("channels_last", _synthetic(_LosesChannelsLast), "lost the channels_last memory format"),
    ("train_eval", _synthetic(_TrainOnlyScaling), "eval output vs train output"),
    ("train_eval", _synthetic(_NotIdentityInEval, stochastic=True), "must be the identity"),
    ("meta", _synthetic(_BufferNotReset), "buffer 'offset'"),
    ("repr", _synthetic(_BareRepr), "define extra_repr"),
]
_CHEAP_CHECKS = [check.name for check in CHECKS if not check.slow]


@pytest.mark.parametrize(
    ("case", "check"),
    [
        pytest.param(case, check, id=f"{case.id}-{check}")
        for case in _CONFORMING
        for check in _CHEAP_CHECKS
        if CHECKS_BY_NAME[check].applies(case)
    ],
)
def test_battery_passes_conforming_torch_layers(case: LayerCase, check: str) -> None:
    CHECKS_BY_NAME[check].run(case)


@pytest.mark.parametrize(
    ("check", "case", "message"), _BROKEN, ids=[f"{check}-{case.id}" for check, case, _ in _BROKEN]
)
def test_battery_detects_a_broken_layer(check: str, case: LayerCase, message: str) -> None:
    with pytest.raises(Exception, match=re.escape(message)):
        CHECKS_BY_NAME[check].run(case)


def test_every_cheap_check_is_shown_to_fail() -> None:
    assert {check for check, _, _ in _BROKEN} == set(_CHEAP_CHECKS)
