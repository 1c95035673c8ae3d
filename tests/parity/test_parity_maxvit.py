"""MaxViT built from tvexp layers loads torchvision 0.29 weights and matches its outputs (whole model and blocks)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from examples import torchvision_models as tvm
from tvexp.prototype import MaxViTBlock, MultiheadSelfAttention, PartitionAttentionBlock, PreNormMBConv

FIXTURES = Path(__file__).resolve().parent / "fixtures"
_spec = importlib.util.spec_from_file_location("_fixtures_maxvit", Path(__file__).with_name("fixtures_maxvit.py"))
fixtures_maxvit = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(fixtures_maxvit)  # type: ignore[union-attr]


def _fixture(name: str) -> dict[str, Any]:
    path = FIXTURES / name
    assert path.exists(), f"missing fixture {path.name}; run `make parity-fixtures`"
    return torch.load(path, weights_only=False)


def _keys(module: nn.Module) -> list[tuple[str, tuple[int, ...], str]]:
    return [(key, tuple(value.shape), str(value.dtype)) for key, value in module.state_dict().items()]


def _block(kind: str, config: dict[str, Any]) -> nn.Module:
    if kind == "mbconv":
        return PreNormMBConv(
            config["in_channels"], config["out_channels"], stride=config["stride"], stochastic_depth_prob=0.1
        )
    if kind == "attention":
        channels, size = config["channels"], config["partition_size"]
        return MultiheadSelfAttention(
            channels,
            channels // config["head_dim"],
            layout="maxvit",
            relative_position_window=size,
            scale=channels**-0.5,
        )
    if kind == "partition":
        return PartitionAttentionBlock(
            config["channels"], config["head_dim"], config["partition_size"], config["type"], stochastic_depth_prob=0.1
        )
    return MaxViTBlock(
        config["in_channels"],
        config["out_channels"],
        config["head_dim"],
        config["partition_size"],
        stride=config["stride"],
        stochastic_depth_prob=0.1,
    )


def _assert_matches(name: str, model: nn.Module, fixture: dict[str, Any], flatten_groups: bool = False) -> None:
    assert _keys(model) == [(k, tuple(v.shape), str(v.dtype)) for k, v in fixture["state_dict"].items()]
    model.load_state_dict(fixture["state_dict"], strict=True)
    model.eval()
    x = fixture["input"]
    with torch.no_grad():
        # torchvision's attention takes (B, groups, tokens, C); tvexp's takes one sequence per group.
        output = model(x.flatten(0, 1)).reshape(x.shape) if flatten_groups else model(x)
    difference = (output - fixture["output"]).abs().max().item()
    print(f"{name}: max |tvexp - torchvision| = {difference:.3e}")
    # The recorded output is not trivially small: the comparison can fail.
    assert fixture["output"].abs().max() > 0.1
    torch.testing.assert_close(output, fixture["output"], rtol=1e-5, atol=1e-5)


def test_small_model_loads_torchvision_weights_strictly_and_matches() -> None:
    fixture = _fixture("maxvit_small.pt")
    assert fixture["config"] == fixtures_maxvit.SMALL_MODEL
    _assert_matches("small", tvm.MaxVit(**fixture["config"]), fixture)


@pytest.mark.parametrize("name", sorted(fixtures_maxvit.BLOCKS))
def test_block_loads_torchvision_weights_strictly_and_matches(name: str) -> None:
    fixture = _fixture(f"maxvit_block_{name}.pt")
    kind, config, _ = fixtures_maxvit.BLOCKS[name]
    assert (fixture["kind"], fixture["config"]) == (kind, config)
    _assert_matches(name, _block(kind, config), fixture, flatten_groups=kind == "attention")


def test_grid_and_window_partitions_differ_on_the_same_weights() -> None:
    # Guards the block fixtures: loading the grid weights into a window block must not match.
    fixture = _fixture("maxvit_block_grid.pt")
    config = dict(fixtures_maxvit.BLOCKS["grid"][1], type="window")
    block = _block("partition", config).eval()
    block.load_state_dict(fixture["state_dict"], strict=True)
    with torch.no_grad():
        assert (block(fixture["input"]) - fixture["output"]).abs().max() > 0.1


@pytest.mark.parametrize("builder", fixtures_maxvit.NAMED_BUILDERS)
def test_named_builder_matches_torchvision_keys_shapes_and_dtypes(builder: str) -> None:
    fixture = _fixture(f"maxvit_keys_{builder}.pt")
    assert _keys(getattr(tvm, builder)(device="meta")) == fixture["keys"]


def test_maxvit_t_takes_torchvision_keywords_and_checks_the_input_size() -> None:
    model = tvm.maxvit_t(
        input_size=(448, 448), num_classes=7, mlp_ratio=2, attention_dropout=0.1, mlp_dropout=0.1, device="meta"
    )
    assert model.classifier[5].out_features == 7
    first = model.blocks[0].layers[0].layers
    assert first.window_attention.mlp_layer[1].out_features == 128
    assert model.blocks[3].layers[1].layers.grid_attention.stochastic_dropout.p == pytest.approx(0.2)
    with pytest.raises(ValueError, match=r"input_size=\(64, 64\) gives stage 0 a 16x16 input, not divisible by"):
        tvm.maxvit_t(input_size=(64, 64), device="meta")


def test_maxvit_t_parameter_count_is_torchvisions() -> None:
    # torchvision's MaxVit_T_Weights.IMAGENET1K_V1.meta["num_params"].
    assert sum(p.numel() for p in tvm.maxvit_t(device="meta").parameters()) == 30919624
