"""torchvision classification architectures assembled from tvexp blocks.

Each builder returns a network whose ``state_dict`` keys and shapes are exactly those of the
torchvision model of the same name (checked against torchvision 0.29 in
``tests/parity/test_parity_blocks.py`` and ``tests/parity/test_parity_classification.py``), so
torchvision's pretrained weights load with ``strict=True`` and give the same outputs::

    import torchvision
    from examples.torchvision_models import resnet50

    model = resnet50()
    model.load_state_dict(torchvision.models.resnet50(weights="DEFAULT").state_dict())

Every builder accepts ``device`` and ``dtype`` (``device="meta"`` builds without allocating memory)
and torchvision's width/depth knobs.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, Callable

import torch
from torch import Tensor, nn

from tvexp.prototype import (
    BasicBlock,
    Bottleneck,
    ConvNeXtBlock,
    InvertedResidual,
    LayerNorm2d,
    MBConv,
    TransformerEncoderBlock,
    make_divisible,
    stochastic_depth_rates,
)
from tvexp.stable import Conv2dNormActivation, SqueezeExcitation

__all__ = [
    "ConvNeXt",
    "ResNet",
    "VisionTransformer",
    "convnext_base",
    "convnext_large",
    "convnext_small",
    "convnext_tiny",
    "efficientnet",
    "efficientnet_b0",
    "efficientnet_b1",
    "efficientnet_b2",
    "efficientnet_b3",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "mobilenet_v3_small",
    "resnet",
    "resnet101",
    "resnet152",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnext50_32x4d",
    "vit_b_16",
    "vit_b_32",
    "vit_h_14",
    "vit_l_16",
    "vit_l_32",
    "wide_resnet50_2",
]

Device = torch.device | str | None
NormBuilder = Callable[..., nn.Module]


def _init_like_torchvision(model: nn.Module, linear_init: Callable[[nn.Linear], None]) -> None:
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            linear_init(module)


class _Classifier(nn.Module):
    """features -> global average pool -> classifier (the MobileNet/EfficientNet head)."""

    def __init__(self, features: nn.Sequential, classifier: nn.Sequential) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = classifier

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


# ------------------------------------------------------------------------------------------ ResNet


class ResNet(nn.Module):
    """torchvision's ResNet layout (``conv1 bn1 relu maxpool layer1..4 avgpool fc``) from tvexp blocks."""

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        layers: list[int],
        num_classes: int = 1000,
        zero_init_residual: bool = False,
        groups: int = 1,
        width_per_group: int = 64,
        replace_stride_with_dilation: list[bool] | None = None,
        norm_layer: NormBuilder | None = None,
        stochastic_depth_prob: float = 0.0,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        norm = nn.BatchNorm2d if norm_layer is None else norm_layer
        dilate = replace_stride_with_dilation or [False, False, False]
        if len(dilate) != 3:
            raise ValueError(f"replace_stride_with_dilation must be None or 3 booleans, got {dilate!r}")
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False, **factory)
        self.bn1 = norm(64, **factory)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        rates = iter(stochastic_depth_rates(stochastic_depth_prob, sum(layers), endpoint=False))
        in_channels, dilation = 64, 1
        for index, (planes, count) in enumerate(zip((64, 128, 256, 512), layers)):
            stride = 1 if index == 0 else 2
            previous_dilation = dilation
            if index > 0 and dilate[index - 1]:
                dilation, stride = dilation * stride, 1
            blocks = []
            for position in range(count):
                blocks.append(
                    block(
                        in_channels,
                        planes,
                        stride if position == 0 else 1,
                        None,
                        groups,
                        width_per_group,
                        previous_dilation if position == 0 else dilation,
                        norm,
                        stochastic_depth_prob=next(rates),
                        **factory,
                    )
                )
                in_channels = planes * block.expansion
            setattr(self, f"layer{index + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes, **factory)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(module.weight, 1)
                nn.init.constant_(module.bias, 0)
        if zero_init_residual:
            for module in self.modules():
                last = (
                    getattr(module, "bn3", None)
                    if isinstance(module, Bottleneck)
                    else (getattr(module, "bn2", None) if isinstance(module, BasicBlock) else None)
                )
                if last is not None and getattr(last, "weight", None) is not None:
                    nn.init.zeros_(last.weight)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet(block: type[BasicBlock] | type[Bottleneck], layers: list[int], **kwargs: Any) -> ResNet:
    """Any torchvision-style ResNet: ``block`` and blocks per stage, plus :class:`ResNet`'s keywords."""
    return ResNet(block, layers, **kwargs)


def resnet18(**kwargs: Any) -> ResNet:
    return ResNet(BasicBlock, [2, 2, 2, 2], **kwargs)


def resnet34(**kwargs: Any) -> ResNet:
    return ResNet(BasicBlock, [3, 4, 6, 3], **kwargs)


def resnet50(**kwargs: Any) -> ResNet:
    return ResNet(Bottleneck, [3, 4, 6, 3], **kwargs)


def resnet101(**kwargs: Any) -> ResNet:
    return ResNet(Bottleneck, [3, 4, 23, 3], **kwargs)


def resnet152(**kwargs: Any) -> ResNet:
    return ResNet(Bottleneck, [3, 8, 36, 3], **kwargs)


def resnext50_32x4d(**kwargs: Any) -> ResNet:
    return ResNet(Bottleneck, [3, 4, 6, 3], groups=32, width_per_group=4, **kwargs)


def wide_resnet50_2(**kwargs: Any) -> ResNet:
    return ResNet(Bottleneck, [3, 4, 6, 3], width_per_group=128, **kwargs)


# ------------------------------------------------------------------------------------- MobileNetV2


def mobilenet_v2(
    *,
    num_classes: int = 1000,
    width_mult: float = 1.0,
    inverted_residual_setting: list[list[int]] | None = None,
    round_nearest: int = 8,
    norm_layer: NormBuilder | None = None,
    dropout: float = 0.2,
    device: Device = None,
    dtype: torch.dtype | None = None,
) -> nn.Module:
    """torchvision's ``mobilenet_v2`` (``width_mult``, ``round_nearest``, ``inverted_residual_setting``)."""
    norm = nn.BatchNorm2d if norm_layer is None else norm_layer
    factory: dict[str, Any] = {"device": device, "dtype": dtype}
    setting = inverted_residual_setting or [
        [1, 16, 1, 1],
        [6, 24, 2, 2],
        [6, 32, 3, 2],
        [6, 64, 4, 2],
        [6, 96, 3, 1],
        [6, 160, 3, 2],
        [6, 320, 1, 1],
    ]
    in_channels = make_divisible(32 * width_mult, round_nearest)
    last_channel = make_divisible(1280 * max(1.0, width_mult), round_nearest)
    features: list[nn.Module] = [
        Conv2dNormActivation(3, in_channels, stride=2, norm_layer=norm, activation_layer=nn.ReLU6, **factory)
    ]
    for t, c, n, s in setting:
        out_channels = make_divisible(c * width_mult, round_nearest)
        for i in range(n):
            features.append(InvertedResidual(in_channels, out_channels, s if i == 0 else 1, t, norm, **factory))
            in_channels = out_channels
    features.append(
        Conv2dNormActivation(
            in_channels, last_channel, kernel_size=1, norm_layer=norm, activation_layer=nn.ReLU6, **factory
        )
    )
    classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(last_channel, num_classes, **factory))
    model = _Classifier(nn.Sequential(*features), classifier)

    def linear_init(module: nn.Linear) -> None:
        nn.init.normal_(module.weight, 0, 0.01)
        nn.init.zeros_(module.bias)

    _init_like_torchvision(model, linear_init)
    return model


# ------------------------------------------------------------------------------------- MobileNetV3

# (in, kernel, expanded, out, squeeze-excitation, activation, stride, dilation) as in the paper's tables.
_V3_LARGE = [
    (16, 3, 16, 16, False, "RE", 1, 1),
    (16, 3, 64, 24, False, "RE", 2, 1),
    (24, 3, 72, 24, False, "RE", 1, 1),
    (24, 5, 72, 40, True, "RE", 2, 1),
    (40, 5, 120, 40, True, "RE", 1, 1),
    (40, 5, 120, 40, True, "RE", 1, 1),
    (40, 3, 240, 80, False, "HS", 2, 1),
    (80, 3, 200, 80, False, "HS", 1, 1),
    (80, 3, 184, 80, False, "HS", 1, 1),
    (80, 3, 184, 80, False, "HS", 1, 1),
    (80, 3, 480, 112, True, "HS", 1, 1),
    (112, 3, 672, 112, True, "HS", 1, 1),
    (112, 5, 672, 160, True, "HS", 2, 0),
    (160, 5, 960, 160, True, "HS", 1, 0),
    (160, 5, 960, 160, True, "HS", 1, 0),
]
_V3_SMALL = [
    (16, 3, 16, 16, True, "RE", 2, 1),
    (16, 3, 72, 24, False, "RE", 2, 1),
    (24, 3, 88, 24, False, "RE", 1, 1),
    (24, 5, 96, 40, True, "HS", 2, 1),
    (40, 5, 240, 40, True, "HS", 1, 1),
    (40, 5, 240, 40, True, "HS", 1, 1),
    (40, 5, 120, 48, True, "HS", 1, 1),
    (48, 5, 144, 48, True, "HS", 1, 1),
    (48, 5, 288, 96, True, "HS", 2, 0),
    (96, 5, 576, 96, True, "HS", 1, 0),
    (96, 5, 576, 96, True, "HS", 1, 0),
]


