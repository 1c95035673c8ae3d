"""torchvision classification architectures assembled from tvexp blocks.

Each builder returns a network whose ``state_dict`` keys and shapes are exactly those of the
torchvision model of the same name (checked against torchvision 0.29 in
``tests/parity/test_parity_blocks.py`` and ``tests/parity/test_parity_classification.py``), so
torchvision's pretrained weights load with ``strict=True`` and give the same outputs::

    import torchvision
    from examples.torchvision_models import resnet50

    model = resnet50()
    model.load_state_dict(torchvision.models.resnet50(weights="DEFAULT").state_dict())

Every builder takes torchvision's keyword arguments (checked against a list recorded from torchvision in
``tests/parity/test_builder_keywords.py``), the block overrides (``block``, ``block_type``, ...) and
``weights``/``progress`` included, so ``resnet50(weights="DEFAULT")`` loads the same file through
torchvision's weights enum when torchvision is installed; plus ``device`` and ``dtype``
(``device="meta"`` builds without allocating memory).
"""

from __future__ import annotations

import functools
import inspect
import math
import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, Callable, NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.ao.nn.quantized import FloatFunctional
from torch.ao.quantization import DeQuantStub, QuantStub

from tvexp.prototype import (
    ASPP,
    BasicBlock,
    Bottleneck,
    Conv2Plus1D,
    Conv3DNoTemporal,
    Conv3DSimple,
    ConvNeXtBlock,
    DenseBlock,
    DenseTransition,
    FeaturePyramidNetwork,
    Fire,
    FusedMBConv,
    InvertedResidual,
    LastLevelMaxPool,
    LayerNorm2d,
    LRASPPHead,
    MaxViTBlock,
    MBConv,
    MultiscaleBlock,
    NamedConv2dNormActivation,
    PatchEmbedding3d,
    PatchMerging,
    QuantizableConv2dNormActivation,
    QuantizableNamedConv2dNormActivation,
    QuantizableShuffleNetV2Unit,
    R2Plus1DStem,
    R3DStem,
    RegNetBottleneck,
    ShuffleNetV2Unit,
    SwinTransformerBlock,
    TemporalSeparableConv,
    TransformerEncoderBlock,
    VideoBasicBlock,
    VideoBottleneck,
    make_divisible,
    stochastic_depth_rates,
)
from tvexp.stable import Conv2dNormActivation, Conv3dNormActivation, FrozenBatchNorm2d, Permute, SqueezeExcitation

__all__ = [
    "alexnet",
    "AlexNet",
    "BackboneWithFPN",
    "basic_conv2d",
    "ConvNeXt",
    "convnext_base",
    "convnext_large",
    "convnext_small",
    "convnext_tiny",
    "ConvStemConfig",
    "DeepLabHead",
    "DeepLabV3",
    "deeplabv3_mobilenet_v3_large",
    "deeplabv3_resnet101",
    "deeplabv3_resnet50",
    "DenseNet",
    "densenet121",
    "densenet161",
    "densenet169",
    "densenet201",
    "efficientnet",
    "efficientnet_b0",
    "efficientnet_b1",
    "efficientnet_b2",
    "efficientnet_b3",
    "efficientnet_b4",
    "efficientnet_b5",
    "efficientnet_b6",
    "efficientnet_b7",
    "efficientnet_v2",
    "efficientnet_v2_l",
    "efficientnet_v2_m",
    "efficientnet_v2_s",
    "FCN",
    "fcn_resnet101",
    "fcn_resnet50",
    "FCNHead",
    "googlenet",
    "GoogLeNet",
    "GoogLeNetAux",
    "GoogLeNetInception",
    "GoogLeNetOutputs",
    "Inception3",
    "inception_v3",
    "InceptionA",
    "InceptionAux",
    "InceptionB",
    "InceptionC",
    "InceptionD",
    "InceptionE",
    "InceptionOutputs",
    "IntermediateLayers",
    "LRASPP",
    "lraspp_mobilenet_v3_large",
    "MaxVit",
    "maxvit_t",
    "mc3_18",
    "MNASNet",
    "mnasnet0_5",
    "mnasnet0_75",
    "mnasnet1_0",
    "mnasnet1_3",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "mobilenet_v3_small",
    "MViT",
    "mvit_v1_b",
    "mvit_v2_s",
    "quantizable_basic_conv2d",
    "quantizable_googlenet",
    "quantizable_inception_v3",
    "quantizable_shufflenet_v2_x0_5",
    "quantizable_shufflenet_v2_x1_0",
    "quantizable_shufflenet_v2_x1_5",
    "quantizable_shufflenet_v2_x2_0",
    "QuantizableGoogLeNet",
    "QuantizableGoogLeNetAux",
    "QuantizableGoogLeNetInception",
    "QuantizableInception3",
    "QuantizableInceptionA",
    "QuantizableInceptionAux",
    "QuantizableInceptionB",
    "QuantizableInceptionC",
    "QuantizableInceptionD",
    "QuantizableInceptionE",
    "QuantizableShuffleNetV2",
    "r2plus1d_18",
    "r3d_18",
    "regnet",
    "RegNet",
    "regnet_block_params",
    "regnet_stem",
    "regnet_x_16gf",
    "regnet_x_1_6gf",
    "regnet_x_32gf",
    "regnet_x_3_2gf",
    "regnet_x_400mf",
    "regnet_x_800mf",
    "regnet_x_8gf",
    "regnet_y_128gf",
    "regnet_y_16gf",
    "regnet_y_1_6gf",
    "regnet_y_32gf",
    "regnet_y_3_2gf",
    "regnet_y_400mf",
    "regnet_y_800mf",
    "regnet_y_8gf",
    "resnet",
    "ResNet",
    "resnet101",
    "resnet152",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet_fpn_backbone",
    "resnext101_32x8d",
    "resnext101_64x4d",
    "resnext50_32x4d",
    "S3D",
    "s3d",
    "SegmentationModel",
    "SepInceptionBlock3D",
    "shufflenet_v2_x0_5",
    "shufflenet_v2_x1_0",
    "shufflenet_v2_x1_5",
    "shufflenet_v2_x2_0",
    "ShuffleNetV2",
    "SqueezeNet",
    "squeezenet1_0",
    "squeezenet1_1",
    "swin3d_b",
    "swin3d_s",
    "swin3d_t",
    "swin_b",
    "swin_s",
    "swin_t",
    "swin_v2_b",
    "swin_v2_s",
    "swin_v2_t",
    "SwinTransformer",
    "SwinTransformer3d",
    "VGG",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
    "vgg_features",
    "VideoResNet",
    "VisionTransformer",
    "vit_b_16",
    "vit_b_32",
    "vit_h_14",
    "vit_l_16",
    "vit_l_32",
    "wide_resnet101_2",
    "wide_resnet50_2",
]

Device = torch.device | str | None
NormBuilder = Callable[..., nn.Module]
BlockBuilder = Callable[..., nn.Module]


def _resolve_weights(name: str, weights: Any) -> Any:
    if isinstance(weights, str):
        try:
            from torchvision.models import get_model_weights
        except ImportError as error:
            raise ImportError(
                f"{name}(weights={weights!r}) names torchvision's weights, which needs torchvision installed; "
                "pass the weights enum member itself, or weights=None"
            ) from error
        return get_model_weights(name).verify(weights)
    if not (hasattr(weights, "get_state_dict") and isinstance(getattr(weights, "meta", None), dict)):
        raise TypeError(
            f"{name}: weights must be None, a torchvision weights enum member (with .meta and .get_state_dict) "
            f"or its name, got {weights!r}"
        )
    return weights


# Per-builder adjustments of the keyword arguments before building with pretrained weights, and of the model
# after loading them, where torchvision's builder makes them (filled in beside the builders concerned).
_BEFORE_PRETRAINED: dict[str, Callable[[dict[str, Any], Any], dict[str, Any]]] = {}
_AFTER_PRETRAINED: dict[str, Callable[[nn.Module, dict[str, Any]], None]] = {}


def _torchvision_builder(builder: Callable[..., Any]) -> Callable[..., Any]:
    """Gives ``builder`` torchvision's ``weights=None, progress=True`` keywords.

    ``weights`` is a torchvision weights enum member (``ResNet50_Weights.IMAGENET1K_V2``), its name
    (``"DEFAULT"``, ``"IMAGENET1K_V2"``: needs torchvision installed to resolve it) or ``None``. As in
    torchvision, ``num_classes`` follows the weights' categories (another value is a ``ValueError``) and the
    weights load with ``strict=True``; tvexp does not download anything itself, ``get_state_dict`` does.
    """
    name = builder.__name__

    @functools.wraps(builder)
    def build(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> Any:
        if weights is None:
            return builder(**kwargs)
        weights = _resolve_weights(name, weights)
        if "categories" in weights.meta:
            kwargs = _fixed(kwargs, num_classes=len(weights.meta["categories"]))
        requested = dict(kwargs)
        if name in _BEFORE_PRETRAINED:
            kwargs = _BEFORE_PRETRAINED[name](kwargs, weights)
        model = builder(**kwargs)
        model.load_state_dict(weights.get_state_dict(progress=progress, check_hash=True), strict=True)
        if name in _AFTER_PRETRAINED:
            _AFTER_PRETRAINED[name](model, requested)
        return model

    parameters = list(inspect.signature(builder).parameters.values())
    extra = [
        inspect.Parameter("weights", inspect.Parameter.KEYWORD_ONLY, default=None, annotation="Any"),
        inspect.Parameter("progress", inspect.Parameter.KEYWORD_ONLY, default=True, annotation="bool"),
    ]
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    rest = [p for p in parameters if p not in positional]
    build.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [*positional, *extra, *rest], return_annotation=inspect.signature(builder).return_annotation
    )
    return build


def _fixed(kwargs: dict[str, Any], **values: Any) -> dict[str, Any]:
    """Sets the arguments a builder fixes; like torchvision's builders, a caller may pass the same value but
    no other (``ValueError`` with torchvision's message)."""
    for name, value in values.items():
        if name in kwargs and kwargs[name] != value:
            raise ValueError(f"The parameter '{name}' expected value {value} but got {kwargs[name]} instead.")
    return {**kwargs, **values}


def _given(factory: dict[str, Any]) -> dict[str, Any]:
    """The ``device``/``dtype`` keywords that were set: a user's block override only receives those, so a
    block class written for torchvision (without ``device``/``dtype``) works as long as neither is given."""
    return {name: value for name, value in factory.items() if value is not None}


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


@_torchvision_builder
def resnet18(**kwargs: Any) -> ResNet:
    return ResNet(BasicBlock, [2, 2, 2, 2], **kwargs)


@_torchvision_builder
def resnet34(**kwargs: Any) -> ResNet:
    return ResNet(BasicBlock, [3, 4, 6, 3], **kwargs)


@_torchvision_builder
def resnet50(**kwargs: Any) -> ResNet:
    return ResNet(Bottleneck, [3, 4, 6, 3], **kwargs)


@_torchvision_builder
def resnet101(**kwargs: Any) -> ResNet:
    return ResNet(Bottleneck, [3, 4, 23, 3], **kwargs)


@_torchvision_builder
def resnet152(**kwargs: Any) -> ResNet:
    return ResNet(Bottleneck, [3, 8, 36, 3], **kwargs)


@_torchvision_builder
def resnext50_32x4d(**kwargs: Any) -> ResNet:
    return ResNet(Bottleneck, [3, 4, 6, 3], **_fixed(kwargs, groups=32, width_per_group=4))


@_torchvision_builder
def wide_resnet50_2(**kwargs: Any) -> ResNet:
    return ResNet(Bottleneck, [3, 4, 6, 3], **_fixed(kwargs, width_per_group=128))


# ------------------------------------------------------------------------------------- MobileNetV2


@_torchvision_builder
def mobilenet_v2(
    *,
    num_classes: int = 1000,
    width_mult: float = 1.0,
    inverted_residual_setting: list[list[int]] | None = None,
    round_nearest: int = 8,
    block: BlockBuilder | None = None,
    norm_layer: NormBuilder | None = None,
    dropout: float = 0.2,
    device: Device = None,
    dtype: torch.dtype | None = None,
) -> nn.Module:
    """torchvision's ``mobilenet_v2`` (``width_mult``, ``round_nearest``, ``inverted_residual_setting``).

    ``block`` replaces :class:`~tvexp.prototype.InvertedResidual` and is called as torchvision calls it:
    ``block(in_channels, out_channels, stride, expand_ratio=t, norm_layer=norm_layer)``.
    """
    norm = nn.BatchNorm2d if norm_layer is None else norm_layer
    unit = InvertedResidual if block is None else block
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
            features.append(
                unit(in_channels, out_channels, s if i == 0 else 1, expand_ratio=t, norm_layer=norm, **_given(factory))
            )
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
    block: BlockBuilder | None,
    norm_layer: NormBuilder | None,
    dropout: float,
    device: Device,
    dtype: torch.dtype | None,
) -> nn.Module:
    norm = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01) if norm_layer is None else norm_layer
    unit = InvertedResidual if block is None else block
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
        layer = unit(
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
            **_given(factory),
        )
        # torchvision marks the stage boundary from the table's stride, also where dilation replaces it.
        layer._is_cn = stride > 1
        features.append(layer)
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


