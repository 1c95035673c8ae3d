"""Swin, Swin V2 and video Swin from tvexp layers load torchvision 0.29 weights and match its outputs."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import tvexp.prototype as tvp
from examples import torchvision_models as tvm

FIXTURES = Path(__file__).resolve().parent / "fixtures"
_spec = importlib.util.spec_from_file_location("_fixtures_swin", Path(__file__).with_name("fixtures_swin.py"))
fixtures_swin = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(fixtures_swin)  # type: ignore[union-attr]


def _fixture(name: str) -> dict[str, Any]:
    path = FIXTURES / name
    assert path.exists(), f"missing fixture {path.name}; run `make parity-fixtures`"
    return torch.load(path, weights_only=False)


def _schema(state: dict[str, torch.Tensor]) -> list[tuple[str, tuple[int, ...], torch.dtype]]:
    return [(key, tuple(value.shape), value.dtype) for key, value in state.items()]


def _small_model(config: dict[str, Any]) -> nn.Module:
    config = dict(config)
    if "version" in config:
        return tvm.SwinTransformer(**config)
    return tvm.SwinTransformer3d(**config)


def _layer(kind: str, arguments: dict[str, Any]) -> nn.Module:
    arguments = dict(arguments)
    if arguments.get("norm_layer") == "layer_norm":
        arguments["norm_layer"] = nn.LayerNorm
    if kind.startswith("attention"):
        return tvp.ShiftedWindowAttention(**arguments, version=2 if kind.endswith("v2") else 1)
    if kind.startswith("block"):
        return tvp.SwinTransformerBlock(**arguments, version=2 if kind.endswith("v2") else 1)
    if kind.startswith("patch_merging"):
        return tvp.PatchMerging(**arguments, version=2 if kind.endswith("v2") else 1)
    return tvp.PatchEmbedding3d(**arguments)


@pytest.mark.parametrize("name", sorted(fixtures_swin.SMALL_MODELS))
def test_small_model_loads_torchvision_weights_strictly_and_matches(name: str) -> None:
    fixture = _fixture(f"swin_small_{name}.pt")
    model = _small_model(fixture["config"]).eval()
    assert _schema(model.state_dict()) == _schema(fixture["state_dict"])
    model.load_state_dict(fixture["state_dict"], strict=True)
    with torch.no_grad():
        output = model(fixture["input"])
    difference = (output - fixture["output"]).abs().max().item()
    print(f"{name}: max |tvexp - torchvision| = {difference:.3e}")
    assert fixture["output"].abs().max() > 0.1  # the recorded output is not trivially small
    torch.testing.assert_close(output, fixture["output"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(fixtures_swin.LAYERS))
def test_layer_loads_torchvision_weights_strictly_and_matches(name: str) -> None:
    kind, arguments, _ = fixtures_swin.LAYERS[name]
    fixture = _fixture(f"swin_layer_{name}.pt")
    layer = _layer(kind, arguments).eval()
    assert _schema(layer.state_dict()) == _schema(fixture["state_dict"])
    layer.load_state_dict(fixture["state_dict"], strict=True)
    with torch.no_grad():
        output = layer(fixture["input"])
    assert fixture["output"].abs().max() > 0.1
    torch.testing.assert_close(output, fixture["output"], rtol=1e-5, atol=1e-5)
    # ... and the other way: tvexp's state_dict is a torchvision state_dict (same keys, buffers included).
    assert list(layer.state_dict()) == list(fixture["state_dict"])


@pytest.mark.parametrize("builder", fixtures_swin.NAMED_BUILDERS)
def test_named_builder_matches_torchvision_keys_shapes_dtypes_and_buffers(builder: str) -> None:
    fixture = _fixture(f"swin_keys_{builder}.pt")
    model = getattr(tvm, builder)(device="meta")
    ours = [(key, tuple(value.shape), str(value.dtype)) for key, value in model.state_dict().items()]
    assert ours == fixture["keys"]
    buffers = sorted(name for name, _ in model.named_buffers())
    assert buffers == fixture["buffers"]
    assert sorted(key for key in model.state_dict() if key in set(buffers)) == fixture["persistent_buffers"]


def test_v2_ignores_the_key_bias_as_torchvision() -> None:
    fixture = _fixture("swin_layer_attention_v2_shifted_padded.pt")
    kind, arguments, _ = fixtures_swin.LAYERS["attention_v2_shifted_padded"]
    layer = _layer(kind, arguments).eval()
    state = dict(fixture["state_dict"])
    bias = state["qkv.bias"].clone()
    assert bias[16:32].abs().max() > 0  # the re-drawn fixture has a non-zero key bias ...
    bias[16:32] = 5.0  # ... and any value there gives torchvision's output
    layer.load_state_dict({**state, "qkv.bias": bias}, strict=True)
    with torch.no_grad():
        torch.testing.assert_close(layer(fixture["input"]), fixture["output"], rtol=1e-5, atol=1e-5)


def test_builders_take_torchvision_keywords() -> None:
    model = tvm.swin_t(num_classes=7, stochastic_depth_prob=0.4, device="meta")
    assert model.head.out_features == 7
    assert model.features[7][-1].stochastic_depth.p == pytest.approx(0.4)
    assert model.features[1][0].stochastic_depth.p == 0.0
    video = tvm.swin3d_t(num_classes=5, device="meta")
    assert video.head.out_features == 5 and video.features[0][1].attn.shift_size == [4, 3, 3]
    assert tvm.swin_v2_t(device="meta").features[1][1].attn.window_size == [8, 8]