def _mobilenet_v3(
    table: list[tuple[Any, ...]],
    last_channel: int,
    *,
    num_classes: int,
    width_mult: float,
    reduced_tail: bool,
    dilated: bool,
    norm_layer: NormBuilder | None,
    dropout: float,
    device: Device,
    dtype: torch.dtype | None,
) -> nn.Module:
    norm = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01) if norm_layer is None else norm_layer
    factory: dict[str, Any] = {"device": device, "dtype": dtype}
    divider = 2 if reduced_tail else 1
    tail_start = next(i for i, row in enumerate(table) if row[7] == 0)

    def adjust(channels: int) -> int:
        return make_divisible(channels * width_mult, 8)

    se_layer = partial(SqueezeExcitation, scale_activation=nn.Hardsigmoid)
    rows = []
    for index, (cin, kernel, expanded, cout, se, act, stride, dilation) in enumerate(table):
        # The last stage (dilation marked 0 above) is the "tail" that reduced_tail halves and dilated dilates.
        in_tail = dilation == 0
        dilation = (2 if dilated else 1) if in_tail else dilation
        if in_tail:
            cout //= divider
            if index > tail_start:
                cin //= divider
                expanded //= divider
        rows.append((adjust(cin), kernel, adjust(expanded), adjust(cout), se, act, stride, dilation))
    features: list[nn.Module] = [
        Conv2dNormActivation(
            3, rows[0][0], kernel_size=3, stride=2, norm_layer=norm, activation_layer=nn.Hardswish, **factory
        )
    ]
    for cin, kernel, expanded, cout, se, act, stride, dilation in rows:
        block = InvertedResidual(
            cin,
            cout,
            1 if dilation > 1 else stride,
            expanded_channels=expanded,
            kernel_size=kernel,
            dilation=dilation,
            activation_layer=nn.Hardswish if act == "HS" else nn.ReLU,
            se_layer=se_layer if se else None,
            norm_layer=norm,
            layout="mobilenet_v3",
            **factory,
        )
        # torchvision marks the stage boundary from the table's stride, also where dilation replaces it.
        block._is_cn = stride > 1
        features.append(block)
    last_in = rows[-1][3]
    features.append(
        Conv2dNormActivation(
            last_in, 6 * last_in, kernel_size=1, norm_layer=norm, activation_layer=nn.Hardswish, **factory
        )
    )
    last = adjust(last_channel // divider)
    classifier = nn.Sequential(
        nn.Linear(6 * last_in, last, **factory),
        nn.Hardswish(inplace=True),
        nn.Dropout(p=dropout, inplace=True),
        nn.Linear(last, num_classes, **factory),
    )
    model = _Classifier(nn.Sequential(*features), classifier)

    def linear_init(module: nn.Linear) -> None:
        nn.init.normal_(module.weight, 0, 0.01)
        nn.init.zeros_(module.bias)

    _init_like_torchvision(model, linear_init)
    return model


def mobilenet_v3_large(
    *,
    num_classes: int = 1000,
    width_mult: float = 1.0,
    reduced_tail: bool = False,
    dilated: bool = False,
    norm_layer: NormBuilder | None = None,
    dropout: float = 0.2,
    device: Device = None,
    dtype: torch.dtype | None = None,
) -> nn.Module:
    """torchvision's ``mobilenet_v3_large`` (``width_mult``, ``reduced_tail``, ``dilated``)."""
    return _mobilenet_v3(
        _V3_LARGE,
        1280,
        num_classes=num_classes,
        width_mult=width_mult,
        reduced_tail=reduced_tail,
        dilated=dilated,
        norm_layer=norm_layer,
        dropout=dropout,
        device=device,
        dtype=dtype,
    )


def mobilenet_v3_small(
    *,
    num_classes: int = 1000,
    width_mult: float = 1.0,
    reduced_tail: bool = False,
    dilated: bool = False,
    norm_layer: NormBuilder | None = None,
    dropout: float = 0.2,
    device: Device = None,
    dtype: torch.dtype | None = None,
) -> nn.Module:
    """torchvision's ``mobilenet_v3_small`` (``width_mult``, ``reduced_tail``, ``dilated``)."""
    return _mobilenet_v3(
        _V3_SMALL,
        1024,
        num_classes=num_classes,
        width_mult=width_mult,
        reduced_tail=reduced_tail,
        dilated=dilated,
        norm_layer=norm_layer,
        dropout=dropout,
        device=device,
        dtype=dtype,
    )


# ------------------------------------------------------------------------------------ EfficientNet

# (expand ratio, kernel, stride, in, out, layers) of EfficientNet-B0 (Table 1 of the paper).
_B0 = [
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
]


def efficientnet(
    *,
    width_mult: float = 1.0,
    depth_mult: float = 1.0,
    dropout: float = 0.2,
    stochastic_depth_prob: float = 0.2,
    num_classes: int = 1000,
    norm_layer: NormBuilder | None = None,
    device: Device = None,
    dtype: torch.dtype | None = None,
) -> nn.Module:
    """torchvision's EfficientNet-B family from the B0 table scaled by ``width_mult`` and ``depth_mult``."""
    norm = nn.BatchNorm2d if norm_layer is None else norm_layer
    factory: dict[str, Any] = {"device": device, "dtype": dtype}
    stages = [
        (
            t,
            k,
            s,
            make_divisible(cin * width_mult, 8),
            make_divisible(cout * width_mult, 8),
            int(math.ceil(n * depth_mult)),
        )
        for t, k, s, cin, cout, n in _B0
    ]
    rates = iter(stochastic_depth_rates(stochastic_depth_prob, sum(stage[5] for stage in stages), endpoint=False))
    features: list[nn.Module] = [
        Conv2dNormActivation(
            3, stages[0][3], kernel_size=3, stride=2, norm_layer=norm, activation_layer=nn.SiLU, **factory
        )
    ]
    for expand_ratio, kernel, stride, cin, cout, count in stages:
        stage = [
            MBConv(
                cin if i == 0 else cout,
                cout,
                expand_ratio=expand_ratio,
                kernel_size=kernel,
                stride=stride if i == 0 else 1,
                stochastic_depth_prob=next(rates),
                norm_layer=norm,
                **factory,
            )
            for i in range(count)
        ]
        features.append(nn.Sequential(*stage))
    last_in = stages[-1][4]
    features.append(
        Conv2dNormActivation(last_in, 4 * last_in, kernel_size=1, norm_layer=norm, activation_layer=nn.SiLU, **factory)
    )
    classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True), nn.Linear(4 * last_in, num_classes, **factory))
    model = _Classifier(nn.Sequential(*features), classifier)

    def linear_init(module: nn.Linear) -> None:
        bound = 1.0 / math.sqrt(module.out_features)
        nn.init.uniform_(module.weight, -bound, bound)
        nn.init.zeros_(module.bias)

    _init_like_torchvision(model, linear_init)
    return model


def efficientnet_b0(**kwargs: Any) -> nn.Module:
    return efficientnet(width_mult=1.0, depth_mult=1.0, dropout=0.2, **kwargs)


def efficientnet_b1(**kwargs: Any) -> nn.Module:
    return efficientnet(width_mult=1.0, depth_mult=1.1, dropout=0.2, **kwargs)


def efficientnet_b2(**kwargs: Any) -> nn.Module:
    return efficientnet(width_mult=1.1, depth_mult=1.2, dropout=0.3, **kwargs)


def efficientnet_b3(**kwargs: Any) -> nn.Module:
    return efficientnet(width_mult=1.2, depth_mult=1.4, dropout=0.3, **kwargs)


# =================================================================================================
# Classification families of tracker issue 13: RegNet, DenseNet, SqueezeNet, ShuffleNetV2, MNASNet,
# GoogLeNet, Inception v3, VGG, AlexNet, EfficientNet B4-B7 and V2, the remaining ResNeXt/Wide ResNet.
# =================================================================================================

from collections import OrderedDict  # noqa: E402

import torch.nn.functional as F  # noqa: E402

from tvexp.prototype import (  # noqa: E402
    DenseBlock,
    DenseTransition,
    Fire,
    FusedMBConv,
    RegNetBottleneck,
    ShuffleNetV2Unit,
)

# ------------------------------------------------------------------------------------------ RegNet


def regnet_block_params(
    depth: int,
    w_0: int,
    w_a: float,
    w_m: float,
    group_width: int,
    bottleneck_multiplier: float = 1.0,
) -> list[tuple[int, int, int, int, float]]:
    """RegNet's quantized linear width rule (the paper's Eq. 2-4, torchvision's ``BlockParams.from_init_params``).

    Returns one ``(width, stride, depth, group_width, bottleneck_multiplier)`` per stage. The same
    torch operations as torchvision are used, so the rounding (and the checkpoint shapes) agree.
    """
    if w_a < 0 or w_0 <= 0 or w_m <= 1 or w_0 % 8 != 0:
        raise ValueError(
            f"invalid RegNet settings: w_0={w_0} (positive multiple of 8), w_a={w_a} (>= 0), w_m={w_m} (> 1)"
        )
    widths_cont = torch.arange(depth) * w_a + w_0
    block_capacity = torch.round(torch.log(widths_cont / w_0) / math.log(w_m))
    block_widths = (torch.round(torch.divide(w_0 * torch.pow(w_m, block_capacity), 8)) * 8).int().tolist()
    # A new stage starts wherever the width changes.
    splits = [w != wp for w, wp in zip(block_widths + [0], [0] + block_widths)]
    stage_widths = [w for w, split in zip(block_widths, splits[:-1]) if split]
    stage_depths = torch.diff(torch.tensor([d for d, split in enumerate(splits) if split])).int().tolist()
    stages = []
    for width, stage_depth in zip(stage_widths, stage_depths):
        # Make the bottleneck width divisible by the group width (which is capped at the bottleneck width).
        bottleneck = int(width * bottleneck_multiplier)
        group = min(group_width, bottleneck)
        bottleneck = make_divisible(bottleneck, group)
        stages.append((int(bottleneck / bottleneck_multiplier), 2, stage_depth, group, bottleneck_multiplier))
    return stages


class RegNet(nn.Module):
    """torchvision's RegNet layout (``stem``, ``trunk_output.block{i}.block{i}-{j}``, ``fc``) from tvexp blocks."""

    def __init__(
        self,
        stages: list[tuple[int, int, int, int, float]],
        se_ratio: float | None = None,
        num_classes: int = 1000,
        stem_width: int = 32,
        norm_layer: NormBuilder | None = None,
        activation: NormBuilder | None = None,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        norm = nn.BatchNorm2d if norm_layer is None else norm_layer
        act = nn.ReLU if activation is None else activation
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        self.stem = Conv2dNormActivation(3, stem_width, 3, 2, norm_layer=norm, activation_layer=act, **factory)
        width_in = stem_width
        trunk: OrderedDict[str, nn.Module] = OrderedDict()
        for i, (width, stride, depth, group_width, multiplier) in enumerate(stages, start=1):
            blocks: OrderedDict[str, nn.Module] = OrderedDict()
            for j in range(depth):
                blocks[f"block{i}-{j}"] = RegNetBottleneck(
                    width_in if j == 0 else width,
                    width,
                    stride if j == 0 else 1,
                    norm,
                    act,
                    group_width,
                    multiplier,
                    se_ratio,
                    **factory,
                )
            trunk[f"block{i}"] = nn.Sequential(blocks)
            width_in = width
        self.trunk_output = nn.Sequential(trunk)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width_in, num_classes, **factory)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels
                nn.init.normal_(module.weight, mean=0.0, std=math.sqrt(2.0 / fan_out))
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, mean=0.0, std=0.01)
                nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.trunk_output(self.stem(x)))
        return self.fc(x.flatten(start_dim=1))


def regnet(
    depth: int,
    w_0: int,
    w_a: float,
    w_m: float,
    group_width: int,
    *,
    bottleneck_multiplier: float = 1.0,
    se_ratio: float | None = None,
    **kwargs: Any,
) -> RegNet:
    """Any RegNet from its design-space parameters, plus :class:`RegNet`'s keywords (``num_classes``, ...)."""
    return RegNet(regnet_block_params(depth, w_0, w_a, w_m, group_width, bottleneck_multiplier), se_ratio, **kwargs)


