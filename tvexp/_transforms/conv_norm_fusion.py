"""Folding eval-mode batch norms into the convolutions that feed them, for faster inference.

A batch norm in eval mode is a per-channel affine map, ``y = (x - mean) / sqrt(var + eps) * w + b``,
and a convolution is linear per output channel, so the two compose into one convolution with
scaled weights and a new bias (`Ioffe & Szegedy, 2015 <https://arxiv.org/abs/1502.03167>`_).
"""

from __future__ import annotations

import copy
import warnings
from typing import Iterable

import torch
import torch.fx
from torch import Tensor, nn

from tvexp._api.stacklevel import external_stacklevel
from tvexp._api.tiers import prototype
from tvexp._layers._block_parts import CONV_NORM_PAIRS_ATTRIBUTE
from tvexp._layers.frozen_batch_norm import _FrozenBatchNorm

__all__ = ["fuse_conv_norm"]

# Exact types only: a subclass may change what its weights mean (weight standardisation, for one).
_CONVOLUTIONS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_TRANSPOSED_CONVOLUTIONS = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


def _is_convolution(module: nn.Module) -> bool:
    return type(module) in _CONVOLUTIONS + _TRANSPOSED_CONVOLUTIONS


def _is_foldable_norm(module: nn.Module) -> bool:
    if type(module) in _BATCH_NORMS:
        # Without running statistics a batch norm normalises with batch statistics even in eval.
        return module.running_mean is not None and module.running_var is not None
    return isinstance(module, _FrozenBatchNorm)


def _pairs_in_sequentials(model: nn.Module) -> list[tuple[str, str]]:
    """Adjacent (convolution, norm) children of every plain ``nn.Sequential`` (or subclass that
    keeps Sequential's forward, like the Conv*NormActivation blocks)."""
    pairs = []
    for path, module in model.named_modules():
        if not isinstance(module, nn.Sequential) or type(module).forward is not nn.Sequential.forward:
            continue
        children = list(module.named_children())
        for (first_name, first), (second_name, second) in zip(children, children[1:]):
            if _is_convolution(first) and _is_foldable_norm(second):
                prefix = f"{path}." if path else ""
                pairs.append((prefix + first_name, prefix + second_name))
    return pairs


def _pairs_in_declaring_blocks(model: nn.Module) -> list[tuple[str, str]]:
    """The (convolution, norm) children that a block's own class declares in ``CONV_NORM_PAIRS``
    (a promise that its forward applies the norm to the convolution's output and nothing else reads
    it). Only the declaring class itself counts: a subclass may override ``forward``."""
    pairs = []
    for path, module in model.named_modules():
        declared = vars(type(module)).get(CONV_NORM_PAIRS_ATTRIBUTE, ())
        prefix = f"{path}." if path else ""
        for conv_name, norm_name in declared:
            conv, norm = getattr(module, conv_name, None), getattr(module, norm_name, None)
            if conv is not None and norm is not None and _is_convolution(conv) and _is_foldable_norm(norm):
                pairs.append((prefix + conv_name, prefix + norm_name))
    return pairs


class _LeafTracer(torch.fx.Tracer):
    def is_leaf_module(self, module: nn.Module, qualified_name: str) -> bool:
        return _is_convolution(module) or _is_foldable_norm(module) or super().is_leaf_module(module, qualified_name)


def _pairs_in_graph(model: nn.Module) -> list[tuple[str, str]]:
    """Pairs found by symbolic tracing: a convolution whose only user is a norm applied to it.

    Covers modules whose forward is not known from their type (a ResNet stem's ``conv1``/``bn1``).
    Returns nothing when the model cannot be traced.
    """
    try:
        graph = _LeafTracer().trace(model)
    except Exception:
        return []
    modules = dict(model.named_modules())
    calls: dict[str, int] = {}
    for node in graph.nodes:
        if node.op == "call_module":
            calls[node.target] = calls.get(node.target, 0) + 1
    pairs = []
    for node in graph.nodes:
        if node.op != "call_module" or not _is_convolution(modules[node.target]) or len(node.users) != 1:
            continue
        (user,) = node.users
        if (
            user.op == "call_module"
            and _is_foldable_norm(modules[user.target])
            and user.args == (node,)
            and not user.kwargs
            and calls[node.target] == 1
            and calls[user.target] == 1
        ):
            pairs.append((str(node.target), str(user.target)))
    return pairs


