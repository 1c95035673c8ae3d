"""The conformance checks: one plain function per check, and the registry (:data:`CHECKS`) that names them.

Each ``check_<name>(case)`` raises (``AssertionError`` or the error torch raised) when the case
does not conform and returns ``None`` otherwise. The pytest battery (``tests/conformance``) and
``tvexp-api promote`` (through :func:`run_conformance`) run the same functions. Developer-only.

Comparisons use training mode for deterministic layers (so batch-statistics paths are covered) and
evaluation mode for stochastic ones; ``export`` and ``onnx`` are deployment paths and use evaluation
mode for every layer. Checks that do not apply to a case (``onnx``/``inductor`` without the tag,
``channels_last`` without a 4-d or 5-d input) are skipped by :func:`applies`.
"""

from __future__ import annotations

import contextlib
import copy
import enum
import io
import itertools
import pickle
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping

import torch
from torch import Tensor, nn
from torch.utils._pytree import tree_leaves, tree_map

from tvexp._api.tiers import internal_construction
from tvexp._api.warnings import TvexpDeprecationWarning
from tvexp._tooling.conformance.table import LayerCase, seeded

__all__ = [
    "CHECKS",
    "CHECKS_BY_NAME",
    "CHECK_NAMES",
    "Check",
    "CheckOutcome",
    "CheckStatus",
    "applies",
    "failures",
    "run_conformance",
]

# float64 and float32 runs of the same layer differ by float32 rounding, amplified by normalisations.
_DTYPE_TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}
# Different kernels (channels_last convolutions, inductor's fused code, onnxruntime) reorder sums.
_KERNEL_TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}
_JIT_SCRIPT_DEPRECATION = r"`?torch\.jit\.script(_method)?`? is deprecated"

# --------------------------------------------------------------------------------------- helpers


def build(case: LayerCase, seed: int = 0) -> nn.Module:
    """The case's layer, built under a seeded RNG, in the mode the battery compares in."""
    module = construct(case, seed)
    return module.eval() if case.stochastic else module.train()


def construct(case: LayerCase, seed: int = 0) -> nn.Module:
    """The case's layer under a seeded RNG, without prototype or deprecation warnings (the battery is not a
    user: a deprecated stable layer is still a stable layer and still passes the battery)."""
    with internal_construction(), warnings.catch_warnings():
        warnings.simplefilter("ignore", TvexpDeprecationWarning)
        return seeded(case.build, seed)


def inputs_of(case: LayerCase) -> tuple[Any, ...]:
    return tuple(case.inputs())


def tensors(value: Any) -> list[Tensor]:
    return [leaf for leaf in tree_leaves(value) if isinstance(leaf, Tensor)]


def cast(inputs: Iterable[Any], dtype: torch.dtype) -> tuple[Any, ...]:
    """The inputs with every floating tensor, also inside dicts, lists and tuples, cast to ``dtype``."""
    return tuple(
        tree_map(lambda x: x.to(dtype) if isinstance(x, Tensor) and x.is_floating_point() else x, x) for x in inputs
    )


def assert_close(
    actual: Any, expected: Any, what: str, *, rtol: float | None = None, atol: float | None = None
) -> None:
    """Tensors close, and everything around them (the structure, keys and names, such as the level names of a
    feature pyramid) equal; any mapping type matches any other, as in ``torch.testing.assert_close``."""
    actual_tensors: list[Tensor] = []
    expected_tensors: list[Tensor] = []
    actual_layout = _layout(actual, actual_tensors)
    expected_layout = _layout(expected, expected_tensors)
    assert actual_layout == expected_layout, f"{what}: output structure {actual_layout} differs from {expected_layout}"
    torch.testing.assert_close(
        actual_tensors, expected_tensors, rtol=rtol, atol=atol, msg=lambda detail: f"{what}: {detail}"
    )


def _layout(value: Any, found: list[Tensor]) -> Any:
    """``value``'s structure with tensors replaced by ``"Tensor"`` (collected in ``found``, in order)."""
    if isinstance(value, Tensor):
        found.append(value)
        return "Tensor"
    if isinstance(value, Mapping):
        return [(key, _layout(item, found)) for key, item in value.items()]
    if isinstance(value, (list, tuple)):
        return [_layout(item, found) for item in value]
    return value