# name -> (depth, w_0, w_a, w_m, group_width, se_ratio), as in torchvision's builders.
_REGNETS: dict[str, tuple[int, int, float, float, int, float | None]] = {
    "regnet_y_400mf": (16, 48, 27.89, 2.09, 8, 0.25),
    "regnet_y_800mf": (14, 56, 38.84, 2.4, 16, 0.25),
    "regnet_y_1_6gf": (27, 48, 20.71, 2.65, 24, 0.25),
    "regnet_y_3_2gf": (21, 80, 42.63, 2.66, 24, 0.25),
    "regnet_y_8gf": (17, 192, 76.82, 2.19, 56, 0.25),
    "regnet_y_16gf": (18, 200, 106.23, 2.48, 112, 0.25),
    "regnet_y_32gf": (20, 232, 115.89, 2.53, 232, 0.25),
    "regnet_y_128gf": (27, 456, 160.83, 2.52, 264, 0.25),
    "regnet_x_400mf": (22, 24, 24.48, 2.54, 16, None),
    "regnet_x_800mf": (16, 56, 35.73, 2.28, 16, None),
    "regnet_x_1_6gf": (18, 80, 34.01, 2.25, 24, None),
    "regnet_x_3_2gf": (25, 88, 26.31, 2.25, 48, None),
    "regnet_x_8gf": (23, 80, 49.56, 2.88, 120, None),
    "regnet_x_16gf": (22, 216, 55.59, 2.1, 128, None),
    "regnet_x_32gf": (23, 320, 69.86, 2.0, 168, None),
}


def _regnet_builder(name: str) -> Callable[..., RegNet]:
    depth, w_0, w_a, w_m, group_width, se_ratio = _REGNETS[name]

    def build(*, bottleneck_multiplier: float = 1.0, **kwargs: Any) -> RegNet:
        return regnet(
            depth, w_0, w_a, w_m, group_width, bottleneck_multiplier=bottleneck_multiplier, se_ratio=se_ratio, **kwargs
        )

    build.__name__ = build.__qualname__ = name
    build.__doc__ = (
        f"torchvision's ``{name}`` (keywords: ``num_classes``, ``stem_width``, ``norm_layer``, ``activation``)."
    )
    return build


regnet_y_400mf = _regnet_builder("regnet_y_400mf")
regnet_y_800mf = _regnet_builder("regnet_y_800mf")
regnet_y_1_6gf = _regnet_builder("regnet_y_1_6gf")
regnet_y_3_2gf = _regnet_builder("regnet_y_3_2gf")
regnet_y_8gf = _regnet_builder("regnet_y_8gf")
regnet_y_16gf = _regnet_builder("regnet_y_16gf")
regnet_y_32gf = _regnet_builder("regnet_y_32gf")
regnet_y_128gf = _regnet_builder("regnet_y_128gf")
regnet_x_400mf = _regnet_builder("regnet_x_400mf")
regnet_x_800mf = _regnet_builder("regnet_x_800mf")
regnet_x_1_6gf = _regnet_builder("regnet_x_1_6gf")
regnet_x_3_2gf = _regnet_builder("regnet_x_3_2gf")
regnet_x_8gf = _regnet_builder("regnet_x_8gf")
regnet_x_16gf = _regnet_builder("regnet_x_16gf")
regnet_x_32gf = _regnet_builder("regnet_x_32gf")


# ---------------------------------------------------------------------------------------- DenseNet


class DenseNet(nn.Module):
    """torchvision's DenseNet-BC layout (``features.conv0 ... denseblock{i} transition{i} ... norm5``, ``classifier``).

    torchvision's hosted DenseNet weights use legacy keys (``...denselayer1.norm.1.weight``); the
    :class:`~tvexp.prototype.DenseLayer` s rename them on load (with a deprecation warning asking to
    save again), so ``model.load_state_dict(hosted_state_dict)`` works with ``strict=True``.
    """

    def __init__(
        self,
        growth_rate: int = 32,
        block_config: tuple[int, ...] = (6, 12, 24, 16),
        num_init_features: int = 64,
        bn_size: int = 4,
        drop_rate: float = 0.0,
        num_classes: int = 1000,
        memory_efficient: bool = False,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        self.features = nn.Sequential(
            OrderedDict(
                [
                    (
                        "conv0",
                        nn.Conv2d(3, num_init_features, kernel_size=7, stride=2, padding=3, bias=False, **factory),
                    ),
                    ("norm0", nn.BatchNorm2d(num_init_features, **factory)),
                    ("relu0", nn.ReLU(inplace=True)),
                    ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
                ]
            )
        )
        channels = num_init_features
        for i, num_layers in enumerate(block_config):
            block = DenseBlock(num_layers, channels, bn_size, growth_rate, drop_rate, memory_efficient, **factory)
            self.features.add_module(f"denseblock{i + 1}", block)
            channels = block.out_channels
            if i != len(block_config) - 1:
                self.features.add_module(f"transition{i + 1}", DenseTransition(channels, channels // 2, **factory))
                channels //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(channels, **factory))
        self.classifier = nn.Linear(channels, num_classes, **factory)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.features(x), inplace=True)
        out = torch.flatten(F.adaptive_avg_pool2d(out, (1, 1)), 1)
        return self.classifier(out)


def densenet121(**kwargs: Any) -> DenseNet:
    return DenseNet(32, (6, 12, 24, 16), 64, **kwargs)


def densenet161(**kwargs: Any) -> DenseNet:
    return DenseNet(48, (6, 12, 36, 24), 96, **kwargs)


def densenet169(**kwargs: Any) -> DenseNet:
    return DenseNet(32, (6, 12, 32, 32), 64, **kwargs)


def densenet201(**kwargs: Any) -> DenseNet:
    return DenseNet(32, (6, 12, 48, 32), 64, **kwargs)


# -------------------------------------------------------------------------------------- SqueezeNet


class SqueezeNet(nn.Module):
    """torchvision's SqueezeNet 1.0 / 1.1 (``features`` with :class:`~tvexp.prototype.Fire` modules, ``classifier``)."""

    def __init__(
        self,
        version: str = "1_0",
        num_classes: int = 1000,
        dropout: float = 0.5,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        self.num_classes = num_classes

        def pool() -> nn.Module:
            return nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)

        def fire(*channels: int) -> nn.Module:
            return Fire(*channels, **factory)

        if version == "1_0":
            self.features = nn.Sequential(
                nn.Conv2d(3, 96, kernel_size=7, stride=2, **factory),
                nn.ReLU(inplace=True),
                pool(),
                fire(96, 16, 64, 64),
                fire(128, 16, 64, 64),
                fire(128, 32, 128, 128),
                pool(),
                fire(256, 32, 128, 128),
                fire(256, 48, 192, 192),
                fire(384, 48, 192, 192),
                fire(384, 64, 256, 256),
                pool(),
                fire(512, 64, 256, 256),
            )
        elif version == "1_1":
            self.features = nn.Sequential(
                nn.Conv2d(3, 64, kernel_size=3, stride=2, **factory),
                nn.ReLU(inplace=True),
                pool(),
                fire(64, 16, 64, 64),
                fire(128, 16, 64, 64),
                pool(),
                fire(128, 32, 128, 128),
                fire(256, 32, 128, 128),
                pool(),
                fire(256, 48, 192, 192),
                fire(384, 48, 192, 192),
                fire(384, 64, 256, 256),
                fire(512, 64, 256, 256),
            )
        else:
            raise ValueError(f"version must be '1_0' or '1_1', got {version!r}")
        final_conv = nn.Conv2d(512, num_classes, kernel_size=1, **factory)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), final_conv, nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1))
        )
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                if module is final_conv:
                    nn.init.normal_(module.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        return torch.flatten(self.classifier(self.features(x)), 1)


def squeezenet1_0(**kwargs: Any) -> SqueezeNet:
    return SqueezeNet("1_0", **kwargs)


def squeezenet1_1(**kwargs: Any) -> SqueezeNet:
    return SqueezeNet("1_1", **kwargs)


# ------------------------------------------------------------------------------------ ShuffleNetV2


class ShuffleNetV2(nn.Module):
    """torchvision's ShuffleNetV2 (``conv1``, ``stage2..4`` of :class:`~tvexp.prototype.ShuffleNetV2Unit`, ``conv5``, ``fc``)."""

    def __init__(
        self,
        stages_repeats: list[int],
        stages_out_channels: list[int],
        num_classes: int = 1000,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if len(stages_repeats) != 3:
            raise ValueError(f"stages_repeats must be 3 positive ints, got {stages_repeats!r}")
        if len(stages_out_channels) != 5:
            raise ValueError(f"stages_out_channels must be 5 positive ints, got {stages_out_channels!r}")
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        self._stage_out_channels = stages_out_channels
        channels = stages_out_channels[0]
        self.conv1 = Conv2dNormActivation(3, channels, 3, 2, **factory)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        for index, (repeats, out_channels) in enumerate(zip(stages_repeats, stages_out_channels[1:4])):
            units = [ShuffleNetV2Unit(channels, out_channels, 2, **factory)]
            units += [ShuffleNetV2Unit(out_channels, out_channels, 1, **factory) for _ in range(repeats - 1)]
            setattr(self, f"stage{index + 2}", nn.Sequential(*units))
            channels = out_channels
        self.conv5 = Conv2dNormActivation(channels, stages_out_channels[-1], 1, **factory)
        self.fc = nn.Linear(stages_out_channels[-1], num_classes, **factory)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.stage4(self.stage3(self.stage2(x))))
        return self.fc(x.mean([2, 3]))


def shufflenet_v2_x0_5(**kwargs: Any) -> ShuffleNetV2:
    return ShuffleNetV2([4, 8, 4], [24, 48, 96, 192, 1024], **kwargs)


def shufflenet_v2_x1_0(**kwargs: Any) -> ShuffleNetV2:
    return ShuffleNetV2([4, 8, 4], [24, 116, 232, 464, 1024], **kwargs)


def shufflenet_v2_x1_5(**kwargs: Any) -> ShuffleNetV2:
    return ShuffleNetV2([4, 8, 4], [24, 176, 352, 704, 1024], **kwargs)


def shufflenet_v2_x2_0(**kwargs: Any) -> ShuffleNetV2:
    return ShuffleNetV2([4, 8, 4], [24, 244, 488, 976, 2048], **kwargs)


# ----------------------------------------------------------------------------------------- MNASNet

_MNASNET_BN_MOMENTUM = 1 - 0.9997


class MNASNet(nn.Module):
    """torchvision's MNASNet-B1 (``layers.0..16``, ``classifier``) with the ``"mnasnet"`` InvertedResidual layout.

    Checkpoints of torchvision's first MNASNet version (a different stem for ``alpha != 1``, which
    torchvision converts in ``_load_from_state_dict``) are not supported.
    """

    def __init__(
        self,
        alpha: float,
        num_classes: int = 1000,
        dropout: float = 0.2,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if not alpha > 0.0:
            raise ValueError(f"alpha must be positive, got {alpha}")
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        self.alpha = alpha
        self.num_classes = num_classes
        depths = [make_divisible(depth * alpha, 8) for depth in (32, 16, 24, 40, 80, 96, 192, 320)]
        norm = partial(nn.BatchNorm2d, momentum=_MNASNET_BN_MOMENTUM)

        def stack(cin: int, cout: int, kernel: int, stride: int, expansion: int, repeats: int) -> nn.Sequential:
            return nn.Sequential(
                *(
                    InvertedResidual(
                        cin if i == 0 else cout,
                        cout,
                        stride if i == 0 else 1,
                        expansion,
                        norm,
                        kernel_size=kernel,
                        activation_layer=nn.ReLU,
                        layout="mnasnet",
                        **factory,
                    )
                    for i in range(repeats)
                )
            )

        self.layers = nn.Sequential(
            nn.Conv2d(3, depths[0], 3, padding=1, stride=2, bias=False, **factory),
            norm(depths[0], **factory),
            nn.ReLU(inplace=True),
            nn.Conv2d(depths[0], depths[0], 3, padding=1, groups=depths[0], bias=False, **factory),
            norm(depths[0], **factory),
            nn.ReLU(inplace=True),
            nn.Conv2d(depths[0], depths[1], 1, bias=False, **factory),
            norm(depths[1], **factory),
            stack(depths[1], depths[2], 3, 2, 3, 3),
            stack(depths[2], depths[3], 5, 2, 3, 3),
            stack(depths[3], depths[4], 5, 2, 6, 3),
            stack(depths[4], depths[5], 3, 1, 6, 2),
            stack(depths[5], depths[6], 5, 2, 6, 4),
            stack(depths[6], depths[7], 3, 1, 6, 1),
            nn.Conv2d(depths[7], 1280, 1, bias=False, **factory),
            norm(1280, **factory),
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True), nn.Linear(1280, num_classes, **factory))
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.kaiming_uniform_(module.weight, mode="fan_out", nonlinearity="sigmoid")
                nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.layers(x).mean([2, 3]))


