"""torchvision classification architectures assembled from tvexp blocks.

Each builder returns a network whose ``state_dict`` keys and shapes are exactly those of the
torchvision model of the same name (checked against torchvision 0.29 in
``tests/parity/test_parity_blocks.py``), so torchvision's pretrained weights load with
``strict=True`` and give the same outputs::

    import torchvision
    from examples.torchvision_models import resnet50

    model = resnet50()
    model.load_state_dict(torchvision.models.resnet50(weights="DEFAULT").state_dict())

Every builder accepts ``device`` and ``dtype`` (``device="meta"`` builds without allocating memory)
and torchvision's width/depth knobs.
"""

from __future__ import annotations

import math
from collections import OrderedDict
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