def _fold(convolution: nn.Module, norm: nn.Module) -> None:
    """Folds ``norm`` into ``convolution``'s weight and bias, in place."""
    # The callers pass pairs that _is_convolution and _is_foldable_norm accepted.
    assert isinstance(convolution, nn.modules.conv._ConvNd)
    assert isinstance(norm, (nn.modules.batchnorm._BatchNorm, _FrozenBatchNorm))
    running_mean, running_var = norm.running_mean, norm.running_var
    assert running_mean is not None and running_var is not None
    # A batch norm's weight and bias are parameters, or None when affine=False.
    norm_weight: Tensor | None = norm.weight
    norm_bias: Tensor | None = norm.bias
    weight = convolution.weight
    dtype = weight.dtype
    with torch.no_grad():
        variance = running_var.double()
        scale = torch.rsqrt(variance + norm.eps)
        if norm_weight is not None:
            scale = scale * norm_weight.double()
        shift = -running_mean.double() * scale
        if norm_bias is not None:
            shift = shift + norm_bias.double()
        old_bias = convolution.bias
        bias = shift if old_bias is None else old_bias.double() * scale + shift
        out_channels = scale.numel()
        if type(convolution) in _TRANSPOSED_CONVOLUTIONS:
            # Weight (in, out / groups, *kernel): output channel g * (out / groups) + j of group g.
            groups = convolution.groups
            grouped = weight.double().reshape(groups, weight.shape[0] // groups, out_channels // groups, -1)
            folded = (grouped * scale.reshape(groups, 1, out_channels // groups, 1)).reshape(weight.shape)
        else:
            folded = weight.double() * scale.reshape([-1] + [1] * (weight.dim() - 1))
    convolution.weight = nn.Parameter(folded.to(dtype), requires_grad=weight.requires_grad)
    convolution.bias = nn.Parameter(bias.to(dtype), requires_grad=weight.requires_grad)


def _set_submodule(model: nn.Module, path: str, module: nn.Module) -> None:
    parent_path, _, name = path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    setattr(parent, name, module)


@prototype(since="0.1.0")
def fuse_conv_norm(model: nn.Module, *, pairs: Iterable[tuple[str, str]] = ()) -> nn.Module:
    """Returns a copy of an eval-mode model with batch norms folded into the convolutions before them.

    Folds every convolution (``nn.Conv1d/2d/3d``, ``nn.ConvTranspose1d/2d/3d``, any ``groups``)
    followed by a batch norm with running statistics (``nn.BatchNorm1d/2d/3d``,
    ``nn.SyncBatchNorm``, tvexp's ``FrozenBatchNorm1d/2d/3d``) where that is provably the same
    computation: adjacent children of an ``nn.Sequential`` (the ``0``/``1`` children of the
    Conv*NormActivation blocks, ``downsample.0/1``), the ``conv{k}``/``bn{k}`` pairs of tvexp's
    residual blocks, and any convolution whose only consumer is a norm in the symbolically traced
    model (a ResNet stem's ``conv1``/``bn1``). Each folded norm is replaced by ``nn.Identity``, so
    the paths and state-dict keys of everything else stay the same. The input model is not
    modified, and the result shares no parameters or buffers with it.

    Folding uses the norm's running statistics, i.e. eval-mode behaviour, so the model must be in
    eval mode; convolution subclasses are left alone (they may reinterpret their weights). A pair
    found by the rules above whose channel counts differ (a model that would fail at that norm) is
    left unfused with a ``UserWarning`` naming it; such an entry of ``pairs`` raises ``ValueError``.

    Args:
        model: The model, in eval mode.
        pairs: Extra ``(convolution path, norm path)`` pairs to fold, for modules the rules above
            cannot see into; you vouch that the norm is applied directly to the convolution's output.

    Returns:
        The fused copy, in eval mode.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU()).eval()
        >>> fused = fuse_conv_norm(model)
        >>> fused
        Sequential(
          (0): Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1))
          (1): Identity()
          (2): ReLU()
        )
        >>> x = torch.randn(2, 3, 16, 16)
        >>> torch.allclose(fused(x), model(x), atol=1e-5)
        True
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    training = [path or "<model>" for path, module in model.named_modules() if module.training]
    if training:
        raise ValueError(
            "fuse_conv_norm folds eval-mode (running) statistics and needs a model in eval mode; call "
            f"model.eval() first (in training mode: {', '.join(training[:3])}{', ...' if len(training) > 3 else ''})"
        )
    fused = copy.deepcopy(model)
    modules = dict(fused.named_modules(remove_duplicate=False))
    extra = list(pairs)
    for conv_path, norm_path in extra:
        for path in (conv_path, norm_path):
            if path not in modules:
                raise ValueError(f"pairs names {path!r}, which is not a submodule of the model")
        if not _is_convolution(modules[conv_path]) or not _is_foldable_norm(modules[norm_path]):
            raise ValueError(
                f"pairs entry ({conv_path!r}, {norm_path!r}) must name a convolution and a batch norm with "
                f"running statistics, got {type(modules[conv_path]).__name__} and {type(modules[norm_path]).__name__}"
            )
    # A module reachable under two paths may be used twice; folding it would change both uses.
    seen: dict[int, int] = {}
    for module in modules.values():
        seen[id(module)] = seen.get(id(module), 0) + 1
    for conv_path, norm_path in extra:
        convolution, norm = modules[conv_path], modules[norm_path]
        if norm.num_features != convolution.out_channels:
            raise ValueError(
                f"pairs entry ({conv_path!r}, {norm_path!r}) cannot be folded: the convolution has "
                f"{convolution.out_channels} output channels and the norm {norm.num_features} features"
            )
    found = _pairs_in_sequentials(fused) + _pairs_in_declaring_blocks(fused) + _pairs_in_graph(fused) + extra
    done: set[str] = set()
    mismatched: list[str] = []
    for conv_path, norm_path in found:
        if conv_path in done or norm_path in done:
            continue
        convolution, norm = modules[conv_path], modules[norm_path]
        if seen[id(convolution)] > 1 or seen[id(norm)] > 1:
            continue
        out_channels = convolution.out_channels
        if norm.num_features != out_channels:
            # Such a model fails at its first forward; folding would hide that, skipping silently too.
            mismatched.append(f"{conv_path} ({out_channels} channels) -> {norm_path} ({norm.num_features} features)")
            continue
        _fold(convolution, norm)
        _set_submodule(fused, norm_path, nn.Identity())
        done.update((conv_path, norm_path))
    if mismatched:
        warnings.warn(
            "fuse_conv_norm left convolution/norm pairs whose channel counts do not match unfused (the model "
            f"would fail at these norms anyway): {'; '.join(mismatched)}",
            UserWarning,
            stacklevel=external_stacklevel(),
        )
    return fused
