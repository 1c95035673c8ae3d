"""Convolution -> normalization -> activation blocks (plain and transposed, 1d/2d/3d).

The blocks are :class:`torch.nn.Sequential` containers whose children are numbered ``0`` (the
convolution), ``1`` (the norm, if any) and ``2`` (the activation, if any), like torchvision's
``Conv2dNormActivation``: checkpoints use those indices as keys, and eager-mode fusion
(``torch.ao.quantization.fuse_modules``) addresses them.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from typing import Any, Callable, Union

import torch
import torch.fx
from torch import Tensor, nn

from tvexp._api.stacklevel import external_stacklevel
from tvexp._api.tiers import prototype, stable
from tvexp._api.validation import check_floating_dtype, check_optional_bool, check_positive_int, is_integer
from tvexp._layers._block_parts import reset_each
from tvexp._layers._input_checks import checked_channels_first
from tvexp._layers.layer_builders import build_activation, build_layer, check_builder

__all__ = [
    "Conv1dNormActivation",
    "Conv2dNormActivation",
    "Conv3dNormActivation",
    "ConvTranspose1dNormActivation",
    "ConvTranspose2dNormActivation",
    "ConvTranspose3dNormActivation",
]

_Size = Union[int, Sequence[int]]


# A leaf for torch.fx: the check reads the traced input's shape.
torch.fx.wrap("checked_channels_first")


def _ntuple(value: _Size, dims: int, name: str, *, allow_one: bool = False) -> tuple[int, ...]:
    """``value`` as ``dims`` ints; ``allow_one`` also broadcasts a one-element sequence, as torch's
    convolutions do for stride, padding and dilation (but not for the kernel size)."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        result = tuple(value)
        if allow_one and len(result) == 1:
            return result * dims
        if len(result) != dims:
            also = " (or of 1 int, used for every dimension)" if allow_one and dims > 1 else ""
            raise ValueError(f"{name} must be an int or a sequence of {dims} ints{also}, got {value!r}")
        return result
    return (value,) * dims


def _check_sizes(value: Any, name: str, *, minimum: int) -> _Size:
    """``value`` with every size as a Python ``int`` (numpy integers and 0-d integer tensors are
    converted, as torch's convolutions accept them); ``TypeError``/``ValueError`` naming ``name``."""
    kind = "positive" if minimum == 1 else "non-negative"
    sequence = isinstance(value, Sequence) and not isinstance(value, (str, bytes))
    items = tuple(value) if sequence else (value,)
    for item in items:
        if not is_integer(item):
            raise TypeError(f"{name} must be a {kind} int or a sequence of them, got {value!r}")
        if int(item) < minimum:
            raise ValueError(f"{name} must be a {kind} int or a sequence of them, got {value!r}")
    if sequence:
        return tuple(int(item) for item in items)
    return int(value)


def _warn_if_last_dimension_norm(norm_layer: Callable[..., nn.Module] | None, block: str) -> None:
    """``nn.LayerNorm(out_channels)`` normalises the last dimension of an ``(N, C, ...)`` output, not the channels.

    torchvision accepts it, so tvexp does too, but says so: for a square input the result has the
    right shape and is silently wrong; for another input it fails with an obscure shape error.
    """
    target = norm_layer
    while isinstance(target, functools.partial):
        target = target.func
    if target is nn.LayerNorm:
        warnings.warn(
            f"{block}(norm_layer=nn.LayerNorm) builds nn.LayerNorm(out_channels), which normalises the last "
            "(spatial) dimension of the convolution's (N, C, ...) output, not its channels; use "
            "tvexp.prototype.LayerNorm2d for a layer norm over the channels",
            UserWarning,
            stacklevel=external_stacklevel(),
        )


