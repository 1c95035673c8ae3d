"""Every builder in ``examples/torchvision_models.py`` takes torchvision 0.29's keyword arguments (recorded by
``fixtures_builder_keywords.py``): passing a keyword with torchvision's default builds the same network as
not passing it; the block-override arguments (``block``, ``block_type``, ``stem_type``, ``inverted_residual``,
``conv_stem_configs``) put the given block in every place torchvision's would go."""

from __future__ import annotations

import importlib.util
import inspect
import json
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from torch import nn

from examples import torchvision_models as tvm
from tvexp.prototype import ConvNeXtBlock, InvertedResidual, PatchMerging, RegNetBottleneck, ShuffleNetV2Unit

FIXTURES = Path(__file__).resolve().parent / "fixtures"
_RECORDED: dict[str, Any] = json.loads((FIXTURES / "builder_keywords.json").read_text())["builders"]


def _load_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


# tvexp's counterparts of torchvision defaults that are classes or partials (recorded as "<name>").
_EQUIVALENTS: dict[tuple[str, str], Any] = {
    ("ShuffleNetV2", "<InvertedResidual>"): ShuffleNetV2Unit,
    ("VisionTransformer", "<partial>"): partial(nn.LayerNorm, eps=1e-6),
    ("SwinTransformer", "<PatchMerging>"): PatchMerging,
    ("SwinTransformer3d", "<PatchMerging>"): PatchMerging,
    ("MaxVit", "<GELU>"): nn.GELU,
}
_PRESENT = [name for name in sorted(_RECORDED) if hasattr(tvm, name)]


def _schema(model: nn.Module) -> list[tuple[str, tuple[int, ...], torch.dtype]]:
    return [(key, tuple(value.shape), value.dtype) for key, value in model.state_dict().items()]


def _value(name: str, keyword: str, recorded: Any) -> Any:
    if isinstance(recorded, str) and recorded.startswith("<"):
        return _EQUIVALENTS[(_RECORDED[name]["class"], recorded)]
    return recorded


@pytest.mark.parametrize("name", _PRESENT)
def test_builder_takes_torchvision_keywords_with_their_defaults(name: str) -> None:
    builder = getattr(tvm, name)
    keywords = {keyword: _value(name, keyword, recorded) for keyword, recorded in _RECORDED[name]["keywords"].items()}
    # All at once (two meta builds per builder): an unknown keyword names itself in the TypeError.
    assert _schema(builder(device="meta", **keywords)) == _schema(builder(device="meta")), f"{name}(**{keywords})"


@pytest.mark.parametrize("name", [name for name in _PRESENT if _RECORDED[name]["fixed"]])
def test_builder_accepts_its_fixed_values_and_rejects_others_like_torchvision(name: str) -> None:
    builder = getattr(tvm, name)
    reference = _schema(builder(device="meta"))
    for keyword in _RECORDED[name]["fixed"]:
        model = builder(device="meta")
        fixed_value = {"groups": model.layer1[0].conv2.groups}.get(keyword)
        if keyword == "width_per_group":
            # layer1's bottleneck width is width_per_group * groups (planes 64).
            fixed_value = model.layer1[0].conv1.out_channels // model.layer1[0].conv2.groups
        assert _schema(builder(device="meta", **{keyword: fixed_value})) == reference
        with pytest.raises(ValueError, match=f"The parameter '{keyword}' expected value {fixed_value} but got 3"):
            builder(device="meta", **{keyword: 3})


