"""Video layers and networks built from tvexp layers load torchvision 0.29 weights and match its outputs."""

from __future__ import annotations

import importlib.util
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import tvexp.prototype as tvp
from examples import torchvision_models as tvm

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _load_module(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


fixtures_video = _load_module("fixtures_video")
fixtures_blocks = _load_module("fixtures_blocks")


def _fixtures(prefix: str) -> list[Path]:
    paths = sorted(FIXTURES.glob(f"{prefix}*.pt"))
    assert paths, f"no {prefix}*.pt fixtures; run `make parity-fixtures`"
    return paths


def _fixture(name: str) -> dict[str, Any]:
    path = FIXTURES / name
    assert path.exists(), f"missing fixture {path.name}; run `make parity-fixtures`"
    return torch.load(path, weights_only=True)


def _build_layer(config: dict[str, Any]) -> nn.Module:
    kind = config["kind"]
    if kind == "conv":
        return getattr(tvp, config["builder"])(*config["args"])
    if kind in ("basic", "bottleneck"):
        block = tvp.VideoBasicBlock if kind == "basic" else tvp.VideoBottleneck
        # downsample=None: the block builds torchvision's projection itself when the shape changes.
        return block(config["in"], config["planes"], getattr(tvp, config["builder"]), config["stride"])
    if kind == "stem":
        return getattr(tvp, config["stem"])()
    if kind == "temporal_separable":
        norm = partial(nn.BatchNorm3d, eps=config["eps"], momentum=config["momentum"])
        return tvp.TemporalSeparableConv(*config["args"], norm)
    raise AssertionError(f"unknown fixture kind {kind!r}")


def _keys(module: nn.Module) -> list[tuple[str, tuple[int, ...], str]]:
    return [(key, tuple(value.shape), str(value.dtype)) for key, value in module.state_dict().items()]


@pytest.mark.parametrize("path", _fixtures("video_block_"), ids=lambda p: p.stem.removeprefix("video_block_"))
def test_layer_loads_torchvision_weights_strictly_and_matches(path: Path) -> None:
    fixture = torch.load(path, weights_only=True)
    layer = _build_layer(fixture["config"]).eval()
    assert _keys(layer) == [(k, tuple(v.shape), str(v.dtype)) for k, v in fixture["state_dict"].items()]
    layer.load_state_dict(fixture["state_dict"], strict=True)
    with torch.no_grad():
        output = layer(fixture["input"])
    assert fixture["output"].abs().max() > 0.1  # the comparison can fail
    torch.testing.assert_close(output, fixture["output"], rtol=1e-5, atol=1e-5)


def _small_model(config: dict[str, Any]) -> nn.Module:
    if config["builder"] == "s3d":
        return tvm.s3d(num_classes=config["num_classes"], width_mult=config["width_mult"])
    widths = config["stage_channels"]
    if config["builder"] == "r2plus1d_18":
        stem = partial(tvp.R2Plus1DStem, 3, widths[0], config["stem_midplanes"])
    else:
        stem = partial(tvp.R3DStem, 3, widths[0])
    # The stage builders of the named network, from the table the reference network was built with.
    makers = [getattr(tvp, name) for name in fixtures_video._CONV_MAKERS[config["builder"]]]
    return tvm.VideoResNet(
        tvp.VideoBasicBlock, makers, [2, 2, 2, 2], stem, config["num_classes"], stage_channels=widths
    )


# The S3D network runs 14 frames of 224x224 (its 2x7x7 average pool needs them): slow-marked.
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=[pytest.mark.slow] if name.startswith("s3d") else [])
        for name in sorted(fixtures_video.SMALL_MODELS)
    ],
)
def test_narrow_network_loads_torchvision_weights_strictly_and_matches(name: str) -> None:
    fixture = _fixture(f"video_small_{name}.pt")
    model = _small_model(fixture["config"]).eval()
    state = {key: value.float() if value.is_floating_point() else value for key, value in fixture["state_dict"].items()}
    assert _keys(model) == [(k, tuple(v.shape), str(v.dtype)) for k, v in state.items()]
    model.load_state_dict(state, strict=True)
    x = fixture["input"].float()
    if fixture["config"]["builder"] == "s3d":
        up = fixtures_video.S3D_UPSAMPLE
        x = x.repeat_interleave(up, dim=3).repeat_interleave(up, dim=4)
    with torch.no_grad():
        output = model(x)
    difference = (output - fixture["output"]).abs().max().item()
    print(f"{name}: max |tvexp - torchvision| = {difference:.3e}")
    assert fixture["output"].abs().max() > 0.1
    torch.testing.assert_close(output, fixture["output"], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("builder", fixtures_video.NAMED_BUILDERS)
def test_named_builder_matches_torchvision_keys_shapes_and_dtypes(builder: str) -> None:
    fixture = _fixture("video_keys.pt")
    model = getattr(tvm, builder)(device="meta")
    assert _keys(model) == fixture[builder]


@pytest.mark.slow  # 33M parameters regenerated from their keys
def test_full_size_r3d_18_matches_torchvision_outputs() -> None:
    fixture = _fixture("video_model_r3d_18.pt")
    with torch.device("meta"):
        model = tvm.r3d_18()
    assert _keys(model) == fixture["keys"]
    model = model.to_empty(device="cpu").eval()
    shapes = {
        key: (torch.Size(shape), getattr(torch, dtype.removeprefix("torch."))) for key, shape, dtype in fixture["keys"]
    }
    model.load_state_dict(fixtures_blocks.deterministic_state_dict(shapes), strict=True)
    with torch.no_grad():
        torch.testing.assert_close(model(fixture["input"]), fixture["output"], rtol=1e-4, atol=1e-4)


def test_builders_take_torchvision_keywords() -> None:
    model = tvm.r2plus1d_18(num_classes=7, zero_init_residual=True, device="meta")
    assert model.fc.out_features == 7
    s3d = tvm.s3d(num_classes=7, dropout=0.5, device="meta")
    assert s3d.classifier[0].p == 0.5 and s3d.classifier[1].out_channels == 7


def test_video_resnet_initialises_like_torchvision() -> None:
    torch.manual_seed(0)
    model = tvm.mc3_18(zero_init_residual=True)
    conv = model.layer3[0].conv1[0]
    fan_out = conv.weight.shape[0] * conv.weight[0, 0].numel()
    assert conv.weight.std().item() == pytest.approx((2.0 / fan_out) ** 0.5, rel=0.05)
    assert torch.all(model.stem[1].weight == 1) and torch.all(model.stem[1].bias == 0)
    assert model.fc.weight.std().item() == pytest.approx(0.01, rel=0.05) and torch.all(model.fc.bias == 0)
    # zero_init_residual zeroes the last norm of each residual branch (torchvision's video code does nothing).
    assert all(torch.all(block.conv2[1].weight == 0) for layer in (model.layer1, model.layer4) for block in layer)