def _default_padding(kernel_size: _Size, dilation: _Size) -> int | tuple[int, ...]:
    """torchvision's rule: ``(kernel_size - 1) // 2 * dilation`` per dimension (no stride term)."""
    if isinstance(kernel_size, int) and isinstance(dilation, int):
        return (kernel_size - 1) // 2 * dilation
    dims = len(kernel_size) if isinstance(kernel_size, Sequence) else len(dilation)  # type: ignore[arg-type]
    kernel = _ntuple(kernel_size, dims, "kernel_size")
    dilations = _ntuple(dilation, dims, "dilation", allow_one=True)
    return tuple((k - 1) // 2 * d for k, d in zip(kernel, dilations))


class _ConvNormActivation(nn.Sequential):
    """Shared implementation (no tier): conv -> optional norm -> optional activation.

    ``forward`` checks the input first (rank, channels, dtype; see ``_input_checks``). The 1-D blocks
    reject an unbatched ``(C, L)`` input: the convolution would take it as one sample, and the norm
    then reads ``(C_out, L)`` as a batch of ``C_out`` samples with ``L`` channels, a wrong result (or
    an obscure error when ``L != C_out``). The 2-D and 3-D blocks pass an unbatched input on, as
    torchvision does (the convolution accepts it; a batch norm then raises torch's ``ValueError``).
    """

    __constants__ = ["_batched_rank", "_allow_unbatched"]
    _batched_rank: int = 4
    _allow_unbatched: bool = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: _Size,
        stride: _Size,
        padding: _Size | str | None,
        groups: int,
        norm_layer: Callable[..., nn.Module] | None,
        activation_layer: Callable[..., nn.Module] | None,
        dilation: _Size,
        inplace: bool | None,
        bias: bool | None,
        *,
        conv_layer: Callable[..., nn.Module],
        dims: int,
        transposed: bool = False,
        output_padding: _Size | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        in_channels = check_positive_int(in_channels, "in_channels")
        out_channels = check_positive_int(out_channels, "out_channels")
        groups = check_positive_int(groups, "groups")
        if in_channels % groups:
            raise ValueError(f"in_channels must be divisible by groups, got in_channels={in_channels}, groups={groups}")
        if out_channels % groups:
            raise ValueError(
                f"out_channels must be divisible by groups, got out_channels={out_channels}, groups={groups}"
            )
        kernel_size = _check_sizes(kernel_size, "kernel_size", minimum=1)
        stride = _check_sizes(stride, "stride", minimum=1)
        dilation = _check_sizes(dilation, "dilation", minimum=1)
        # A tuple of the wrong length builds a convolution that fails only at the first forward.
        _ntuple(kernel_size, dims, "kernel_size")
        _ntuple(stride, dims, "stride", allow_one=not transposed)
        _ntuple(dilation, dims, "dilation", allow_one=not transposed)
        check_floating_dtype(dtype)
        check_builder(norm_layer, "norm_layer")
        check_builder(activation_layer, "activation_layer")
        inplace = check_optional_bool(inplace, "inplace")
        bias = check_optional_bool(bias, "bias")
        _warn_if_last_dimension_norm(norm_layer, type(self).__name__)

        automatic_padding = padding is None
        if padding is None:
            padding = (
                _transposed_default_padding(kernel_size, dilation, dims)
                if transposed
                else _default_padding(kernel_size, dilation)
            )
        elif isinstance(padding, str):
            if transposed:
                raise ValueError(
                    f"padding must be an int or a tuple of ints for transposed convolutions, got {padding!r}"
                )
        else:
            padding = _check_sizes(padding, "padding", minimum=0)
            _ntuple(padding, dims, "padding", allow_one=not transposed)
        if bias is None:
            bias = norm_layer is None

        conv_kwargs: dict[str, Any] = {}
        if transposed:
            conv_kwargs["output_padding"] = _transposed_output_padding(
                output_padding,
                automatic_padding,
                kernel_size,
                stride,
                padding,  # type: ignore[arg-type]
                dilation,
                dims,
            )
        layers: list[nn.Module] = [
            conv_layer(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=padding,
                dilation=dilation,
                groups=groups,
                bias=bias,
                device=device,
                dtype=dtype,
                **conv_kwargs,
            )
        ]
        if norm_layer is not None:
            layers.append(build_layer(norm_layer, "norm_layer", out_channels, device=device, dtype=dtype))
        if activation_layer is not None:
            layers.append(build_activation(activation_layer, "activation_layer", inplace, device=device, dtype=dtype))
        super().__init__(*layers)
        self.in_channels = in_channels
        self.out_channels = out_channels

    def forward(self, input: Tensor) -> Tensor:
        name = "the convolution block" if torch.jit.is_scripting() else type(self).__name__
        input = checked_channels_first(input, name, self.in_channels, self._batched_rank, self._allow_unbatched, True)
        for module in self:
            input = module(input)
        return input

    def reset_parameters(self) -> None:
        """Re-initialises every child that can be (the convolution, the norm, a parametric activation)."""
        reset_each(self.children())


def _transposed_default_padding(kernel_size: _Size, dilation: _Size, dims: int) -> tuple[int, ...]:
    """``dilation * (kernel_size - 1) // 2``: with it, an output padding below ``stride`` always exists
    that makes the output exactly ``stride`` times the input (``(k - 1) // 2 * d`` may not, for even kernels)."""
    kernel = _ntuple(kernel_size, dims, "kernel_size")
    dilations = _ntuple(dilation, dims, "dilation")
    return tuple(d * (k - 1) // 2 for k, d in zip(kernel, dilations))


def _transposed_output_padding(
    output_padding: _Size | None,
    automatic_padding: bool,
    kernel_size: _Size,
    stride: _Size,
    padding: _Size,
    dilation: _Size,
    dims: int,
) -> tuple[int, ...]:
    """The output padding of a transposed block.

    ``None`` with automatic padding picks the value that makes the output ``stride`` times the
    input; with explicit padding it means ``0`` (torch's default).
    """
    strides = _ntuple(stride, dims, "stride")
    dilations = _ntuple(dilation, dims, "dilation")
    if output_padding is None:
        if not automatic_padding:
            return (0,) * dims
        kernel = _ntuple(kernel_size, dims, "kernel_size")
        paddings = _ntuple(padding, dims, "padding")
        # out = (in - 1) * s - 2p + d(k - 1) + op + 1 equals in * s when op = s - 1 - (d(k - 1) - 2p).
        return tuple(max(0, s - 1 - (d * (k - 1) - 2 * p)) for s, d, k, p in zip(strides, dilations, kernel, paddings))
    output_padding = _check_sizes(output_padding, "output_padding", minimum=0)
    result = _ntuple(output_padding, dims, "output_padding")
    for op, s, d in zip(result, strides, dilations):
        if op >= max(s, d):
            raise ValueError(
                f"output_padding must be smaller than stride or dilation, got output_padding={output_padding!r}, "
                f"stride={stride!r}, dilation={dilation!r}"
            )
    return result


@stable(since="0.1.0")
class Conv2dNormActivation(_ConvNormActivation):
    """A 2-D convolution followed by an optional normalization and an optional activation.

    The building block of most convolutional networks (ResNet, MobileNet, EfficientNet). Drop-in
    compatible with ``torchvision.ops.Conv2dNormActivation``: same arguments, defaults and
    ``state_dict`` keys (children ``0`` = conv, ``1`` = norm, ``2`` = activation; indices close up
    when a part is ``None``).

    Args:
        in_channels: Channels ``C_in`` of the input.
        out_channels: Channels ``C_out`` produced by the convolution.
        kernel_size: Size of the convolving kernel.
        stride: Stride of the convolution.
        padding: Padding added to all sides. ``None`` computes ``(kernel_size - 1) // 2 * dilation``
            per dimension, which keeps the size for odd kernels and stride 1. Strings
            (``"same"``, ``"valid"``) are passed to :class:`torch.nn.Conv2d`.
        groups: Number of blocked connections from input to output channels; must divide both
            ``in_channels`` and ``out_channels``.
        norm_layer: Builds the norm as ``norm_layer(out_channels)``; ``None`` leaves it out.
        activation_layer: Builds the activation; ``None`` leaves it out.
        dilation: Spacing between kernel elements.
        inplace: Passed as ``inplace=`` to the activation when not ``None`` and when the
            activation accepts it (``nn.GELU`` and ``nn.Tanh`` do not, and are built without it).
        bias: Whether the convolution has a bias; ``None`` means "only without a norm layer".
        device: torch.device | str | None of the parameters and buffers.
        dtype: Floating-point type of the parameters and buffers.

    Shape:
        - Input: :math:`(N, C_{in}, H_{in}, W_{in})`
        - Output: :math:`(N, C_{out}, H_{out}, W_{out})`, as for :class:`torch.nn.Conv2d`.

    Example:
        >>> block = Conv2dNormActivation(3, 16, kernel_size=3, stride=2)
        >>> block(torch.randn(2, 3, 32, 32)).shape
        torch.Size([2, 16, 16, 16])
    """

    _batched_rank = 4

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int] = 3,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str | None = None,
        groups: int = 1,
        norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm2d,
        activation_layer: Callable[..., nn.Module] | None = nn.ReLU,
        dilation: int | tuple[int, int] = 1,
        inplace: bool | None = True,
        bias: bool | None = None,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            groups,
            norm_layer,
            activation_layer,
            dilation,
            inplace,
            bias,
            conv_layer=nn.Conv2d,
            dims=2,
            device=device,
            dtype=dtype,
        )


