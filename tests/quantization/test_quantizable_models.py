"""The quantizable GoogLeNet, Inception v3 and ShuffleNetV2 of ``examples/torchvision_models.py``.

They have the state_dict keys and the stub/FloatFunctional module paths of torchvision 0.29's
``QuantizableGoogLeNet``, ``QuantizableInception3`` and ``QuantizableShuffleNetV2`` (key lists recorded by
``tests/parity/fixtures_quantizable.py``), load the float models' weights strictly, and quantize to int8
in eager mode (``fuse_model`` -> ``prepare`` -> calibrate -> ``convert``, torchvision's fbgemm recipe on the
x86 engine) and with PT2E. Whole-model quantization is marked slow (seconds per model on two cores).

The weights are random (the builders' initialisation, then :func:`realistic_norms`) and the classifier
bias is zeroed, so the cosine compares what the convolutions computed, not a shared constant.
"""

from __future__ import annotations

import copy
import importlib.util
import logging
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.ao.nn import intrinsic as nni
from torch.ao.nn import quantized as nnq
from torch.ao.nn.intrinsic import quantized as nniq
from torch.ao.quantization import QConfig, convert, default_observer, default_per_channel_weight_observer, prepare

from examples import torchvision_models as tvm
from tests.quantization._nets import calibration_batches, cosine, realistic_norms
from tvexp._tooling.conformance.table import randn, seeded

pytestmark = [
    pytest.mark.filterwarnings("ignore:torch.ao.quantization is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor, torch.quantize_per_channel:UserWarning"),
    pytest.mark.filterwarnings("ignore:Please use quant_min and quant_max:UserWarning"),
]

FIXTURES = Path(__file__).resolve().parent.parent / "parity" / "fixtures"
_spec = importlib.util.spec_from_file_location(
    "_fixtures_quantizable", Path(__file__).resolve().parent.parent / "parity" / "fixtures_quantizable.py"
)
fixtures_quantizable = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(fixtures_quantizable)  # type: ignore[union-attr]

STATELESS = ("QuantStub", "DeQuantStub", "FloatFunctional")
# The smallest member of each family, its float twin and the smallest input it takes.
FAMILIES = {
    "shufflenet_v2": ("quantizable_shufflenet_v2_x0_5", "shufflenet_v2_x0_5", {}, (1, 3, 64, 64)),
    "googlenet": ("quantizable_googlenet", "googlenet", {"aux_logits": False}, (1, 3, 64, 64)),
    "inception_v3": ("quantizable_inception_v3", "inception_v3", {"aux_logits": False}, (1, 3, 75, 75)),
}
# torchvision's quantize_model recipe for fbgemm: min/max activations, per-channel weights.
TORCHVISION_FBGEMM_QCONFIG = QConfig(activation=default_observer, weight=default_per_channel_weight_observer)


def _fixture(builder: str) -> dict[str, Any]:
    path = FIXTURES / f"quantizable_keys_{builder}.pt"
    assert path.exists(), f"missing fixture {path.name}; record it with tests/parity/fixtures_quantizable.py"
    return torch.load(path, weights_only=True)


def _model(family: str, seed: int = 0) -> nn.Module:
    builder, _, kwargs, _ = FAMILIES[family]
    model = realistic_norms(seeded(lambda: getattr(tvm, builder)(**kwargs), seed=seed))
    nn.init.zeros_(model.fc.bias)
    return model


def _quantize_eagerly(model: nn.Module, shape: tuple[int, ...]) -> nn.Module:
    prepared = copy.deepcopy(model)
    prepared.fuse_model()
    prepared.qconfig = TORCHVISION_FBGEMM_QCONFIG
    prepared = prepare(prepared)
    with torch.no_grad():
        for batch in calibration_batches(shape, count=2):
            prepared(batch)
    return convert(prepared)


@pytest.mark.parametrize("torchvision_builder", sorted(fixtures_quantizable.NAMED_BUILDERS))
def test_keys_and_stub_paths_match_torchvision(torchvision_builder: str) -> None:
    fixture = _fixture(torchvision_builder)
    model = getattr(tvm, fixtures_quantizable.NAMED_BUILDERS[torchvision_builder])(device="meta")
    assert type(model).__name__ == fixture["class"]
    assert [(key, tuple(value.shape), str(value.dtype)) for key, value in model.state_dict().items()] == fixture["keys"]
    stateless = sorted(path for path, module in model.named_modules() if type(module).__name__ in STATELESS)
    assert stateless == fixture["stateless_modules"]


