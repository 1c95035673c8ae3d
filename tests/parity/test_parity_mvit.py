"""MViT v1/v2 built from tvexp layers load torchvision 0.29 weights and match its outputs."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from examples import torchvision_models as tvm
from tvexp.prototype import MultiscaleAttention, MultiscaleBlock

FIXTURES = Path(__file__).resolve().parent / "fixtures"
_spec = importlib.util.spec_from_file_location("_fixtures_mvit", Path(__file__).with_name("fixtures_mvit.py"))
fixtures_mvit = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(fixtures_mvit)  # type: ignore[union-attr]


def _fixture(name: str) -> dict[str, Any]:
    path = FIXTURES / name
    assert path.exists(), f"missing fixture {path.name}; run `make parity-fixtures`"
    return torch.load(path, weights_only=False)


def _schema(module_or_state: nn.Module | dict[str, torch.Tensor]) -> list[tuple[str, tuple[int, ...], torch.dtype]]:
    state = module_or_state.state_dict() if isinstance(module_or_state, nn.Module) else module_or_state
    return [(key, tuple(value.shape), value.dtype) for key, value in state.items()]


def _check_outputs(name: str, output: torch.Tensor, expected: torch.Tensor) -> None:
    difference = (output - expected).abs().max().item()
    print(f"{name}: max |tvexp - torchvision| = {difference:.3e}")
    # The recorded output is not trivially small: the comparison can fail.
    assert expected.abs().max() > 0.1
    torch.testing.assert_close(output, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(fixtures_mvit.SMALL_MODELS))
def test_small_model_loads_torchvision_weights_strictly_and_matches(name: str) -> None:
    fixture = _fixture(f"mvit_small_{name}.pt")
    model = tvm.MViT(**fixture["config"]).eval()
    assert _schema(model) == _schema(fixture["state_dict"])
    model.load_state_dict(fixture["state_dict"], strict=True)
    with torch.no_grad():
        output = model(fixture["input"])
    _check_outputs(f"mvit {name}", output, fixture["output"])


def _layer(kind: str, block: dict[str, Any], flags: dict[str, bool], grid: tuple[int, int, int]) -> nn.Module:
    common: dict[str, Any] = {
        "query_kernel_size": block["kernel_q"],
        "query_stride": block["stride_q"],
        "key_value_kernel_size": block["kernel_kv"],
        "key_value_stride": block["stride_kv"],
        "residual_pooling": flags["residual_pool"],
        "residual_with_class_token": flags["residual_with_cls_embed"],
        "relative_position_embedding": flags["rel_pos_embed"],
    }
    if kind == "MultiscaleAttention":
        width = block["output_channels"] if flags["proj_after_attn"] else block["input_channels"]
        return MultiscaleAttention(block["input_channels"], block["num_heads"], grid, output_dim=width, **common)
    return MultiscaleBlock(
        block["input_channels"],
        block["num_heads"],
        grid,
        output_dim=block["output_channels"],
        project_after_attention=flags["proj_after_attn"],
        **common,
    )


@pytest.mark.parametrize("name", sorted(fixtures_mvit.LAYERS))
def test_layer_loads_torchvision_weights_strictly_and_matches(name: str) -> None:
    kind, block, flags, grid = fixtures_mvit.LAYERS[name]
    fixture = _fixture(f"mvit_layer_{name}.pt")
    layer = _layer(kind, block, flags, grid).eval()
    assert _schema(layer) == _schema(fixture["state_dict"])
    layer.load_state_dict(fixture["state_dict"], strict=True)
    assert layer.output_size == fixture["output_size"]
    with torch.no_grad():
        output = layer(fixture["input"])
    _check_outputs(name, output, fixture["output"])


@pytest.mark.parametrize("builder", fixtures_mvit.NAMED_BUILDERS)
def test_named_builder_matches_torchvision_keys_shapes_and_dtypes(builder: str) -> None:
    fixture = _fixture(f"mvit_keys_{builder}.pt")
    model = getattr(tvm, builder)(device="meta")
    ours = [(key, tuple(value.shape), str(value.dtype)) for key, value in model.state_dict().items()]
    assert ours == fixture["keys"]


def test_builders_take_torchvision_keywords() -> None:
    model = tvm.mvit_v2_s(
        spatial_size=(128, 128), temporal_size=8, num_classes=7, stochastic_depth_prob=0.3, device="meta"
    )
    assert model.head[1].out_features == 7
    assert model.blocks[0].input_size == (4, 32, 32) and model.blocks[-1].output_size == (4, 4, 4)
    assert model.blocks[-1].stochastic_depth.p == pytest.approx(0.3)
    v1 = tvm.mvit_v1_b(spatial_size=(112, 112), temporal_size=8, dropout=0.1, device="meta")
    assert v1.pos_encoding.spatial_pos.shape == (28 * 28, 96) and v1.head[0].p == 0.1


def test_model_rejects_grids_torchvision_would_size_differently() -> None:
    with pytest.raises(ValueError, match="size // patch_embed_stride"):
        tvm.mvit_v1_b(spatial_size=(30, 30), temporal_size=4, device="meta")
    with pytest.raises(ValueError, match=r"block 1 pools the token grid to \(2, 5, 5\), but torchvision sizes"):
        tvm.mvit_v2_s(spatial_size=(36, 36), temporal_size=4, device="meta")
    # v1 has no parameter sized by the grid after the patch embedding: torchvision builds the same network.
    assert tvm.mvit_v1_b(spatial_size=(112, 112), temporal_size=8, device="meta").blocks[-1].output_size == (4, 4, 4)
