"""An example library that uses a prototype layer without opting in."""

from torch import nn

import tvexp.prototype as tvp


def head(channels: int) -> nn.Module:
    return tvp.FrozenBatchNorm3d(channels)
