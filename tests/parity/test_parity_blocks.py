"""Residual blocks, LayerNorm2d and whole networks built from tvexp blocks load torchvision 0.29 weights and match its outputs."""

from __future__ import annotations

import importlib.util
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from examples import torchvision_models as tvm
from tvexp.prototype import (
    BasicBlock,
    Bottleneck,
    FusedMBConv,
    InvertedResidual,
    LayerNorm2d,
    MBConv,
)
from tvexp.stable import SqueezeExcitation

FIXTURES = Path(__file__).resolve().parent / "fixtures"
_spec = importlib.util.spec_from_file_location("_fixtures_blocks", Path(__file__).with_name("fixtures_blocks.py"))
fixtures_blocks = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(fixtures_blocks)  # type: ignore[union-attr]


def _fixtures(prefix: str) -> list[Path]:
    paths = sorted(FIXTURES.glob(f"{prefix}*.pt"))
    assert paths, f"no {prefix}*.pt fixtures; run `make parity-fixtures`"
    return paths


def _build_block(config: dict[str, Any]) -> nn.Module:
    kind = config["kind"]
    if kind == "basic":
        return BasicBlock(config["in"], config["planes"], config["stride"])
    if kind == "bottleneck":
        return Bottleneck(
            config["in"],
            config["planes"],
            config["stride"],
            groups=config.get("groups", 1),
            base_width=config.get("base_width", 64),
            dilation=config.get("dilation", 1),
        )
    if kind == "v2":
        return InvertedResidual(config["in"], config["out"], config["stride"], config["expand_ratio"])
    if kind == "v3":
        se = partial(SqueezeExcitation, scale_activation=nn.Hardsigmoid) if config["se"] else None
        return InvertedResidual(
            config["in"],
            config["out"],
            config["stride"],
            expanded_channels=config["expanded"],
            kernel_size=config["kernel"],
            dilation=config["dilation"],
            activation_layer=nn.Hardswish if config["act"] == "HS" else nn.ReLU,
            se_layer=se,
            norm_layer=partial(nn.BatchNorm2d, eps=0.001, momentum=0.01),
            layout="mobilenet_v3",
        )
    if kind in ("mbconv", "fused"):
        cls = MBConv if kind == "mbconv" else FusedMBConv
        return cls(
            config["in"],
            config["out"],
            expand_ratio=config["expand_ratio"],
            kernel_size=config["kernel"],
            stride=config["stride"],
        )
    if kind == "layer_norm_2d":
        return LayerNorm2d(config["channels"], eps=config["eps"])
    raise AssertionError(f"unknown fixture kind {kind!r}")


@pytest.mark.parametrize("path", _fixtures("blocks_block_"), ids=lambda p: p.stem.removeprefix("blocks_block_"))
def test_block_loads_torchvision_weights_and_matches(path: Path) -> None:
    fixture = torch.load(path, weights_only=True)
    block = _build_block(fixture["config"]).eval()
    block.load_state_dict(fixture["state_dict"], strict=True)
    assert list(block.state_dict()) == list(fixture["state_dict"])
    with torch.no_grad():
        torch.testing.assert_close(block(fixture["input"]), fixture["output"], rtol=1e-5, atol=1e-5)


def _build_model(builder: str, kwargs: dict[str, Any], device: str | None = None) -> nn.Module:
    return getattr(tvm, builder)(**kwargs, device=device)


@pytest.mark.parametrize("path", _fixtures("blocks_small_"), ids=lambda p: p.stem.removeprefix("blocks_small_"))
def test_small_model_loads_torchvision_weights_and_matches(path: Path) -> None:
    fixture = torch.load(path, weights_only=True)
    model = _build_model(fixture["builder"], fixture["kwargs"]).eval()
    model.load_state_dict(
        {key: value.float() if value.is_floating_point() else value for key, value in fixture["state_dict"].items()},
        strict=True,
    )
    with torch.no_grad():
        torch.testing.assert_close(model(fixture["input"]), fixture["output"], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("path", _fixtures("blocks_model_"), ids=lambda p: p.stem.removeprefix("blocks_model_"))
def test_full_size_model_matches_torchvision_keys_shapes_and_outputs(path: Path) -> None:
    fixture = torch.load(path, weights_only=True)
    with torch.device("meta"):
        model = _build_model(fixture["builder"], fixture["kwargs"])
    ours = [(key, tuple(value.shape), str(value.dtype)) for key, value in model.state_dict().items()]
    assert ours == fixture["keys"]
    model = model.to_empty(device="cpu").eval()
    shapes = {
        key: (torch.Size(shape), getattr(torch, dtype.removeprefix("torch."))) for key, shape, dtype in fixture["keys"]
    }
    model.load_state_dict(fixtures_blocks.deterministic_state_dict(shapes), strict=True)
    with torch.no_grad():
        torch.testing.assert_close(model(fixture["input"]), fixture["output"], rtol=1e-4, atol=1e-4)
