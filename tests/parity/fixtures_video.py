"""Records torchvision 0.29 video fixtures: convolution builders, video residual blocks, stems, S3D's
temporally separable convolution, narrow whole networks and the key lists of the four video builders.

Run by ``make parity-fixtures`` (``record``) in the reference environment. Four kinds of fixture, all
named ``video_*.pt``:

* ``video_block_*``: one torchvision layer with small channel counts (the stems at their fixed size),
  every parameter and norm statistic drawn from a seeded generator: config, state_dict, input, eval output.
* ``video_small_*``: a narrow network of each family, built from torchvision's own classes
  (``VideoResNet._make_layer`` with its video ``BasicBlock`` and convolution builders; ``S3D`` with its
  ``TemporalSeparableConv`` and ``SepInceptionBlock3D``) at the configuration in :data:`SMALL_MODELS`,
  weights redrawn and stored in float16 (the output is computed from the rounded weights): state_dict,
  input, eval output. S3D needs 14 frames of 224x224; its input
  is stored at 28x28 (float16) and repeated 8 times along height and width (``repeat_interleave``, exact) on both sides.
* ``video_model_r3d_18``: the full-size ``r3d_18`` with weights *not stored*: regenerated from each key
  by ``fixtures_blocks.deterministic_state_dict`` (as the ``blocks_model_*`` fixtures), input and output.
* ``video_keys``: the ``(key, shape, dtype)`` list of each named builder, built on the meta device.

This module imports only torch at module level; the test imports :data:`SMALL_MODELS`,
:data:`NAMED_BUILDERS` and :data:`S3D_UPSAMPLE` from the torch-only environment.
"""

from __future__ import annotations

import importlib
import math
import zlib
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

__all__ = ["NAMED_BUILDERS", "S3D_UPSAMPLE", "SMALL_MODELS", "record"]

NAMED_BUILDERS = ("r3d_18", "mc3_18", "r2plus1d_18", "s3d")

# name -> configuration shared by the torchvision reference network and the tvexp example's class.
SMALL_MODELS: dict[str, dict[str, Any]] = {
    "r3d_narrow": {"builder": "r3d_18", "stage_channels": (4, 8, 8, 16), "num_classes": 10},
    "mc3_narrow": {"builder": "mc3_18", "stage_channels": (4, 8, 8, 16), "num_classes": 10},
    "r2plus1d_narrow": {
        "builder": "r2plus1d_18",
        "stage_channels": (4, 8, 8, 16),
        "stem_midplanes": 3,
        "num_classes": 10,
    },
    "s3d_w0125": {"builder": "s3d", "width_mult": 0.125, "num_classes": 10},
}
S3D_UPSAMPLE = 8

# The convolution builders of each network, by stage (torchvision's r3d_18, mc3_18, r2plus1d_18).
_CONV_MAKERS = {
    "r3d_18": ("Conv3DSimple",) * 4,
    "mc3_18": ("Conv3DSimple",) + ("Conv3DNoTemporal",) * 3,
    "r2plus1d_18": ("Conv2Plus1D",) * 4,
}


def _redraw(module: nn.Module, generator: torch.Generator) -> None:
    """Every parameter and norm statistic from a seeded generator (torchvision's init has ones and zeros)."""
    with torch.no_grad():
        for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
            if not tensor.is_floating_point():
                continue
            noise = torch.randn(tensor.shape, generator=generator)
            if name.endswith("running_var"):
                tensor.copy_(0.5 + torch.rand(tensor.shape, generator=generator))
            elif name.endswith(("running_mean", "bias")):
                tensor.copy_(0.2 * noise)
            elif tensor.dim() == 1:
                tensor.copy_(1.0 + 0.2 * noise)
            else:
                tensor.copy_(noise / math.sqrt(math.prod(tensor.shape[1:])))