def shapes(value: Any) -> Any:
    """``value`` with each tensor replaced by its shape, dicts by their ``(key, item)`` lists and tuples by
    lists (a plain tuple of ints stands for a shape): the form of :attr:`LayerCase.output_shape`."""
    if isinstance(value, Tensor):
        return tuple(value.shape)
    if isinstance(value, Mapping):
        return [(key, shapes(item)) for key, item in value.items()]
    if isinstance(value, tuple) and all(isinstance(item, int) for item in value):
        return value
    if isinstance(value, (list, tuple)):
        return [shapes(item) for item in value]
    return value


def assert_shape(output: Any, case: LayerCase, what: str) -> None:
    assert shapes(output) == shapes(case.output_shape), (
        f"{what} shape {shapes(output)}, expected {shapes(case.output_shape)}"
    )


def assert_finite(value: Any, what: str) -> None:
    for tensor in tensors(value):
        if tensor.is_floating_point() or tensor.is_complex():
            assert torch.isfinite(tensor).all(), f"{what} has non-finite values"


def state_snapshot(module: nn.Module) -> dict[str, Tensor]:
    return {key: value.detach().clone() for key, value in module.state_dict().items()}


def perturb(module: nn.Module, seed: int = 123) -> nn.Module:
    """Moves every floating parameter and buffer away from its initial value, keeping signs.

    Deterministic initialisations (ones and zeros of norms) would otherwise make round trips
    that lose state look correct.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in itertools.chain(module.parameters(), module.buffers()):
            if tensor.is_floating_point():
                noise = torch.rand(tensor.shape, generator=generator).to(tensor.dtype)
                tensor.mul_(1 + 0.1 * noise).add_(0.01 * noise)
    return module


def rebatched(inputs: tuple[Any, ...]) -> tuple[Any, ...]:
    """The same inputs with twice the batch size (so a dynamic batch dimension is exercised)."""
    return tuple(
        tree_map(lambda x: torch.cat([x, x.flip(0)]) if isinstance(x, Tensor) and x.dim() > 0 else x, x) for x in inputs
    )


def dynamic_shapes(case: LayerCase, inputs: tuple[Any, ...]) -> tuple[Any, ...] | None:
    if not case.dynamic_batch:
        return None
    batch = torch.export.Dim("batch", min=2)
    return tuple(tree_map(lambda x: {0: batch} if isinstance(x, Tensor) and x.dim() > 0 else None, x) for x in inputs)


def memory_format_for(inputs: tuple[Any, ...]) -> torch.memory_format | None:
    """``channels_last``/``channels_last_3d`` for a case whose first input tensor (also the first one inside a
    dict, list or tuple) is 4-d/5-d, else ``None``."""
    first = next((leaf for leaf in tree_leaves(inputs) if isinstance(leaf, Tensor)), None)
    if isinstance(first, Tensor) and first.is_floating_point():
        return {4: torch.channels_last, 5: torch.channels_last_3d}.get(first.dim())
    return None


def tracks_running_statistics(module: nn.Module) -> bool:
    """Whether train and eval outputs differ by design (a norm with running statistics)."""
    return any(isinstance(sub, nn.modules.batchnorm._NormBase) and sub.track_running_stats for sub in module.modules())


def is_pure_regulariser(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> bool:
    """A stochastic layer without state whose output has the input's shape (dropout-like).

    Such layers are documented as the identity in evaluation mode (StochasticDepth, DropBlock).
    """
    stateless = next(itertools.chain(module.parameters(), module.buffers()), None) is None
    return (
        stateless
        and len(inputs) == 1
        and isinstance(output, Tensor)
        and isinstance(inputs[0], Tensor)
        and output.shape == inputs[0].shape
    )


@contextlib.contextmanager
def ignoring_jit_script_deprecation() -> Iterator[None]:
    """Ignores torch's own deprecation of scripting, and no other warning.

    torch 2.13 warns DeprecationWarning (FutureWarning from 2.14); torch.jit.script compiles methods
    through torch.jit.script_method, which warns too.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_JIT_SCRIPT_DEPRECATION, category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=_JIT_SCRIPT_DEPRECATION, category=FutureWarning)
        yield


def reset_all_parameters(module: nn.Module) -> None:
    """Calls ``reset_parameters`` on every submodule, children before their parents.

    A parent's own initialisation (e.g. zero-initialised last norm of a residual branch) runs last,
    so it is not overwritten by its children's defaults.
    """
    for sub in reversed(list(module.modules())):
        reset = getattr(sub, "reset_parameters", None)
        if callable(reset):
            reset()