@stable(since="0.1.0")
class Conv3dNormActivation(_ConvNormActivation):
    """A 3-D convolution followed by an optional normalization and an optional activation.

    Drop-in compatible with ``torchvision.ops.Conv3dNormActivation`` (children ``0`` = conv,
    ``1`` = norm, ``2`` = activation).

    Args:
        in_channels: Channels ``C_in`` of the input.
        out_channels: Channels ``C_out`` produced by the convolution.
        kernel_size: Size of the convolving kernel.
        stride: Stride of the convolution.
        padding: Padding added to all sides. ``None`` computes ``(kernel_size - 1) // 2 * dilation``
            per dimension. Strings are passed to :class:`torch.nn.Conv3d`.
        groups: Number of blocked connections; must divide both channel counts.
        norm_layer: Builds the norm as ``norm_layer(out_channels)``; ``None`` leaves it out.
        activation_layer: Builds the activation; ``None`` leaves it out.
        dilation: Spacing between kernel elements.
        inplace: Passed as ``inplace=`` to the activation when not ``None`` and accepted by it;
            ``True``, ``False`` or ``None``.
        bias: Whether the convolution has a bias (``True``/``False``); ``None`` means "only without
            a norm layer".
        device: torch.device | str | None of the parameters and buffers.
        dtype: Floating-point type of the parameters and buffers.

    Shape:
        - Input: :math:`(N, C_{in}, D_{in}, H_{in}, W_{in})`
        - Output: :math:`(N, C_{out}, D_{out}, H_{out}, W_{out})`, as for :class:`torch.nn.Conv3d`.

    Example:
        >>> block = Conv3dNormActivation(3, 8, kernel_size=(1, 3, 3))
        >>> block(torch.randn(2, 3, 4, 8, 8)).shape
        torch.Size([2, 8, 4, 8, 8])
    """

    _batched_rank = 5

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int, int] = 3,
        stride: int | tuple[int, int, int] = 1,
        padding: int | tuple[int, int, int] | str | None = None,
        groups: int = 1,
        norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm3d,
        activation_layer: Callable[..., nn.Module] | None = nn.ReLU,
        dilation: int | tuple[int, int, int] = 1,
        inplace: bool | None = True,
        bias: bool | None = None,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            groups,
            norm_layer,
            activation_layer,
            dilation,
            inplace,
            bias,
            conv_layer=nn.Conv3d,
            dims=3,
            device=device,
            dtype=dtype,
        )


