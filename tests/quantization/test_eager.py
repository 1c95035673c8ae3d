"""Eager-mode quantization (fuse_model -> prepare -> calibrate -> convert) of the quantizable blocks.

``torch.ao.quantization.prepare``/``convert`` warn DeprecationWarning in torch 2.13 and quantized tensor
creation warns UserWarning; both are filtered here, and only here, by their exact messages.
"""

from __future__ import annotations

import copy
import types
import warnings

import pytest
import torch
from torch import nn
from torch.ao.nn import intrinsic as nni
from torch.ao.nn import quantized as nnq
from torch.ao.nn.intrinsic import quantized as nniq
from torch.ao.quantization import DeQuantStub, QuantStub, convert, get_default_qconfig, prepare

import tvexp.prototype as tvp
import tvexp.stable as tvs
from tests.quantization._nets import block_builders, build, calibration_batches, cosine
from tvexp._layers.quantizable._fusion import QuantizableSiLU
from tvexp._tooling.conformance.table import randn

pytestmark = [
    pytest.mark.filterwarnings("ignore:torch.ao.quantization is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor, torch.quantize_per_channel:UserWarning"),
    pytest.mark.filterwarnings("ignore:Please use quant_min and quant_max:UserWarning"),
]

QUANTIZABLE = types.SimpleNamespace(
    Conv2dNormActivation=tvp.QuantizableConv2dNormActivation,
    SqueezeExcitation=tvp.QuantizableSqueezeExcitation,
    BasicBlock=tvp.QuantizableBasicBlock,
    Bottleneck=tvp.QuantizableBottleneck,
    InvertedResidual=tvp.QuantizableInvertedResidual,
    MBConv=tvp.QuantizableMBConv,
    FusedMBConv=tvp.QuantizableFusedMBConv,
    MLP=tvp.QuantizableMLP,
    NamedConv2dNormActivation=tvp.QuantizableNamedConv2dNormActivation,
    ShuffleNetV2Unit=tvp.QuantizableShuffleNetV2Unit,
)
FLOAT = types.SimpleNamespace(**{name: getattr(tvs, name, None) or getattr(tvp, name) for name in vars(QUANTIZABLE)})


class Stubbed(nn.Module):
    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.quant = QuantStub()
        self.body = body
        self.dequant = DeQuantStub()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dequant(self.body(self.quant(x)))


def quantize_eagerly(body: nn.Module, shape: tuple[int, ...]) -> nn.Module:
    model = Stubbed(copy.deepcopy(body)).eval()
    for module in model.modules():
        if hasattr(module, "fuse_model"):
            module.fuse_model()
    model.qconfig = get_default_qconfig("x86")
    prepared = prepare(model)
    with torch.no_grad():
        for batch in calibration_batches(shape):
            prepared(batch)
    return convert(prepared)


@pytest.mark.parametrize("name", sorted(block_builders(QUANTIZABLE)))
def test_quantizable_block_loads_float_weights_and_quantizes(name: str) -> None:
    float_builder, shape = block_builders(FLOAT)[name]
    builder, _ = block_builders(QUANTIZABLE)[name]
    float_block = build(float_builder)
    block = build(builder, seed=1)
    block.load_state_dict(float_block.state_dict(), strict=True)
    x = randn(*shape, seed=1)
    with torch.no_grad():
        torch.testing.assert_close(block(x), float_block(x), rtol=1e-5, atol=1e-6)
        quantized = quantize_eagerly(block, shape)
        assert cosine(quantized(x), float_block(x)) > 0.99
    weighted = [m for m in quantized.modules() if isinstance(m, (nnq.Conv2d, nnq.Linear))]
    assert len(weighted) == sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in float_block.modules())
    assert not any(type(m) in (nn.Conv2d, nn.Linear, nn.BatchNorm2d, nn.BatchNorm1d) for m in quantized.modules())


def test_fused_modules_of_a_basic_block() -> None:
    block = build(lambda: tvp.QuantizableBasicBlock(16, 32, stride=2, se_ratio=0.25))
    block.fuse_model()
    assert type(block.conv1) is nni.ConvReLU2d and type(block.bn1) is nn.Identity and type(block.relu) is nn.Identity
    assert type(block.conv2) is nn.Conv2d and type(block.bn2) is nn.Identity  # BN folded into conv2
    assert type(block.downsample[0]) is nn.Conv2d and type(block.downsample[1]) is nn.Identity
    assert type(block.se.fc1) is nni.ConvReLU2d and type(block.se.activation) is nn.Identity
    quantized = quantize_eagerly(block, (2, 16, 16, 16))
    body = quantized.body
    assert type(body.conv1) is nniq.ConvReLU2d and type(body.conv2) is nnq.Conv2d
    assert type(body.add_relu) is nnq.QFunctional and type(body.se.skip_mul) is nnq.QFunctional


