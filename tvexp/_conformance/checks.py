"""Plain conformance checks for one :class:`~tvexp._conformance.table.LayerCase` each.

Each ``check_<name>(case)`` raises (``AssertionError`` or whatever torch raised) when the case does
not conform and returns ``None`` otherwise, so the pytest battery and ``tvexp-api promote`` (through
:func:`run_conformance`) run the same code. Developer-only.
"""

from __future__ import annotations

import copy
import pickle
import warnings
from typing import Any, Callable

import torch
from torch import Tensor, nn

from tvexp._api.tiers import internal_construction
from tvexp._conformance.table import LayerCase, seeded

__all__ = ["CHECK_FUNCTIONS", "PROMOTION_CHECKS", "run_conformance", "failures"]

_SCRIPT_DEPRECATION = r"`?torch\.jit\.script(_method)?`? is deprecated"


def _build(case: LayerCase, seed: int = 0) -> nn.Module:
    with internal_construction():
        module = seeded(case.build, seed)
    return module.eval() if case.stochastic else module.train()


def _tensors(value: Any) -> list[Tensor]:
    from torch.utils._pytree import tree_leaves

    return [leaf for leaf in tree_leaves(value) if isinstance(leaf, Tensor)]


def _close(actual: Any, expected: Any, what: str) -> None:
    torch.testing.assert_close(actual, expected, msg=lambda detail: f"{what}: {detail}")


def _perturbed(module: nn.Module) -> nn.Module:
    """Moves every floating tensor away from its (possibly constant) initial value."""
    generator = torch.Generator().manual_seed(321)
    with torch.no_grad():
        for tensor in [*module.parameters(), *module.buffers()]:
            if tensor.is_floating_point():
                tensor.mul_(1 + 0.1 * torch.rand(tensor.shape, generator=generator).to(tensor.dtype))
    return module


def check_shape(case: LayerCase) -> None:
    module = _build(case)
    with torch.no_grad():
        output = module(*case.inputs())
    assert isinstance(output, Tensor), f"output is a {type(output).__name__}, not a Tensor"
    assert tuple(output.shape) == tuple(case.output_shape), f"output shape {tuple(output.shape)}, expected {case.output_shape}"
    assert torch.isfinite(output).all() if output.is_floating_point() else True, "output has non-finite values"


def check_gradients(case: LayerCase) -> None:
    module = _build(case).train()
    inputs = tuple(x.detach().clone().requires_grad_() if isinstance(x, Tensor) and x.is_floating_point() else x
                   for x in case.inputs())
    output = seeded(lambda: module(*inputs), seed=1)
    parts = [out.sum() for out in _tensors(output) if out.requires_grad]
    assert parts, "no output depends on a parameter or an input"
    sum(parts).backward()  # type: ignore[union-attr]
    for name, parameter in module.named_parameters():
        if parameter.requires_grad:
            assert parameter.grad is not None, f"no gradient reached parameter {name!r}"
            assert torch.isfinite(parameter.grad).all(), f"gradient of {name!r} is not finite"


def check_state_dict(case: LayerCase) -> None:
    source = _perturbed(_build(case, seed=0))
    target = _build(case, seed=1)
    target.load_state_dict(source.state_dict(), strict=True)
    inputs = case.inputs()
    with torch.no_grad():
        _close(target(*inputs), source(*inputs), "output after a state_dict round trip")


def check_pickle(case: LayerCase) -> None:
    module = _perturbed(_build(case))
    restored = pickle.loads(pickle.dumps(module))
    assert type(restored) is type(module), "pickling changed the type"
    inputs = case.inputs()
    with torch.no_grad():
        _close(restored(*inputs), module(*inputs), "output after pickling")
        _close(copy.deepcopy(module)(*inputs), module(*inputs), "output after copy.deepcopy")


def check_script(case: LayerCase) -> None:
    module = _build(case)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_SCRIPT_DEPRECATION, category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=_SCRIPT_DEPRECATION, category=FutureWarning)
        scripted = torch.jit.script(copy.deepcopy(module))
    inputs = case.inputs()
    with torch.no_grad():
        _close(scripted(*inputs), module(*inputs), "torch.jit.script output vs eager")


def check_export(case: LayerCase) -> None:
    module = _build(case).eval()
    inputs = tuple(case.inputs())
    dynamic = None
    if case.dynamic_batch:
        batch = torch.export.Dim("batch", min=2)
        dynamic = tuple({0: batch} if isinstance(x, Tensor) and x.dim() > 0 else None for x in inputs)
    torch._dynamo.reset()
    try:
        program = torch.export.export(copy.deepcopy(module), inputs, dynamic_shapes=dynamic).module()
        with torch.no_grad():
            _close(program(*inputs), module(*inputs), "torch.export output vs eager")
    finally:
        torch._dynamo.reset()


def check_compile(case: LayerCase) -> None:
    """``torch.compile(fullgraph=True, backend="eager")``: any graph break raises."""
    module = _build(case)
    inputs = case.inputs()
    torch._dynamo.reset()
    try:
        compiled = torch.compile(copy.deepcopy(module), fullgraph=True, backend="eager")
        with torch.no_grad():
            _close(compiled(*inputs), module(*inputs), "torch.compile(backend='eager') output vs eager")
    finally:
        torch._dynamo.reset()


def check_fx(case: LayerCase) -> None:
    module = _build(case)
    traced = torch.fx.symbolic_trace(copy.deepcopy(module))
    inputs = case.inputs()
    with torch.no_grad():
        _close(traced(*inputs), module(*inputs), "torch.fx.symbolic_trace output vs eager")


CHECK_FUNCTIONS: dict[str, Callable[[LayerCase], None]] = {
    "shape": check_shape,
    "gradients": check_gradients,
    "state_dict": check_state_dict,
    "pickle": check_pickle,
    "script": check_script,
    "export": check_export,
    "compile": check_compile,
    "fx": check_fx,
}
# What ``tvexp-api promote`` requires of every case of the object it promotes.
PROMOTION_CHECKS = tuple(CHECK_FUNCTIONS)


def run_conformance(case: LayerCase, checks: tuple[str, ...] = PROMOTION_CHECKS) -> dict[str, str]:
    """Runs ``checks`` on ``case``: ``check -> "passed" | "failed: ..." | "expected failure: ..." |
    "unexpectedly passed"`` (a declared limit that no longer holds)."""
    outcomes: dict[str, str] = {}
    for name in checks:
        reason = case.expected_failures.get(name)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                CHECK_FUNCTIONS[name](case)
        except Exception as error:  # any failure of the check is an outcome, not a crash of the caller
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            outcomes[name] = f"expected failure: {reason}" if reason else f"failed: {type(error).__name__}: {first}"
        else:
            outcomes[name] = "unexpectedly passed" if reason else "passed"
    return outcomes


def failures(outcomes: dict[str, str]) -> dict[str, str]:
    """The outcomes that fail the battery: failures and declared limits that no longer hold.

    A declared limit (``expected failure``) passes the battery, as in the pytest battery's strict xfail.
    """
    return {name: outcome for name, outcome in outcomes.items()
            if outcome.startswith("failed") or outcome == "unexpectedly passed"}