@stable(since="0.2.0")
class Conv1dNormActivation(_ConvNormActivation):
    """A 1-D convolution followed by an optional normalization and an optional activation.

    The 1-D sibling of :class:`~tvexp.stable.Conv2dNormActivation`, with the same arguments,
    defaults (norm :class:`torch.nn.BatchNorm1d`) and child layout (``0`` = conv, ``1`` = norm,
    ``2`` = activation).

    Args:
        in_channels: Channels ``C_in`` of the input.
        out_channels: Channels ``C_out`` produced by the convolution.
        kernel_size: Size of the convolving kernel.
        stride: Stride of the convolution.
        padding: Padding added to both sides. ``None`` computes ``(kernel_size - 1) // 2 * dilation``.
            Strings are passed to :class:`torch.nn.Conv1d`.
        groups: Number of blocked connections; must divide both channel counts.
        norm_layer: Builds the norm as ``norm_layer(out_channels)``; ``None`` leaves it out.
        activation_layer: Builds the activation; ``None`` leaves it out.
        dilation: Spacing between kernel elements.
        inplace: Passed as ``inplace=`` to the activation when not ``None`` and accepted by it;
            ``True``, ``False`` or ``None``.
        bias: Whether the convolution has a bias (``True``/``False``); ``None`` means "only without
            a norm layer".
        device: torch.device | str | None of the parameters and buffers.
        dtype: Floating-point type of the parameters and buffers.

    Shape:
        - Input: :math:`(N, C_{in}, L_{in})`; an unbatched :math:`(C_{in}, L_{in})` input is rejected
          with a ``ValueError`` (the norm would read its axes wrongly): pass ``input.unsqueeze(0)``.
        - Output: :math:`(N, C_{out}, L_{out})`, as for :class:`torch.nn.Conv1d`.

    Example:
        >>> block = Conv1dNormActivation(4, 8, kernel_size=5, stride=2)
        >>> block(torch.randn(2, 4, 32)).shape
        torch.Size([2, 8, 16])
    """

    _batched_rank = 3
    _allow_unbatched = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int] = 3,
        stride: int | tuple[int] = 1,
        padding: int | tuple[int] | str | None = None,
        groups: int = 1,
        norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm1d,
        activation_layer: Callable[..., nn.Module] | None = nn.ReLU,
        dilation: int | tuple[int] = 1,
        inplace: bool | None = True,
        bias: bool | None = None,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            groups,
            norm_layer,
            activation_layer,
            dilation,
            inplace,
            bias,
            conv_layer=nn.Conv1d,
            dims=1,
            device=device,
            dtype=dtype,
        )