def test_fused_modules_of_a_bottleneck_and_qat_fusion() -> None:
    block = build(lambda: tvp.QuantizableBottleneck(64, 16))
    qat = copy.deepcopy(block).train()
    block.fuse_model()
    assert [type(block.get_submodule(n)) for n in ("conv1", "conv2", "conv3")] == [
        nni.ConvReLU2d,
        nni.ConvReLU2d,
        nn.Conv2d,
    ]
    qat.fuse_model()  # is_qat=None follows training mode: BN kept inside the fused module for QAT
    assert [type(qat.get_submodule(n)) for n in ("conv1", "conv2", "conv3")] == [
        nni.ConvBnReLU2d,
        nni.ConvBnReLU2d,
        nni.ConvBn2d,
    ]


def test_fused_modules_of_inverted_residual_mbconv_and_mlp() -> None:
    v2 = build(lambda: tvp.QuantizableInvertedResidual(16, 16, expand_ratio=4))
    v2.fuse_model()
    assert [type(stage[0]) for stage in v2.conv[:2]] == [nn.Conv2d, nn.Conv2d]  # ReLU6 is not fusable
    assert [type(stage[2]) for stage in v2.conv[:2]] == [nn.ReLU6, nn.ReLU6]
    assert type(v2.conv[2]) is nn.Conv2d and type(v2.conv[3]) is nn.Identity
    mb = build(lambda: tvp.QuantizableMBConv(16, 16, expand_ratio=4, kernel_size=3, stride=1))
    mb.fuse_model()
    assert type(mb.block[0][2]) is QuantizableSiLU and type(mb.block[2].activation) is QuantizableSiLU
    assert type(mb.block[2]) is tvp.QuantizableSqueezeExcitation
    assert not any(type(m) is nn.BatchNorm2d for m in mb.modules())
    mlp = build(lambda: tvp.QuantizableMLP(8, [16, 16, 4], norm_layer=nn.BatchNorm1d))
    mlp.fuse_model()
    assert [type(m) for m in list(mlp)[:3]] == [nn.Linear, nn.Identity, nn.ReLU]  # no fused Linear-BN-ReLU


def test_fused_modules_of_a_shufflenet_unit_and_a_named_conv() -> None:
    unit = build(lambda: tvp.QuantizableShuffleNetV2Unit(8, 16, 2))
    unit.fuse_model()
    assert [type(m) for m in unit.branch1] == [nn.Conv2d, nn.Identity, nni.ConvReLU2d, nn.Identity, nn.Identity]
    assert [type(m) for m in unit.branch2] == [nni.ConvReLU2d, nn.Identity, nn.Identity, nn.Conv2d, nn.Identity] + [
        nni.ConvReLU2d,
        nn.Identity,
        nn.Identity,
    ]
    quantized = quantize_eagerly(unit, (2, 8, 8, 8))
    assert type(quantized.body.cat) is nnq.QFunctional
    conv = build(lambda: tvp.QuantizableNamedConv2dNormActivation(8, 16, 3))
    conv.fuse_model()
    assert type(conv.conv) is nni.ConvReLU2d and type(conv.bn) is nn.Identity and type(conv.act) is nn.Identity


@pytest.mark.slow
def test_network_of_quantizable_blocks() -> None:
    body = build(
        lambda: nn.Sequential(
            tvp.QuantizableConv2dNormActivation(3, 16, stride=2),
            tvp.QuantizableBasicBlock(16, 16),
            tvp.QuantizableInvertedResidual(
                16,
                16,
                expanded_channels=32,
                activation_layer=nn.Hardswish,
                se_layer=tvs.SqueezeExcitation,
                layout="mobilenet_v3",
            ),
            tvp.QuantizableMBConv(16, 16, expand_ratio=2, kernel_size=3, stride=1),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            tvp.QuantizableMLP(16, [32, 10]),
        )
    )
    x = randn(2, 3, 32, 32, seed=5)
    quantized = quantize_eagerly(body, (2, 3, 32, 32))
    with torch.no_grad():
        assert cosine(quantized(x), body(x)) > 0.99
    assert type(quantized.body[0][0]) is nniq.ConvReLU2d
    # torchvision's quantized models are deployed scripted; the quantized blocks script too.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`?torch\.jit\.script(_method)?`? is deprecated")
        scripted = torch.jit.script(quantized)
    torch.testing.assert_close(scripted(x), quantized(x), rtol=0, atol=0)


def test_quantizable_blocks_reject_stateful_activations() -> None:
    with pytest.raises(ValueError, match="activation_layer must build an activation without parameters"):
        tvp.QuantizableBasicBlock(8, 8, activation_layer=nn.PReLU)


def test_non_relu_activation_gets_its_own_module_after_the_addition() -> None:
    block = build(lambda: tvp.QuantizableBasicBlock(8, 8, activation_layer=nn.Hardswish))
    assert type(block.activation_after_add) is nn.Hardswish and block.activation_after_add is not block.relu
    float_block = build(lambda: FLOAT.BasicBlock(8, 8, activation_layer=nn.Hardswish))
    block.load_state_dict(float_block.state_dict())
    x = randn(2, 8, 8, 8)
    torch.testing.assert_close(block(x), float_block(x))
    with torch.no_grad():
        assert cosine(quantize_eagerly(block, (2, 8, 8, 8))(x), float_block(x)) > 0.99