def mnasnet0_5(**kwargs: Any) -> MNASNet:
    return MNASNet(0.5, **kwargs)


def mnasnet0_75(**kwargs: Any) -> MNASNet:
    return MNASNet(0.75, **kwargs)


def mnasnet1_0(**kwargs: Any) -> MNASNet:
    return MNASNet(1.0, **kwargs)


def mnasnet1_3(**kwargs: Any) -> MNASNet:
    return MNASNet(1.3, **kwargs)


# ---------------------------------------------------------------------------- GoogLeNet, Inception v3

from typing import NamedTuple, Optional  # noqa: E402

from tvexp.prototype import NamedConv2dNormActivation  # noqa: E402


def _basic_conv(
    in_channels: int,
    out_channels: int,
    kernel_size: int | tuple[int, int],
    stride: int = 1,
    padding: int | tuple[int, int] = 0,
    **factory: Any,
) -> NamedConv2dNormActivation:
    """torchvision's ``BasicConv2d``: conv (no bias), BatchNorm (eps 0.001), ReLU; unpadded unless told."""
    return NamedConv2dNormActivation(in_channels, out_channels, kernel_size, stride, padding, **factory)


def _transform_input(x: Tensor) -> Tensor:
    """Maps ImageNet-normalised input to the (x - 0.5) / 0.5 normalisation of the ported Google weights."""
    x_ch0 = torch.unsqueeze(x[:, 0], 1) * (0.229 / 0.5) + (0.485 - 0.5) / 0.5
    x_ch1 = torch.unsqueeze(x[:, 1], 1) * (0.224 / 0.5) + (0.456 - 0.5) / 0.5
    x_ch2 = torch.unsqueeze(x[:, 2], 1) * (0.225 / 0.5) + (0.406 - 0.5) / 0.5
    return torch.cat((x_ch0, x_ch1, x_ch2), 1)


class GoogLeNetOutputs(NamedTuple):
    logits: Tensor
    aux_logits2: Optional[Tensor]
    aux_logits1: Optional[Tensor]


class _GoogLeNetInception(nn.Module):
    """GoogLeNet's Inception module: 1x1 | 1x1-3x3 | 1x1-3x3 (torchvision's "5x5" branch) | pool-1x1."""

    def __init__(
        self, cin: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int, ch5x5: int, pool_proj: int, **factory: Any
    ) -> None:
        super().__init__()
        self.branch1 = _basic_conv(cin, ch1x1, 1, **factory)
        self.branch2 = nn.Sequential(
            _basic_conv(cin, ch3x3red, 1, **factory), _basic_conv(ch3x3red, ch3x3, 3, padding=1, **factory)
        )
        # torchvision (and its ported weights) use a 3x3 where the paper has a 5x5 (pytorch/vision#906).
        self.branch3 = nn.Sequential(
            _basic_conv(cin, ch5x5red, 1, **factory), _basic_conv(ch5x5red, ch5x5, 3, padding=1, **factory)
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True), _basic_conv(cin, pool_proj, 1, **factory)
        )

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class _GoogLeNetAux(nn.Module):
    def __init__(self, cin: int, num_classes: int, dropout: float, **factory: Any) -> None:
        super().__init__()
        self.conv = _basic_conv(cin, 128, 1, **factory)
        self.fc1 = nn.Linear(2048, 1024, **factory)
        self.fc2 = nn.Linear(1024, num_classes, **factory)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: Tensor) -> Tensor:
        x = torch.flatten(self.conv(F.adaptive_avg_pool2d(x, (4, 4))), 1)
        return self.fc2(self.dropout(F.relu(self.fc1(x), inplace=True)))


class GoogLeNet(nn.Module):
    """torchvision's GoogLeNet (Inception v1) with :class:`~tvexp.prototype.NamedConv2dNormActivation` convolutions.

    In training mode with ``aux_logits`` the forward returns ``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)``,
    otherwise the logits.
    """

    def __init__(
        self,
        num_classes: int = 1000,
        aux_logits: bool = True,
        transform_input: bool = False,
        init_weights: bool | None = True,
        dropout: float = 0.2,
        dropout_aux: float = 0.7,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        self.conv1 = _basic_conv(3, 64, 7, 2, 3, **factory)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = _basic_conv(64, 64, 1, **factory)
        self.conv3 = _basic_conv(64, 192, 3, padding=1, **factory)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = _GoogLeNetInception(192, 64, 96, 128, 16, 32, 32, **factory)
        self.inception3b = _GoogLeNetInception(256, 128, 128, 192, 32, 96, 64, **factory)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = _GoogLeNetInception(480, 192, 96, 208, 16, 48, 64, **factory)
        self.inception4b = _GoogLeNetInception(512, 160, 112, 224, 24, 64, 64, **factory)
        self.inception4c = _GoogLeNetInception(512, 128, 128, 256, 24, 64, 64, **factory)
        self.inception4d = _GoogLeNetInception(512, 112, 144, 288, 32, 64, 64, **factory)
        self.inception4e = _GoogLeNetInception(528, 256, 160, 320, 32, 128, 128, **factory)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = _GoogLeNetInception(832, 256, 160, 320, 32, 128, 128, **factory)
        self.inception5b = _GoogLeNetInception(832, 384, 192, 384, 48, 128, 128, **factory)
        self.aux1 = _GoogLeNetAux(512, num_classes, dropout_aux, **factory) if aux_logits else None
        self.aux2 = _GoogLeNetAux(528, num_classes, dropout_aux, **factory) if aux_logits else None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes, **factory)
        if init_weights or init_weights is None:
            for module in self.modules():
                if isinstance(module, (nn.Conv2d, nn.Linear)):
                    nn.init.trunc_normal_(module.weight, mean=0.0, std=0.01, a=-2, b=2)
                elif isinstance(module, nn.BatchNorm2d):
                    nn.init.ones_(module.weight)
                    nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor | GoogLeNetOutputs:
        if self.transform_input:
            x = _transform_input(x)
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.maxpool4(self.inception4e(x))
        x = self.avgpool(self.inception5b(self.inception5a(x)))
        x = self.fc(self.dropout(torch.flatten(x, 1)))
        if self.training and self.aux_logits:
            return GoogLeNetOutputs(x, aux2, aux1)
        return x


def googlenet(**kwargs: Any) -> GoogLeNet:
    """torchvision's ``googlenet`` (``aux_logits``, ``transform_input``, ``init_weights``, ``dropout``, ``dropout_aux``)."""
    return GoogLeNet(**kwargs)


class InceptionOutputs(NamedTuple):
    logits: Tensor
    aux_logits: Optional[Tensor]


class _InceptionA(nn.Module):
    def __init__(self, cin: int, pool_features: int, **factory: Any) -> None:
        super().__init__()
        self.branch1x1 = _basic_conv(cin, 64, 1, **factory)
        self.branch5x5_1 = _basic_conv(cin, 48, 1, **factory)
        self.branch5x5_2 = _basic_conv(48, 64, 5, padding=2, **factory)
        self.branch3x3dbl_1 = _basic_conv(cin, 64, 1, **factory)
        self.branch3x3dbl_2 = _basic_conv(64, 96, 3, padding=1, **factory)
        self.branch3x3dbl_3 = _basic_conv(96, 96, 3, padding=1, **factory)
        self.branch_pool = _basic_conv(cin, pool_features, 1, **factory)

    def forward(self, x: Tensor) -> Tensor:
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([self.branch1x1(x), branch5x5, branch3x3dbl, branch_pool], 1)


class _InceptionB(nn.Module):
    def __init__(self, cin: int, **factory: Any) -> None:
        super().__init__()
        self.branch3x3 = _basic_conv(cin, 384, 3, 2, **factory)
        self.branch3x3dbl_1 = _basic_conv(cin, 64, 1, **factory)
        self.branch3x3dbl_2 = _basic_conv(64, 96, 3, padding=1, **factory)
        self.branch3x3dbl_3 = _basic_conv(96, 96, 3, 2, **factory)

    def forward(self, x: Tensor) -> Tensor:
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), branch3x3dbl, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class _InceptionC(nn.Module):
    def __init__(self, cin: int, channels_7x7: int, **factory: Any) -> None:
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = _basic_conv(cin, 192, 1, **factory)
        self.branch7x7_1 = _basic_conv(cin, c7, 1, **factory)
        self.branch7x7_2 = _basic_conv(c7, c7, (1, 7), padding=(0, 3), **factory)
        self.branch7x7_3 = _basic_conv(c7, 192, (7, 1), padding=(3, 0), **factory)
        self.branch7x7dbl_1 = _basic_conv(cin, c7, 1, **factory)
        self.branch7x7dbl_2 = _basic_conv(c7, c7, (7, 1), padding=(3, 0), **factory)
        self.branch7x7dbl_3 = _basic_conv(c7, c7, (1, 7), padding=(0, 3), **factory)
        self.branch7x7dbl_4 = _basic_conv(c7, c7, (7, 1), padding=(3, 0), **factory)
        self.branch7x7dbl_5 = _basic_conv(c7, 192, (1, 7), padding=(0, 3), **factory)
        self.branch_pool = _basic_conv(cin, 192, 1, **factory)

    def forward(self, x: Tensor) -> Tensor:
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        branch7x7dbl = self.branch7x7dbl_1(x)
        branch7x7dbl = self.branch7x7dbl_3(self.branch7x7dbl_2(branch7x7dbl))
        branch7x7dbl = self.branch7x7dbl_5(self.branch7x7dbl_4(branch7x7dbl))
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([self.branch1x1(x), branch7x7, branch7x7dbl, branch_pool], 1)