def _block_configs() -> dict[str, tuple[dict[str, Any], Callable[[], nn.Module], tuple[int, ...]]]:
    """name -> (config recorded for the test, torchvision builder, input shape)."""
    from functools import partial

    from torchvision.models.video import resnet

    s3d = importlib.import_module("torchvision.models.video.s3d")  # the package's ``s3d`` is the builder

    def builder(name: str) -> Any:
        return getattr(resnet, name)

    def downsample(cin: int, cout: int, conv: str, stride: int) -> nn.Module:
        ds_stride = builder(conv).get_downsample_stride(stride)
        return nn.Sequential(nn.Conv3d(cin, cout, kernel_size=1, stride=ds_stride, bias=False), nn.BatchNorm3d(cout))

    def block(kind: str, conv: str, cin: int, planes: int, stride: int) -> Callable[[], nn.Module]:
        cls = resnet.BasicBlock if kind == "basic" else resnet.Bottleneck
        out = planes * cls.expansion
        projection = downsample(cin, out, conv, stride) if stride != 1 or cin != out else None
        return lambda: cls(cin, planes, builder(conv), stride, projection)

    s3d_norm = partial(nn.BatchNorm3d, eps=0.001, momentum=0.001)
    configs: dict[str, tuple[dict[str, Any], Callable[[], nn.Module], tuple[int, ...]]] = {}
    for name, conv, args in (
        ("conv_simple_s2", "Conv3DSimple", [4, 6, None, 2]),
        ("conv_no_temporal_s2", "Conv3DNoTemporal", [4, 6, None, 2]),
        ("conv_2plus1d_s2", "Conv2Plus1D", [4, 6, 5, 2]),
        ("conv_2plus1d_s1", "Conv2Plus1D", [6, 6, 7, 1]),
    ):
        configs[name] = (
            {"kind": "conv", "builder": conv, "args": args},
            lambda conv=conv, args=args: builder(conv)(*args),
            (2, args[0], 4, 8, 8),
        )
    for name, kind, conv, cin, planes, stride in (
        ("basic_simple_identity", "basic", "Conv3DSimple", 8, 8, 1),
        ("basic_simple_s2", "basic", "Conv3DSimple", 8, 16, 2),
        ("basic_no_temporal_s2", "basic", "Conv3DNoTemporal", 8, 16, 2),
        ("basic_2plus1d_s2", "basic", "Conv2Plus1D", 8, 16, 2),
        ("basic_2plus1d_identity", "basic", "Conv2Plus1D", 8, 8, 1),
        ("bottleneck_simple_identity", "bottleneck", "Conv3DSimple", 16, 4, 1),
        ("bottleneck_2plus1d_s2", "bottleneck", "Conv2Plus1D", 8, 4, 2),
    ):
        configs[name] = (
            {"kind": kind, "builder": conv, "in": cin, "planes": planes, "stride": stride},
            block(kind, conv, cin, planes, stride),
            (2, cin, 4, 8, 8),
        )
    configs["stem_basic"] = ({"kind": "stem", "stem": "R3DStem"}, resnet.BasicStem, (1, 3, 2, 8, 8))
    configs["stem_r2plus1d"] = ({"kind": "stem", "stem": "R2Plus1DStem"}, resnet.R2Plus1dStem, (1, 3, 2, 8, 8))
    for name, args, shape in (
        ("tsc_k3", [4, 8, 3, 1, 1], (2, 4, 4, 8, 8)),
        ("tsc_k7_s2", [3, 8, 7, 2, 3], (1, 3, 8, 16, 16)),
    ):
        configs[name] = (
            {"kind": "temporal_separable", "args": args, "eps": 0.001, "momentum": 0.001},
            lambda args=args: s3d.TemporalSeparableConv(*args, s3d_norm),
            shape,
        )
    return configs


