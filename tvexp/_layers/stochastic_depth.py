"""Stochastic depth (drop path), from `Deep Networks with Stochastic Depth <https://arxiv.org/abs/1603.09382>`_."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.fx
from torch import Tensor, nn

from tvexp._api.tiers import prototype, stable
from tvexp._api.validation import InvalidInputError, check_bool, check_probability

__all__ = ["StochasticDepth", "stochastic_depth", "stochastic_depth_rates"]

_MODES = ("batch", "row")


def _check_options(p: Any, mode: Any) -> float:
    """``p`` as a float; the one check of the function and the module (torchvision's words first)."""
    p_value = check_probability(p, "p", torchvision_message=f"drop probability has to be between 0 and 1, but got {p}")
    if mode not in _MODES:
        raise ValueError(
            f"mode has to be either 'batch' or 'row', but got {mode} (mode must be 'row' or 'batch', got {mode!r})"
        )
    return p_value


@stable(since="0.1.0")
def stochastic_depth(input: Tensor, p: float, mode: str, training: bool = True) -> Tensor:
    """Randomly zeroes whole samples (``"row"``) or the whole batch (``"batch"``) of a residual branch.

    From `Deep Networks with Stochastic Depth <https://arxiv.org/abs/1603.09382>`_. Kept values are
    divided by the survival rate ``1 - p``, so the expectation equals the input. Same behaviour as
    ``torchvision.ops.stochastic_depth``.

    Args:
        input: The branch output; its first dimension is the batch.
        p: Probability of zeroing a sample (``"row"``) or the whole input (``"batch"``).
        mode: ``"row"`` draws one keep/drop decision per sample, ``"batch"`` one for the whole input.
        training: Apply stochastic depth only when ``True``; otherwise return ``input`` unchanged.

    Returns:
        A tensor of the same shape as ``input``.

    Raises:
        ValueError: If ``p`` is outside ``[0, 1]`` or ``mode`` is not ``"row"`` or ``"batch"``.

    Example:
        >>> x = torch.ones(4, 3)
        >>> stochastic_depth(x, p=0.5, mode="row", training=False).equal(x)
        True
        >>> stochastic_depth(x, p=1.0, mode="batch").sum().item()
        0.0
    """
    if not torch.jit.is_scripting() and not torch.compiler.is_compiling():
        # The module's validator: names the argument for a non-number p (e.g. a string) instead of
        # failing in the comparison, and converts a 0-d tensor or numpy scalar to a float.
        p = _check_options(p, mode)
        training = check_bool(training, "training")
    if not (p >= 0.0 and p <= 1.0):
        raise ValueError(f"drop probability has to be between 0 and 1, but got {p}")
    if mode != "row" and mode != "batch":
        raise ValueError(f"mode has to be either 'batch' or 'row', but got {mode}")
    if not training or p == 0.0:
        return input
    if not input.is_floating_point():
        # torchvision fails here inside torch (an integer noise tensor cannot be divided in place).
        raise InvalidInputError(f"stochastic_depth in training needs a floating-point input, got dtype {input.dtype}")
    survival_rate = 1.0 - p
    if mode == "row":
        size = [input.shape[0]] + [1] * (input.ndim - 1)
    else:
        size = [1] * input.ndim
    noise = torch.empty(size, dtype=input.dtype, device=input.device).bernoulli_(survival_rate)
    if survival_rate > 0.0:
        noise.div_(survival_rate)
    return input * noise


# A leaf for torch.fx: its shapes depend on the input's rank, which symbolic tracing cannot see.
torch.fx.wrap("stochastic_depth")


@stable(since="0.1.0")
class StochasticDepth(nn.Module):
    """Module form of :func:`stochastic_depth`: drops a residual branch per sample or per batch in training.

    From `Deep Networks with Stochastic Depth <https://arxiv.org/abs/1603.09382>`_. In evaluation
    mode it returns its input. Drop-in compatible with ``torchvision.ops.StochasticDepth``; unlike
    torchvision, ``p`` and ``mode`` are checked at construction.

    Args:
        p: Probability of zeroing a sample (``"row"``) or the whole input (``"batch"``), in ``[0, 1]``.
        mode: ``"row"`` (one decision per sample) or ``"batch"`` (one decision for the whole input).
        device: Accepted for uniformity with other layers; the layer holds no tensors.
        dtype: Accepted for uniformity with other layers; the layer holds no tensors.

    Shape:
        - Input: :math:`(N, *)`
        - Output: :math:`(N, *)`, same as the input.

    Example:
        >>> drop = StochasticDepth(p=0.2, mode="row")
        >>> drop
        StochasticDepth(p=0.2, mode=row)
        >>> drop.eval()(torch.ones(2, 3)).sum().item()
        6.0
    """

    def __init__(
        self,
        p: float,
        mode: str,
        *,
        device: torch.device | str | None = None,  # noqa: ARG002  (accepted like every layer; nothing to allocate)
        dtype: torch.dtype | None = None,  # noqa: ARG002
    ) -> None:
        p = _check_options(p, mode)
        super().__init__()
        # float: TorchScript types the attribute from its value and the functional takes a float.
        self.p = p
        self.mode = mode

    def forward(self, input: Tensor) -> Tensor:
        # p and mode were validated at construction, so an inactive layer returns at once.
        if not self.training or self.p == 0.0:
            return input
        return stochastic_depth(input, self.p, self.mode, True)

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode}"