class _InceptionD(nn.Module):
    def __init__(self, cin: int, **factory: Any) -> None:
        super().__init__()
        self.branch3x3_1 = _basic_conv(cin, 192, 1, **factory)
        self.branch3x3_2 = _basic_conv(192, 320, 3, 2, **factory)
        self.branch7x7x3_1 = _basic_conv(cin, 192, 1, **factory)
        self.branch7x7x3_2 = _basic_conv(192, 192, (1, 7), padding=(0, 3), **factory)
        self.branch7x7x3_3 = _basic_conv(192, 192, (7, 1), padding=(3, 0), **factory)
        self.branch7x7x3_4 = _basic_conv(192, 192, 3, 2, **factory)

    def forward(self, x: Tensor) -> Tensor:
        branch3x3 = self.branch3x3_2(self.branch3x3_1(x))
        branch7x7x3 = self.branch7x7x3_2(self.branch7x7x3_1(x))
        branch7x7x3 = self.branch7x7x3_4(self.branch7x7x3_3(branch7x7x3))
        return torch.cat([branch3x3, branch7x7x3, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class _InceptionE(nn.Module):
    def __init__(self, cin: int, **factory: Any) -> None:
        super().__init__()
        self.branch1x1 = _basic_conv(cin, 320, 1, **factory)
        self.branch3x3_1 = _basic_conv(cin, 384, 1, **factory)
        self.branch3x3_2a = _basic_conv(384, 384, (1, 3), padding=(0, 1), **factory)
        self.branch3x3_2b = _basic_conv(384, 384, (3, 1), padding=(1, 0), **factory)
        self.branch3x3dbl_1 = _basic_conv(cin, 448, 1, **factory)
        self.branch3x3dbl_2 = _basic_conv(448, 384, 3, padding=1, **factory)
        self.branch3x3dbl_3a = _basic_conv(384, 384, (1, 3), padding=(0, 1), **factory)
        self.branch3x3dbl_3b = _basic_conv(384, 384, (3, 1), padding=(1, 0), **factory)
        self.branch_pool = _basic_conv(cin, 192, 1, **factory)

    def forward(self, x: Tensor) -> Tensor:
        branch3x3 = self.branch3x3_1(x)
        branch3x3 = torch.cat([self.branch3x3_2a(branch3x3), self.branch3x3_2b(branch3x3)], 1)
        branch3x3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = torch.cat([self.branch3x3dbl_3a(branch3x3dbl), self.branch3x3dbl_3b(branch3x3dbl)], 1)
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([self.branch1x1(x), branch3x3, branch3x3dbl, branch_pool], 1)


class _InceptionAux(nn.Module):
    def __init__(self, cin: int, num_classes: int, **factory: Any) -> None:
        super().__init__()
        self.conv0 = _basic_conv(cin, 128, 1, **factory)
        self.conv1 = _basic_conv(128, 768, 5, **factory)
        self.fc = nn.Linear(768, num_classes, **factory)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1(self.conv0(F.avg_pool2d(x, kernel_size=5, stride=3)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1))


class Inception3(nn.Module):
    """torchvision's Inception v3 (``Conv2d_1a_3x3`` ... ``Mixed_7c``, ``AuxLogits``, ``fc``) from tvexp layers.

    Inception A-E are architecture-specific and stay here, built from
    :class:`~tvexp.prototype.NamedConv2dNormActivation`. In training mode with ``aux_logits`` the
    forward returns ``InceptionOutputs(logits, aux_logits)``, otherwise the logits. Inputs of at least
    75x75 pixels.
    """

    def __init__(
        self,
        num_classes: int = 1000,
        aux_logits: bool = True,
        transform_input: bool = False,
        init_weights: bool | None = True,
        dropout: float = 0.5,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        self.Conv2d_1a_3x3 = _basic_conv(3, 32, 3, 2, **factory)
        self.Conv2d_2a_3x3 = _basic_conv(32, 32, 3, **factory)
        self.Conv2d_2b_3x3 = _basic_conv(32, 64, 3, padding=1, **factory)
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Conv2d_3b_1x1 = _basic_conv(64, 80, 1, **factory)
        self.Conv2d_4a_3x3 = _basic_conv(80, 192, 3, **factory)
        self.maxpool2 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Mixed_5b = _InceptionA(192, 32, **factory)
        self.Mixed_5c = _InceptionA(256, 64, **factory)
        self.Mixed_5d = _InceptionA(288, 64, **factory)
        self.Mixed_6a = _InceptionB(288, **factory)
        self.Mixed_6b = _InceptionC(768, 128, **factory)
        self.Mixed_6c = _InceptionC(768, 160, **factory)
        self.Mixed_6d = _InceptionC(768, 160, **factory)
        self.Mixed_6e = _InceptionC(768, 192, **factory)
        self.AuxLogits = _InceptionAux(768, num_classes, **factory) if aux_logits else None
        self.Mixed_7a = _InceptionD(768, **factory)
        self.Mixed_7b = _InceptionE(1280, **factory)
        self.Mixed_7c = _InceptionE(2048, **factory)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(2048, num_classes, **factory)
        if init_weights or init_weights is None:
            # torchvision: std 0.1 everywhere except the auxiliary classifier's fc (0.001).
            for module in self.modules():
                if isinstance(module, (nn.Conv2d, nn.Linear)):
                    std = 0.001 if self.AuxLogits is not None and module is self.AuxLogits.fc else 0.1
                    nn.init.trunc_normal_(module.weight, mean=0.0, std=std, a=-2, b=2)
                elif isinstance(module, nn.BatchNorm2d):
                    nn.init.ones_(module.weight)
                    nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor | InceptionOutputs:
        if self.transform_input:
            x = _transform_input(x)
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = self.maxpool2(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(self.maxpool1(x))))
        x = self.Mixed_6a(self.Mixed_5d(self.Mixed_5c(self.Mixed_5b(x))))
        x = self.Mixed_6e(self.Mixed_6d(self.Mixed_6c(self.Mixed_6b(x))))
        aux = self.AuxLogits(x) if self.AuxLogits is not None and self.training else None
        x = self.avgpool(self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(x))))
        x = self.fc(torch.flatten(self.dropout(x), 1))
        if self.training and self.aux_logits:
            return InceptionOutputs(x, aux)
        return x


def inception_v3(**kwargs: Any) -> Inception3:
    """torchvision's ``inception_v3`` (``aux_logits``, ``transform_input``, ``init_weights``, ``dropout``)."""
    return Inception3(**kwargs)


# -------------------------------------------------------------------------------------- VGG, AlexNet

_VGG_CONFIGS: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def vgg_features(config: list[int | str], batch_norm: bool, **factory: Any) -> nn.Sequential:
    """VGG's flat feature Sequential (conv 3x3 with bias, [BatchNorm], ReLU; ``"M"`` = 2x2 max pool).

    Plain torch.nn modules: torchvision's checkpoint keys are flat indices (``features.0.weight``,
    ``features.1.running_mean``), which a Conv-Norm-Activation block would nest one level deeper.
    """
    layers: list[nn.Module] = []
    channels = 3
    for item in config:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        assert isinstance(item, int)
        layers.append(nn.Conv2d(channels, item, kernel_size=3, padding=1, **factory))
        if batch_norm:
            layers.append(nn.BatchNorm2d(item, **factory))
        layers.append(nn.ReLU(inplace=True))
        channels = item
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """torchvision's VGG (``features``, ``avgpool``, ``classifier``)."""

    def __init__(
        self,
        features: nn.Module,
        num_classes: int = 1000,
        init_weights: bool = True,
        dropout: float = 0.5,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096, **factory),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096, **factory),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes, **factory),
        )
        if init_weights:
            for module in self.modules():
                if isinstance(module, nn.Conv2d):
                    nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                    if module.bias is not None:
                        nn.init.zeros_(module.bias)
                elif isinstance(module, nn.BatchNorm2d):
                    nn.init.ones_(module.weight)
                    nn.init.zeros_(module.bias)
                elif isinstance(module, nn.Linear):
                    nn.init.normal_(module.weight, 0, 0.01)
                    nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def _vgg(config: str, batch_norm: bool, device: Device = None, dtype: torch.dtype | None = None, **kwargs: Any) -> VGG:
    features = vgg_features(_VGG_CONFIGS[config], batch_norm, device=device, dtype=dtype)
    return VGG(features, device=device, dtype=dtype, **kwargs)


def vgg11(**kwargs: Any) -> VGG:
    return _vgg("A", False, **kwargs)


def vgg11_bn(**kwargs: Any) -> VGG:
    return _vgg("A", True, **kwargs)


def vgg13(**kwargs: Any) -> VGG:
    return _vgg("B", False, **kwargs)


def vgg13_bn(**kwargs: Any) -> VGG:
    return _vgg("B", True, **kwargs)


def vgg16(**kwargs: Any) -> VGG:
    return _vgg("D", False, **kwargs)


def vgg16_bn(**kwargs: Any) -> VGG:
    return _vgg("D", True, **kwargs)


def vgg19(**kwargs: Any) -> VGG:
    return _vgg("E", False, **kwargs)


def vgg19_bn(**kwargs: Any) -> VGG:
    return _vgg("E", True, **kwargs)


class AlexNet(nn.Module):
    """torchvision's AlexNet (the "one weird trick" variant: ``features``, ``avgpool``, ``classifier``)."""

    def __init__(
        self, num_classes: int = 1000, dropout: float = 0.5, device: Device = None, dtype: torch.dtype | None = None
    ) -> None:
        super().__init__()
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2, **factory),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2, **factory),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1, **factory),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1, **factory),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1, **factory),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096, **factory),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096, **factory),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes, **factory),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def alexnet(**kwargs: Any) -> AlexNet:
    return AlexNet(**kwargs)


# ------------------------------------------------------------------ EfficientNet B4-B7 and V2, ResNe(X)t


def efficientnet_b4(**kwargs: Any) -> nn.Module:
    kwargs.setdefault("dropout", 0.4)
    return efficientnet(width_mult=1.4, depth_mult=1.8, **kwargs)


def efficientnet_b5(**kwargs: Any) -> nn.Module:
    kwargs.setdefault("dropout", 0.4)
    kwargs.setdefault("norm_layer", partial(nn.BatchNorm2d, eps=0.001, momentum=0.01))
    return efficientnet(width_mult=1.6, depth_mult=2.2, **kwargs)


def efficientnet_b6(**kwargs: Any) -> nn.Module:
    kwargs.setdefault("dropout", 0.5)
    kwargs.setdefault("norm_layer", partial(nn.BatchNorm2d, eps=0.001, momentum=0.01))
    return efficientnet(width_mult=1.8, depth_mult=2.6, **kwargs)


def efficientnet_b7(**kwargs: Any) -> nn.Module:
    kwargs.setdefault("dropout", 0.5)
    kwargs.setdefault("norm_layer", partial(nn.BatchNorm2d, eps=0.001, momentum=0.01))
    return efficientnet(width_mult=2.0, depth_mult=3.1, **kwargs)