@_torchvision_builder
def mobilenet_v3_large(
    *,
    num_classes: int = 1000,
    width_mult: float = 1.0,
    reduced_tail: bool = False,
    dilated: bool = False,
    block: BlockBuilder | None = None,
    norm_layer: NormBuilder | None = None,
    dropout: float = 0.2,
    device: Device = None,
    dtype: torch.dtype | None = None,
) -> nn.Module:
    """torchvision's ``mobilenet_v3_large`` (``width_mult``, ``reduced_tail``, ``dilated``).

    ``block`` replaces :class:`~tvexp.prototype.InvertedResidual`; it receives that class's arguments
    (``in_channels, out_channels, stride`` and the keywords ``expanded_channels``, ``kernel_size``,
    ``dilation``, ``activation_layer``, ``se_layer``, ``norm_layer``, ``layout="mobilenet_v3"``), not
    torchvision's ``InvertedResidualConfig``.
    """
    return _mobilenet_v3(
        _V3_LARGE,
        1280,
        num_classes=num_classes,
        width_mult=width_mult,
        reduced_tail=reduced_tail,
        dilated=dilated,
        block=block,
        norm_layer=norm_layer,
        dropout=dropout,
        device=device,
        dtype=dtype,
    )


@_torchvision_builder
def mobilenet_v3_small(
    *,
    num_classes: int = 1000,
    width_mult: float = 1.0,
    reduced_tail: bool = False,
    dilated: bool = False,
    block: BlockBuilder | None = None,
    norm_layer: NormBuilder | None = None,
    dropout: float = 0.2,
    device: Device = None,
    dtype: torch.dtype | None = None,
) -> nn.Module:
    """torchvision's ``mobilenet_v3_small`` (``width_mult``, ``reduced_tail``, ``dilated``).

    ``block`` replaces :class:`~tvexp.prototype.InvertedResidual`; it receives that class's arguments
    (``in_channels, out_channels, stride`` and the keywords ``expanded_channels``, ``kernel_size``,
    ``dilation``, ``activation_layer``, ``se_layer``, ``norm_layer``, ``layout="mobilenet_v3"``), not
    torchvision's ``InvertedResidualConfig``.
    """
    return _mobilenet_v3(
        _V3_SMALL,
        1024,
        num_classes=num_classes,
        width_mult=width_mult,
        reduced_tail=reduced_tail,
        dilated=dilated,
        block=block,
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


@_torchvision_builder
def efficientnet_b0(**kwargs: Any) -> nn.Module:
    return efficientnet(width_mult=1.0, depth_mult=1.0, dropout=0.2, **kwargs)


@_torchvision_builder
def efficientnet_b1(**kwargs: Any) -> nn.Module:
    return efficientnet(width_mult=1.0, depth_mult=1.1, dropout=0.2, **kwargs)


@_torchvision_builder
def efficientnet_b2(**kwargs: Any) -> nn.Module:
    return efficientnet(width_mult=1.1, depth_mult=1.2, dropout=0.3, **kwargs)


@_torchvision_builder
def efficientnet_b3(**kwargs: Any) -> nn.Module:
    return efficientnet(width_mult=1.2, depth_mult=1.4, dropout=0.3, **kwargs)


# =================================================================================================
# Classification families of tracker issue 13: RegNet, DenseNet, SqueezeNet, ShuffleNetV2, MNASNet,
# GoogLeNet, Inception v3, VGG, AlexNet, EfficientNet B4-B7 and V2, the remaining ResNeXt/Wide ResNet.
# =================================================================================================


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


def regnet_stem(
    in_channels: int, out_channels: int, norm_layer: NormBuilder, activation_layer: NormBuilder, **factory: Any
) -> Conv2dNormActivation:
    """RegNet's default stem (torchvision's ``SimpleStemIN``): a 3x3 stride-2 Conv-Norm-Activation."""
    return Conv2dNormActivation(
        in_channels, out_channels, 3, 2, norm_layer=norm_layer, activation_layer=activation_layer, **factory
    )


class RegNet(nn.Module):
    """torchvision's RegNet layout (``stem``, ``trunk_output.block{i}.block{i}-{j}``, ``fc``) from tvexp blocks.

    ``stem_type`` and ``block_type`` replace the stem and :class:`~tvexp.prototype.RegNetBottleneck`, called
    as torchvision calls them: ``stem_type(3, stem_width, norm_layer, activation)`` and
    ``block_type(width_in, width_out, stride, norm_layer, activation, group_width, bottleneck_multiplier,
    se_ratio)``.
    """

    def __init__(
        self,
        stages: list[tuple[int, int, int, int, float]],
        se_ratio: float | None = None,
        num_classes: int = 1000,
        stem_width: int = 32,
        stem_type: BlockBuilder | None = None,
        block_type: BlockBuilder | None = None,
        norm_layer: NormBuilder | None = None,
        activation: NormBuilder | None = None,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        norm = nn.BatchNorm2d if norm_layer is None else norm_layer
        act = nn.ReLU if activation is None else activation
        stem = regnet_stem if stem_type is None else stem_type
        unit = RegNetBottleneck if block_type is None else block_type
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        self.stem = stem(3, stem_width, norm, act, **_given(factory))
        width_in = stem_width
        trunk: OrderedDict[str, nn.Module] = OrderedDict()
        for i, (width, stride, depth, group_width, multiplier) in enumerate(stages, start=1):
            blocks: OrderedDict[str, nn.Module] = OrderedDict()
            for j in range(depth):
                blocks[f"block{i}-{j}"] = unit(
                    width_in if j == 0 else width,
                    width,
                    stride if j == 0 else 1,
                    norm,
                    act,
                    group_width,
                    multiplier,
                    se_ratio,
                    **_given(factory),
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
        f"torchvision's ``{name}`` (``weights``, ``progress``; keywords: ``num_classes``, ``stem_width``, ``stem_type``, ``block_type``, "
        "``norm_layer``, ``activation``; see :class:`RegNet`)."
    )
    return _torchvision_builder(build)


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


@_torchvision_builder
def densenet121(**kwargs: Any) -> DenseNet:
    return DenseNet(32, (6, 12, 24, 16), 64, **kwargs)


@_torchvision_builder
def densenet161(**kwargs: Any) -> DenseNet:
    return DenseNet(48, (6, 12, 36, 24), 96, **kwargs)


@_torchvision_builder
def densenet169(**kwargs: Any) -> DenseNet:
    return DenseNet(32, (6, 12, 32, 32), 64, **kwargs)


@_torchvision_builder
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


@_torchvision_builder
def squeezenet1_0(**kwargs: Any) -> SqueezeNet:
    return SqueezeNet("1_0", **kwargs)


@_torchvision_builder
def squeezenet1_1(**kwargs: Any) -> SqueezeNet:
    return SqueezeNet("1_1", **kwargs)


# ------------------------------------------------------------------------------------ ShuffleNetV2


class ShuffleNetV2(nn.Module):
    """torchvision's ShuffleNetV2 (``conv1``, ``stage2..4`` of :class:`~tvexp.prototype.ShuffleNetV2Unit`, ``conv5``, ``fc``).

    ``inverted_residual`` replaces the unit and is called as torchvision calls it:
    ``inverted_residual(in_channels, out_channels, stride)``.
    """

    _conv_norm_activation: BlockBuilder = Conv2dNormActivation  # conv1 and conv5

    def __init__(
        self,
        stages_repeats: list[int],
        stages_out_channels: list[int],
        num_classes: int = 1000,
        inverted_residual: BlockBuilder | None = None,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if len(stages_repeats) != 3:
            raise ValueError(f"stages_repeats must be 3 positive ints, got {stages_repeats!r}")
        if len(stages_out_channels) != 5:
            raise ValueError(f"stages_out_channels must be 5 positive ints, got {stages_out_channels!r}")
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        unit = ShuffleNetV2Unit if inverted_residual is None else inverted_residual
        self._stage_out_channels = stages_out_channels
        channels = stages_out_channels[0]
        self.conv1 = self._conv_norm_activation(3, channels, 3, 2, **factory)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        for index, (repeats, out_channels) in enumerate(zip(stages_repeats, stages_out_channels[1:4])):
            units = [unit(channels, out_channels, 2, **_given(factory))]
            units += [unit(out_channels, out_channels, 1, **_given(factory)) for _ in range(repeats - 1)]
            setattr(self, f"stage{index + 2}", nn.Sequential(*units))
            channels = out_channels
        self.conv5 = self._conv_norm_activation(channels, stages_out_channels[-1], 1, **factory)
        self.fc = nn.Linear(stages_out_channels[-1], num_classes, **factory)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.stage4(self.stage3(self.stage2(x))))
        return self.fc(x.mean([2, 3]))


@_torchvision_builder
def shufflenet_v2_x0_5(**kwargs: Any) -> ShuffleNetV2:
    return ShuffleNetV2([4, 8, 4], [24, 48, 96, 192, 1024], **kwargs)


@_torchvision_builder
def shufflenet_v2_x1_0(**kwargs: Any) -> ShuffleNetV2:
    return ShuffleNetV2([4, 8, 4], [24, 116, 232, 464, 1024], **kwargs)


@_torchvision_builder
def shufflenet_v2_x1_5(**kwargs: Any) -> ShuffleNetV2:
    return ShuffleNetV2([4, 8, 4], [24, 176, 352, 704, 1024], **kwargs)


@_torchvision_builder
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


@_torchvision_builder
def mnasnet0_5(**kwargs: Any) -> MNASNet:
    return MNASNet(0.5, **kwargs)


@_torchvision_builder
def mnasnet0_75(**kwargs: Any) -> MNASNet:
    return MNASNet(0.75, **kwargs)


@_torchvision_builder
def mnasnet1_0(**kwargs: Any) -> MNASNet:
    return MNASNet(1.0, **kwargs)


@_torchvision_builder
def mnasnet1_3(**kwargs: Any) -> MNASNet:
    return MNASNet(1.3, **kwargs)


# ---------------------------------------------------------------------------- GoogLeNet, Inception v3


def basic_conv2d(
    in_channels: int,
    out_channels: int,
    kernel_size: int | tuple[int, int] = 1,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    **factory: Any,
) -> NamedConv2dNormActivation:
    """torchvision's ``BasicConv2d`` (the ``conv_block`` of GoogLeNet and Inception v3): conv (no bias),
    BatchNorm (eps 0.001), ReLU, keys ``conv``/``bn``; unpadded unless told."""
    return NamedConv2dNormActivation(in_channels, out_channels, kernel_size, stride, padding, **factory)


def _conv_block_and_factory(
    conv_block: BlockBuilder | None, factory: dict[str, Any]
) -> tuple[BlockBuilder, dict[str, Any]]:
    return (basic_conv2d if conv_block is None else conv_block), _given(factory)


def _transform_input(x: Tensor) -> Tensor:
    """Maps ImageNet-normalised input to the (x - 0.5) / 0.5 normalisation of the ported Google weights."""
    x_ch0 = torch.unsqueeze(x[:, 0], 1) * (0.229 / 0.5) + (0.485 - 0.5) / 0.5
    x_ch1 = torch.unsqueeze(x[:, 1], 1) * (0.224 / 0.5) + (0.456 - 0.5) / 0.5
    x_ch2 = torch.unsqueeze(x[:, 2], 1) * (0.225 / 0.5) + (0.406 - 0.5) / 0.5
    return torch.cat((x_ch0, x_ch1, x_ch2), 1)


class _Concatenating(nn.Module):
    """An Inception module: its branches' outputs are joined by :meth:`_cat` (the quantizable forms below
    override it with an observed ``FloatFunctional`` concatenation)."""

    def _cat(self, tensors: list[Tensor], index: int = 0) -> Tensor:  # noqa: ARG002  (index: which join)
        return torch.cat(tensors, 1)


class GoogLeNetOutputs(NamedTuple):
    logits: Tensor
    aux_logits2: Optional[Tensor]
    aux_logits1: Optional[Tensor]


class GoogLeNetInception(_Concatenating):
    """GoogLeNet's Inception module: 1x1 | 1x1-3x3 | 1x1-3x3 (torchvision's "5x5" branch) | pool-1x1."""

    def __init__(
        self,
        cin: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
        conv_block: BlockBuilder | None = None,
        **factory: Any,
    ) -> None:
        super().__init__()
        conv, factory = _conv_block_and_factory(conv_block, factory)
        self.branch1 = conv(cin, ch1x1, kernel_size=1, **factory)
        self.branch2 = nn.Sequential(
            conv(cin, ch3x3red, kernel_size=1, **factory), conv(ch3x3red, ch3x3, kernel_size=3, padding=1, **factory)
        )
        # torchvision (and its ported weights) use a 3x3 where the paper has a 5x5 (pytorch/vision#906).
        self.branch3 = nn.Sequential(
            conv(cin, ch5x5red, kernel_size=1, **factory), conv(ch5x5red, ch5x5, kernel_size=3, padding=1, **factory)
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            conv(cin, pool_proj, kernel_size=1, **factory),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self._cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)])