# ---------------------------------------------------------------------------------------- checks


def check_shape(case: LayerCase) -> None:
    module = build(case)
    inputs = inputs_of(case)
    for mode in ("train", "eval"):
        getattr(module, mode)()
        with torch.no_grad():
            output = module(*inputs)
        assert_shape(output, case, f"{mode} output")
        assert_finite(output, f"{mode} output")


def check_gradients(case: LayerCase) -> None:
    module = construct(case).train()
    inputs = tuple(
        tree_map(
            lambda x: x.detach().clone().requires_grad_() if isinstance(x, Tensor) and x.is_floating_point() else x, x
        )
        for x in inputs_of(case)
    )
    output = seeded(lambda: module(*inputs), seed=1)
    generator = torch.Generator().manual_seed(7)
    loss = sum(
        (out * torch.randn(out.shape, generator=generator, dtype=out.dtype)).sum()
        for out in tensors(output)
        if out.requires_grad
    )
    assert isinstance(loss, Tensor), "no output depends on a parameter or an input"
    loss.backward()
    for name, parameter in module.named_parameters():
        if parameter.requires_grad:
            assert parameter.grad is not None, f"no gradient reached parameter {name!r}"
            assert_finite(parameter.grad, f"gradient of {name!r}")
    for index, x in enumerate(tensors(inputs)):
        if x.requires_grad:
            assert x.grad is not None, f"no gradient reached input {index}"
            assert_finite(x.grad, f"gradient of input {index}")


def check_float64(case: LayerCase) -> None:
    module = build(case)
    inputs = inputs_of(case)
    with torch.no_grad():
        expected = copy.deepcopy(module)(*inputs)
        output = module.to(torch.float64)(*cast(inputs, torch.float64))
    for tensor in tensors(output):
        if tensor.is_floating_point():
            assert tensor.dtype == torch.float64, f"float64 module and input gave a {tensor.dtype} output"
    assert_close(cast((output,), torch.float32)[0], expected, "float64 output vs float32 output", **_DTYPE_TOLERANCE)


def check_bfloat16(case: LayerCase) -> None:
    module = build(case)
    inputs = inputs_of(case)
    with torch.no_grad():
        output = module.to(torch.bfloat16)(*cast(inputs, torch.bfloat16))
    for tensor in tensors(output):
        if tensor.is_floating_point():
            assert tensor.dtype == torch.bfloat16, f"bfloat16 module and input gave a {tensor.dtype} output"
    assert_shape(output, case, "bfloat16 output")
    assert_finite(output, "bfloat16 output")


def check_state_dict(case: LayerCase) -> None:
    source = perturb(build(case, seed=0))
    target = build(case, seed=1)
    state = source.state_dict()
    target.load_state_dict(state, strict=True)
    assert list(target.state_dict()) == list(state), "state_dict keys (or their order) changed on loading"
    assert_close(state_snapshot(target), state_snapshot(source), "loaded state")
    inputs = inputs_of(case)
    with torch.no_grad():
        assert_close(target(*inputs), source(*inputs), "output after state_dict round trip")


def check_pickle(case: LayerCase) -> None:
    module = perturb(build(case))
    restored = pickle.loads(pickle.dumps(module))
    duplicate = copy.deepcopy(module)
    assert type(restored) is type(module) and type(duplicate) is type(module)
    assert restored.training == module.training, "pickling changed the training flag"
    inputs = inputs_of(case)
    with torch.no_grad():
        expected = copy.deepcopy(module)(*inputs)
        assert_close(restored(*inputs), expected, "output after pickle round trip")
        assert_close(duplicate(*inputs), expected, "output after copy.deepcopy")


def check_script(case: LayerCase) -> None:
    module = build(case)
    with ignoring_jit_script_deprecation():
        scripted = torch.jit.script(copy.deepcopy(module))
    inputs = inputs_of(case)
    with torch.no_grad():
        assert_close(scripted(*inputs), module(*inputs), "torch.jit.script output vs eager")