# (fused, expand ratio, kernel, stride, in, out, layers) of EfficientNetV2 (Table 4 of arXiv:2104.00298).
_V2_TABLES: dict[str, list[tuple[bool, int, int, int, int, int, int]]] = {
    "s": [
        (True, 1, 3, 1, 24, 24, 2),
        (True, 4, 3, 2, 24, 48, 4),
        (True, 4, 3, 2, 48, 64, 4),
        (False, 4, 3, 2, 64, 128, 6),
        (False, 6, 3, 1, 128, 160, 9),
        (False, 6, 3, 2, 160, 256, 15),
    ],
    "m": [
        (True, 1, 3, 1, 24, 24, 3),
        (True, 4, 3, 2, 24, 48, 5),
        (True, 4, 3, 2, 48, 80, 5),
        (False, 4, 3, 2, 80, 160, 7),
        (False, 6, 3, 1, 160, 176, 14),
        (False, 6, 3, 2, 176, 304, 18),
        (False, 6, 3, 1, 304, 512, 5),
    ],
    "l": [
        (True, 1, 3, 1, 32, 32, 4),
        (True, 4, 3, 2, 32, 64, 7),
        (True, 4, 3, 2, 64, 96, 7),
        (False, 4, 3, 2, 96, 192, 10),
        (False, 6, 3, 1, 192, 224, 19),
        (False, 6, 3, 2, 224, 384, 25),
        (False, 6, 3, 1, 384, 640, 7),
    ],
}


def efficientnet_v2(
    table: list[tuple[bool, int, int, int, int, int, int]],
    *,
    last_channel: int = 1280,
    dropout: float = 0.2,
    stochastic_depth_prob: float = 0.2,
    num_classes: int = 1000,
    norm_layer: NormBuilder | None = None,
    device: Device = None,
    dtype: torch.dtype | None = None,
) -> nn.Module:
    """torchvision's EfficientNetV2 layout from a stage table of :class:`FusedMBConv` and :class:`MBConv` rows."""
    norm = partial(nn.BatchNorm2d, eps=1e-3) if norm_layer is None else norm_layer
    factory: dict[str, Any] = {"device": device, "dtype": dtype}
    rates = iter(stochastic_depth_rates(stochastic_depth_prob, sum(row[6] for row in table), endpoint=False))
    features: list[nn.Module] = [
        Conv2dNormActivation(
            3, table[0][4], kernel_size=3, stride=2, norm_layer=norm, activation_layer=nn.SiLU, **factory
        )
    ]
    for fused, expand_ratio, kernel, stride, cin, cout, count in table:
        block = FusedMBConv if fused else MBConv
        features.append(
            nn.Sequential(
                *(
                    block(
                        cin if i == 0 else cout,
                        cout,
                        expand_ratio=expand_ratio,
                        kernel_size=kernel,
                        stride=stride if i == 0 else 1,
                        stochastic_depth_prob=next(rates),
                        norm_layer=norm,
                        **factory,
                    )
                    for i in range(count)
                )
            )
        )
    features.append(
        Conv2dNormActivation(
            table[-1][5], last_channel, kernel_size=1, norm_layer=norm, activation_layer=nn.SiLU, **factory
        )
    )
    classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True), nn.Linear(last_channel, num_classes, **factory))
    model = _Classifier(nn.Sequential(*features), classifier)

    def linear_init(module: nn.Linear) -> None:
        bound = 1.0 / math.sqrt(module.out_features)
        nn.init.uniform_(module.weight, -bound, bound)
        nn.init.zeros_(module.bias)

    _init_like_torchvision(model, linear_init)
    return model


def efficientnet_v2_s(**kwargs: Any) -> nn.Module:
    kwargs.setdefault("dropout", 0.2)
    return efficientnet_v2(_V2_TABLES["s"], **kwargs)


def efficientnet_v2_m(**kwargs: Any) -> nn.Module:
    kwargs.setdefault("dropout", 0.3)
    return efficientnet_v2(_V2_TABLES["m"], **kwargs)


def efficientnet_v2_l(**kwargs: Any) -> nn.Module:
    kwargs.setdefault("dropout", 0.4)
    return efficientnet_v2(_V2_TABLES["l"], **kwargs)


def resnext101_32x8d(**kwargs: Any) -> ResNet:
    return ResNet(Bottleneck, [3, 4, 23, 3], groups=32, width_per_group=8, **kwargs)


def resnext101_64x4d(**kwargs: Any) -> ResNet:
    return ResNet(Bottleneck, [3, 4, 23, 3], groups=64, width_per_group=4, **kwargs)


def wide_resnet101_2(**kwargs: Any) -> ResNet:
    return ResNet(Bottleneck, [3, 4, 23, 3], width_per_group=128, **kwargs)


__all__ += [
    "AlexNet",
    "DenseNet",
    "GoogLeNet",
    "GoogLeNetOutputs",
    "Inception3",
    "InceptionOutputs",
    "MNASNet",
    "RegNet",
    "ShuffleNetV2",
    "SqueezeNet",
    "VGG",
    "alexnet",
    "densenet121",
    "densenet161",
    "densenet169",
    "densenet201",
    "efficientnet_b4",
    "efficientnet_b5",
    "efficientnet_b6",
    "efficientnet_b7",
    "efficientnet_v2",
    "efficientnet_v2_l",
    "efficientnet_v2_m",
    "efficientnet_v2_s",
    "googlenet",
    "inception_v3",
    "mnasnet0_5",
    "mnasnet0_75",
    "mnasnet1_0",
    "mnasnet1_3",
    "regnet",
    "regnet_block_params",
    *_REGNETS,
    "resnext101_32x8d",
    "resnext101_64x4d",
    "shufflenet_v2_x0_5",
    "shufflenet_v2_x1_0",
    "shufflenet_v2_x1_5",
    "shufflenet_v2_x2_0",
    "squeezenet1_0",
    "squeezenet1_1",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
    "vgg_features",
    "wide_resnet101_2",
]


# ============================================================================ transformer-era models
# Vision Transformer and ConvNeXt from tvexp's TransformerEncoderBlock, ConvNeXtBlock and LayerNorm2d
# (state_dict keys, shapes and dtypes checked against torchvision 0.29 in
# tests/parity/test_parity_transformers.py).


class _ViTEncoder(nn.Module):
    """torchvision's ViT ``Encoder``: position embedding, dropout, ``layers.encoder_layer_{i}``, final norm."""

    def __init__(
        self,
        seq_length: int,
        num_layers: int,
        num_heads: int,
        hidden_dim: int,
        mlp_dim: int,
        dropout: float,
        attention_dropout: float,
        norm_layer: NormBuilder,
        stochastic_depth_prob: float,
        factory: dict[str, Any],
    ) -> None:
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(1, seq_length, hidden_dim, **factory).normal_(std=0.02))
        self.dropout = nn.Dropout(dropout)
        rates = stochastic_depth_rates(stochastic_depth_prob, num_layers)
        self.layers = nn.Sequential(
            OrderedDict(
                (
                    f"encoder_layer_{i}",
                    TransformerEncoderBlock(
                        num_heads,
                        hidden_dim,
                        mlp_dim,
                        dropout,
                        attention_dropout,
                        norm_layer,
                        stochastic_depth_prob=rates[i],
                        **factory,
                    ),
                )
                for i in range(num_layers)
            )
        )
        self.ln = norm_layer(hidden_dim, **factory)

    def forward(self, x: Tensor) -> Tensor:
        return self.ln(self.layers(self.dropout(x + self.pos_embedding)))