class GoogLeNetAux(nn.Module):
    """GoogLeNet's auxiliary classifier (``conv``, ``fc1``, ``fc2``) on a 4x4 average pool."""

    def __init__(
        self,
        cin: int,
        num_classes: int,
        conv_block: BlockBuilder | None = None,
        dropout: float = 0.7,
        **factory: Any,
    ) -> None:
        super().__init__()
        conv, factory = _conv_block_and_factory(conv_block, factory)
        self.conv = conv(cin, 128, kernel_size=1, **factory)
        self.fc1 = nn.Linear(2048, 1024, **factory)
        self.fc2 = nn.Linear(1024, num_classes, **factory)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: Tensor) -> Tensor:
        x = torch.flatten(self.conv(F.adaptive_avg_pool2d(x, (4, 4))), 1)
        return self.fc2(self.dropout(F.relu(self.fc1(x), inplace=True)))


class GoogLeNet(nn.Module):
    """torchvision's GoogLeNet (Inception v1) with :class:`~tvexp.prototype.NamedConv2dNormActivation` convolutions.

    In training mode with ``aux_logits`` the forward returns ``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)``,
    otherwise the logits. ``blocks`` replaces ``[basic_conv2d, GoogLeNetInception, GoogLeNetAux]``, each
    called as torchvision calls it (``conv_block(3, 64, kernel_size=7, stride=2, padding=3)``,
    ``inception_block(192, 64, 96, 128, 16, 32, 32)``, ``inception_aux_block(512, num_classes, dropout=...)``).
    """

    def __init__(
        self,
        num_classes: int = 1000,
        aux_logits: bool = True,
        transform_input: bool = False,
        init_weights: bool | None = True,
        blocks: list[BlockBuilder] | None = None,
        dropout: float = 0.2,
        dropout_aux: float = 0.7,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if blocks is None:
            blocks = [basic_conv2d, GoogLeNetInception, GoogLeNetAux]
        if len(blocks) != 3:
            raise ValueError(f"blocks length should be 3 instead of {len(blocks)}")
        conv, inception, auxiliary = blocks
        factory: dict[str, Any] = _given({"device": device, "dtype": dtype})
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        self.conv1 = conv(3, 64, kernel_size=7, stride=2, padding=3, **factory)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = conv(64, 64, kernel_size=1, **factory)
        self.conv3 = conv(64, 192, kernel_size=3, padding=1, **factory)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = inception(192, 64, 96, 128, 16, 32, 32, **factory)
        self.inception3b = inception(256, 128, 128, 192, 32, 96, 64, **factory)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = inception(480, 192, 96, 208, 16, 48, 64, **factory)
        self.inception4b = inception(512, 160, 112, 224, 24, 64, 64, **factory)
        self.inception4c = inception(512, 128, 128, 256, 24, 64, 64, **factory)
        self.inception4d = inception(512, 112, 144, 288, 32, 64, 64, **factory)
        self.inception4e = inception(528, 256, 160, 320, 32, 128, 128, **factory)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = inception(832, 256, 160, 320, 32, 128, 128, **factory)
        self.inception5b = inception(832, 384, 192, 384, 48, 128, 128, **factory)
        self.aux1 = auxiliary(512, num_classes, dropout=dropout_aux, **factory) if aux_logits else None
        self.aux2 = auxiliary(528, num_classes, dropout=dropout_aux, **factory) if aux_logits else None
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
        logits, aux2, aux1 = self._forward(x)
        if self.training and self.aux_logits:
            return GoogLeNetOutputs(logits, aux2, aux1)
        return logits

    def _forward(self, x: Tensor) -> tuple[Tensor, Tensor | None, Tensor | None]:
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.maxpool4(self.inception4e(x))
        x = self.avgpool(self.inception5b(self.inception5a(x)))
        return self.fc(self.dropout(torch.flatten(x, 1))), aux2, aux1


def _pretrained_inception_kwargs(kwargs: dict[str, Any], _weights: Any) -> dict[str, Any]:
    # torchvision: the ported weights expect transform_input and hold the auxiliary heads' keys.
    kwargs = _fixed(kwargs, aux_logits=True, init_weights=False)
    return {"transform_input": True, **kwargs}


def _googlenet_after_pretrained(model: nn.Module, requested: dict[str, Any]) -> None:
    # torchvision: the auxiliary heads are dropped unless asked for; they are not pretrained.
    if requested.get("aux_logits", False):
        warnings.warn(
            "auxiliary heads in the pretrained googlenet model are NOT pretrained, so make sure to train them",
            stacklevel=3,
        )
    else:
        model.aux_logits = False
        model.aux1 = model.aux2 = None


_BEFORE_PRETRAINED["googlenet"] = _BEFORE_PRETRAINED["inception_v3"] = _pretrained_inception_kwargs
_AFTER_PRETRAINED["googlenet"] = _googlenet_after_pretrained


@_torchvision_builder
def googlenet(**kwargs: Any) -> GoogLeNet:
    """torchvision's ``googlenet`` (``aux_logits``, ``transform_input``, ``init_weights``, ``blocks``, ``dropout``,
    ``dropout_aux``)."""
    return GoogLeNet(**kwargs)


class InceptionOutputs(NamedTuple):
    logits: Tensor
    aux_logits: Optional[Tensor]


class InceptionA(_Concatenating):
    """Inception v3's mixed block A (torchvision's ``InceptionA``), its convolutions made by ``conv_block``."""

    def __init__(self, cin: int, pool_features: int, conv_block: BlockBuilder | None = None, **factory: Any) -> None:
        super().__init__()
        conv, factory = _conv_block_and_factory(conv_block, factory)
        self.branch1x1 = conv(cin, 64, kernel_size=1, **factory)
        self.branch5x5_1 = conv(cin, 48, kernel_size=1, **factory)
        self.branch5x5_2 = conv(48, 64, kernel_size=5, padding=2, **factory)
        self.branch3x3dbl_1 = conv(cin, 64, kernel_size=1, **factory)
        self.branch3x3dbl_2 = conv(64, 96, kernel_size=3, padding=1, **factory)
        self.branch3x3dbl_3 = conv(96, 96, kernel_size=3, padding=1, **factory)
        self.branch_pool = conv(cin, pool_features, kernel_size=1, **factory)

    def forward(self, x: Tensor) -> Tensor:
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return self._cat([self.branch1x1(x), branch5x5, branch3x3dbl, branch_pool])


class InceptionB(_Concatenating):
    """Inception v3's mixed block B (torchvision's ``InceptionB``), its convolutions made by ``conv_block``."""

    def __init__(self, cin: int, conv_block: BlockBuilder | None = None, **factory: Any) -> None:
        super().__init__()
        conv, factory = _conv_block_and_factory(conv_block, factory)
        self.branch3x3 = conv(cin, 384, kernel_size=3, stride=2, **factory)
        self.branch3x3dbl_1 = conv(cin, 64, kernel_size=1, **factory)
        self.branch3x3dbl_2 = conv(64, 96, kernel_size=3, padding=1, **factory)
        self.branch3x3dbl_3 = conv(96, 96, kernel_size=3, stride=2, **factory)

    def forward(self, x: Tensor) -> Tensor:
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return self._cat([self.branch3x3(x), branch3x3dbl, F.max_pool2d(x, kernel_size=3, stride=2)])


class InceptionC(_Concatenating):
    """Inception v3's mixed block C (torchvision's ``InceptionC``), its convolutions made by ``conv_block``."""

    def __init__(self, cin: int, channels_7x7: int, conv_block: BlockBuilder | None = None, **factory: Any) -> None:
        super().__init__()
        conv, factory = _conv_block_and_factory(conv_block, factory)
        c7 = channels_7x7
        self.branch1x1 = conv(cin, 192, kernel_size=1, **factory)
        self.branch7x7_1 = conv(cin, c7, kernel_size=1, **factory)
        self.branch7x7_2 = conv(c7, c7, kernel_size=(1, 7), padding=(0, 3), **factory)
        self.branch7x7_3 = conv(c7, 192, kernel_size=(7, 1), padding=(3, 0), **factory)
        self.branch7x7dbl_1 = conv(cin, c7, kernel_size=1, **factory)
        self.branch7x7dbl_2 = conv(c7, c7, kernel_size=(7, 1), padding=(3, 0), **factory)
        self.branch7x7dbl_3 = conv(c7, c7, kernel_size=(1, 7), padding=(0, 3), **factory)
        self.branch7x7dbl_4 = conv(c7, c7, kernel_size=(7, 1), padding=(3, 0), **factory)
        self.branch7x7dbl_5 = conv(c7, 192, kernel_size=(1, 7), padding=(0, 3), **factory)
        self.branch_pool = conv(cin, 192, kernel_size=1, **factory)

    def forward(self, x: Tensor) -> Tensor:
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        branch7x7dbl = self.branch7x7dbl_1(x)
        branch7x7dbl = self.branch7x7dbl_3(self.branch7x7dbl_2(branch7x7dbl))
        branch7x7dbl = self.branch7x7dbl_5(self.branch7x7dbl_4(branch7x7dbl))
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return self._cat([self.branch1x1(x), branch7x7, branch7x7dbl, branch_pool])


class InceptionD(_Concatenating):
    """Inception v3's mixed block D (torchvision's ``InceptionD``), its convolutions made by ``conv_block``."""

    def __init__(self, cin: int, conv_block: BlockBuilder | None = None, **factory: Any) -> None:
        super().__init__()
        conv, factory = _conv_block_and_factory(conv_block, factory)
        self.branch3x3_1 = conv(cin, 192, kernel_size=1, **factory)
        self.branch3x3_2 = conv(192, 320, kernel_size=3, stride=2, **factory)
        self.branch7x7x3_1 = conv(cin, 192, kernel_size=1, **factory)
        self.branch7x7x3_2 = conv(192, 192, kernel_size=(1, 7), padding=(0, 3), **factory)
        self.branch7x7x3_3 = conv(192, 192, kernel_size=(7, 1), padding=(3, 0), **factory)
        self.branch7x7x3_4 = conv(192, 192, kernel_size=3, stride=2, **factory)

    def forward(self, x: Tensor) -> Tensor:
        branch3x3 = self.branch3x3_2(self.branch3x3_1(x))
        branch7x7x3 = self.branch7x7x3_2(self.branch7x7x3_1(x))
        branch7x7x3 = self.branch7x7x3_4(self.branch7x7x3_3(branch7x7x3))
        return self._cat([branch3x3, branch7x7x3, F.max_pool2d(x, kernel_size=3, stride=2)])


class InceptionE(_Concatenating):
    """Inception v3's mixed block E (torchvision's ``InceptionE``), its convolutions made by ``conv_block``."""

    def __init__(self, cin: int, conv_block: BlockBuilder | None = None, **factory: Any) -> None:
        super().__init__()
        conv, factory = _conv_block_and_factory(conv_block, factory)
        self.branch1x1 = conv(cin, 320, kernel_size=1, **factory)
        self.branch3x3_1 = conv(cin, 384, kernel_size=1, **factory)
        self.branch3x3_2a = conv(384, 384, kernel_size=(1, 3), padding=(0, 1), **factory)
        self.branch3x3_2b = conv(384, 384, kernel_size=(3, 1), padding=(1, 0), **factory)
        self.branch3x3dbl_1 = conv(cin, 448, kernel_size=1, **factory)
        self.branch3x3dbl_2 = conv(448, 384, kernel_size=3, padding=1, **factory)
        self.branch3x3dbl_3a = conv(384, 384, kernel_size=(1, 3), padding=(0, 1), **factory)
        self.branch3x3dbl_3b = conv(384, 384, kernel_size=(3, 1), padding=(1, 0), **factory)
        self.branch_pool = conv(cin, 192, kernel_size=1, **factory)

    def forward(self, x: Tensor) -> Tensor:
        branch3x3 = self.branch3x3_1(x)
        branch3x3 = self._cat([self.branch3x3_2a(branch3x3), self.branch3x3_2b(branch3x3)], 1)
        branch3x3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = self._cat([self.branch3x3dbl_3a(branch3x3dbl), self.branch3x3dbl_3b(branch3x3dbl)], 2)
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return self._cat([self.branch1x1(x), branch3x3, branch3x3dbl, branch_pool], 3)


class InceptionAux(nn.Module):
    """Inception v3's auxiliary classifier (``conv0``, ``conv1``, ``fc``)."""

    def __init__(self, cin: int, num_classes: int, conv_block: BlockBuilder | None = None, **factory: Any) -> None:
        super().__init__()
        conv, factory = _conv_block_and_factory(conv_block, factory)
        self.conv0 = conv(cin, 128, kernel_size=1, **factory)
        self.conv1 = conv(128, 768, kernel_size=5, **factory)
        self.fc = nn.Linear(768, num_classes, **factory)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1(self.conv0(F.avg_pool2d(x, kernel_size=5, stride=3)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1))


class Inception3(nn.Module):
    """torchvision's Inception v3 (``Conv2d_1a_3x3`` ... ``Mixed_7c``, ``AuxLogits``, ``fc``) from tvexp layers.

    Inception A-E are architecture-specific and stay here, built from
    :class:`~tvexp.prototype.NamedConv2dNormActivation`. In training mode with ``aux_logits`` the
    forward returns ``InceptionOutputs(logits, aux_logits)``, otherwise the logits. Inputs of at least
    75x75 pixels. ``inception_blocks`` replaces ``[basic_conv2d, InceptionA, InceptionB, InceptionC, InceptionD,
    InceptionE, InceptionAux]``, each called as torchvision calls it (``inception_a(192, pool_features=32)``,
    ``inception_c(768, channels_7x7=128)``, ``inception_aux(768, num_classes)``, ...).
    """

    def __init__(
        self,
        num_classes: int = 1000,
        aux_logits: bool = True,
        transform_input: bool = False,
        inception_blocks: list[BlockBuilder] | None = None,
        init_weights: bool | None = True,
        dropout: float = 0.5,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if inception_blocks is None:
            inception_blocks = [basic_conv2d, InceptionA, InceptionB, InceptionC, InceptionD, InceptionE, InceptionAux]
        if len(inception_blocks) != 7:
            raise ValueError(f"length of inception_blocks should be 7 instead of {len(inception_blocks)}")
        conv, inception_a, inception_b, inception_c, inception_d, inception_e, inception_aux = inception_blocks
        factory: dict[str, Any] = _given({"device": device, "dtype": dtype})
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        self.Conv2d_1a_3x3 = conv(3, 32, kernel_size=3, stride=2, **factory)
        self.Conv2d_2a_3x3 = conv(32, 32, kernel_size=3, **factory)
        self.Conv2d_2b_3x3 = conv(32, 64, kernel_size=3, padding=1, **factory)
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Conv2d_3b_1x1 = conv(64, 80, kernel_size=1, **factory)
        self.Conv2d_4a_3x3 = conv(80, 192, kernel_size=3, **factory)
        self.maxpool2 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Mixed_5b = inception_a(192, pool_features=32, **factory)
        self.Mixed_5c = inception_a(256, pool_features=64, **factory)
        self.Mixed_5d = inception_a(288, pool_features=64, **factory)
        self.Mixed_6a = inception_b(288, **factory)
        self.Mixed_6b = inception_c(768, channels_7x7=128, **factory)
        self.Mixed_6c = inception_c(768, channels_7x7=160, **factory)
        self.Mixed_6d = inception_c(768, channels_7x7=160, **factory)
        self.Mixed_6e = inception_c(768, channels_7x7=192, **factory)
        self.AuxLogits = inception_aux(768, num_classes, **factory) if aux_logits else None
        self.Mixed_7a = inception_d(768, **factory)
        self.Mixed_7b = inception_e(1280, **factory)
        self.Mixed_7c = inception_e(2048, **factory)
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
        logits, aux = self._forward(x)
        if self.training and self.aux_logits:
            return InceptionOutputs(logits, aux)
        return logits

    def _forward(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = self.maxpool2(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(self.maxpool1(x))))
        x = self.Mixed_6a(self.Mixed_5d(self.Mixed_5c(self.Mixed_5b(x))))
        x = self.Mixed_6e(self.Mixed_6d(self.Mixed_6c(self.Mixed_6b(x))))
        aux = self.AuxLogits(x) if self.AuxLogits is not None and self.training else None
        x = self.avgpool(self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(x))))
        return self.fc(torch.flatten(self.dropout(x), 1)), aux


