"""Post-training int8 quantization of a model built from tvexp blocks with torchao's PT2E flow.

The flow is ``torch.export`` -> ``prepare_pt2e`` (insert observers) -> calibration -> ``convert_pt2e``
(insert quantize/dequantize pairs), with the x86 inductor quantizer by default. The converted graph runs
in float ("reference" quantize-dequantize form) until ``torch.compile`` lowers it to int8 kernels; see
``docs/guide/quantization.rst`` for the whole recipe. torchao is an optional dependency: it is imported
only when :func:`quantize_pt2e` runs.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Iterable

import torch
from torch import Tensor, nn

from tvexp._api.tiers import prototype

if TYPE_CHECKING:
    from torchao.quantization.pt2e.quantizer import Quantizer

__all__ = ["quantize_pt2e", "split_repeated_module_calls"]

_REPEATED_CALL = re.compile(r"@(\d+)$")


@prototype(since="0.1.0")
def quantize_pt2e(
    model: nn.Module,
    example_inputs: tuple[Tensor, ...],
    calibration_batches: Iterable[Tensor | tuple[Tensor, ...]],
    quantizer: Quantizer | None = None,
    *,
    dynamic_shapes: Any = None,
) -> torch.fx.GraphModule:
    """Quantizes ``model`` to int8 after training with torchao's PT2E flow and returns the converted graph.

    Exports ``model`` in evaluation mode with :func:`torch.export.export`, annotates it with
    ``quantizer`` (default: torchao's ``X86InductorQuantizer`` with its default static, per-channel
    weight config), runs every calibration batch through the observed graph and converts it. The
    result computes in the quantize-dequantize form, close to what int8 kernels compute; compile it
    with ``torch.compile`` (with ``torch._inductor.config.freezing = True``) to run int8 kernels.

    Two things are done that the bare torchao calls do not do: the model's training flag is restored
    afterwards, and an activation module that a block calls twice (torchvision's ``BasicBlock`` and
    ``Bottleneck`` call ``self.relu`` after the first convolution and again after the skip addition)
    is split into one pattern per call, because the x86 quantizer otherwise rejects the graph with
    "Input partition has more than one output node".

    Args:
        model: The float model. BatchNorm is folded into the preceding convolution.
        example_inputs: Inputs for ``torch.export`` (positional arguments of ``forward``).
        calibration_batches: Batches representative of real data; a batch is a tensor or a tuple of
            positional arguments. At least one is required.
        quantizer: A torchao PT2E quantizer. Default: ``X86InductorQuantizer`` with
            ``get_default_x86_inductor_quantization_config()``.
        dynamic_shapes: Passed to :func:`torch.export.export` (for example a dynamic batch size).

    Returns:
        The converted :class:`torch.fx.GraphModule` (no training mode: it is an inference graph).

    Raises:
        ImportError: torchao is not installed.
        ValueError: ``calibration_batches`` is empty.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU())
        >>> x = torch.randn(2, 3, 16, 16)
        >>> quantized = quantize_pt2e(net, (x,), [x])
        >>> quantized(x).shape
        torch.Size([2, 8, 14, 14])
    """
    try:  # local import: torchao is the optional `quantization` extra
        from torchao.quantization.pt2e.quantize_pt2e import (
            convert_pt2e,
            prepare_pt2e,
        )

        # local import: (torchao, as above)
        from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import (
            X86InductorQuantizer,
            get_default_x86_inductor_quantization_config,
        )
    except ImportError as error:  # pragma: no cover - torchao is part of the development environment
        raise ImportError("quantize_pt2e needs torchao: pip install torchao") from error
    if not isinstance(example_inputs, tuple):
        raise TypeError(f"example_inputs must be a tuple of forward arguments, got {type(example_inputs).__name__}")
    if quantizer is None:
        quantizer = X86InductorQuantizer().set_global(get_default_x86_inductor_quantization_config())

    was_training = model.training
    model.eval()
    try:
        exported = torch.export.export(model, example_inputs, dynamic_shapes=dynamic_shapes).module()
    finally:
        model.train(was_training)
    split_repeated_module_calls(exported)
    prepared = prepare_pt2e(exported, quantizer)
    calibrated = 0
    with torch.no_grad():
        for batch in calibration_batches:
            prepared(*batch) if isinstance(batch, tuple) else prepared(batch)
            calibrated += 1
    if calibrated == 0:
        raise ValueError("calibration_batches must yield at least one batch, got none")
    return convert_pt2e(prepared)


@prototype(since="0.1.0")
def split_repeated_module_calls(graph_module: torch.fx.GraphModule) -> int:
    """Gives each call of a module that ``forward`` calls several times its own module path.

    Needed only when calling torchao's ``prepare_pt2e`` directly on a model whose blocks reuse one
    activation module (``BasicBlock`` and ``Bottleneck`` call ``relu`` before and after the skip
    addition, as torchvision's do); :func:`quantize_pt2e` does it for you.

    PT2E quantizers group the nodes of an exported graph into patterns by the module they came from
    (the innermost ``nn_module_stack`` entry). ``torch.export`` records the second call of
    ``self.relu`` under the same path ``"block.relu"`` (its stack key gets an ``@1`` suffix), so both
    calls land in one pattern with two outputs, which the x86 quantizer rejects. This renames the
    path of call ``k > 0`` to ``"block.relu@k"``. Only metadata changes, in place; calling it
    again renames nothing.

    Args:
        graph_module: The module of an exported program (``torch.export.export(...).module()``).

    Returns:
        The number of graph nodes whose module path was renamed.

    Example:
        >>> import tvexp.prototype as tvp
        >>> block = tvp.BasicBlock(8, 8).eval()
        >>> exported = torch.export.export(block, (torch.randn(2, 8, 8, 8),)).module()
        >>> tvp.split_repeated_module_calls(exported), tvp.split_repeated_module_calls(exported)
        (1, 0)
    """
    if not isinstance(graph_module, torch.fx.GraphModule):
        raise TypeError(
            "graph_module must be a torch.fx.GraphModule, e.g. torch.export.export(model, args).module(), "
            f"got {type(graph_module).__name__}"
        )
    renamed = 0
    for node in graph_module.graph.nodes:
        stack = node.meta.get("nn_module_stack")
        if node.op != "call_function" or not stack:
            continue
        key = next(reversed(stack))
        match = _REPEATED_CALL.search(key)
        if match is None:
            continue
        path, module_type = stack[key]
        if not path.endswith(match.group(0)):
            stack[key] = (f"{path}{match.group(0)}", module_type)
            renamed += 1
    return renamed