@prototype(since="0.1.0")
def stochastic_depth_rates(
    drop_path_rate: float,
    depths: int | Sequence[int],
    *,
    per_stage: bool = False,
    endpoint: bool = True,
) -> list[float]:
    """Drop probabilities for every block of a network: the usual linear stochastic-depth schedule.

    The rate grows linearly from ``0`` for the first block to ``drop_path_rate`` (the "linear decay"
    rule of `Deep Networks with Stochastic Depth <https://arxiv.org/abs/1603.09382>`_, written as
    a drop probability). ``endpoint=True`` reaches ``drop_path_rate`` at the last block, as
    ConvNeXt, Swin, MaxViT and timm's ``calculate_drop_path_rates`` do; ``endpoint=False`` stops one
    step short, as torchvision's EfficientNet does. ``per_stage=True`` gives every block of a
    stage the rate of its stage, growing linearly over stages.

    Args:
        drop_path_rate: The largest rate, in ``[0, 1]``.
        depths: The number of blocks, or the number of blocks of each stage.
        per_stage: One rate per stage instead of one per block (needs ``depths`` per stage).
        endpoint: Whether the last block (or stage) gets ``drop_path_rate`` exactly.

    Returns:
        One float per block, in order (split it by ``depths`` to get the stages' rates).

    Example:
        >>> stochastic_depth_rates(0.2, 5)
        [0.0, 0.05, 0.1, 0.15000000000000002, 0.2]
        >>> stochastic_depth_rates(0.3, [1, 2, 1], per_stage=True)
        [0.0, 0.15, 0.15, 0.3]
        >>> stochastic_depth_rates(0.2, 4, endpoint=False)
        [0.0, 0.05, 0.1, 0.15000000000000002]
    """
    check_probability(drop_path_rate, "drop_path_rate")
    if isinstance(depths, int) and not isinstance(depths, bool):
        if per_stage:
            raise ValueError(f"per_stage=True needs depths per stage (a sequence of ints), got the int {depths}")
        stage_depths = [depths]
    elif isinstance(depths, Sequence) and not isinstance(depths, str):
        stage_depths = list(depths)
    else:
        raise TypeError(f"depths must be an int or a sequence of ints, got {depths!r}")
    for depth in stage_depths:
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
            raise ValueError(f"depths must be non-negative ints, got {depths!r}")
    total = sum(stage_depths)
    if total == 0:
        raise ValueError(f"depths must contain at least one block, got {depths!r}")

    rate = float(drop_path_rate)
    if not per_stage:
        return _linear(rate, total, endpoint)
    stage_rates = _linear(rate, len(stage_depths), endpoint)
    return [stage_rate for stage_rate, depth in zip(stage_rates, stage_depths) for _ in range(depth)]


def _linear(rate: float, count: int, endpoint: bool) -> list[float]:
    # Same arithmetic as the model builders (rate * i / (n - 1) or rate * i / n), so schedules are
    # bit-identical to theirs.
    steps = count - 1 if endpoint else count
    if steps == 0:
        return [0.0]
    return [rate * index / steps for index in range(count)]