@prototype(since="0.1.0")
class ConvTranspose1dNormActivation(_ConvNormActivation):
    r"""A 1-D transposed convolution followed by an optional normalization and activation.

    Children: ``0`` = :class:`torch.nn.ConvTranspose1d`, ``1`` = norm (default
    :class:`torch.nn.BatchNorm1d`), ``2`` = activation, as in the non-transposed blocks.

    Args:
        in_channels: Channels ``C_in`` of the input.
        out_channels: Channels ``C_out`` produced by the transposed convolution.
        kernel_size: Size of the convolving kernel.
        stride: Upsampling factor of the transposed convolution.
        padding: Implicit padding removed from the output (as for ``nn.ConvTranspose*``).
            ``None`` uses ``dilation * (kernel_size - 1) // 2`` per dimension (the same as the
            non-transposed blocks for odd kernels); strings are rejected because transposed
            convolutions do not support them.
        groups: Number of blocked connections; must divide both channel counts.
        norm_layer: Builds the norm as ``norm_layer(out_channels)``; ``None`` leaves it out.
        activation_layer: Builds the activation; ``None`` leaves it out.
        dilation: Spacing between kernel elements.
        inplace: Passed as ``inplace=`` to the activation when not ``None`` and accepted by it;
            ``True``, ``False`` or ``None``.
        bias: Whether the convolution has a bias (``True``/``False``); ``None`` means "only without
            a norm layer".
        output_padding: Extra size added to one side of the output. ``None`` with ``padding=None``
            picks the value that makes the output exactly ``stride`` times the input (except for
            stride 1 with an odd ``dilation * (kernel_size - 1)``, e.g. an even kernel, where it is
            ``input + 1``);
            ``None`` with an explicit ``padding`` means ``0``. Must be smaller than ``stride`` or
            ``dilation``.
        device: torch.device | str | None of the parameters and buffers.
        dtype: Floating-point type of the parameters and buffers.

    Shape:
        - Input: :math:`(N, C_{in}, L_{in})`; an unbatched :math:`(C_{in}, L_{in})` input is rejected
          with a ``ValueError``: pass ``input.unsqueeze(0)``.
        - Output: :math:`(N, C_{out}, L_{out})`; :math:`L_{out} = L_{in} \cdot stride` by default.

    Example:
        >>> block = ConvTranspose1dNormActivation(8, 4, kernel_size=3, stride=2)
        >>> block(torch.randn(2, 8, 16)).shape
        torch.Size([2, 4, 32])
    """

    _batched_rank = 3
    _allow_unbatched = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int] = 3,
        stride: int | tuple[int] = 1,
        padding: int | tuple[int] | None = None,
        groups: int = 1,
        norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm1d,
        activation_layer: Callable[..., nn.Module] | None = nn.ReLU,
        dilation: int | tuple[int] = 1,
        inplace: bool | None = True,
        bias: bool | None = None,
        *,
        output_padding: int | tuple[int] | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            groups,
            norm_layer,
            activation_layer,
            dilation,
            inplace,
            bias,
            conv_layer=nn.ConvTranspose1d,
            dims=1,
            transposed=True,
            output_padding=output_padding,
            device=device,
            dtype=dtype,
        )


