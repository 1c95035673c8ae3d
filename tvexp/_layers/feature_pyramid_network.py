"""Feature Pyramid Network and its extra coarse levels (Lin et al., arXiv:1612.03144; RetinaNet, arXiv:1708.02002)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Callable

import torch
import torch.fx
import torch.nn.functional as F
from torch import Tensor, nn

from tvexp._api.deprecation import StateDictMigration, migrate_state_dict
from tvexp._api.tiers import prototype
from tvexp._api.validation import InvalidInputError, check_positive_int
from tvexp._layers._block_parts import Factory
from tvexp._layers._input_checks import checked_channels_first
from tvexp._layers.conv_norm_activation import Conv2dNormActivation
from tvexp._layers.layer_builders import check_builder

__all__ = ["FeaturePyramidNetwork", "LastLevelMaxPool", "LastLevelP6P7"]

# A leaf for torch.fx: the input check reads the traced input's shape.
torch.fx.wrap("checked_channels_first")

# torchvision before 0.13 built the FPN's blocks as plain nn.Conv2d, so its checkpoints (FPN state-dict
# version 1) name them ``inner_blocks.N.weight``; since then they are Conv2dNormActivation, ``inner_blocks.N.0.weight``.
# torchvision's own builders made at most 6 levels (mobilenet_backbone); the migration covers 8.
_LEGACY_LEVELS = 8
_LEGACY_BLOCK_KEYS = StateDictMigration(
    from_version=1,
    renames={
        f"{blocks}.{level}.{name}": f"{blocks}.{level}.0.{name}"
        for blocks in ("inner_blocks", "layer_blocks")
        for level in range(_LEGACY_LEVELS)
        for name in ("weight", "bias")
    },
    since="0.2.0",
    removed_in="0.4.0",
)


def _checked_level_count(names: list[str], expected: int) -> list[str]:
    if len(names) != expected:
        raise InvalidInputError(
            f"FeaturePyramidNetwork expects {expected} feature maps (one per entry of in_channels_list), got "
            f"{len(names)} (keys {names})"
        )
    return names


def _check_in_channels_list(in_channels_list: object) -> list[int]:
    if isinstance(in_channels_list, (str, bytes)) or not isinstance(in_channels_list, Sequence):
        raise TypeError(
            f"in_channels_list must be a non-empty list of positive ints, got {in_channels_list!r} of type "
            f"{type(in_channels_list).__name__}"
        )
    if len(in_channels_list) == 0:
        raise ValueError("in_channels_list must be a non-empty list of positive ints, got []")
    return [check_positive_int(value, f"in_channels_list[{index}]") for index, value in enumerate(in_channels_list)]


@migrate_state_dict(_LEGACY_BLOCK_KEYS)
@prototype(since="0.2.0")
class FeaturePyramidNetwork(nn.Module):
    r"""A feature pyramid: lateral 1x1 convolutions, a nearest-neighbour top-down path and 3x3 smoothing.

    From `Feature Pyramid Networks for Object Detection <https://arxiv.org/abs/1612.03144>`_: for
    feature maps :math:`C_1 \dots C_L` ordered from the finest to the coarsest,

    .. math::
        M_L = \operatorname{inner}_L(C_L), \qquad
        M_i = \operatorname{inner}_i(C_i) + \operatorname{upsample}(M_{i+1}), \qquad
        P_i = \operatorname{layer}_i(M_i)

    where ``inner`` is a 1x1 and ``layer`` a 3x3 :class:`~tvexp.stable.Conv2dNormActivation`
    (without activation, with a norm where ``norm_layer`` is given) and ``upsample`` resizes to the
    finer map's size. ``extra_blocks`` may append coarser levels (:class:`LastLevelMaxPool`,
    :class:`LastLevelP6P7`, or any module with their call contract, torchvision's included).

    Input and output are dictionaries (an ``OrderedDict`` as torchvision's), keyed by level name in
    the order of ``in_channels_list``. Submodule names (``inner_blocks``, ``layer_blocks``,
    ``extra_blocks``), the initialisation (Kaiming-uniform with ``a=1``, zero biases) and the state
    dict follow torchvision's ``FeaturePyramidNetwork``, so its checkpoints load with
    ``strict=True``; checkpoints of torchvision before 0.13 (state-dict version 1, keys
    ``inner_blocks.N.weight``) are renamed on load for up to 8 levels, with a
    :class:`~tvexp.TvexpDeprecationWarning`.

    Unlike torchvision's, it rejects a number of feature maps other than ``len(in_channels_list)``
    and maps whose channels differ from ``in_channels_list`` (an ``InvalidInputError``, a
    ``ValueError`` and ``RuntimeError``), and its extra blocks do not modify the lists they are given.

    Args:
        in_channels_list: Channels of each input feature map, finest first.
        out_channels: Channels of every output level.
        extra_blocks: A module called as ``extra_blocks(results, features, names)`` that returns the
            extended ``(results, names)``, or ``None`` for no extra level.
        norm_layer: Builds a norm after each convolution (which then has no bias); ``None`` for none.
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: a dict of :math:`(N, C_i, H_i, W_i)` with ``C_i = in_channels_list[i]``.
        - Output: a dict of :math:`(N, out\_channels, H_i, W_i)` with the input's keys, then the extra
          blocks' levels.

    Example:
        >>> fpn = FeaturePyramidNetwork([16, 32], 8, extra_blocks=LastLevelMaxPool())
        >>> features = OrderedDict(c3=torch.randn(1, 16, 32, 32), c4=torch.randn(1, 32, 16, 16))
        >>> [(name, tuple(level.shape)) for name, level in fpn(features).items()]
        [('c3', (1, 8, 32, 32)), ('c4', (1, 8, 16, 16)), ('pool', (1, 8, 8, 8))]
    """

    _version = 2

    def __init__(
        self,
        in_channels_list: list[int],
        out_channels: int,
        extra_blocks: nn.Module | None = None,
        norm_layer: Callable[..., nn.Module] | None = None,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        channels = _check_in_channels_list(in_channels_list)
        out_channels = check_positive_int(out_channels, "out_channels")
        if extra_blocks is not None and not isinstance(extra_blocks, nn.Module):
            raise TypeError(
                f"extra_blocks must be an nn.Module instance (e.g. LastLevelMaxPool()) or None, got {extra_blocks!r} "
                f"of type {type(extra_blocks).__name__}"
            )
        check_builder(norm_layer, "norm_layer")
        super().__init__()
        factory: Factory = {"device": device, "dtype": dtype}
        self.in_channels_list = channels
        self.out_channels = out_channels
        self.inner_blocks = nn.ModuleList(
            Conv2dNormActivation(
                in_channels, out_channels, 1, padding=0, norm_layer=norm_layer, activation_layer=None, **factory
            )
            for in_channels in channels
        )
        self.layer_blocks = nn.ModuleList(
            Conv2dNormActivation(out_channels, out_channels, 3, norm_layer=norm_layer, activation_layer=None, **factory)
            for _ in channels
        )
        self.reset_parameters()
        self.extra_blocks = extra_blocks

    def reset_parameters(self) -> None:
        """Re-initialises the lateral and output convolutions as torchvision does (not the extra blocks)."""
        for blocks in (self.inner_blocks, self.layer_blocks):
            for module in blocks.modules():
                if isinstance(module, nn.Conv2d):
                    nn.init.kaiming_uniform_(module.weight, a=1)
                    if module.bias is not None:
                        nn.init.zeros_(module.bias)

    def forward(self, x: dict[str, Tensor]) -> dict[str, Tensor]:
        names = _checked_level_count(list(x.keys()), len(self.in_channels_list))
        features = list(x.values())
        laterals: list[Tensor] = []
        for index, inner in enumerate(self.inner_blocks):
            level = checked_channels_first(
                features[index], "FeaturePyramidNetwork", self.in_channels_list[index], 4, False, True
            )
            laterals.append(inner(level))
        # Top-down: each coarser sum is resized to the next finer lateral and added to it.
        merged = [laterals[-1]]
        for index in range(len(laterals) - 2, -1, -1):
            top_down = F.interpolate(merged[0], size=laterals[index].shape[-2:], mode="nearest")
            merged.insert(0, laterals[index] + top_down)
        results: list[Tensor] = []
        for index, layer in enumerate(self.layer_blocks):
            results.append(layer(merged[index]))
        if self.extra_blocks is not None:
            results, names = self.extra_blocks(results, features, names)
        out: dict[str, Tensor] = OrderedDict()
        for name, result in zip(names, results):
            out[name] = result
        return out

    def extra_repr(self) -> str:
        return f"{self.in_channels_list}, out_channels={self.out_channels}"


@prototype(since="0.2.0")
class LastLevelMaxPool(nn.Module):
    r"""An FPN extra level ``"pool"``: the coarsest output subsampled with stride 2.

    Faster R-CNN's and Mask R-CNN's ``P6`` (torchvision's ``LastLevelMaxPool``): a max-pool of
    kernel 1 and stride 2, which keeps every second row and column. Used as
    ``FeaturePyramidNetwork(..., extra_blocks=LastLevelMaxPool())``; it returns new lists and leaves
    the given ones unchanged.

    Args:
        device: Accepted like every layer's; there is nothing to allocate.
        dtype: Accepted like every layer's; there is nothing to allocate.

    Shape:
        - Input: ``(results, features, names)``: the FPN's outputs :math:`(N, C, H_i, W_i)`, its inputs
          (unused) and the level names.
        - Output: ``(results + [pool], names + ["pool"])``, ``pool`` of shape
          :math:`(N, C, \lceil H_L / 2 \rceil, \lceil W_L / 2 \rceil)`.

    Example:
        >>> pool = LastLevelMaxPool()
        >>> results, names = pool([torch.randn(1, 8, 16, 16), torch.randn(1, 8, 7, 7)], [], ["0", "1"])
        >>> names, tuple(results[-1].shape)
        (['0', '1', 'pool'], (1, 8, 4, 4))
    """

    def __init__(
        self,
        *,
        device: torch.device | str | None = None,  # noqa: ARG002  (accepted like every layer; nothing to allocate)
        dtype: torch.dtype | None = None,  # noqa: ARG002
    ) -> None:
        super().__init__()

    def forward(
        self,
        results: list[Tensor],
        x: list[Tensor],  # noqa: ARG002  (torchvision's extra-block contract passes the FPN's inputs)
        names: list[str],
    ) -> tuple[list[Tensor], list[str]]:
        return results + [F.max_pool2d(results[-1], kernel_size=1, stride=2, padding=0)], names + ["pool"]

    def extra_repr(self) -> str:
        return "kernel_size=1, stride=2"


@prototype(since="0.2.0")
class LastLevelP6P7(nn.Module):
    r"""RetinaNet's FPN extra levels ``"p6"`` and ``"p7"``: two stride-2 3x3 convolutions.

    From `Focal Loss for Dense Object Detection <https://arxiv.org/abs/1708.02002>`_:
    :math:`P_6 = \operatorname{conv}_6(X)` and :math:`P_7 = \operatorname{conv}_7(\operatorname{ReLU}(P_6))`,
    where :math:`X` is the FPN's coarsest output :math:`P_5` when ``in_channels == out_channels``
    (``use_P5``) and the coarsest *input* :math:`C_5` otherwise, as in torchvision's
    ``LastLevelP6P7``, whose submodule names (``p6``, ``p7``) and initialisation (Kaiming-uniform with
    ``a=1``, zero biases) it keeps. It returns new lists and leaves the given ones unchanged.

    Args:
        in_channels: Channels of :math:`X`.
        out_channels: Channels of :math:`P_6` and :math:`P_7` (the FPN's ``out_channels``).
        device: torch.device | str | None of the parameters.
        dtype: Floating-point type of the parameters.

    Shape:
        - Input: ``(results, features, names)``: the FPN's outputs, its inputs and the level names.
        - Output: ``(results + [p6, p7], names + ["p6", "p7"])``, each level half the size of the one
          before (rounded up).

    Example:
        >>> p6p7 = LastLevelP6P7(8, 8)
        >>> results, names = p6p7([torch.randn(1, 8, 16, 16)], [torch.randn(1, 32, 16, 16)], ["p5"])
        >>> names, [tuple(level.shape) for level in results]
        (['p5', 'p6', 'p7'], [(1, 8, 16, 16), (1, 8, 8, 8), (1, 8, 4, 4)])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        in_channels = check_positive_int(in_channels, "in_channels")
        out_channels = check_positive_int(out_channels, "out_channels")
        super().__init__()
        factory: Factory = {"device": device, "dtype": dtype}
        self.p6 = nn.Conv2d(in_channels, out_channels, 3, 2, 1, **factory)
        self.p7 = nn.Conv2d(out_channels, out_channels, 3, 2, 1, **factory)
        self.use_P5 = in_channels == out_channels
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming-uniform (``a=1``) weights and zero biases, as torchvision."""
        for module in (self.p6, self.p7):
            nn.init.kaiming_uniform_(module.weight, a=1)
            if module.bias is not None:  # always: the convolutions are built with biases
                nn.init.zeros_(module.bias)

    def forward(self, results: list[Tensor], x: list[Tensor], names: list[str]) -> tuple[list[Tensor], list[str]]:
        source = results[-1] if self.use_P5 else x[-1]
        p6 = self.p6(source)
        p7 = self.p7(F.relu(p6))
        return results + [p6, p7], names + ["p6", "p7"]

    def extra_repr(self) -> str:
        return f"use_P5={self.use_P5}"