@_torchvision_builder
def inception_v3(**kwargs: Any) -> Inception3:
    """torchvision's ``inception_v3`` (``aux_logits``, ``transform_input``, ``inception_blocks``, ``init_weights``,
    ``dropout``)."""
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


@_torchvision_builder
def vgg11(**kwargs: Any) -> VGG:
    return _vgg("A", False, **kwargs)


@_torchvision_builder
def vgg11_bn(**kwargs: Any) -> VGG:
    return _vgg("A", True, **kwargs)


@_torchvision_builder
def vgg13(**kwargs: Any) -> VGG:
    return _vgg("B", False, **kwargs)


@_torchvision_builder
def vgg13_bn(**kwargs: Any) -> VGG:
    return _vgg("B", True, **kwargs)


@_torchvision_builder
def vgg16(**kwargs: Any) -> VGG:
    return _vgg("D", False, **kwargs)


@_torchvision_builder
def vgg16_bn(**kwargs: Any) -> VGG:
    return _vgg("D", True, **kwargs)


@_torchvision_builder
def vgg19(**kwargs: Any) -> VGG:
    return _vgg("E", False, **kwargs)


@_torchvision_builder
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


@_torchvision_builder
def alexnet(**kwargs: Any) -> AlexNet:
    return AlexNet(**kwargs)


# ------------------------------------------------------------------ EfficientNet B4-B7 and V2, ResNe(X)t


@_torchvision_builder
def efficientnet_b4(**kwargs: Any) -> nn.Module:
    kwargs.setdefault("dropout", 0.4)
    return efficientnet(width_mult=1.4, depth_mult=1.8, **kwargs)


@_torchvision_builder
def efficientnet_b5(**kwargs: Any) -> nn.Module:
    kwargs.setdefault("dropout", 0.4)
    kwargs.setdefault("norm_layer", partial(nn.BatchNorm2d, eps=0.001, momentum=0.01))
    return efficientnet(width_mult=1.6, depth_mult=2.2, **kwargs)


@_torchvision_builder
def efficientnet_b6(**kwargs: Any) -> nn.Module:
    kwargs.setdefault("dropout", 0.5)
    kwargs.setdefault("norm_layer", partial(nn.BatchNorm2d, eps=0.001, momentum=0.01))
    return efficientnet(width_mult=1.8, depth_mult=2.6, **kwargs)


@_torchvision_builder
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


@_torchvision_builder
def efficientnet_v2_s(**kwargs: Any) -> nn.Module:
    kwargs.setdefault("dropout", 0.2)
    return efficientnet_v2(_V2_TABLES["s"], **kwargs)


@_torchvision_builder
def efficientnet_v2_m(**kwargs: Any) -> nn.Module:
    kwargs.setdefault("dropout", 0.3)
    return efficientnet_v2(_V2_TABLES["m"], **kwargs)


@_torchvision_builder
def efficientnet_v2_l(**kwargs: Any) -> nn.Module:
    kwargs.setdefault("dropout", 0.4)
    return efficientnet_v2(_V2_TABLES["l"], **kwargs)


@_torchvision_builder
def resnext101_32x8d(**kwargs: Any) -> ResNet:
    return ResNet(Bottleneck, [3, 4, 23, 3], **_fixed(kwargs, groups=32, width_per_group=8))


@_torchvision_builder
def resnext101_64x4d(**kwargs: Any) -> ResNet:
    return ResNet(Bottleneck, [3, 4, 23, 3], **_fixed(kwargs, groups=64, width_per_group=4))


@_torchvision_builder
def wide_resnet101_2(**kwargs: Any) -> ResNet:
    return ResNet(Bottleneck, [3, 4, 23, 3], **_fixed(kwargs, width_per_group=128))


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


class ConvStemConfig(NamedTuple):
    """One Conv-Norm-Activation of a ViT convolutional stem (Xiao et al., 2021), as torchvision's
    ``ConvStemConfig`` (whose instances are accepted too)."""

    out_channels: int
    kernel_size: int
    stride: int
    norm_layer: NormBuilder = nn.BatchNorm2d
    activation_layer: NormBuilder = nn.ReLU