def check_export(case: LayerCase) -> None:
    module = construct(case).eval()
    inputs = inputs_of(case)
    torch._dynamo.reset()
    try:
        exported = torch.export.export(copy.deepcopy(module), inputs, dynamic_shapes=dynamic_shapes(case, inputs))
        program = exported.module()
        with torch.no_grad():
            assert_close(program(*inputs), module(*inputs), "torch.export output vs eager")
            if case.dynamic_batch:
                larger = rebatched(inputs)
                assert_close(program(*larger), module(*larger), "torch.export output at another batch size")
    finally:
        torch._dynamo.reset()


def check_compile(case: LayerCase) -> None:
    module = build(case)
    inputs = inputs_of(case)
    # A stochastic layer is compared in eval mode, but its training path must compile too.
    modes = [module.training] + ([True] if case.stochastic else [])
    try:
        for training in modes:
            mode = "train" if training else "eval"
            torch._dynamo.reset()
            explained = torch._dynamo.explain(copy.deepcopy(module).train(training))(*inputs)
            # A forward that returns its input unchanged captures no graph (graph_break_count is -1 then).
            assert not explained.break_reasons and explained.graph_count <= 1, (
                f"{len(explained.break_reasons)} graph break(s) in {mode} mode: "
                f"{[reason.reason.strip().splitlines()[0] for reason in explained.break_reasons]}"
            )
            # explain() misses some breaks (a print is reordered); fullgraph=True raises on every one.
            torch._dynamo.reset()
            compiled = torch.compile(copy.deepcopy(module).train(training), fullgraph=True, backend="eager")
            with torch.no_grad():
                output = compiled(*inputs)
                if training == module.training:
                    assert_close(output, module(*inputs), f"torch.compile(backend='eager') output vs eager ({mode})")
    finally:
        torch._dynamo.reset()


def check_inductor(case: LayerCase) -> None:
    module = build(case)
    inputs = inputs_of(case)
    torch._dynamo.reset()
    # Inductor's first use imports torch modules that call torch.jit.script_method.
    with ignoring_jit_script_deprecation():
        _check_inductor(case, module, inputs)


def _check_inductor(case: LayerCase, module: nn.Module, inputs: tuple[Any, ...]) -> None:
    try:
        compiled = torch.compile(copy.deepcopy(module), fullgraph=True)
        with torch.no_grad():
            assert_close(compiled(*inputs), module(*inputs), "inductor output vs eager", **_KERNEL_TOLERANCE)
        if case.stochastic:
            # Inductor draws its own random numbers, so the training path is checked for shape and finiteness.
            torch._dynamo.reset()
            compiled = torch.compile(copy.deepcopy(module).train(), fullgraph=True)
            with torch.no_grad():
                output = compiled(*inputs)
            assert tuple(output.shape) == tuple(case.output_shape), f"inductor train output shape {tuple(output.shape)}"
            assert_finite(output, "inductor train output")
    finally:
        torch._dynamo.reset()


def check_fx(case: LayerCase) -> None:
    module = build(case)
    if case.stochastic:
        torch.fx.symbolic_trace(copy.deepcopy(module).train())  # the training path must trace as well
    traced = torch.fx.symbolic_trace(copy.deepcopy(module))
    inputs = inputs_of(case)
    with torch.no_grad():
        assert_close(traced(*inputs), module(*inputs), "torch.fx.symbolic_trace output vs eager")