class VisionTransformer(nn.Module):
    """torchvision's ``VisionTransformer`` layout (``class_token conv_proj encoder heads``) from tvexp blocks.

    ``stochastic_depth_prob`` (not in torchvision) drops the blocks' residual branches with the
    usual linear schedule; 0 gives torchvision's network.
    """

    def __init__(
        self,
        image_size: int,
        patch_size: int,
        num_layers: int,
        num_heads: int,
        hidden_dim: int,
        mlp_dim: int,
        dropout: float = 0.0,
        attention_dropout: float = 0.0,
        num_classes: int = 1000,
        representation_size: int | None = None,
        norm_layer: NormBuilder | None = None,
        stochastic_depth_prob: float = 0.0,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if image_size % patch_size != 0:
            raise ValueError(f"image_size must be divisible by patch_size, got {image_size} and {patch_size}")
        norm = partial(nn.LayerNorm, eps=1e-6) if norm_layer is None else norm_layer
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        self.image_size = image_size
        self.patch_size = patch_size
        self.hidden_dim = hidden_dim
        self.conv_proj = nn.Conv2d(3, hidden_dim, kernel_size=patch_size, stride=patch_size, **factory)
        self.class_token = nn.Parameter(torch.zeros(1, 1, hidden_dim, **factory))
        seq_length = (image_size // patch_size) ** 2 + 1
        self.encoder = _ViTEncoder(
            seq_length,
            num_layers,
            num_heads,
            hidden_dim,
            mlp_dim,
            dropout,
            attention_dropout,
            norm,
            stochastic_depth_prob,
            factory,
        )
        heads: OrderedDict[str, nn.Module] = OrderedDict()
        if representation_size is None:
            heads["head"] = nn.Linear(hidden_dim, num_classes, **factory)
        else:
            heads["pre_logits"] = nn.Linear(hidden_dim, representation_size, **factory)
            heads["act"] = nn.Tanh()
            heads["head"] = nn.Linear(representation_size, num_classes, **factory)
        self.heads = nn.Sequential(heads)
        fan_in = 3 * patch_size * patch_size
        nn.init.trunc_normal_(self.conv_proj.weight, std=math.sqrt(1 / fan_in))
        nn.init.zeros_(self.conv_proj.bias)
        if representation_size is not None:
            nn.init.trunc_normal_(self.heads.pre_logits.weight, std=math.sqrt(1 / hidden_dim))
            nn.init.zeros_(self.heads.pre_logits.bias)
        nn.init.zeros_(self.heads.head.weight)
        nn.init.zeros_(self.heads.head.bias)

    def forward(self, x: Tensor) -> Tensor:
        torch._assert(x.dim() == 4, f"VisionTransformer expects (N, 3, {self.image_size}, {self.image_size}) images")
        torch._assert(x.shape[2] == self.image_size, f"image height must be {self.image_size}, got {x.shape[2]}")
        torch._assert(x.shape[3] == self.image_size, f"image width must be {self.image_size}, got {x.shape[3]}")
        # (N, 3, H, W) -> (N, D, H/p, W/p) -> (N, H/p * W/p, D): one token per patch.
        x = self.conv_proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = self.encoder(x)
        return self.heads(x[:, 0])


def _vit(
    patch_size: int,
    num_layers: int,
    num_heads: int,
    hidden_dim: int,
    mlp_dim: int,
    *,
    image_size: int,
    dropout: float,
    attention_dropout: float,
    num_classes: int,
    representation_size: int | None,
    norm_layer: NormBuilder | None,
    stochastic_depth_prob: float,
    device: Device,
    dtype: torch.dtype | None,
) -> VisionTransformer:
    return VisionTransformer(
        image_size,
        patch_size,
        num_layers,
        num_heads,
        hidden_dim,
        mlp_dim,
        dropout=dropout,
        attention_dropout=attention_dropout,
        num_classes=num_classes,
        representation_size=representation_size,
        norm_layer=norm_layer,
        stochastic_depth_prob=stochastic_depth_prob,
        device=device,
        dtype=dtype,
    )


def vit_b_16(
    *,
    image_size: int = 224,
    dropout: float = 0.0,
    attention_dropout: float = 0.0,
    num_classes: int = 1000,
    representation_size: int | None = None,
    norm_layer: NormBuilder | None = None,
    stochastic_depth_prob: float = 0.0,
    device: Device = None,
    dtype: torch.dtype | None = None,
) -> VisionTransformer:
    """torchvision's ``vit_b_16``: patch 16, 12 layers, 12 heads, width 768, MLP 3072."""
    kwargs = dict(locals())
    return _vit(16, 12, 12, 768, 3072, **kwargs)


def vit_b_32(
    *,
    image_size: int = 224,
    dropout: float = 0.0,
    attention_dropout: float = 0.0,
    num_classes: int = 1000,
    representation_size: int | None = None,
    norm_layer: NormBuilder | None = None,
    stochastic_depth_prob: float = 0.0,
    device: Device = None,
    dtype: torch.dtype | None = None,
) -> VisionTransformer:
    """torchvision's ``vit_b_32``: patch 32, 12 layers, 12 heads, width 768, MLP 3072."""
    kwargs = dict(locals())
    return _vit(32, 12, 12, 768, 3072, **kwargs)


def vit_l_16(
    *,
    image_size: int = 224,
    dropout: float = 0.0,
    attention_dropout: float = 0.0,
    num_classes: int = 1000,
    representation_size: int | None = None,
    norm_layer: NormBuilder | None = None,
    stochastic_depth_prob: float = 0.0,
    device: Device = None,
    dtype: torch.dtype | None = None,
) -> VisionTransformer:
    """torchvision's ``vit_l_16``: patch 16, 24 layers, 16 heads, width 1024, MLP 4096."""
    kwargs = dict(locals())
    return _vit(16, 24, 16, 1024, 4096, **kwargs)


def vit_l_32(
    *,
    image_size: int = 224,
    dropout: float = 0.0,
    attention_dropout: float = 0.0,
    num_classes: int = 1000,
    representation_size: int | None = None,
    norm_layer: NormBuilder | None = None,
    stochastic_depth_prob: float = 0.0,
    device: Device = None,
    dtype: torch.dtype | None = None,
) -> VisionTransformer:
    """torchvision's ``vit_l_32``: patch 32, 24 layers, 16 heads, width 1024, MLP 4096."""
    kwargs = dict(locals())
    return _vit(32, 24, 16, 1024, 4096, **kwargs)


def vit_h_14(
    *,
    image_size: int = 224,
    dropout: float = 0.0,
    attention_dropout: float = 0.0,
    num_classes: int = 1000,
    representation_size: int | None = None,
    norm_layer: NormBuilder | None = None,
    stochastic_depth_prob: float = 0.0,
    device: Device = None,
    dtype: torch.dtype | None = None,
) -> VisionTransformer:
    """torchvision's ``vit_h_14``: patch 14, 32 layers, 16 heads, width 1280, MLP 5120.

    torchvision's pretrained ``vit_h_14`` weights (SWAG) are for ``image_size=518``.
    """
    kwargs = dict(locals())
    return _vit(14, 32, 16, 1280, 5120, **kwargs)


class ConvNeXt(nn.Module):
    """torchvision's ``ConvNeXt`` layout (``features avgpool classifier``) from tvexp blocks.

    ``block_setting`` lists ``(channels, out_channels or None, blocks)`` per stage, as torchvision's
    ``CNBlockConfig(input_channels, out_channels, num_layers)``: each stage's blocks are followed by a
    LayerNorm2d + 2x2 stride-2 convolution that changes the width to ``out_channels``, unless it is ``None``.
    """

    def __init__(
        self,
        block_setting: list[tuple[int, int | None, int]],
        stochastic_depth_prob: float = 0.0,
        layer_scale: float = 1e-6,
        num_classes: int = 1000,
        norm_layer: NormBuilder | None = None,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if not block_setting:
            raise ValueError("block_setting must list at least one stage, got an empty list")
        norm = partial(LayerNorm2d, eps=1e-6) if norm_layer is None else norm_layer
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        first = block_setting[0][0]
        layers: list[nn.Module] = [
            Conv2dNormActivation(
                3,
                first,
                kernel_size=4,
                stride=4,
                padding=0,
                norm_layer=norm,
                activation_layer=None,
                bias=True,
                **factory,
            )
        ]
        rates = iter(stochastic_depth_rates(stochastic_depth_prob, sum(stage[2] for stage in block_setting)))
        for channels, out_channels, count in block_setting:
            layers.append(
                nn.Sequential(*(ConvNeXtBlock(channels, layer_scale, next(rates), **factory) for _ in range(count)))
            )
            if out_channels is not None:
                layers.append(
                    nn.Sequential(
                        norm(channels, **factory), nn.Conv2d(channels, out_channels, kernel_size=2, stride=2, **factory)
                    )
                )
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        last = block_setting[-1][1] or block_setting[-1][0]
        self.classifier = nn.Sequential(norm(last, **factory), nn.Flatten(1), nn.Linear(last, num_classes, **factory))
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)))