@prototype(since="0.1.0")
class ConvTranspose2dNormActivation(_ConvNormActivation):
    r"""A 2-D transposed convolution followed by an optional normalization and activation.

    Children: ``0`` = :class:`torch.nn.ConvTranspose2d`, ``1`` = norm (default
    :class:`torch.nn.BatchNorm2d`), ``2`` = activation, as in the non-transposed blocks.

    Args:
        in_channels: Channels ``C_in`` of the input.
        out_channels: Channels ``C_out`` produced by the transposed convolution.
        kernel_size: Size of the convolving kernel.
        stride: Upsampling factor of the transposed convolution.
        padding: Implicit padding removed from the output (as for ``nn.ConvTranspose*``).
            ``None`` uses ``dilation * (kernel_size - 1) // 2`` per dimension (the same as the
            non-transposed blocks for odd kernels); strings are rejected because transposed
            convolutions do not support them.
        groups: Number of blocked connections; must divide both channel counts.
        norm_layer: Builds the norm as ``norm_layer(out_channels)``; ``None`` leaves it out.
        activation_layer: Builds the activation; ``None`` leaves it out.
        dilation: Spacing between kernel elements.
        inplace: Passed as ``inplace=`` to the activation when not ``None`` and accepted by it;
            ``True``, ``False`` or ``None``.
        bias: Whether the convolution has a bias (``True``/``False``); ``None`` means "only without
            a norm layer".
        output_padding: Extra size added to one side of the output. ``None`` with ``padding=None``
            picks the value that makes the output exactly ``stride`` times the input (except for
            stride 1 with an odd ``dilation * (kernel_size - 1)``, e.g. an even kernel, where it is
            ``input + 1``);
            ``None`` with an explicit ``padding`` means ``0``. Must be smaller than ``stride`` or
            ``dilation``.
        device: torch.device | str | None of the parameters and buffers.
        dtype: Floating-point type of the parameters and buffers.

    Shape:
        - Input: :math:`(N, C_{in}, H_{in}, W_{in})`
        - Output: :math:`(N, C_{out}, H_{out}, W_{out})`; ``stride`` times the input by default.

    Example:
        >>> block = ConvTranspose2dNormActivation(8, 4, kernel_size=4, stride=2)
        >>> block(torch.randn(2, 8, 7, 9)).shape
        torch.Size([2, 4, 14, 18])
    """

    _batched_rank = 4

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int] = 3,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | None = None,
        groups: int = 1,
        norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm2d,
        activation_layer: Callable[..., nn.Module] | None = nn.ReLU,
        dilation: int | tuple[int, int] = 1,
        inplace: bool | None = True,
        bias: bool | None = None,
        *,
        output_padding: int | tuple[int, int] | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            groups,
            norm_layer,
            activation_layer,
            dilation,
            inplace,
            bias,
            conv_layer=nn.ConvTranspose2d,
            dims=2,
            transposed=True,
            output_padding=output_padding,
            device=device,
            dtype=dtype,
        )