def _narrow_video_resnet(config: dict[str, Any]) -> nn.Module:
    """torchvision's VideoResNet at other widths: its ``_make_layer``, blocks, builders and forward."""
    from torchvision.models.video import resnet

    widths = config["stage_channels"]
    if config["builder"] == "r2plus1d_18":
        mid = config["stem_midplanes"]
        # torchvision's R2Plus1dStem layout (3 -> 45 -> 64) at a narrower width.
        stem: nn.Module = nn.Sequential(
            nn.Conv3d(3, mid, kernel_size=(1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3), bias=False),
            nn.BatchNorm3d(mid),
            nn.ReLU(inplace=True),
            nn.Conv3d(mid, widths[0], kernel_size=(3, 1, 1), stride=(1, 1, 1), padding=(1, 0, 0), bias=False),
            nn.BatchNorm3d(widths[0]),
            nn.ReLU(inplace=True),
        )
    else:
        # torchvision's BasicStem layout (3 -> 64) at a narrower width.
        stem = nn.Sequential(
            nn.Conv3d(3, widths[0], kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
            nn.BatchNorm3d(widths[0]),
            nn.ReLU(inplace=True),
        )
    makers = [getattr(resnet, name) for name in _CONV_MAKERS[config["builder"]]]

    class NarrowVideoResNet(resnet.VideoResNet):
        def __init__(self) -> None:
            nn.Module.__init__(self)
            self.inplanes = widths[0]
            self.stem = stem
            for index, (maker, planes) in enumerate(zip(makers, widths)):
                layer = self._make_layer(resnet.BasicBlock, maker, planes, 2, stride=1 if index == 0 else 2)
                setattr(self, f"layer{index + 1}", layer)
            self.avgpool = nn.AdaptiveAvgPool3d((1, 1, 1))
            self.fc = nn.Linear(widths[-1], config["num_classes"])

    return NarrowVideoResNet()


def _narrow_s3d(config: dict[str, Any]) -> nn.Module:
    """torchvision's S3D with every channel count scaled: its blocks, pools and forward."""
    from functools import partial

    from torchvision.ops import Conv3dNormActivation

    s3d = importlib.import_module("torchvision.models.video.s3d")  # the package's ``s3d`` is the builder

    def w(channels: int) -> int:
        return int(channels * config["width_mult"])

    norm = partial(nn.BatchNorm3d, eps=0.001, momentum=0.001)

    def inception(cin: int, *outs: int) -> nn.Module:
        return s3d.SepInceptionBlock3D(w(cin), *(w(value) for value in outs), norm)

    model = s3d.S3D(num_classes=config["num_classes"])
    model.features = nn.Sequential(  # the sequence of torchvision's S3D.__init__
        s3d.TemporalSeparableConv(3, w(64), 7, 2, 3, norm),
        nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
        Conv3dNormActivation(w(64), w(64), kernel_size=1, stride=1, norm_layer=norm),
        s3d.TemporalSeparableConv(w(64), w(192), 3, 1, 1, norm),
        nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
        inception(192, 64, 96, 128, 16, 32, 32),
        inception(256, 128, 128, 192, 32, 96, 64),
        nn.MaxPool3d(kernel_size=(3, 3, 3), stride=(2, 2, 2), padding=(1, 1, 1)),
        inception(480, 192, 96, 208, 16, 48, 64),
        inception(512, 160, 112, 224, 24, 64, 64),
        inception(512, 128, 128, 256, 24, 64, 64),
        inception(512, 112, 144, 288, 32, 64, 64),
        inception(528, 256, 160, 320, 32, 128, 128),
        nn.MaxPool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2), padding=(0, 0, 0)),
        inception(832, 256, 160, 320, 32, 128, 128),
        inception(832, 384, 192, 384, 48, 128, 128),
    )
    model.classifier[1] = nn.Conv3d(w(1024), config["num_classes"], kernel_size=1, stride=1, bias=True)
    return model


def record(out_dir: Path) -> None:
    import torchvision.models.video as video
    from fixtures_blocks import deterministic_state_dict, shapes_of  # beside this file (make_fixtures' path)

    generator = torch.Generator().manual_seed(29)
    for name, (config, build, input_shape) in _block_configs().items():
        torch.manual_seed(zlib.crc32(name.encode()))
        layer = build().eval()
        _redraw(layer, generator)
        x = torch.randn(input_shape, generator=generator)
        with torch.no_grad():
            y = layer(x)
        torch.save(
            {"config": config, "state_dict": layer.state_dict(), "input": x, "output": y},
            out_dir / f"video_block_{name}.pt",
        )

    for name, config in SMALL_MODELS.items():
        torch.manual_seed(zlib.crc32(name.encode()))
        if config["builder"] == "s3d":
            model = _narrow_s3d(config).eval()
            # float16 values, stored as such: exact in float32 on both sides.
            x = torch.randn(1, 3, 14, 224 // S3D_UPSAMPLE, 224 // S3D_UPSAMPLE, generator=generator).half()
            full = x.float().repeat_interleave(S3D_UPSAMPLE, dim=3).repeat_interleave(S3D_UPSAMPLE, dim=4)
        else:
            model = _narrow_video_resnet(config).eval()
            x = full = torch.randn(1, 3, 4, 16, 16, generator=generator)
        _redraw(model, generator)
        # Stored in float16; the reference output is computed from the rounded weights, so nothing is lost.
        half = {key: value.half() if value.is_floating_point() else value for key, value in model.state_dict().items()}
        model.load_state_dict(
            {key: value.float() if value.is_floating_point() else value for key, value in half.items()}
        )
        with torch.no_grad():
            y = model(full)
        torch.save(
            {"config": config, "state_dict": half, "input": x, "output": y},
            out_dir / f"video_small_{name}.pt",
        )

    model = video.r3d_18(weights=None).eval()
    shapes = shapes_of(model)
    model.load_state_dict(deterministic_state_dict(shapes))
    x = torch.randn(1, 3, 4, 32, 32, generator=generator)
    with torch.no_grad():
        y = model(x)
    keys = [(key, tuple(shape), str(dtype)) for key, (shape, dtype) in shapes.items()]
    torch.save({"builder": "r3d_18", "keys": keys, "input": x, "output": y}, out_dir / "video_model_r3d_18.pt")

    all_keys = {}
    for name in NAMED_BUILDERS:
        with torch.device("meta"):
            model = getattr(video, name)(weights=None)
        all_keys[name] = [(key, tuple(value.shape), str(value.dtype)) for key, value in model.state_dict().items()]
    torch.save(all_keys, out_dir / "video_keys.pt")