def check_onnx(case: LayerCase) -> None:
    import onnxruntime  # local import: an optional, heavy dependency needed by this check alone

    module = construct(case).eval()
    inputs = inputs_of(case)
    torch._dynamo.reset()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            program = torch.onnx.export(
                copy.deepcopy(module), inputs, dynamo=True, dynamic_shapes=dynamic_shapes(case, inputs), verbose=False
            )
    finally:
        torch._dynamo.reset()
    assert program is not None  # dynamo=True always returns an ONNXProgram
    session = onnxruntime.InferenceSession(program.model_proto.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [argument.name for argument in session.get_inputs()]
    for sample in [inputs] + ([rebatched(inputs)] if case.dynamic_batch else []):
        feeds = dict(zip(names, (x.numpy() for x in sample if isinstance(x, Tensor))))
        with torch.no_grad():
            expected = tensors(module(*sample))
        actual = [torch.from_numpy(value) for value in session.run(None, feeds)]
        assert_close(actual, expected, f"onnxruntime output vs eager (batch {sample[0].shape[0]})", **_KERNEL_TOLERANCE)


def check_channels_last(case: LayerCase) -> None:
    inputs = inputs_of(case)
    memory_format = memory_format_for(inputs)
    assert memory_format is not None, "channels_last needs a 4-d or 5-d first input"
    module = build(case)
    dim = 4 if memory_format == torch.channels_last else 5
    converted = tuple(
        tree_map(lambda x: x.to(memory_format=memory_format) if isinstance(x, Tensor) and x.dim() == dim else x, x)
        for x in inputs
    )
    with torch.no_grad():
        expected = copy.deepcopy(module)(*inputs)
        # Module.to accepts memory_format at run time; torch's overloads for it leave the keyword out.
        output = copy.deepcopy(module).to(memory_format=memory_format)(*converted)  # type: ignore[call-overload]
    assert_close(output, expected, "channels_last output vs contiguous output", **_KERNEL_TOLERANCE)
    for tensor in tensors(output):
        if tensor.dim() == dim:
            assert tensor.is_contiguous(memory_format=memory_format), (
                f"output lost the channels_last memory format (strides {tensor.stride()}); "
                "declare expected_failures['channels_last'] if the layer's ops do not keep it"
            )


def check_train_eval(case: LayerCase) -> None:
    module = construct(case)
    inputs = inputs_of(case)
    before = state_snapshot(module)
    with torch.no_grad():
        if case.stochastic:
            module.eval()
            first = seeded(lambda: module(*inputs), seed=1)
            second = seeded(lambda: module(*inputs), seed=2)
            assert_close(second, first, "eval output under two RNG seeds (must be deterministic)")
            if is_pure_regulariser(module, inputs, first):
                assert_close(first, inputs[0], "eval output of a stateless regulariser (must be the identity)")
            assert_close(state_snapshot(module), before, "state after eval forwards (must not change)")
            module.train()
            assert_close(
                seeded(lambda: module(*inputs), seed=3),
                seeded(lambda: module(*inputs), seed=3),
                "train output under the same RNG seed (must be reproducible)",
            )
        elif tracks_running_statistics(module):
            module.eval()
            first, second = module(*inputs), module(*inputs)
            assert_close(second, first, "repeated eval outputs")
            assert_close(state_snapshot(module), before, "state after eval forwards (must not change)")
            module.train()
            module(*inputs)
            after = state_snapshot(module)
            changed = [key for key in before if not torch.equal(before[key], after[key])]
            assert changed, "a train forward did not update the running statistics"
        else:
            train_output = module.train()(*inputs)
            eval_output = module.eval()(*inputs)
            assert_close(eval_output, train_output, "eval output vs train output of a deterministic layer")
            assert_close(state_snapshot(module), before, "state after forwards (must not change)")


def check_meta(case: LayerCase) -> None:
    with torch.device("meta"):
        module = construct(case)
    on_other_devices = [
        name
        for name, tensor in itertools.chain(module.named_parameters(), module.named_buffers())
        if not tensor.is_meta
    ]
    assert not on_other_devices, f"not created on the meta device: {on_other_devices}"
    module.to_empty(device="cpu")
    reset_all_parameters(module)
    reference = construct(case)
    for name, buffer in reference.named_buffers():
        assert_close(module.get_buffer(name), buffer, f"buffer {name!r} after to_empty + reset_parameters")
    for name, parameter in module.named_parameters():
        assert_finite(parameter, f"parameter {name!r} after to_empty + reset_parameters")
    module.eval() if case.stochastic else module.train()
    with torch.no_grad():
        output = module(*inputs_of(case))
    assert_shape(output, case, "output of a module built on the meta device")
    assert_finite(output, "output of a module built on the meta device")


def check_repr(case: LayerCase) -> None:
    module = build(case)
    text = repr(module)
    name = type(module).__name__
    assert text.startswith(name + "("), f"repr {text!r} does not start with {name}("
    assert module.extra_repr() or next(module.children(), None) is not None, (
        f"repr {text!r} names no hyperparameters: define extra_repr"
    )


def _tagged(tag: str) -> Callable[[LayerCase], bool]:
    return lambda case: tag in case.tags


def _has_image_input(case: LayerCase) -> bool:
    return memory_format_for(inputs_of(case)) is not None


def _always(_case: LayerCase) -> bool:
    return True


@dataclass(frozen=True)
class Check:
    """One check of the battery: what it promises, how to run it, and for which cases.

    A case declares a known limit as ``expected_failures[name] = reason``; the battery turns it into a
    strict expected failure, so a limit that goes away is noticed too.
    """

    name: str
    run: Callable[[LayerCase], None]
    promise: str
    slow: bool = False
    applies: Callable[[LayerCase], bool] = _always


# Every check the battery knows: pytest (tests/conformance/test_layer_battery.py) and
# ``tvexp-api promote`` both run this registry.
CHECKS: tuple[Check, ...] = (
    Check("shape", check_shape, "the output has the case's shape"),
    Check("gradients", check_gradients, "every parameter that requires grad receives a finite gradient"),
    Check("float64", check_float64, "a float64 module and input give a float64 output close to float32"),
    Check("bfloat16", check_bfloat16, "a bfloat16 module and input give a bfloat16 output"),
    Check("state_dict", check_state_dict, "a state_dict round trip into a fresh instance gives equal outputs"),
    Check("pickle", check_pickle, "pickle and copy.deepcopy round trips give equal outputs"),
    Check("script", check_script, "torch.jit.script equals eager"),
    Check("export", check_export, "torch.export with a dynamic batch dimension equals eager"),
    Check("compile", check_compile, "torch.compile(fullgraph=True, backend='eager') with zero graph breaks"),
    Check("inductor", check_inductor, "torch.compile with inductor equals eager", True, _tagged("inductor")),
    Check("fx", check_fx, "torch.fx.symbolic_trace equals eager"),
    Check("onnx", check_onnx, "dynamo ONNX export checked with onnxruntime", True, _tagged("onnx")),
    Check(
        "channels_last",
        check_channels_last,
        "channels_last input gives the same result, and keeps the format where ops do",
        applies=_has_image_input,
    ),
    Check("train_eval", check_train_eval, "train/eval semantics as documented"),
    Check("meta", check_meta, "construction on the meta device, then to_empty + reset_parameters"),
    Check("repr", check_repr, "the repr names the class and its hyperparameters"),
)
CHECKS_BY_NAME: dict[str, Check] = {check.name: check for check in CHECKS}
CHECK_NAMES: tuple[str, ...] = tuple(CHECKS_BY_NAME)


def applies(case: LayerCase, check: str) -> bool:
    """Whether the check named ``check`` is run for ``case``."""
    return CHECKS_BY_NAME[check].applies(case)


class CheckStatus(str, enum.Enum):
    """How one check ended for one case."""

    PASSED = "passed"
    FAILED = "failed"
    EXPECTED_FAILURE = "expected failure"  # a declared limit that still holds
    UNEXPECTEDLY_PASSED = "unexpectedly passed"  # a declared limit that no longer holds

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class CheckOutcome:
    """The status of one check on one case, with the first line of the error or the declared reason."""

    status: CheckStatus
    detail: str = ""

    @property
    def fails_the_battery(self) -> bool:
        return self.status in (CheckStatus.FAILED, CheckStatus.UNEXPECTEDLY_PASSED)

    def __str__(self) -> str:
        return f"{self.status}: {self.detail}" if self.detail else str(self.status)


def run_conformance(case: LayerCase, checks: tuple[str, ...] = CHECK_NAMES) -> dict[str, CheckOutcome]:
    """Runs the named checks that apply to ``case``; returns ``check name -> outcome``."""
    outcomes: dict[str, CheckOutcome] = {}
    for name in checks:
        check = CHECKS_BY_NAME[name]
        if not check.applies(case):
            continue
        reason = case.expected_failures.get(name)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                check.run(case)
        except Exception as error:  # any failure of the check is an outcome, not a crash of the caller
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            outcomes[name] = (
                CheckOutcome(CheckStatus.EXPECTED_FAILURE, reason)
                if reason
                else CheckOutcome(CheckStatus.FAILED, f"{type(error).__name__}: {first}")
            )
        else:
            outcomes[name] = CheckOutcome(CheckStatus.UNEXPECTEDLY_PASSED if reason else CheckStatus.PASSED)
    return outcomes


def failures(outcomes: dict[str, CheckOutcome]) -> dict[str, CheckOutcome]:
    """The outcomes that fail the battery: failures and declared limits that no longer hold.

    A declared limit that still holds passes the battery, as in the pytest battery's strict xfail.
    """
    return {name: outcome for name, outcome in outcomes.items() if outcome.fails_the_battery}