def _convnext_builder(
    block_setting: list[tuple[int, int | None, int]], default_stochastic_depth_prob: float, name: str
) -> Callable[..., ConvNeXt]:
    def build(
        *,
        num_classes: int = 1000,
        stochastic_depth_prob: float = default_stochastic_depth_prob,
        layer_scale: float = 1e-6,
        norm_layer: NormBuilder | None = None,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> ConvNeXt:
        return ConvNeXt(
            block_setting,
            stochastic_depth_prob=stochastic_depth_prob,
            layer_scale=layer_scale,
            num_classes=num_classes,
            norm_layer=norm_layer,
            device=device,
            dtype=dtype,
        )

    build.__name__ = build.__qualname__ = name
    build.__doc__ = (
        f"torchvision's ``{name}``: stages {[stage[2] for stage in block_setting]} blocks wide "
        f"{[stage[0] for stage in block_setting]}, stochastic depth {default_stochastic_depth_prob}."
    )
    return build


convnext_tiny = _convnext_builder([(96, 192, 3), (192, 384, 3), (384, 768, 9), (768, None, 3)], 0.1, "convnext_tiny")
convnext_small = _convnext_builder([(96, 192, 3), (192, 384, 3), (384, 768, 27), (768, None, 3)], 0.4, "convnext_small")
convnext_base = _convnext_builder(
    [(128, 256, 3), (256, 512, 3), (512, 1024, 27), (1024, None, 3)], 0.5, "convnext_base"
)
convnext_large = _convnext_builder(
    [(192, 384, 3), (384, 768, 3), (768, 1536, 27), (1536, None, 3)], 0.5, "convnext_large"
)


# ----------------------------------------------------------------- Detection backbones and segmentation
# resnet_fpn_backbone (torchvision's BackboneWithFPN) and the FCN, DeepLabV3 and LR-ASPP segmentation models
# from tvexp's FeaturePyramidNetwork, ASPP and LRASPPHead over the ResNet and MobileNetV3 builders above
# (state_dict keys, shapes, dtypes and outputs checked against torchvision 0.29 in
# tests/parity/test_parity_fpn.py). ``weights``/``weights_backbone`` take a state dict (e.g. torchvision's
# classification weights) or None.

from collections.abc import Mapping  # noqa: E402

from tvexp.prototype import (  # noqa: E402
    ASPP,
    FeaturePyramidNetwork,
    LastLevelMaxPool,
    LRASPPHead,
)
from tvexp.stable import FrozenBatchNorm2d  # noqa: E402

StateDict = Mapping[str, Tensor]


class IntermediateLayers(nn.ModuleDict):
    """torchvision's ``IntermediateLayerGetter``: ``model``'s direct children up to the last one named in
    ``return_layers``, run in order; returns ``{return_layers[name]: output}`` for the named ones."""

    def __init__(self, model: nn.Module, return_layers: dict[str, str]) -> None:
        children = [name for name, _ in model.named_children()]
        if not set(return_layers) <= set(children):
            missing = sorted(set(return_layers) - set(children))
            raise ValueError(f"return_layers names {missing}, which are not children of the model: {children}")
        last = max(children.index(name) for name in return_layers)
        super().__init__(OrderedDict(list(model.named_children())[: last + 1]))
        self.return_layers = {str(k): str(v) for k, v in return_layers.items()}

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        out: dict[str, Tensor] = OrderedDict()
        for name, module in self.items():
            x = module(x)
            if name in self.return_layers:
                out[self.return_layers[name]] = x
        return out


class BackboneWithFPN(nn.Module):
    """torchvision's ``BackboneWithFPN``: ``body`` (:class:`IntermediateLayers`) then ``fpn``."""

    def __init__(
        self,
        backbone: nn.Module,
        return_layers: dict[str, str],
        in_channels_list: list[int],
        out_channels: int,
        extra_blocks: nn.Module | None = None,
        norm_layer: NormBuilder | None = None,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.body = IntermediateLayers(backbone, return_layers)
        self.fpn = FeaturePyramidNetwork(
            in_channels_list,
            out_channels,
            extra_blocks=LastLevelMaxPool() if extra_blocks is None else extra_blocks,
            norm_layer=norm_layer,
            device=device,
            dtype=dtype,
        )
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        return self.fpn(self.body(x))


_FPN_RESNETS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d")
_FPN_RESNETS += ("resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2")


def resnet_fpn_backbone(
    *,
    backbone_name: str,
    weights: StateDict | None = None,
    norm_layer: NormBuilder = FrozenBatchNorm2d,
    trainable_layers: int = 3,
    returned_layers: list[int] | None = None,
    extra_blocks: nn.Module | None = None,
    device: Device = None,
    dtype: torch.dtype | None = None,
) -> BackboneWithFPN:
    """torchvision's ``resnet_fpn_backbone``: a ResNet (frozen but for its last ``trainable_layers`` stages)
    with a 256-channel FPN on ``layer{returned_layers}`` and ``extra_blocks`` (default :class:`LastLevelMaxPool`).

    ``weights`` is a classification state dict of the ResNet (e.g. torchvision's), loaded strictly first.
    """
    if backbone_name not in _FPN_RESNETS:
        raise ValueError(f"backbone_name must be one of {list(_FPN_RESNETS)}, got {backbone_name!r}")
    backbone = globals()[backbone_name](norm_layer=norm_layer, device=device, dtype=dtype)
    if weights is not None:
        backbone.load_state_dict(weights)
    return _resnet_fpn_extractor(backbone, trainable_layers, returned_layers, extra_blocks, device=device, dtype=dtype)


def _resnet_fpn_extractor(
    backbone: ResNet,
    trainable_layers: int,
    returned_layers: list[int] | None = None,
    extra_blocks: nn.Module | None = None,
    norm_layer: NormBuilder | None = None,
    device: Device = None,
    dtype: torch.dtype | None = None,
) -> BackboneWithFPN:
    if not 0 <= trainable_layers <= 5:
        raise ValueError(f"trainable_layers must be in [0, 5], got {trainable_layers}")
    trained = ["layer4", "layer3", "layer2", "layer1", "conv1"][:trainable_layers]
    if trainable_layers == 5:
        trained.append("bn1")
    for name, parameter in backbone.named_parameters():
        if not any(name.startswith(prefix) for prefix in trained):
            parameter.requires_grad_(False)
    returned = [1, 2, 3, 4] if returned_layers is None else list(returned_layers)
    if not returned or min(returned) < 1 or max(returned) > 4:
        raise ValueError(f"returned_layers must list stages in [1, 4], got {returned_layers}")
    stage2_channels = backbone.fc.in_features // 8
    return BackboneWithFPN(
        backbone,
        {f"layer{k}": str(v) for v, k in enumerate(returned)},
        [stage2_channels * 2 ** (k - 1) for k in returned],
        256,
        extra_blocks=extra_blocks,
        norm_layer=norm_layer,
        device=device,
        dtype=dtype,
    )


class SegmentationModel(nn.Module):
    """torchvision's ``_SimpleSegmentationModel``: ``backbone`` features ``"out"`` (and ``"aux"``) through
    ``classifier`` (and ``aux_classifier``), upsampled bilinearly to the input's size."""

    def __init__(self, backbone: nn.Module, classifier: nn.Module, aux_classifier: nn.Module | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.classifier = classifier
        self.aux_classifier = aux_classifier

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        size = x.shape[-2:]
        features = self.backbone(x)
        result: dict[str, Tensor] = OrderedDict()
        result["out"] = F.interpolate(self.classifier(features["out"]), size=size, mode="bilinear", align_corners=False)
        if self.aux_classifier is not None:
            aux = self.aux_classifier(features["aux"])
            result["aux"] = F.interpolate(aux, size=size, mode="bilinear", align_corners=False)
        return result


class FCN(SegmentationModel):
    """torchvision's ``FCN`` (Fully Convolutional Networks, arXiv:1411.4038)."""


class DeepLabV3(SegmentationModel):
    """torchvision's ``DeepLabV3`` (arXiv:1706.05587)."""


class FCNHead(nn.Sequential):
    """torchvision's ``FCNHead``: 3x3 conv-norm-ReLU to ``in_channels // 4``, dropout 0.1, 1x1 classifier."""

    def __init__(
        self, in_channels: int, channels: int, device: Device = None, dtype: torch.dtype | None = None
    ) -> None:
        inter_channels = in_channels // 4
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        super().__init__(
            *Conv2dNormActivation(in_channels, inter_channels, 3, inplace=None, **factory),
            nn.Dropout(0.1),
            nn.Conv2d(inter_channels, channels, 1, **factory),
        )


class DeepLabHead(nn.Sequential):
    """torchvision's ``DeepLabHead``: :class:`~tvexp.prototype.ASPP` (256 channels), 3x3 conv-norm-ReLU, 1x1
    classifier."""

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        atrous_rates: tuple[int, ...] = (12, 24, 36),
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        super().__init__(
            ASPP(in_channels, atrous_rates, **factory),
            *Conv2dNormActivation(256, 256, 3, inplace=None, **factory),
            nn.Conv2d(256, num_classes, 1, **factory),
        )


class LRASPP(nn.Module):
    """torchvision's ``LRASPP``: ``backbone`` features ``"low"`` and ``"high"`` through an
    :class:`~tvexp.prototype.LRASPPHead` (``classifier``), upsampled bilinearly to the input's size."""

    def __init__(
        self,
        backbone: nn.Module,
        low_channels: int,
        high_channels: int,
        num_classes: int,
        inter_channels: int = 128,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.classifier = LRASPPHead(
            low_channels, high_channels, num_classes, inter_channels, device=device, dtype=dtype
        )

    def forward(self, input: Tensor) -> dict[str, Tensor]:
        out = self.classifier(self.backbone(input))
        result: dict[str, Tensor] = OrderedDict()
        result["out"] = F.interpolate(out, size=input.shape[-2:], mode="bilinear", align_corners=False)
        return result


def _segmentation_resnet(
    head: str,
    depth: Callable[..., ResNet],
    num_classes: int | None,
    aux_loss: bool | None,
    weights_backbone: StateDict | None,
    device: Device,
    dtype: torch.dtype | None,
) -> SegmentationModel:
    factory: dict[str, Any] = {"device": device, "dtype": dtype}
    num_classes = 21 if num_classes is None else num_classes
    backbone = depth(replace_stride_with_dilation=[False, True, True], **factory)
    if weights_backbone is not None:
        backbone.load_state_dict(weights_backbone)
    return_layers = {"layer4": "out", **({"layer3": "aux"} if aux_loss else {})}
    aux_classifier = FCNHead(1024, num_classes, **factory) if aux_loss else None
    if head == "fcn":
        return FCN(IntermediateLayers(backbone, return_layers), FCNHead(2048, num_classes, **factory), aux_classifier)
    classifier = DeepLabHead(2048, num_classes, **factory)
    return DeepLabV3(IntermediateLayers(backbone, return_layers), classifier, aux_classifier)


def _mobilenet_v3_stages(weights_backbone: StateDict | None, **factory: Any) -> tuple[nn.Sequential, list[int]]:
    """The dilated MobileNetV3-Large ``features`` and the indices of its stage ends (torchvision's ``_is_cn``)."""
    model = mobilenet_v3_large(dilated=True, **factory)
    if weights_backbone is not None:
        model.load_state_dict(weights_backbone)
    features = model.features
    assert isinstance(features, nn.Sequential)
    ends = [0] + [i for i, block in enumerate(features) if getattr(block, "_is_cn", False)] + [len(features) - 1]
    return features, ends


def fcn_resnet50(
    *,
    num_classes: int | None = None,
    aux_loss: bool | None = None,
    weights_backbone: StateDict | None = None,
    device: Device = None,
    dtype: torch.dtype | None = None,
) -> FCN:
    """torchvision's ``fcn_resnet50`` (21 classes by default; ``aux_loss`` adds an FCNHead on ``layer3``)."""
    model = _segmentation_resnet("fcn", resnet50, num_classes, aux_loss, weights_backbone, device, dtype)
    assert isinstance(model, FCN)
    return model


def fcn_resnet101(
    *,
    num_classes: int | None = None,
    aux_loss: bool | None = None,
    weights_backbone: StateDict | None = None,
    device: Device = None,
    dtype: torch.dtype | None = None,
) -> FCN:
    """torchvision's ``fcn_resnet101`` (21 classes by default; ``aux_loss`` adds an FCNHead on ``layer3``)."""
    model = _segmentation_resnet("fcn", resnet101, num_classes, aux_loss, weights_backbone, device, dtype)
    assert isinstance(model, FCN)
    return model


def deeplabv3_resnet50(
    *,
    num_classes: int | None = None,
    aux_loss: bool | None = None,
    weights_backbone: StateDict | None = None,
    device: Device = None,
    dtype: torch.dtype | None = None,
) -> DeepLabV3:
    """torchvision's ``deeplabv3_resnet50`` (21 classes by default; ``aux_loss`` adds an FCNHead on ``layer3``)."""
    model = _segmentation_resnet("deeplabv3", resnet50, num_classes, aux_loss, weights_backbone, device, dtype)
    assert isinstance(model, DeepLabV3)
    return model


def deeplabv3_resnet101(
    *,
    num_classes: int | None = None,
    aux_loss: bool | None = None,
    weights_backbone: StateDict | None = None,
    device: Device = None,
    dtype: torch.dtype | None = None,
) -> DeepLabV3:
    """torchvision's ``deeplabv3_resnet101`` (21 classes by default; ``aux_loss`` adds an FCNHead on ``layer3``)."""
    model = _segmentation_resnet("deeplabv3", resnet101, num_classes, aux_loss, weights_backbone, device, dtype)
    assert isinstance(model, DeepLabV3)
    return model


def deeplabv3_mobilenet_v3_large(
    *,
    num_classes: int | None = None,
    aux_loss: bool | None = None,
    weights_backbone: StateDict | None = None,
    device: Device = None,
    dtype: torch.dtype | None = None,
) -> DeepLabV3:
    """torchvision's ``deeplabv3_mobilenet_v3_large``: DeepLabHead on the last stage (output stride 16), and with
    ``aux_loss`` an FCNHead on the output-stride-8 stage."""
    factory: dict[str, Any] = {"device": device, "dtype": dtype}
    num_classes = 21 if num_classes is None else num_classes
    features, ends = _mobilenet_v3_stages(weights_backbone, **factory)
    out_position, aux_position = ends[-1], ends[-4]
    return_layers = {str(out_position): "out", **({str(aux_position): "aux"} if aux_loss else {})}
    aux_classifier = FCNHead(features[aux_position].out_channels, num_classes, **factory) if aux_loss else None
    classifier = DeepLabHead(features[out_position].out_channels, num_classes, **factory)
    return DeepLabV3(IntermediateLayers(features, return_layers), classifier, aux_classifier)


def lraspp_mobilenet_v3_large(
    *,
    num_classes: int | None = None,
    aux_loss: bool | None = None,
    weights_backbone: StateDict | None = None,
    device: Device = None,
    dtype: torch.dtype | None = None,
) -> LRASPP:
    """torchvision's ``lraspp_mobilenet_v3_large``: an LRASPPHead on the output-stride-8 ("low") and last
    ("high") stages. It has no auxiliary head: ``aux_loss=True`` raises ``NotImplementedError``, as torchvision."""
    if aux_loss:
        raise NotImplementedError("lraspp_mobilenet_v3_large has no auxiliary head (aux_loss=True)")
    factory: dict[str, Any] = {"device": device, "dtype": dtype}
    num_classes = 21 if num_classes is None else num_classes
    features, ends = _mobilenet_v3_stages(weights_backbone, **factory)
    low, high = ends[-4], ends[-1]
    backbone = IntermediateLayers(features, {str(low): "low", str(high): "high"})
    return LRASPP(backbone, features[low].out_channels, features[high].out_channels, num_classes, **factory)


__all__ += [
    "BackboneWithFPN",
    "DeepLabHead",
    "DeepLabV3",
    "FCN",
    "FCNHead",
    "IntermediateLayers",
    "LRASPP",
    "SegmentationModel",
    "deeplabv3_mobilenet_v3_large",
    "deeplabv3_resnet101",
    "deeplabv3_resnet50",
    "fcn_resnet101",
    "fcn_resnet50",
    "lraspp_mobilenet_v3_large",
    "resnet_fpn_backbone",
]
