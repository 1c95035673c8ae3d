"""Channel rounding for width multipliers: the MobileNet/EfficientNet rule that model code needs."""

from __future__ import annotations

from tvexp._api.tiers import prototype
from tvexp._api.validation import check_positive, check_positive_int

__all__ = ["make_divisible", "make_divisible_channels"]


def make_divisible_channels(value: float, divisor: int, min_value: int | None = None) -> int:
    """The TensorFlow MobileNet channel rounding torchvision uses: nearest multiple of ``divisor``, never 10% below."""
    if min_value is None:
        min_value = divisor
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


@prototype(since="0.2.0")
def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Rounds a channel count to the nearest multiple of ``divisor``, never more than 10% below ``value``.

    The rule MobileNetV2/V3 and EfficientNet use to scale widths (``make_divisible(32 * 0.75)``), the
    same as torchvision's private ``_make_divisible``, so builders that scale widths give torchvision's
    channel counts and load its checkpoints.

    Args:
        value: The unrounded channel count (for example ``base_channels * width_mult``); positive.
        divisor: The result is a multiple of this (hardware-friendly widths).
        min_value: The smallest allowed result; ``None`` means ``divisor``.

    Returns:
        The rounded channel count.

    Example:
        >>> make_divisible(32 * 0.75)
        24
        >>> make_divisible(10, 8), make_divisible(100, 8), make_divisible(3, 8, min_value=4)
        (16, 104, 4)
    """
    value = check_positive(value, "value")
    divisor = check_positive_int(divisor, "divisor")
    if min_value is not None:
        min_value = check_positive_int(min_value, "min_value")
    return make_divisible_channels(value, divisor, min_value)