class VisionTransformer(nn.Module):
    """torchvision's ``VisionTransformer`` layout (``class_token conv_proj encoder heads``) from tvexp blocks.

    ``conv_stem_configs`` replaces the patchifying convolution by a stack of Conv-Norm-Activation layers
    (``conv_proj.conv_bn_relu_{i}``) and a 1x1 ``conv_proj.conv_last``, as torchvision's; the strides'
    product should equal ``patch_size``. ``stochastic_depth_prob`` (not in torchvision) drops the blocks'
    residual branches with the usual linear schedule; 0 gives torchvision's network.
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
        conv_stem_configs: list[ConvStemConfig] | None = None,
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
        self.conv_proj: nn.Module
        if conv_stem_configs is None:
            self.conv_proj = nn.Conv2d(3, hidden_dim, kernel_size=patch_size, stride=patch_size, **factory)
        else:
            stem: OrderedDict[str, nn.Module] = OrderedDict()
            channels = 3
            for i, config in enumerate(conv_stem_configs):
                stem[f"conv_bn_relu_{i}"] = Conv2dNormActivation(
                    channels,
                    config.out_channels,
                    kernel_size=config.kernel_size,
                    stride=config.stride,
                    norm_layer=config.norm_layer,
                    activation_layer=config.activation_layer,
                    **_given(factory),
                )
                channels = config.out_channels
            stem["conv_last"] = nn.Conv2d(channels, hidden_dim, kernel_size=1, **factory)
            self.conv_proj = nn.Sequential(stem)
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
        if isinstance(self.conv_proj, nn.Conv2d):
            fan_in = 3 * patch_size * patch_size
            nn.init.trunc_normal_(self.conv_proj.weight, std=math.sqrt(1 / fan_in))
            nn.init.zeros_(self.conv_proj.bias)
        else:
            last = self.conv_proj.conv_last
            nn.init.normal_(last.weight, mean=0.0, std=math.sqrt(2.0 / last.out_channels))
            nn.init.zeros_(last.bias)
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


def _pretrained_vit_kwargs(kwargs: dict[str, Any], weights: Any) -> dict[str, Any]:
    # torchvision: the position embedding's length follows the weights' image size (518 for vit_h_14's SWAG).
    height, width = weights.meta["min_size"]
    if height != width:
        raise ValueError(f"ViT weights must be for square images, got min_size {weights.meta['min_size']}")
    return _fixed(kwargs, image_size=height)


def _vit_builder(
    name: str, patch_size: int, num_layers: int, num_heads: int, hidden_dim: int, mlp_dim: int, note: str = ""
) -> Callable[..., VisionTransformer]:
    def build(
        *,
        image_size: int = 224,
        dropout: float = 0.0,
        attention_dropout: float = 0.0,
        num_classes: int = 1000,
        representation_size: int | None = None,
        norm_layer: NormBuilder | None = None,
        conv_stem_configs: list[ConvStemConfig] | None = None,
        stochastic_depth_prob: float = 0.0,
        device: Device = None,
        dtype: torch.dtype | None = None,
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
            conv_stem_configs=conv_stem_configs,
            stochastic_depth_prob=stochastic_depth_prob,
            device=device,
            dtype=dtype,
        )

    build.__name__ = build.__qualname__ = name
    build.__doc__ = (
        f"torchvision's ``{name}``: patch {patch_size}, {num_layers} layers, {num_heads} heads, width {hidden_dim}, "
        f"MLP {mlp_dim}.{note}"
    )
    _BEFORE_PRETRAINED[name] = _pretrained_vit_kwargs
    return _torchvision_builder(build)


vit_b_16 = _vit_builder("vit_b_16", 16, 12, 12, 768, 3072)
vit_b_32 = _vit_builder("vit_b_32", 32, 12, 12, 768, 3072)
vit_l_16 = _vit_builder("vit_l_16", 16, 24, 16, 1024, 4096)
vit_l_32 = _vit_builder("vit_l_32", 32, 24, 16, 1024, 4096)
vit_h_14 = _vit_builder(
    "vit_h_14", 14, 32, 16, 1280, 5120, " torchvision's pretrained weights (SWAG) are for ``image_size=518``."
)


class ConvNeXt(nn.Module):
    """torchvision's ``ConvNeXt`` layout (``features avgpool classifier``) from tvexp blocks.

    ``block_setting`` lists ``(channels, out_channels or None, blocks)`` per stage, as torchvision's
    ``CNBlockConfig(input_channels, out_channels, num_layers)``: each stage's blocks are followed by a
    LayerNorm2d + 2x2 stride-2 convolution that changes the width to ``out_channels``, unless it is ``None``.
    ``block`` replaces :class:`~tvexp.prototype.ConvNeXtBlock` and is called as torchvision calls it:
    ``block(channels, layer_scale, stochastic_depth_prob)``.
    """

    def __init__(
        self,
        block_setting: list[tuple[int, int | None, int]],
        stochastic_depth_prob: float = 0.0,
        layer_scale: float = 1e-6,
        num_classes: int = 1000,
        block: BlockBuilder | None = None,
        norm_layer: NormBuilder | None = None,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        unit = ConvNeXtBlock if block is None else block
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
                nn.Sequential(*(unit(channels, layer_scale, next(rates), **_given(factory)) for _ in range(count)))
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
        block: BlockBuilder | None = None,
        norm_layer: NormBuilder | None = None,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> ConvNeXt:
        return ConvNeXt(
            block_setting,
            stochastic_depth_prob=stochastic_depth_prob,
            layer_scale=layer_scale,
            num_classes=num_classes,
            block=block,
            norm_layer=norm_layer,
            device=device,
            dtype=dtype,
        )

    build.__name__ = build.__qualname__ = name
    build.__doc__ = (
        f"torchvision's ``{name}``: stages {[stage[2] for stage in block_setting]} blocks wide "
        f"{[stage[0] for stage in block_setting]}, stochastic depth {default_stochastic_depth_prob}."
    )
    return _torchvision_builder(build)


convnext_tiny = _convnext_builder([(96, 192, 3), (192, 384, 3), (384, 768, 9), (768, None, 3)], 0.1, "convnext_tiny")
convnext_small = _convnext_builder([(96, 192, 3), (192, 384, 3), (384, 768, 27), (768, None, 3)], 0.4, "convnext_small")
convnext_base = _convnext_builder(
    [(128, 256, 3), (256, 512, 3), (512, 1024, 27), (1024, None, 3)], 0.5, "convnext_base"
)
convnext_large = _convnext_builder(
    [(192, 384, 3), (384, 768, 3), (768, 1536, 27), (1536, None, 3)], 0.5, "convnext_large"
)


# ----------------------------------------------- Quantizable GoogLeNet, Inception v3, ShuffleNetV2
# The eager-mode quantizable models of ``torchvision.models.quantization``, from tvexp's quantizable
# blocks. In this flat module their builders carry a ``quantizable_`` prefix:
# ``quantizable_googlenet`` is ``torchvision.models.quantization.googlenet(quantize=False)``, likewise
# ``quantizable_inception_v3`` and ``quantizable_shufflenet_v2_x0_5`` ... ``_x2_0``. Their state_dict
# keys, shapes and module paths (``quant``, ``dequant``, the ``cat``/``myop`` FloatFunctionals) are
# those of torchvision's QuantizableGoogLeNet, QuantizableInception3 and QuantizableShuffleNetV2 (checked
# in tests/quantization/test_quantizable_models.py), which are also the keys of the float models above:
# float weights load strictly. There is no ``quantize=`` argument: load the float weights, call
# ``fuse_model()``, then prepare, calibrate on real images and convert (docs/guide/quantization.rst).


_FUSABLE_BLOCKS = (QuantizableConv2dNormActivation, QuantizableNamedConv2dNormActivation, QuantizableShuffleNetV2Unit)


def _fuse_blocks(model: nn.Module, is_qat: bool | None) -> None:
    """Fuses every quantizable tvexp block of ``model`` (``is_qat=None``: follows ``model.training``)."""
    if is_qat is None:
        is_qat = model.training
    for module in model.modules():
        if isinstance(module, _FUSABLE_BLOCKS):
            module.fuse_model(is_qat)


def quantizable_basic_conv2d(
    in_channels: int,
    out_channels: int,
    kernel_size: int | tuple[int, int] = 1,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    **factory: Any,
) -> QuantizableNamedConv2dNormActivation:
    """torchvision's ``QuantizableBasicConv2d``: conv, BatchNorm (eps 0.001), ReLU (not in place), fusable."""
    return QuantizableNamedConv2dNormActivation(
        in_channels, out_channels, kernel_size, stride, padding, inplace=False, **factory
    )


class QuantizableGoogLeNetInception(GoogLeNetInception):
    """:class:`GoogLeNetInception` with quantizable convolutions and its concatenation observed (``cat``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, conv_block=quantizable_basic_conv2d, **kwargs)
        self.cat = FloatFunctional()

    def _cat(self, tensors: list[Tensor], index: int = 0) -> Tensor:  # noqa: ARG002
        return self.cat.cat(tensors, 1)


class QuantizableGoogLeNetAux(GoogLeNetAux):
    """:class:`GoogLeNetAux` with quantizable convolutions and the ReLU after ``fc1`` as a module (``relu``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, conv_block=quantizable_basic_conv2d, **kwargs)
        self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        x = torch.flatten(self.conv(F.adaptive_avg_pool2d(x, (4, 4))), 1)
        return self.fc2(self.dropout(self.relu(self.fc1(x))))


class QuantizableGoogLeNet(GoogLeNet):
    """torchvision's ``QuantizableGoogLeNet``: :class:`GoogLeNet` between ``quant`` and ``dequant`` stubs.

    Same arguments (but ``blocks``), keys and outputs as :class:`GoogLeNet` (a float model until
    converted), with quantizable convolutions, an observed concatenation in each Inception module and
    :meth:`fuse_model`. The auxiliary heads run only in training mode, in float (quantization-aware training).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        blocks = [quantizable_basic_conv2d, QuantizableGoogLeNetInception, QuantizableGoogLeNetAux]
        super().__init__(*args, blocks=blocks, **kwargs)
        self.quant = QuantStub()
        self.dequant = DeQuantStub()

    def forward(self, x: Tensor) -> Tensor | GoogLeNetOutputs:
        if self.transform_input:
            x = _transform_input(x)
        logits, aux2, aux1 = self._forward(self.quant(x))
        logits = self.dequant(logits)
        if self.training and self.aux_logits:
            return GoogLeNetOutputs(logits, aux2, aux1)
        return logits

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """Fuses every conv + BatchNorm + ReLU in place (``is_qat=None``: QAT fusion in training mode)."""
        _fuse_blocks(self, is_qat)


def quantizable_googlenet(**kwargs: Any) -> QuantizableGoogLeNet:
    """``torchvision.models.quantization.googlenet(quantize=False)``: a float GoogLeNet ready for eager quantization."""
    return QuantizableGoogLeNet(**kwargs)


class _ObservedConcatenation(_Concatenating):
    """Joins branches through ``FloatFunctional`` modules: ``myop`` (``myop1``..``myop3`` in module E)."""

    def _cat(self, tensors: list[Tensor], index: int = 0) -> Tensor:
        function: FloatFunctional = getattr(self, f"myop{index or ''}")
        return function.cat(tensors, 1)


class QuantizableInceptionA(InceptionA, _ObservedConcatenation):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, conv_block=quantizable_basic_conv2d, **kwargs)
        self.myop = FloatFunctional()


class QuantizableInceptionB(InceptionB, _ObservedConcatenation):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, conv_block=quantizable_basic_conv2d, **kwargs)
        self.myop = FloatFunctional()


class QuantizableInceptionC(InceptionC, _ObservedConcatenation):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, conv_block=quantizable_basic_conv2d, **kwargs)
        self.myop = FloatFunctional()


class QuantizableInceptionD(InceptionD, _ObservedConcatenation):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, conv_block=quantizable_basic_conv2d, **kwargs)
        self.myop = FloatFunctional()


class QuantizableInceptionE(InceptionE, _ObservedConcatenation):
    """Module E: two inner concatenations (``myop1``, ``myop2``) and the outer one (``myop3``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, conv_block=quantizable_basic_conv2d, **kwargs)
        self.myop1 = FloatFunctional()
        self.myop2 = FloatFunctional()
        self.myop3 = FloatFunctional()


class QuantizableInceptionAux(InceptionAux):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, conv_block=quantizable_basic_conv2d, **kwargs)


class QuantizableInception3(Inception3):
    """torchvision's ``QuantizableInception3``: :class:`Inception3` between ``quant`` and ``dequant`` stubs.

    Same arguments (but ``inception_blocks``), keys and outputs as :class:`Inception3` (a float model until
    converted), with quantizable convolutions, observed concatenations (``myop``; ``myop1``-``myop3`` in
    module E) and :meth:`fuse_model`. Inputs of at least 75x75 pixels. The auxiliary head runs only in
    training mode, in float.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        blocks = [
            quantizable_basic_conv2d,
            QuantizableInceptionA,
            QuantizableInceptionB,
            QuantizableInceptionC,
            QuantizableInceptionD,
            QuantizableInceptionE,
            QuantizableInceptionAux,
        ]
        super().__init__(*args, inception_blocks=blocks, **kwargs)
        self.quant = QuantStub()
        self.dequant = DeQuantStub()

    def forward(self, x: Tensor) -> Tensor | InceptionOutputs:
        if self.transform_input:
            x = _transform_input(x)
        logits, aux = self._forward(self.quant(x))
        logits = self.dequant(logits)
        if self.training and self.aux_logits:
            return InceptionOutputs(logits, aux)
        return logits

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """Fuses every conv + BatchNorm + ReLU in place (``is_qat=None``: QAT fusion in training mode)."""
        _fuse_blocks(self, is_qat)


def quantizable_inception_v3(**kwargs: Any) -> QuantizableInception3:
    """``torchvision.models.quantization.inception_v3(quantize=False)``: a float Inception v3 ready for eager quantization."""
    return QuantizableInception3(**kwargs)


class QuantizableShuffleNetV2(ShuffleNetV2):
    """torchvision's ``QuantizableShuffleNetV2``: :class:`ShuffleNetV2` between ``quant`` and ``dequant`` stubs.

    Same arguments (but ``inverted_residual``), keys and outputs as :class:`ShuffleNetV2`, from
    :class:`~tvexp.prototype.QuantizableConv2dNormActivation` (``conv1``, ``conv5``) and
    :class:`~tvexp.prototype.QuantizableShuffleNetV2Unit` (each with an observed ``cat``), with
    :meth:`fuse_model`.
    """

    _conv_norm_activation = QuantizableConv2dNormActivation

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, inverted_residual=QuantizableShuffleNetV2Unit, **kwargs)
        self.quant = QuantStub()
        self.dequant = DeQuantStub()

    def forward(self, x: Tensor) -> Tensor:
        return self.dequant(super().forward(self.quant(x)))

    def fuse_model(self, is_qat: bool | None = None) -> None:
        """Fuses conv1, conv5 and every unit's conv + BatchNorm (+ ReLU) runs in place, as torchvision does."""
        _fuse_blocks(self, is_qat)


def quantizable_shufflenet_v2_x0_5(**kwargs: Any) -> QuantizableShuffleNetV2:
    """``torchvision.models.quantization.shufflenet_v2_x0_5(quantize=False)``."""
    return QuantizableShuffleNetV2([4, 8, 4], [24, 48, 96, 192, 1024], **kwargs)


def quantizable_shufflenet_v2_x1_0(**kwargs: Any) -> QuantizableShuffleNetV2:
    """``torchvision.models.quantization.shufflenet_v2_x1_0(quantize=False)``."""
    return QuantizableShuffleNetV2([4, 8, 4], [24, 116, 232, 464, 1024], **kwargs)


def quantizable_shufflenet_v2_x1_5(**kwargs: Any) -> QuantizableShuffleNetV2:
    """``torchvision.models.quantization.shufflenet_v2_x1_5(quantize=False)``."""
    return QuantizableShuffleNetV2([4, 8, 4], [24, 176, 352, 704, 1024], **kwargs)