@pytest.mark.parametrize("family", ["shufflenet_v2", pytest.param("googlenet", marks=pytest.mark.slow)])
def test_float_weights_load_strictly_and_give_the_same_output(family: str) -> None:
    builder, float_builder, kwargs, shape = FAMILIES[family]
    float_model = realistic_norms(seeded(lambda: getattr(tvm, float_builder)(**kwargs)))
    model = seeded(lambda: getattr(tvm, builder)(**kwargs), seed=1).eval()
    model.load_state_dict(float_model.state_dict(), strict=True)
    x = randn(*shape)
    with torch.no_grad():
        torch.testing.assert_close(model(x), float_model(x), rtol=0, atol=0)


def test_training_mode_returns_the_auxiliary_outputs() -> None:
    x = torch.empty(2, 3, 299, 299, device="meta")  # Inception v3's auxiliary head needs 299x299
    googlenet = tvm.quantizable_googlenet(device="meta").train()(x[:, :, :64, :64])
    inception = tvm.quantizable_inception_v3(device="meta").train()(x)
    assert isinstance(googlenet, tvm.GoogLeNetOutputs) and googlenet.aux_logits1.shape == (2, 1000)
    assert isinstance(inception, tvm.InceptionOutputs) and inception.aux_logits.shape == (2, 1000)
    assert tvm.quantizable_inception_v3(aux_logits=False, device="meta").train()(x).shape == (2, 1000)


def test_fuse_model_fuses_every_conv_and_follows_training_mode() -> None:
    model = _model("shufflenet_v2")
    qat = copy.deepcopy(model).train()
    relus = sum(type(module) is nn.ReLU for module in model.modules())
    model.fuse_model()
    assert not any(type(module) is nn.BatchNorm2d for module in model.modules())
    assert type(model.conv1[0]) is nni.ConvReLU2d and type(model.conv5[0]) is nni.ConvReLU2d
    # Every ReLU follows a conv + BatchNorm and is fused into it.
    assert sum(type(module) is nni.ConvReLU2d for module in model.modules()) == relus == 37
    qat.fuse_model()  # is_qat=None follows training mode: BatchNorm stays inside for QAT
    assert type(qat.conv1[0]) is nni.ConvBnReLU2d and type(qat.stage2[0].branch1[0]) is nni.ConvBn2d
    inception = tvm.quantizable_inception_v3(aux_logits=False, device="meta").eval()
    inception.fuse_model()
    assert all(type(block.conv) is nni.ConvReLU2d for block in inception.modules() if hasattr(block, "bn"))


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_eager_int8_model_matches_float(family: str) -> None:
    model = _model(family)
    shape = FAMILIES[family][3]
    quantized = _quantize_eagerly(model, shape)
    x = randn(*shape, seed=7)
    with torch.no_grad():
        similarity = cosine(quantized(x), model(x))
    print(f"{family}: eager int8 vs float cosine {similarity:.5f}")
    assert similarity >= 0.99
    convs = sum(type(module) is nn.Conv2d for module in model.modules())
    assert sum(type(module) in (nniq.ConvReLU2d, nnq.Conv2d) for module in quantized.modules()) == convs
    assert type(quantized.fc) is nnq.Linear
    assert not any(type(module) in (nn.Conv2d, nn.Linear, nn.BatchNorm2d) for module in quantized.modules())
    # Every concatenation has its own observed scale.
    functionals = [module for module in quantized.modules() if type(module).__name__.endswith("Functional")]
    assert functionals and all(type(module) is nnq.QFunctional for module in functionals)


@pytest.mark.slow
def test_pt2e_int8_shufflenet_matches_float() -> None:
    pytest.importorskip("torchao")
    import tvexp.prototype as tvp

    logging.getLogger("torchao").setLevel(logging.ERROR)
    model = _model("shufflenet_v2")
    shape = FAMILIES["shufflenet_v2"][3]
    x = randn(*shape, seed=7)
    quantized = tvp.quantize_pt2e(model, (x,), calibration_batches(shape, count=2))
    with torch.no_grad():
        similarity = cosine(quantized(x), model(x))
    print(f"shufflenet_v2_x0_5: PT2E int8 vs float cosine {similarity:.5f}")
    assert similarity >= 0.99
    dequantize_weight = torch.ops.quantized_decomposed.dequantize_per_channel.default
    weighted = [
        node
        for node in quantized.graph.nodes
        if node.target in (torch.ops.aten.conv2d.default, torch.ops.aten.linear.default)
    ]
    assert len(weighted) == 57  # 56 convolutions and the classifier
    assert all(node.args[1].target is dequantize_weight for node in weighted)
