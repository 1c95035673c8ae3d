"""An example library built on tvexp's prototype layers, which opts in for its own code only."""

from torch import nn

import tvexp.prototype as tvp

tvp.opt_in(scope=__name__)  # "visionlib": this package and its submodules, not the code that imports it


def tiny_backbone(channels: int = 16) -> nn.Module:
    """Builds a small network from prototype blocks (silently: the uses are visionlib's own)."""
    return nn.Sequential(
        nn.Conv2d(3, channels, 3, padding=1),
        tvp.LayerNorm2d(channels),
        tvp.InvertedResidual(channels, channels, 1, 2),
    )