def quantizable_shufflenet_v2_x2_0(**kwargs: Any) -> QuantizableShuffleNetV2:
    """``torchvision.models.quantization.shufflenet_v2_x2_0(quantize=False)``."""
    return QuantizableShuffleNetV2([4, 8, 4], [24, 244, 488, 976, 2048], **kwargs)


# ------------------------------------------------------------------- Video: R3D, MC3, R(2+1)D, S3D
# torchvision's video classification models from tvexp's VideoBasicBlock/VideoBottleneck, the convolution
# builders (Conv3DSimple, Conv3DNoTemporal, Conv2Plus1D), the stems and TemporalSeparableConv (state_dict
# keys, shapes, dtypes and eval outputs checked against torchvision 0.29 in tests/parity/test_parity_video.py).


VideoConvBuilder = Callable[..., nn.Module]


class VideoResNet(nn.Module):
    """torchvision's ``VideoResNet`` layout (``stem layer1..4 avgpool fc``) from tvexp blocks.

    ``block`` is :class:`~tvexp.prototype.VideoBasicBlock` or :class:`~tvexp.prototype.VideoBottleneck`,
    ``conv_makers`` the convolution builder of each stage, ``layers`` the blocks per stage and ``stem``
    builds the stem (called with ``device``/``dtype``). ``stage_channels`` (not in torchvision, whose
    widths are fixed) gives the ``planes`` of the four stages; the stem must output ``stage_channels[0]``.
    The initialisation is torchvision's: Kaiming-normal (fan-out) convolutions, unit norms, ``N(0, 0.01)``
    classifier. Difference: ``zero_init_residual=True`` zeroes the last norm of every residual branch
    (``conv2.1`` or ``conv3.1``); torchvision's video code looks for a ``bn3`` its blocks do not have, so
    there it does nothing for basic blocks and raises for bottlenecks.
    """

    def __init__(
        self,
        block: type[VideoBasicBlock] | type[VideoBottleneck],
        conv_makers: Sequence[VideoConvBuilder],
        layers: Sequence[int],
        stem: Callable[..., nn.Module],
        num_classes: int = 400,
        zero_init_residual: bool = False,
        *,
        stage_channels: Sequence[int] = (64, 128, 256, 512),
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if not (len(conv_makers) == len(layers) == len(stage_channels) == 4):
            raise ValueError(
                f"conv_makers, layers and stage_channels must each have 4 entries, got {len(conv_makers)}, "
                f"{len(layers)} and {len(stage_channels)}"
            )
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        # torchvision calls stem(): the factory keywords are passed only when given.
        self.stem = stem(**{key: value for key, value in factory.items() if value is not None})
        in_channels = stage_channels[0]
        for index, (conv_builder, planes, count) in enumerate(zip(conv_makers, stage_channels, layers)):
            stride = 1 if index == 0 else 2
            blocks = []
            for position in range(count):
                # The block builds torchvision's projection shortcut (1x1x1 conv + norm) when the shape changes.
                blocks.append(block(in_channels, planes, conv_builder, stride if position == 0 else 1, **factory))
                in_channels = planes * block.expansion
            setattr(self, f"layer{index + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool3d((1, 1, 1))
        self.fc = nn.Linear(in_channels, num_classes, **factory)
        for module in self.modules():
            if isinstance(module, nn.Conv3d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm3d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0, 0.01)
                nn.init.zeros_(module.bias)
        if zero_init_residual:
            for module in self.modules():
                if isinstance(module, (VideoBasicBlock, VideoBottleneck)):
                    last = module.conv3[1] if isinstance(module, VideoBottleneck) else module.conv2[1]
                    if getattr(last, "weight", None) is not None:
                        nn.init.zeros_(last.weight)

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


@_torchvision_builder
def r3d_18(**kwargs: Any) -> VideoResNet:
    """torchvision's ``r3d_18``: 3x3x3 convolutions in every stage (``num_classes``, ``zero_init_residual``)."""
    return VideoResNet(VideoBasicBlock, [Conv3DSimple] * 4, [2, 2, 2, 2], R3DStem, **kwargs)


@_torchvision_builder
def mc3_18(**kwargs: Any) -> VideoResNet:
    """torchvision's ``mc3_18``: 3x3x3 convolutions in the first stage, 1x3x3 in the others."""
    return VideoResNet(VideoBasicBlock, [Conv3DSimple] + [Conv3DNoTemporal] * 3, [2, 2, 2, 2], R3DStem, **kwargs)


@_torchvision_builder
def r2plus1d_18(**kwargs: Any) -> VideoResNet:
    """torchvision's ``r2plus1d_18``: (2+1)-D convolutions and the factorised stem."""
    return VideoResNet(VideoBasicBlock, [Conv2Plus1D] * 4, [2, 2, 2, 2], R2Plus1DStem, **kwargs)


class SepInceptionBlock3D(nn.Module):
    """S3D's inception block: four branches (1x1x1; 1x1x1 then separable 3x3x3 twice; pool then 1x1x1),
    concatenated, with torchvision's submodule names (``branch0`` ... ``branch3``)."""

    def __init__(
        self,
        in_channels: int,
        b0_out: int,
        b1_mid: int,
        b1_out: int,
        b2_mid: int,
        b2_out: int,
        b3_out: int,
        norm_layer: NormBuilder,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        self.branch0 = Conv3dNormActivation(in_channels, b0_out, kernel_size=1, norm_layer=norm_layer, **factory)
        self.branch1 = nn.Sequential(
            Conv3dNormActivation(in_channels, b1_mid, kernel_size=1, norm_layer=norm_layer, **factory),
            TemporalSeparableConv(b1_mid, b1_out, 3, 1, 1, norm_layer, **factory),
        )
        self.branch2 = nn.Sequential(
            Conv3dNormActivation(in_channels, b2_mid, kernel_size=1, norm_layer=norm_layer, **factory),
            TemporalSeparableConv(b2_mid, b2_out, 3, 1, 1, norm_layer, **factory),
        )
        self.branch3 = nn.Sequential(
            nn.MaxPool3d(kernel_size=(3, 3, 3), stride=1, padding=1),
            Conv3dNormActivation(in_channels, b3_out, kernel_size=1, norm_layer=norm_layer, **factory),
        )

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat((self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)), 1)


# torchvision's S3D feature extractor: ("conv", out, kernel, stride, padding), ("pool", kernel, stride,
# padding), ("1x1", out) or ("inception", b0_out, b1_mid, b1_out, b2_mid, b2_out, b3_out).
_S3D_FEATURES: list[tuple[Any, ...]] = [
    ("conv", 64, 7, 2, 3),
    ("pool", (1, 3, 3), (1, 2, 2), (0, 1, 1)),
    ("1x1", 64),
    ("conv", 192, 3, 1, 1),
    ("pool", (1, 3, 3), (1, 2, 2), (0, 1, 1)),
    ("inception", 64, 96, 128, 16, 32, 32),
    ("inception", 128, 128, 192, 32, 96, 64),
    ("pool", (3, 3, 3), (2, 2, 2), (1, 1, 1)),
    ("inception", 192, 96, 208, 16, 48, 64),
    ("inception", 160, 112, 224, 24, 64, 64),
    ("inception", 128, 128, 256, 24, 64, 64),
    ("inception", 112, 144, 288, 32, 64, 64),
    ("inception", 256, 160, 320, 32, 128, 128),
    ("pool", (2, 2, 2), (2, 2, 2), (0, 0, 0)),
    ("inception", 256, 160, 320, 32, 128, 128),
    ("inception", 384, 192, 384, 48, 128, 128),
]


class S3D(nn.Module):
    """torchvision's ``S3D`` (``features avgpool classifier``) from tvexp's TemporalSeparableConv.

    ``width_mult`` (not in torchvision) scales every channel count (``int(channels * width_mult)``), for
    small test networks; 1.0 is torchvision's network. The initialisation is PyTorch's default, as in
    torchvision. The input needs at least 14 frames of 224x224 (the 2x7x7 average pool).
    """

    def __init__(
        self,
        num_classes: int = 400,
        dropout: float = 0.2,
        norm_layer: NormBuilder | None = None,
        *,
        width_mult: float = 1.0,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        norm = partial(nn.BatchNorm3d, eps=0.001, momentum=0.001) if norm_layer is None else norm_layer
        factory: dict[str, Any] = {"device": device, "dtype": dtype}

        def width(channels: int) -> int:
            return int(channels * width_mult)

        layers: list[nn.Module] = []
        channels = 3
        for kind, *spec in _S3D_FEATURES:
            if kind == "conv":
                out, kernel, stride, padding = spec
                layers.append(TemporalSeparableConv(channels, width(out), kernel, stride, padding, norm, **factory))
                channels = width(out)
            elif kind == "pool":
                layers.append(nn.MaxPool3d(*spec))
            elif kind == "1x1":
                layers.append(Conv3dNormActivation(channels, width(spec[0]), kernel_size=1, norm_layer=norm, **factory))
                channels = width(spec[0])
            else:
                widths = [width(value) for value in spec]
                layers.append(SepInceptionBlock3D(channels, *widths, norm, **factory))
                channels = widths[0] + widths[2] + widths[4] + widths[5]
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AvgPool3d(kernel_size=(2, 7, 7), stride=1)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Conv3d(channels, num_classes, kernel_size=1, stride=1, bias=True, **factory)
        )

    def forward(self, x: Tensor) -> Tensor:
        x = self.classifier(self.avgpool(self.features(x)))
        return torch.mean(x, dim=(2, 3, 4))


@_torchvision_builder
def s3d(**kwargs: Any) -> S3D:
    """torchvision's ``s3d`` (``num_classes``, ``dropout``, ``norm_layer``)."""
    return S3D(**kwargs)


# -------------------------------------------------------------------------------------------- MViT
# torchvision's video MViT (v1 base, v2 small) from tvexp's MultiscaleBlock (state_dict keys, shapes and
# dtypes checked against torchvision 0.29 in tests/parity/test_parity_mvit.py).


class _MViTPositionalEncoding(nn.Module):
    """torchvision's MViT ``PositionalEncoding``: prepends the class token and, without relative positions,
    adds separable space + time position embeddings (``class_token spatial_pos temporal_pos class_pos``)."""

    def __init__(
        self, embed_size: int, spatial_size: tuple[int, int], temporal_size: int, absolute: bool, factory: Any
    ) -> None:
        super().__init__()
        self.spatial_size = spatial_size
        self.temporal_size = temporal_size
        self.class_token = nn.Parameter(torch.zeros(embed_size, **factory))
        self.spatial_pos: nn.Parameter | None = None
        self.temporal_pos: nn.Parameter | None = None
        self.class_pos: nn.Parameter | None = None
        if absolute:
            self.spatial_pos = nn.Parameter(torch.zeros(spatial_size[0] * spatial_size[1], embed_size, **factory))
            self.temporal_pos = nn.Parameter(torch.zeros(temporal_size, embed_size, **factory))
            self.class_pos = nn.Parameter(torch.zeros(embed_size, **factory))

    def forward(self, x: Tensor) -> Tensor:
        x = torch.cat((self.class_token.expand(x.shape[0], 1, -1), x), dim=1)
        if self.spatial_pos is not None and self.temporal_pos is not None and self.class_pos is not None:
            # (T, D) repeated per spatial cell + (H * W, D) repeated per frame: one embedding per token.
            position = self.temporal_pos.repeat_interleave(self.spatial_pos.shape[0], dim=0)
            position = position + self.spatial_pos.repeat(self.temporal_size, 1)
            x = x + torch.cat((self.class_pos[None], position), dim=0)
        return x


class MViT(nn.Module):
    """torchvision's video ``MViT`` layout (``conv_proj pos_encoding blocks norm head``) from tvexp blocks.

    ``block_setting`` lists one mapping per block with the fields of torchvision's ``MSBlockConfig``
    (``num_heads``, ``input_channels``, ``output_channels``, ``kernel_q``, ``kernel_kv``, ``stride_q``,
    ``stride_kv``; empty kernels/strides mean no pooling). The token grid after the patch embedding (and, with
    ``rel_pos_embed``, after each query stride) must divide evenly, as in torchvision's pretrained configurations:
    torchvision sizes its position embeddings and relative-position tables from ``size // stride``, which is the
    grid only then (torchvision's v1 fails at its first forward otherwise; its v2 resizes the tables).
    ``block`` replaces :class:`~tvexp.prototype.MultiscaleBlock` and receives that class's arguments (not
    torchvision's ``MSBlockConfig``); it must have an ``output_size``. Input: ``(N, 3, T, H, W)`` clips of
    ``temporal_size`` frames of ``spatial_size``, or ``(N, 3, H, W)`` images (one frame).
    """

    def __init__(
        self,
        spatial_size: tuple[int, int],
        temporal_size: int,
        block_setting: Sequence[Mapping[str, Any]],
        residual_pool: bool,
        residual_with_cls_embed: bool,
        rel_pos_embed: bool,
        proj_after_attn: bool,
        dropout: float = 0.5,
        attention_dropout: float = 0.0,
        stochastic_depth_prob: float = 0.0,
        num_classes: int = 400,
        block: BlockBuilder | None = None,
        norm_layer: NormBuilder | None = None,
        patch_embed_kernel: tuple[int, int, int] = (3, 7, 7),
        patch_embed_stride: tuple[int, int, int] = (2, 4, 4),
        patch_embed_padding: tuple[int, int, int] = (1, 3, 3),
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        unit = MultiscaleBlock if block is None else block
        if not block_setting:
            raise ValueError("block_setting must list at least one block, got an empty sequence")
        norm = partial(nn.LayerNorm, eps=1e-6) if norm_layer is None else norm_layer
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        self.conv_proj = nn.Conv3d(
            3,
            block_setting[0]["input_channels"],
            kernel_size=patch_embed_kernel,
            stride=patch_embed_stride,
            padding=patch_embed_padding,
            **factory,
        )
        sizes = (temporal_size, *spatial_size)
        grid = tuple(
            (n + 2 * p - k) // s + 1
            for n, k, s, p in zip(sizes, patch_embed_kernel, patch_embed_stride, patch_embed_padding)
        )
        if grid != tuple(n // s for n, s in zip(sizes, patch_embed_stride)):
            raise ValueError(
                f"the patch embedding makes a {grid} token grid from (temporal_size, *spatial_size)={sizes}, not "
                f"size // patch_embed_stride as torchvision assumes; use sizes divisible by {patch_embed_stride}"
            )
        self.pos_encoding = _MViTPositionalEncoding(
            block_setting[0]["input_channels"], (grid[1], grid[2]), grid[0], not rel_pos_embed, factory
        )
        self.blocks = nn.ModuleList()
        torchvision_grid = grid
        rates = stochastic_depth_rates(stochastic_depth_prob, len(block_setting))
        for index, config in enumerate(block_setting):
            block = unit(
                config["input_channels"],
                config["num_heads"],
                grid,
                output_dim=config["output_channels"],
                query_kernel_size=config["kernel_q"],
                query_stride=config["stride_q"],
                key_value_kernel_size=config["kernel_kv"],
                key_value_stride=config["stride_kv"],
                residual_pooling=residual_pool,
                residual_with_class_token=residual_with_cls_embed,
                relative_position_embedding=rel_pos_embed,
                project_after_attention=proj_after_attn,
                dropout=attention_dropout,
                stochastic_depth_prob=rates[index],
                norm_layer=norm,
                **_given(factory),
            )
            self.blocks.append(block)
            grid, torchvision_grid = (
                block.output_size,
                tuple(n // s for n, s in zip(torchvision_grid, config["stride_q"] or (1, 1, 1))),
            )
            if rel_pos_embed and grid != torchvision_grid and index + 1 < len(block_setting):
                raise ValueError(
                    f"block {index} pools the token grid to {grid}, but torchvision sizes the next block's "
                    f"relative-position tables for {torchvision_grid} (size // stride_q); use input sizes whose "
                    f"grids divide by the query strides"
                )
        last = block_setting[-1]["output_channels"]
        self.norm = norm(last, **factory)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(last, num_classes, **factory))
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                if module.weight is not None:
                    nn.init.ones_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, _MViTPositionalEncoding):
                for parameter in module.parameters():
                    nn.init.trunc_normal_(parameter, std=0.02)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 4:  # (N, C, H, W) images: one frame
            x = x.unsqueeze(2)
        # (N, 3, T, H, W) -> (N, D, T', H', W') -> (N, T' * H' * W', D): one token per patch.
        x = self.conv_proj(x).flatten(2).transpose(1, 2)
        x = self.pos_encoding(x)
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        return self.head(x[:, 0])


def _mvit_setting(
    num_heads: list[int],
    input_channels: list[int],
    output_channels: list[int],
    kernel_q: list[list[int]],
    stride_q: list[list[int]],
    stride_kv: list[list[int]],
) -> list[dict[str, Any]]:
    return [
        {
            "num_heads": heads,
            "input_channels": width_in,
            "output_channels": width_out,
            "kernel_q": kq,
            "kernel_kv": [3, 3, 3],
            "stride_q": sq,
            "stride_kv": skv,
        }
        for heads, width_in, width_out, kq, sq, skv in zip(
            num_heads, input_channels, output_channels, kernel_q, stride_q, stride_kv
        )
    ]


# MViT's 16 blocks: heads, strides (query: three 2x2 spatial downsamplings; keys/values: pooled to 7 x 7).
_MVIT_HEADS = [1, 2, 2, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 8, 8]
_MVIT_KV_STRIDES = [[1, 8, 8], [1, 4, 4], [1, 4, 4]] + [[1, 2, 2]] * 11 + [[1, 1, 1]] * 2
_MVIT_DOWNSAMPLING_BLOCKS = (1, 3, 14)


@_torchvision_builder
def mvit_v1_b(
    *,
    spatial_size: tuple[int, int] = (224, 224),
    temporal_size: int = 16,
    dropout: float = 0.5,
    attention_dropout: float = 0.0,
    stochastic_depth_prob: float = 0.2,
    num_classes: int = 400,
    block: BlockBuilder | None = None,
    norm_layer: NormBuilder | None = None,
    patch_embed_kernel: tuple[int, int, int] = (3, 7, 7),
    patch_embed_stride: tuple[int, int, int] = (2, 4, 4),
    patch_embed_padding: tuple[int, int, int] = (1, 3, 3),
    device: Device = None,
    dtype: torch.dtype | None = None,
) -> MViT:
    """torchvision's ``mvit_v1_b``: 16 blocks, widths 96 -> 768, absolute space/time position embeddings."""
    setting = _mvit_setting(
        _MVIT_HEADS,
        [96, 192, 192] + [384] * 11 + [768, 768],
        [192, 192] + [384] * 11 + [768, 768, 768],
        [[3, 3, 3] if i in _MVIT_DOWNSAMPLING_BLOCKS else [] for i in range(16)],
        [[1, 2, 2] if i in _MVIT_DOWNSAMPLING_BLOCKS else [] for i in range(16)],
        _MVIT_KV_STRIDES,
    )
    return MViT(
        spatial_size,
        temporal_size,
        setting,
        residual_pool=False,
        residual_with_cls_embed=False,
        rel_pos_embed=False,
        proj_after_attn=False,
        dropout=dropout,
        attention_dropout=attention_dropout,
        stochastic_depth_prob=stochastic_depth_prob,
        num_classes=num_classes,
        block=block,
        norm_layer=norm_layer,
        patch_embed_kernel=patch_embed_kernel,
        patch_embed_stride=patch_embed_stride,
        patch_embed_padding=patch_embed_padding,
        device=device,
        dtype=dtype,
    )


@_torchvision_builder
def mvit_v2_s(
    *,
    spatial_size: tuple[int, int] = (224, 224),
    temporal_size: int = 16,
    dropout: float = 0.5,
    attention_dropout: float = 0.0,
    stochastic_depth_prob: float = 0.2,
    num_classes: int = 400,
    block: BlockBuilder | None = None,
    norm_layer: NormBuilder | None = None,
    patch_embed_kernel: tuple[int, int, int] = (3, 7, 7),
    patch_embed_stride: tuple[int, int, int] = (2, 4, 4),
    patch_embed_padding: tuple[int, int, int] = (1, 3, 3),
    device: Device = None,
    dtype: torch.dtype | None = None,
) -> MViT:
    """torchvision's ``mvit_v2_s``: 16 blocks, widths 96 -> 768, pooled residuals, relative positions."""
    setting = _mvit_setting(
        _MVIT_HEADS,
        [96, 96, 192, 192] + [384] * 11 + [768],
        [96, 192, 192] + [384] * 11 + [768, 768],
        [[3, 3, 3]] * 16,
        [[1, 2, 2] if i in _MVIT_DOWNSAMPLING_BLOCKS else [1, 1, 1] for i in range(16)],
        _MVIT_KV_STRIDES,
    )
    return MViT(
        spatial_size,
        temporal_size,
        setting,
        residual_pool=True,
        residual_with_cls_embed=False,
        rel_pos_embed=True,
        proj_after_attn=True,
        dropout=dropout,
        attention_dropout=attention_dropout,
        stochastic_depth_prob=stochastic_depth_prob,
        num_classes=num_classes,
        block=block,
        norm_layer=norm_layer,
        patch_embed_kernel=patch_embed_kernel,
        patch_embed_stride=patch_embed_stride,
        patch_embed_padding=patch_embed_padding,
        device=device,
        dtype=dtype,
    )


# -------------------------------------------------------------------------- Swin, Swin V2, video Swin
# torchvision's SwinTransformer and SwinTransformer3d from tvexp's SwinTransformerBlock, PatchMerging
# and PatchEmbedding3d (state_dict keys, shapes and dtypes checked against torchvision 0.29 in
# tests/parity/test_parity_swin.py).


def _swin_stages(
    embed_dim: int,
    depths: list[int],
    num_heads: list[int],
    window_size: list[int],
    mlp_ratio: float,
    dropout: float,
    attention_dropout: float,
    stochastic_depth_prob: float,
    norm: NormBuilder,
    version: int,
    block: BlockBuilder | None,
    downsample_layer: BlockBuilder | None,
    factory: dict[str, Any],
) -> list[nn.Module]:
    """The stages of a Swin network: blocks alternating unshifted/half-window-shifted, patch merging between."""
    unit = partial(SwinTransformerBlock, version=version) if block is None else block
    merge = partial(PatchMerging, version=version) if downsample_layer is None else downsample_layer
    factory = _given(factory)
    layers: list[nn.Module] = []
    total = sum(depths)
    index = 0
    for stage, depth in enumerate(depths):
        dim = embed_dim * 2**stage
        blocks = []
        for position in range(depth):
            blocks.append(
                unit(
                    dim,
                    num_heads[stage],
                    window_size,
                    [0 if position % 2 == 0 else w // 2 for w in window_size],
                    mlp_ratio,
                    dropout,
                    attention_dropout,
                    # torchvision's schedule, written as it is (the last block gets the full rate).
                    stochastic_depth_prob * float(index) / (total - 1),
                    norm,
                    **factory,
                )
            )
            index += 1
        layers.append(nn.Sequential(*blocks))
        if stage < len(depths) - 1:
            layers.append(merge(dim, norm, **factory))
    return layers


def _init_swin(model: nn.Module) -> None:
    # torchvision re-initialises every linear layer of the network, the blocks' MLPs and v2's cpb_mlp included.
    for module in model.modules():
        if isinstance(module, nn.Linear):
            nn.init.trunc_normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)


class SwinTransformer(nn.Module):
    """torchvision's ``SwinTransformer`` (v1 and, with ``version=2``, v2) from tvexp blocks.

    ``features`` holds the patch embedding (``Conv2d``, ``Permute`` to channels last, norm), then each
    stage's blocks and a :class:`~tvexp.prototype.PatchMerging` between stages; ``norm``, ``permute``,
    ``avgpool``, ``flatten`` and ``head`` follow, as in torchvision.
    """

    def __init__(
        self,
        patch_size: list[int],
        embed_dim: int,
        depths: list[int],
        num_heads: list[int],
        window_size: list[int],
        mlp_ratio: float = 4.0,
        dropout: float = 0.0,
        attention_dropout: float = 0.0,
        stochastic_depth_prob: float = 0.1,
        num_classes: int = 1000,
        norm_layer: NormBuilder | None = None,
        block: BlockBuilder | None = None,
        downsample_layer: BlockBuilder | None = None,
        *,
        version: int = 1,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        norm = partial(nn.LayerNorm, eps=1e-5) if norm_layer is None else norm_layer
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        stem = nn.Sequential(
            nn.Conv2d(3, embed_dim, kernel_size=tuple(patch_size), stride=tuple(patch_size), **factory),
            Permute([0, 2, 3, 1]),
            norm(embed_dim, **factory),
        )
        stages = _swin_stages(
            embed_dim,
            depths,
            num_heads,
            window_size,
            mlp_ratio,
            dropout,
            attention_dropout,
            stochastic_depth_prob,
            norm,
            version,
            block,
            downsample_layer,
            factory,
        )
        self.features = nn.Sequential(stem, *stages)
        features = embed_dim * 2 ** (len(depths) - 1)
        self.norm = norm(features, **factory)
        self.permute = Permute([0, 3, 1, 2])
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.head = nn.Linear(features, num_classes, **factory)
        _init_swin(self)

    def forward(self, x: Tensor) -> Tensor:
        x = self.permute(self.norm(self.features(x)))
        return self.head(self.flatten(self.avgpool(x)))


class SwinTransformer3d(nn.Module):
    """torchvision's ``SwinTransformer3d`` (video Swin) from tvexp layers.

    ``patch_embed`` (:class:`~tvexp.prototype.PatchEmbedding3d`), ``pos_drop``, ``features`` (the
    stages of 3-D-window blocks, with :class:`~tvexp.prototype.PatchMerging` on the 5-D maps between
    them), ``norm``, ``avgpool`` and ``head``, as in torchvision.
    """

    def __init__(
        self,
        patch_size: list[int],
        embed_dim: int,
        depths: list[int],
        num_heads: list[int],
        window_size: list[int],
        mlp_ratio: float = 4.0,
        dropout: float = 0.0,
        attention_dropout: float = 0.0,
        stochastic_depth_prob: float = 0.1,
        num_classes: int = 400,
        norm_layer: NormBuilder | None = None,
        block: BlockBuilder | None = None,
        downsample_layer: BlockBuilder | None = None,
        patch_embed: BlockBuilder | None = None,
        *,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        norm = partial(nn.LayerNorm, eps=1e-5) if norm_layer is None else norm_layer
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        embed = PatchEmbedding3d if patch_embed is None else patch_embed
        self.patch_embed = embed(patch_size=patch_size, embed_dim=embed_dim, norm_layer=norm, **_given(factory))
        self.pos_drop = nn.Dropout(p=dropout)
        self.features = nn.Sequential(
            *_swin_stages(
                embed_dim,
                depths,
                num_heads,
                window_size,
                mlp_ratio,
                dropout,
                attention_dropout,
                stochastic_depth_prob,
                norm,
                1,
                block,
                downsample_layer,
                factory,
            )
        )
        self.num_features = embed_dim * 2 ** (len(depths) - 1)
        self.norm = norm(self.num_features, **factory)
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.head = nn.Linear(self.num_features, num_classes, **factory)
        _init_swin(self)

    def forward(self, x: Tensor) -> Tensor:
        x = self.norm(self.features(self.pos_drop(self.patch_embed(x))))
        x = self.avgpool(x.permute(0, 4, 1, 2, 3))
        return self.head(torch.flatten(x, 1))


def _swin_builder(
    name: str,
    embed_dim: int,
    depths: list[int],
    num_heads: list[int],
    window_size: list[int],
    default_stochastic_depth_prob: float,
    version: int = 1,
) -> Callable[..., nn.Module]:
    video = len(window_size) == 3

    def build(
        *,
        num_classes: int = 400 if video else 1000,
        stochastic_depth_prob: float = default_stochastic_depth_prob,
        mlp_ratio: float = 4.0,
        dropout: float = 0.0,
        attention_dropout: float = 0.0,
        norm_layer: NormBuilder | None = None,
        device: Device = None,
        dtype: torch.dtype | None = None,
        **overrides: BlockBuilder | None,
    ) -> nn.Module:
        # torchvision's v1 and video builders take ``block`` and ``downsample_layer`` (video also
        # ``patch_embed``); its v2 builders set them and accept neither.
        allowed = {"block", "downsample_layer", *(["patch_embed"] if video else [])} if version == 1 else set()
        unexpected = sorted(set(overrides) - allowed)
        if unexpected:
            raise TypeError(f"{name}() got an unexpected keyword argument {unexpected[0]!r}")
        options: dict[str, Any] = {
            **overrides,
            "mlp_ratio": mlp_ratio,
            "dropout": dropout,
            "attention_dropout": attention_dropout,
            "stochastic_depth_prob": stochastic_depth_prob,
            "num_classes": num_classes,
            "norm_layer": norm_layer,
            "device": device,
            "dtype": dtype,
        }
        if video:
            return SwinTransformer3d([2, 4, 4], embed_dim, depths, num_heads, window_size, **options)
        return SwinTransformer([4, 4], embed_dim, depths, num_heads, window_size, version=version, **options)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = (
        f"torchvision's ``{name}``: width {embed_dim}, depths {depths}, heads {num_heads}, window {window_size}, "
        f"stochastic depth {default_stochastic_depth_prob}."
        + (
            " ``block`` and ``downsample_layer`` replace :class:`~tvexp.prototype.SwinTransformerBlock` and "
            ":class:`~tvexp.prototype.PatchMerging` (called with their arguments)"
            + (", ``patch_embed`` :class:`~tvexp.prototype.PatchEmbedding3d`." if video else ".")
            if version == 1
            else ""
        )
    )
    return _torchvision_builder(build)


swin_t = _swin_builder("swin_t", 96, [2, 2, 6, 2], [3, 6, 12, 24], [7, 7], 0.2)
swin_s = _swin_builder("swin_s", 96, [2, 2, 18, 2], [3, 6, 12, 24], [7, 7], 0.3)
swin_b = _swin_builder("swin_b", 128, [2, 2, 18, 2], [4, 8, 16, 32], [7, 7], 0.5)
swin_v2_t = _swin_builder("swin_v2_t", 96, [2, 2, 6, 2], [3, 6, 12, 24], [8, 8], 0.2, version=2)
swin_v2_s = _swin_builder("swin_v2_s", 96, [2, 2, 18, 2], [3, 6, 12, 24], [8, 8], 0.3, version=2)
swin_v2_b = _swin_builder("swin_v2_b", 128, [2, 2, 18, 2], [4, 8, 16, 32], [8, 8], 0.5, version=2)
swin3d_t = _swin_builder("swin3d_t", 96, [2, 2, 6, 2], [3, 6, 12, 24], [8, 7, 7], 0.1)
swin3d_s = _swin_builder("swin3d_s", 96, [2, 2, 18, 2], [3, 6, 12, 24], [8, 7, 7], 0.1)
swin3d_b = _swin_builder("swin3d_b", 128, [2, 2, 18, 2], [4, 8, 16, 32], [8, 7, 7], 0.1)


# ------------------------------------------------------------------------------------------- MaxViT
# torchvision's MaxViT from tvexp's MaxViTBlock (PreNormMBConv + window and grid PartitionAttentionBlock);
# state_dict keys, shapes and dtypes checked against torchvision 0.29 in tests/parity/test_parity_maxvit.py.


def _halved(size: tuple[int, int]) -> tuple[int, int]:
    """The output size of a 3x3 stride-2 convolution with padding 1 (MaxViT's stem and first blocks)."""
    return ((size[0] - 1) // 2 + 1, (size[1] - 1) // 2 + 1)


class _MaxVitStage(nn.Module):
    """torchvision's ``MaxVitBlock``: ``layers.{i}`` MaxViT blocks, the first with stride 2."""

    def __init__(self, in_channels: int, out_channels: int, rates: list[float], **kwargs: Any) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            MaxViTBlock(
                in_channels if i == 0 else out_channels,
                out_channels,
                stride=2 if i == 0 else 1,
                stochastic_depth_prob=rate,
                **kwargs,
            )
            for i, rate in enumerate(rates)
        )

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class MaxVit(nn.Module):
    """torchvision's ``MaxVit`` layout (``stem blocks classifier``) from tvexp blocks, with its arguments.

    ``input_size`` only decides whether the network is valid: the feature map entering each stage
    must be divisible by ``partition_size`` (torchvision's check, at construction). The blocks need no
    grid size, so any input whose stage inputs are divisible by ``partition_size`` works.
    """

    def __init__(
        self,
        input_size: tuple[int, int],
        stem_channels: int,
        partition_size: int,
        block_channels: list[int],
        block_layers: list[int],
        head_dim: int,
        stochastic_depth_prob: float,
        norm_layer: NormBuilder | None = None,
        activation_layer: Callable[..., nn.Module] = nn.GELU,
        squeeze_ratio: float = 0.25,
        expansion_ratio: float = 4,
        mlp_ratio: int = 4,
        mlp_dropout: float = 0.0,
        attention_dropout: float = 0.0,
        num_classes: int = 1000,
        device: Device = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if len(block_channels) != len(block_layers) or not block_channels:
            raise ValueError(
                f"block_channels and block_layers must list the same (positive) number of stages, got "
                f"block_channels={block_channels} and block_layers={block_layers}"
            )
        sizes = [_halved(tuple(input_size))]  # type: ignore[arg-type]
        for _ in block_channels:
            sizes.append(_halved(sizes[-1]))
        for index, (height, width) in enumerate(sizes[1:]):
            if height % partition_size != 0 or width % partition_size != 0:
                raise ValueError(
                    f"input_size={tuple(input_size)} gives stage {index} a {height}x{width} input, not divisible by "
                    f"partition_size={partition_size}; the stage inputs are {sizes[1:]}"
                )
        norm = partial(nn.BatchNorm2d, eps=1e-3, momentum=0.01) if norm_layer is None else norm_layer
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        self.partition_size = partition_size
        self.stem = nn.Sequential(
            Conv2dNormActivation(
                3,
                stem_channels,
                3,
                stride=2,
                norm_layer=norm,
                activation_layer=activation_layer,
                bias=False,
                inplace=None,
                **factory,
            ),
            Conv2dNormActivation(
                stem_channels, stem_channels, 3, norm_layer=None, activation_layer=None, bias=True, **factory
            ),
        )
        rates = stochastic_depth_rates(stochastic_depth_prob, sum(block_layers))
        self.blocks = nn.ModuleList()
        for in_channels, out_channels, count in zip(
            [stem_channels, *block_channels[:-1]], block_channels, block_layers
        ):
            self.blocks.append(
                _MaxVitStage(
                    in_channels,
                    out_channels,
                    rates[:count],
                    head_dim=head_dim,
                    partition_size=partition_size,
                    expand_ratio=expansion_ratio,
                    se_ratio=squeeze_ratio,
                    mlp_ratio=mlp_ratio,
                    attention_dropout=attention_dropout,
                    mlp_dropout=mlp_dropout,
                    norm_layer=norm,
                    activation_layer=activation_layer,
                    **factory,
                )
            )
            rates = rates[count:]
        last = block_channels[-1]
        self.classifier = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.LayerNorm(last, **factory),
            nn.Linear(last, last, **factory),
            nn.Tanh(),
            nn.Linear(last, num_classes, bias=False, **factory),
        )
        # torchvision's initialisation; the relative-position bias tables keep their truncated normal.
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.classifier(x)


@_torchvision_builder
def maxvit_t(
    *,
    input_size: tuple[int, int] = (224, 224),
    norm_layer: NormBuilder | None = None,
    activation_layer: Callable[..., nn.Module] = nn.GELU,
    squeeze_ratio: float = 0.25,
    expansion_ratio: float = 4,
    mlp_ratio: int = 4,
    mlp_dropout: float = 0.0,
    attention_dropout: float = 0.0,
    num_classes: int = 1000,
    device: Device = None,
    dtype: torch.dtype | None = None,
) -> MaxVit:
    """torchvision's ``maxvit_t``: stem 64, stages [64, 128, 256, 512] of [2, 2, 5, 2] blocks, head_dim 32,
    partition 7, stochastic depth 0.2.

    torchvision's pretrained weights are for ``input_size=(224, 224)`` (its ``min_size``); other sizes
    must give stage inputs divisible by 7 (for example 448).
    """
    return MaxVit(
        input_size,
        stem_channels=64,
        partition_size=7,
        block_channels=[64, 128, 256, 512],
        block_layers=[2, 2, 5, 2],
        head_dim=32,
        stochastic_depth_prob=0.2,
        norm_layer=norm_layer,
        activation_layer=activation_layer,
        squeeze_ratio=squeeze_ratio,
        expansion_ratio=expansion_ratio,
        mlp_ratio=mlp_ratio,
        mlp_dropout=mlp_dropout,
        attention_dropout=attention_dropout,
        num_classes=num_classes,
        device=device,
        dtype=dtype,
    )


# ----------------------------------------------------------------- Detection backbones and segmentation
# resnet_fpn_backbone (torchvision's BackboneWithFPN) and the FCN, DeepLabV3 and LR-ASPP segmentation models
# from tvexp's FeaturePyramidNetwork, ASPP and LRASPPHead over the ResNet and MobileNetV3 builders above
# (state_dict keys, shapes, dtypes and outputs checked against torchvision 0.29 in
# tests/parity/test_parity_fpn.py). ``weights``/``weights_backbone`` take a state dict (e.g. torchvision's
# classification weights) or None.


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
