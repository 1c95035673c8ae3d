"""Vision Transformer and ConvNeXt built from tvexp layers load torchvision 0.29 weights and match its outputs."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from examples import torchvision_models as tvm

FIXTURES = Path(__file__).resolve().parent / "fixtures"
_spec = importlib.util.spec_from_file_location(
    "_fixtures_transformers", Path(__file__).with_name("fixtures_transformers.py")
)
fixtures_transformers = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(fixtures_transformers)  # type: ignore[union-attr]


def _fixture(name: str) -> dict[str, Any]:
    path = FIXTURES / name
    assert path.exists(), f"missing fixture {path.name}; run `make parity-fixtures`"
    return torch.load(path, weights_only=False)


def _small_model(family: str, config: dict[str, Any]) -> nn.Module:
    if family == "vit":
        return tvm.VisionTransformer(**config)
    return tvm.ConvNeXt(config["block_setting"], num_classes=config["num_classes"])


@pytest.mark.parametrize("name", sorted(fixtures_transformers.SMALL_MODELS))
def test_small_model_loads_torchvision_weights_strictly_and_matches(name: str) -> None:
    fixture = _fixture(f"transformers_small_{name}.pt")
    model = _small_model(fixture["family"], fixture["config"]).eval()
    ours = [(key, value.shape, value.dtype) for key, value in model.state_dict().items()]
    assert ours == [(key, value.shape, value.dtype) for key, value in fixture["state_dict"].items()]
    model.load_state_dict(fixture["state_dict"], strict=True)
    with torch.no_grad():
        output = model(fixture["input"])
    difference = (output - fixture["output"]).abs().max().item()
    print(f"{name}: max |tvexp - torchvision| = {difference:.3e}")
    # The recorded output is not trivially small: the comparison can fail.
    assert fixture["output"].abs().max() > 0.1
    torch.testing.assert_close(output, fixture["output"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("builder", fixtures_transformers.NAMED_BUILDERS)
def test_named_builder_matches_torchvision_keys_shapes_and_dtypes(builder: str) -> None:
    fixture = _fixture(f"transformers_keys_{builder}.pt")
    model = getattr(tvm, builder)(device="meta")
    ours = [(key, tuple(value.shape), str(value.dtype)) for key, value in model.state_dict().items()]
    assert ours == fixture["keys"]


def test_builders_take_torchvision_keywords() -> None:
    vit = tvm.vit_b_32(image_size=64, num_classes=7, dropout=0.1, attention_dropout=0.1, device="meta")
    assert vit.encoder.pos_embedding.shape == (1, 5, 768) and vit.heads.head.out_features == 7
    convnext = tvm.convnext_tiny(num_classes=7, stochastic_depth_prob=0.3, device="meta")
    assert convnext.classifier[2].out_features == 7
    assert convnext.features[7][-1].stochastic_depth.p == pytest.approx(0.3)


def test_vit_loads_torchvision_checkpoints_with_legacy_mlp_keys() -> None:
    fixture = _fixture("transformers_small_vit.pt")
    state = {
        key.replace("mlp.0.", "mlp.linear_1.").replace("mlp.3.", "mlp.linear_2."): value
        for key, value in fixture["state_dict"].items()
    }
    model = _small_model(fixture["family"], fixture["config"]).eval()
    with pytest.warns(FutureWarning, match=r"layout of version 1 \(keys mlp\.linear_1\.weight"):
        model.load_state_dict(state, strict=True)
    with torch.no_grad():
        torch.testing.assert_close(model(fixture["input"]), fixture["output"], rtol=1e-5, atol=1e-5)
