"""FeaturePyramidNetwork, ASPP, LRASPPHead and the detection/segmentation builders made from them load
torchvision 0.29 weights and match its outputs, keys, shapes and dtypes."""

from __future__ import annotations

import importlib.util
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import tvexp.prototype as tvp
from examples import torchvision_models as tvm

FIXTURES = Path(__file__).resolve().parent / "fixtures"
_spec = importlib.util.spec_from_file_location("_fixtures_fpn", Path(__file__).with_name("fixtures_fpn.py"))
fixtures_fpn = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(fixtures_fpn)  # type: ignore[union-attr]


def _fixture(name: str) -> dict[str, Any]:
    path = FIXTURES / name
    assert path.exists(), f"missing fixture {path.name}; run `make parity-fixtures`"
    return torch.load(path, weights_only=False)


def _layer(config: dict[str, Any]) -> nn.Module:
    if config["kind"] == "fpn":
        extra = config["extra"]
        blocks = tvp.LastLevelMaxPool() if extra[0] == "pool" else tvp.LastLevelP6P7(extra[1], extra[2])
        norm = nn.BatchNorm2d if config.get("norm") else None
        return tvp.FeaturePyramidNetwork(config["in_channels_list"], config["out_channels"], blocks, norm)
    if config["kind"] == "aspp":
        return tvp.ASPP(config["in_channels"], config["atrous_rates"], config["out_channels"])
    return tvp.LRASPPHead(config["low_channels"], config["high_channels"], config["num_classes"], config["inter"])


def _builder(builder: str, kwargs: dict[str, Any], **factory: Any) -> nn.Module:
    kwargs = dict(kwargs)
    if "extra_blocks" in kwargs:
        kwargs["extra_blocks"] = tvp.LastLevelP6P7(*kwargs["extra_blocks"][1:], **factory)
    model: nn.Module = getattr(tvm, builder)(**kwargs, **factory)
    return model


def _schema(model: nn.Module) -> list[tuple[str, tuple[int, ...], str]]:
    return [(key, tuple(value.shape), str(value.dtype)) for key, value in model.state_dict().items()]


def _assert_same_output(output: Any, expected: Any) -> None:
    if isinstance(expected, dict):
        assert list(output) == list(expected), "output keys (or their order) differ"
        for key in expected:
            assert expected[key].abs().max() > 0.1, f"the recorded {key!r} is trivially small: the check cannot fail"
            torch.testing.assert_close(output[key], expected[key], rtol=1e-4, atol=1e-5, msg=key)
    else:
        assert expected.abs().max() > 0.1
        torch.testing.assert_close(output, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(fixtures_fpn.LAYERS))
def test_layer_loads_torchvision_weights_strictly_and_matches(name: str) -> None:
    fixture = _fixture(f"fpn_layer_{name}.pt")
    layer = _layer(fixture["config"]).eval()
    assert _schema(layer) == [(k, tuple(v.shape), str(v.dtype)) for k, v in fixture["state_dict"].items()]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a current torchvision checkpoint needs no migration
        layer.load_state_dict(fixture["state_dict"], strict=True)
    with torch.no_grad():
        _assert_same_output(layer(fixture["input"]), fixture["output"])


def test_fpn_migrates_the_keys_of_torchvision_before_0_13() -> None:
    fixture = _fixture("fpn_layer_fpn_p6p7_from_c5.pt")
    assert fixture["state_dict"]._metadata[""]["version"] == 2
    legacy = OrderedDict(
        (key.replace(".0.weight", ".weight").replace(".0.bias", ".bias"), value)
        for key, value in fixture["state_dict"].items()
    )
    assert "inner_blocks.0.weight" in legacy and "layer_blocks.2.bias" in legacy
    legacy._metadata = OrderedDict({"": {"version": 1}})  # type: ignore[attr-defined]
    layer = _layer(fixture["config"]).eval()
    with pytest.warns(FutureWarning, match=r"layout of version 1 \(keys inner_blocks\.0\.weight"):
        layer.load_state_dict(legacy, strict=True)
    with torch.no_grad():
        _assert_same_output(layer(fixture["input"]), fixture["output"])
    # Inside a model (prefix "fpn."), and without version metadata (torchvision migrates those as well).
    wrapped = nn.Module()
    wrapped.fpn = _layer(fixture["config"]).eval()
    unversioned = OrderedDict((f"fpn.{key}", value) for key, value in legacy.items())
    with pytest.warns(FutureWarning, match=r"at 'fpn\.'"):
        wrapped.load_state_dict(unversioned, strict=True)
    with torch.no_grad():
        _assert_same_output(wrapped.fpn(fixture["input"]), fixture["output"])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(fixtures_fpn.MODELS))
def test_small_model_draws_torchvision_weights_and_matches(name: str) -> None:
    fixture = _fixture(f"fpn_model_{name}.pt")
    builder, kwargs, _ = fixtures_fpn.MODELS[name]
    model = _builder(builder, kwargs).eval()
    sums = fixtures_fpn.fill(model, seed=22)
    assert list(sums) == list(fixture["sums"]), "the floating state-dict entries differ from torchvision's"
    assert sums == fixture["sums"], "the seeded draw differs from the reference environment's"
    # A strict load of the filled weights into a fresh instance of the builder (the checkpoint path).
    fresh = _builder(builder, kwargs).eval()
    fresh.load_state_dict(model.state_dict(), strict=True)
    with torch.no_grad():
        _assert_same_output(fresh(fixture["input"]), fixture["output"])


@pytest.mark.parametrize("name", sorted(fixtures_fpn.NAMED_BUILDERS))
def test_named_builder_matches_torchvision_keys_shapes_dtypes_and_frozen_layers(name: str) -> None:
    fixture = _fixture(f"fpn_keys_{name}.pt")
    builder, kwargs = fixtures_fpn.NAMED_BUILDERS[name]
    model = _builder(builder, kwargs, device="meta")
    assert _schema(model) == fixture["keys"]
    assert sorted(key for key, p in model.named_parameters() if p.requires_grad) == fixture["trainable"]


def test_builders_check_their_arguments_as_torchvision() -> None:
    with pytest.raises(ValueError, match="trainable_layers"):
        tvm.resnet_fpn_backbone(backbone_name="resnet18", trainable_layers=6, device="meta")
    with pytest.raises(ValueError, match="returned_layers"):
        tvm.resnet_fpn_backbone(backbone_name="resnet18", returned_layers=[0, 1], device="meta")
    with pytest.raises(ValueError, match="backbone_name"):
        tvm.resnet_fpn_backbone(backbone_name="vgg16", device="meta")
    with pytest.raises(NotImplementedError):
        tvm.lraspp_mobilenet_v3_large(aux_loss=True, device="meta")
    assert tvm.fcn_resnet50(device="meta").aux_classifier is None
    assert tvm.deeplabv3_resnet50(num_classes=4, device="meta").classifier[-1].out_channels == 4