@prototype(since="0.1.0")
class ConvTranspose3dNormActivation(_ConvNormActivation):
    r"""A 3-D transposed convolution followed by an optional normalization and activation.

    Children: ``0`` = :class:`torch.nn.ConvTranspose3d`, ``1`` = norm (default
    :class:`torch.nn.BatchNorm3d`), ``2`` = activation, as in the non-transposed blocks.

    Args:
        in_channels: Channels ``C_in`` of the input.
        out_channels: Channels ``C_out`` produced by the transposed convolution.
        kernel_size: Size of the convolving kernel.
        stride: Upsampling factor of the transposed convolution.
        padding: Implicit padding removed from the output (as for ``nn.ConvTranspose*``).
            ``None`` uses ``dilation * (kernel_size - 1) // 2`` per dimension (the same as the
            non-transposed blocks for odd kernels); strings are rejected because transposed
            convolutions do not support them.
        groups: Number of blocked connections; must divide both channel counts.
        norm_layer: Builds the norm as ``norm_layer(out_channels)``; ``None`` leaves it out.
        activation_layer: Builds the activation; ``None`` leaves it out.
        dilation: Spacing between kernel elements.
        inplace: Passed as ``inplace=`` to the activation when not ``None`` and accepted by it;
            ``True``, ``False`` or ``None``.
        bias: Whether the convolution has a bias (``True``/``False``); ``None`` means "only without
            a norm layer".
        output_padding: Extra size added to one side of the output. ``None`` with ``padding=None``
            picks the value that makes the output exactly ``stride`` times the input (except for
            stride 1 with an odd ``dilation * (kernel_size - 1)``, e.g. an even kernel, where it is
            ``input + 1``);
            ``None`` with an explicit ``padding`` means ``0``. Must be smaller than ``stride`` or
            ``dilation``.
        device: torch.device | str | None of the parameters and buffers.
        dtype: Floating-point type of the parameters and buffers.

    Shape:
        - Input: :math:`(N, C_{in}, D_{in}, H_{in}, W_{in})`
        - Output: :math:`(N, C_{out}, D_{out}, H_{out}, W_{out})`; ``stride`` times the input by default.

    Example:
        >>> block = ConvTranspose3dNormActivation(8, 4, kernel_size=3, stride=(1, 2, 2))
        >>> block(torch.randn(1, 8, 3, 5, 5)).shape
        torch.Size([1, 4, 3, 10, 10])
    """

    _batched_rank = 5

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int, int] = 3,
        stride: int | tuple[int, int, int] = 1,
        padding: int | tuple[int, int, int] | None = None,
        groups: int = 1,
        norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm3d,
        activation_layer: Callable[..., nn.Module] | None = nn.ReLU,
        dilation: int | tuple[int, int, int] = 1,
        inplace: bool | None = True,
        bias: bool | None = None,
        *,
        output_padding: int | tuple[int, int, int] | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            groups,
            norm_layer,
            activation_layer,
            dilation,
            inplace,
            bias,
            conv_layer=nn.ConvTranspose3d,
            dims=3,
            transposed=True,
            output_padding=output_padding,
            device=device,
            dtype=dtype,
        )
