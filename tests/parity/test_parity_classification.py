"""The remaining torchvision classification families, built from tvexp layers in ``examples/torchvision_models.py``,
have torchvision 0.29's state_dict keys, shapes, dtypes and norm settings, load its weights strictly and match its
outputs (fixtures recorded by ``fixtures_classification.py``)."""

from __future__ import annotations

import importlib.util
import json
import re
import zlib
from collections import OrderedDict
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from torch import nn

from examples import torchvision_models as tvm
from tvexp import TvexpDeprecationWarning

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _load_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


fixtures_blocks = _load_module("fixtures_blocks")
fixtures_classification = _load_module("fixtures_classification")


def _fixture(name: str) -> dict[str, Any]:
    path = FIXTURES / name
    assert path.exists(), f"missing fixture {name}; record it with tests/parity/fixtures_classification.py"
    return torch.load(path, weights_only=True)


_KEYS: dict[str, Any] = json.loads(zlib.decompress(_fixture("cls_keys.pt")["json_zlib"]))


def _deterministic_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return fixtures_blocks.deterministic_state_dict(fixtures_blocks.shapes_of(model))


def _assert_matches(ours: torch.Tensor, reference: torch.Tensor) -> None:
    scale = max(1.0, reference.abs().max().item())
    torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-5 * scale)


def test_key_fixture_covers_every_builder_named_in_the_issue() -> None:
    assert sorted(_KEYS) == sorted(fixtures_classification.KEY_BUILDERS)
    assert all(callable(getattr(tvm, name)) for name in _KEYS)


@pytest.mark.parametrize("name", fixtures_classification.KEY_BUILDERS)
def test_builder_has_torchvision_keys_shapes_dtypes_and_norms(name: str) -> None:
    model = getattr(tvm, name)(device="meta")
    ours = [[key, list(value.shape), str(value.dtype)] for key, value in model.state_dict().items()]
    reference = _KEYS[name]
    assert ours == reference["keys"]
    norms = {key: list(value) for key, value in fixtures_classification.norm_settings(model).items()}
    assert norms == reference["norms"]


@pytest.mark.parametrize("name", sorted(fixtures_classification.MODEL_FIXTURES))
def test_full_size_model_loads_strictly_and_matches(name: str) -> None:
    fixture = _fixture(f"cls_model_{name}.pt")
    # Built on the meta device and given the weights with assign=True: no initialisation, no copies.
    model = getattr(tvm, fixture["builder"])(**fixture["kwargs"], device="meta").eval()
    model.load_state_dict(_deterministic_weights(model), strict=True, assign=True)
    with torch.no_grad():
        _assert_matches(model(fixture["input"]), fixture["output"])
        if "train_outputs" in fixture:
            outputs = model.train()(fixture["input"])
            assert isinstance(outputs, tuple) and len(outputs) == len(fixture["train_outputs"])
            for ours, reference in zip(outputs, fixture["train_outputs"]):
                _assert_matches(ours, reference)


def _small_model(kind: str, kwargs: dict[str, Any]) -> nn.Module:
    kwargs = dict(kwargs)
    if kind == "regnet":
        design = [kwargs.pop(key) for key in ("depth", "w_0", "w_a", "w_m", "group_width")]
        return tvm.regnet(*design, num_classes=10, **kwargs)
    assert kind == "densenet"
    return tvm.DenseNet(num_classes=10, **kwargs)


@pytest.mark.parametrize("name", sorted(fixtures_classification.SMALL_FIXTURES))
def test_reduced_model_loads_stored_weights_strictly_and_matches(name: str) -> None:
    fixture = _fixture(f"cls_small_{name}.pt")
    model = _small_model(fixture["kind"], fixture["kwargs"]).eval()
    weights = {
        key: value.float() if value.is_floating_point() else value for key, value in fixture["state_dict"].items()
    }
    model.load_state_dict(weights, strict=True)
    with torch.no_grad():
        _assert_matches(model(fixture["input"]), fixture["output"])


def _legacy_densenet_keys(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The inverse of torchvision's ``densenet._load_state_dict`` rename: ``norm1.weight`` -> ``norm.1.weight``."""
    pattern = re.compile(r"^(.*denselayer\d+\.(?:norm|conv))([12])\.(weight|bias|running_mean|running_var)$")
    legacy = {}
    for key, value in state_dict.items():
        match = pattern.match(key)
        legacy[f"{match.group(1)}.{match.group(2)}.{match.group(3)}" if match else key] = value
    return legacy


def test_densenet_loads_a_legacy_key_checkpoint_strictly() -> None:
    fixture = _fixture("cls_small_densenet_reduced.pt")
    weights = {
        key: value.float() if value.is_floating_point() else value for key, value in fixture["state_dict"].items()
    }
    legacy = _legacy_densenet_keys(weights)
    assert "features.denseblock1.denselayer1.norm.1.weight" in legacy
    assert "features.denseblock1.denselayer1.conv.2.weight" in legacy
    model = _small_model("densenet", fixture["kwargs"]).eval()
    # A plain dict, as torch.load returns for the hosted files: no per-module version metadata.
    with pytest.warns(
        TvexpDeprecationWarning, match=r"DenseLayer checkpoint at 'features\.denseblock\d\.denselayer\d\.'"
    ):
        model.load_state_dict(OrderedDict(legacy), strict=True)
    with torch.no_grad():
        _assert_matches(model(fixture["input"]), fixture["output"])


def test_densenet_current_keys_load_without_a_warning(recwarn: pytest.WarningsRecorder) -> None:
    fixture = _fixture("cls_small_densenet_reduced.pt")
    model = _small_model("densenet", fixture["kwargs"])
    model.load_state_dict(model.state_dict(), strict=True)
    assert not [w for w in recwarn if issubclass(w.category, TvexpDeprecationWarning)]


@pytest.mark.parametrize("name", sorted(fixtures_classification.FEATURE_FIXTURES))
def test_vgg_and_alexnet_features_match(name: str) -> None:
    fixture = _fixture(f"cls_features_{name}.pt")
    if name == "vgg11_bn":
        features = tvm.vgg_features(tvm._VGG_CONFIGS["A"], batch_norm=True)
    else:
        features = tvm.AlexNet().features
    features.eval().load_state_dict(_deterministic_weights(features), strict=True)
    with torch.no_grad():
        _assert_matches(features(fixture["input"]), fixture["output"])


def test_googlenet_and_inception_without_aux_heads_drop_their_keys() -> None:
    assert not any(key.startswith("aux") for key in tvm.googlenet(aux_logits=False, device="meta").state_dict())
    assert not any("AuxLogits" in key for key in tvm.inception_v3(aux_logits=False, device="meta").state_dict())
    assert isinstance(tvm.inception_v3(device="meta").train()(torch.empty(2, 3, 299, 299, device="meta")), tuple)