class _TorchvisionStyleUnit(ShuffleNetV2Unit):
    """A user's block written for torchvision: no ``device``/``dtype`` keywords."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__(in_channels, out_channels, stride)


def _count(model: nn.Module, kind: type[nn.Module]) -> int:
    return sum(isinstance(module, kind) for module in model.modules())


def test_block_overrides_replace_every_block() -> None:
    class MyInvertedResidual(InvertedResidual):
        pass

    class MyConvNeXtBlock(ConvNeXtBlock):
        pass

    class MyRegNetBlock(RegNetBottleneck):
        pass

    stems: list[tuple[int, ...]] = []

    def stem(in_channels: int, out_channels: int, norm: Any, activation: Any, **factory: Any) -> nn.Module:
        stems.append((in_channels, out_channels))
        return tvm.regnet_stem(in_channels, out_channels, norm, activation, **factory)

    default_v2, custom_v2 = tvm.mobilenet_v2(device="meta"), tvm.mobilenet_v2(block=MyInvertedResidual, device="meta")
    assert _count(custom_v2, MyInvertedResidual) == _count(default_v2, InvertedResidual) == 17
    assert _schema(custom_v2) == _schema(default_v2)
    custom_v3 = tvm.mobilenet_v3_small(block=MyInvertedResidual, device="meta")
    assert _count(custom_v3, MyInvertedResidual) == 11
    assert _schema(custom_v3) == _schema(tvm.mobilenet_v3_small(device="meta"))
    custom_cn = tvm.convnext_tiny(block=MyConvNeXtBlock, device="meta")
    assert _count(custom_cn, MyConvNeXtBlock) == 18
    assert _schema(custom_cn) == _schema(tvm.convnext_tiny(device="meta"))
    custom_regnet = tvm.regnet_y_400mf(block_type=MyRegNetBlock, stem_type=stem, device="meta")
    assert _count(custom_regnet, MyRegNetBlock) == 16 and stems == [(3, 32)]
    assert _schema(custom_regnet) == _schema(tvm.regnet_y_400mf(device="meta"))
    # A torchvision-style block without device/dtype works when neither is given.
    shufflenet = tvm.shufflenet_v2_x0_5(inverted_residual=_TorchvisionStyleUnit)
    assert _count(shufflenet, _TorchvisionStyleUnit) == 16
    assert _schema(shufflenet) == _schema(tvm.shufflenet_v2_x0_5())


def test_vit_convolutional_stem_loads_torchvision_weights_and_matches() -> None:
    config = _load_module("fixtures_builder_keywords").CONV_STEM_VIT
    recorded = torch.load(FIXTURES / "builder_vit_conv_stem.pt", weights_only=True)
    model = tvm.VisionTransformer(
        config["image_size"],
        config["patch_size"],
        config["num_layers"],
        config["num_heads"],
        config["hidden_dim"],
        config["mlp_dim"],
        num_classes=config["num_classes"],
        conv_stem_configs=[tvm.ConvStemConfig(*row) for row in config["stem"]],
    ).eval()
    assert _schema(model) == [(k, tuple(v.shape), v.dtype) for k, v in recorded["state_dict"].items()]
    model.load_state_dict(recorded["state_dict"], strict=True)
    with torch.no_grad():
        torch.testing.assert_close(model(recorded["input"]), recorded["output"], rtol=1e-5, atol=1e-5)


def test_vit_convolutional_stem_initialisation_follows_torchvision() -> None:
    torch.manual_seed(0)
    stem = [tvm.ConvStemConfig(64, 3, 4), tvm.ConvStemConfig(128, 3, 4)]
    model = tvm.VisionTransformer(64, 16, 1, 4, 768, 64, conv_stem_configs=stem)
    last = model.conv_proj.conv_last
    assert last.bias is not None and torch.count_nonzero(last.bias) == 0
    assert abs(last.weight.std().item() - (2.0 / 768) ** 0.5) < 0.005
    assert [name for name, _ in model.conv_proj.named_children()] == ["conv_bn_relu_0", "conv_bn_relu_1", "conv_last"]


def test_googlenet_and_inception_block_lists_replace_their_blocks() -> None:
    class MyInception(tvm.GoogLeNetInception):
        pass

    class MyMixedC(tvm.InceptionC):
        pass

    convs: list[tuple[int, int]] = []

    def conv_block(in_channels: int, out_channels: int, **kwargs: Any) -> nn.Module:
        convs.append((in_channels, out_channels))
        return tvm.basic_conv2d(in_channels, out_channels, **kwargs)

    googlenet = tvm.googlenet(blocks=[conv_block, MyInception, tvm.GoogLeNetAux], device="meta")
    assert _count(googlenet, MyInception) == 9 and convs == [(3, 64), (64, 64), (64, 192)]
    assert _schema(googlenet) == _schema(tvm.googlenet(device="meta"))
    blocks = [tvm.basic_conv2d, tvm.InceptionA, tvm.InceptionB, MyMixedC, tvm.InceptionD, tvm.InceptionE]
    inception = tvm.inception_v3(inception_blocks=[*blocks, tvm.InceptionAux], device="meta")
    assert _count(inception, MyMixedC) == 4
    assert _schema(inception) == _schema(tvm.inception_v3(device="meta"))
    with pytest.raises(ValueError, match="blocks length should be 3 instead of 2"):
        tvm.googlenet(blocks=[conv_block, MyInception], device="meta")
    with pytest.raises(ValueError, match="length of inception_blocks should be 7 instead of 6"):
        tvm.inception_v3(inception_blocks=blocks, device="meta")


class _FakeWeights:
    """Duck-types a torchvision weights enum member: ``meta`` and ``get_state_dict``."""

    def __init__(self, state_dict: dict[str, torch.Tensor], classes: int, min_size: tuple[int, int] = (1, 1)) -> None:
        self.meta = {"categories": [f"class {i}" for i in range(classes)], "min_size": min_size}
        self.state_dict = state_dict
        self.calls: list[dict[str, Any]] = []

    def get_state_dict(self, progress: bool, check_hash: bool) -> dict[str, torch.Tensor]:
        self.calls.append({"progress": progress, "check_hash": check_hash})
        return self.state_dict


@pytest.mark.parametrize("name", _PRESENT)
def test_builder_takes_weights_and_progress_first_like_torchvision(name: str) -> None:
    parameters = list(inspect.signature(getattr(tvm, name)).parameters.values())
    assert [(p.name, p.default) for p in parameters[:2]] == [("weights", None), ("progress", True)]


def test_weights_load_strictly_and_set_num_classes() -> None:
    torch.manual_seed(0)
    source = tvm.squeezenet1_1(num_classes=7)
    weights = _FakeWeights(source.state_dict(), classes=7)
    model = tvm.squeezenet1_1(weights=weights, progress=False)
    assert weights.calls == [{"progress": False, "check_hash": True}]
    for key, value in source.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value, rtol=0, atol=0)
    with pytest.raises(ValueError, match="The parameter 'num_classes' expected value 7 but got 5 instead."):
        tvm.squeezenet1_1(weights=weights, num_classes=5)
    with pytest.raises(RuntimeError, match="Missing key"):
        tvm.squeezenet1_1(weights=_FakeWeights({}, classes=7))


def test_weights_by_name_need_torchvision_and_other_values_are_rejected() -> None:
    try:  # torchvision is absent from the test environment on purpose
        import torchvision  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"resnet18\(weights='DEFAULT'\) names torchvision's weights"):
            tvm.resnet18(weights="DEFAULT")
    with pytest.raises(TypeError, match="weights must be None, a torchvision weights enum member"):
        tvm.resnet18(weights=3)


def test_pretrained_googlenet_inception_and_vit_follow_torchvision_builders() -> None:
    googlenet_weights = _FakeWeights(tvm.googlenet(num_classes=4, device="meta").state_dict(), classes=4)
    googlenet = tvm.googlenet(weights=googlenet_weights, device="meta")
    assert googlenet.transform_input and not googlenet.aux_logits and googlenet.aux1 is None
    with pytest.warns(UserWarning, match="auxiliary heads in the pretrained googlenet model are NOT pretrained"):
        assert tvm.googlenet(weights=googlenet_weights, aux_logits=True, device="meta").aux1 is not None
    inception_weights = _FakeWeights(tvm.inception_v3(num_classes=4, device="meta").state_dict(), classes=4)
    inception = tvm.inception_v3(weights=inception_weights, device="meta")
    assert inception.transform_input and inception.AuxLogits is not None
    with pytest.raises(ValueError, match="The parameter 'aux_logits' expected value True but got False instead."):
        tvm.inception_v3(weights=inception_weights, aux_logits=False, device="meta")  # as torchvision's builder
    vit_weights = _FakeWeights(tvm.vit_b_32(image_size=384, device="meta").state_dict(), 1000, (384, 384))
    assert tvm.vit_b_32(weights=vit_weights, device="meta").image_size == 384
