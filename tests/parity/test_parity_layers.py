"""The stable basic layers against torchvision 0.29 fixtures (recorded by ``fixtures_layers.py``).

For every configuration the tvexp layer is built with torchvision's arguments, loads torchvision's
``state_dict`` with ``strict=True`` and must give its outputs and input gradients (float
tolerance), in eval mode and, with batch norms, in training mode (including the updated running
statistics). Its own ``state_dict`` must have torchvision's keys and shapes, in the same order.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
import torch

import tvexp.stable
from tvexp.stable.functional import stochastic_depth

FIXTURES = Path(__file__).resolve().parent / "fixtures"
_spec = importlib.util.spec_from_file_location("_fixtures_layers", Path(__file__).with_name("fixtures_layers.py"))
fixtures_layers = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(fixtures_layers)  # type: ignore[union-attr]

# torch notes that even-kernel 'same' padding copies the input; torchvision's config exercises exactly that.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths:UserWarning")

_TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}
_RECORDS: dict[str, dict[str, Any]] = {}


def record_for(config: Any) -> dict[str, Any]:
    if config.cls not in _RECORDS:
        _RECORDS[config.cls] = torch.load(FIXTURES / f"layers_{config.cls.lower()}.pt", weights_only=False)
    return _RECORDS[config.cls][config.name]


def build(config: Any) -> torch.nn.Module:
    return getattr(tvexp.stable, config.cls)(*config.args, **config.kwargs)


def output_and_input_grad(
    module: torch.nn.Module, x: torch.Tensor, grad_output: torch.Tensor
) -> tuple[torch.Tensor, ...]:
    leaf = x.clone().requires_grad_(True)
    output = module(leaf)
    output.backward(grad_output)
    assert leaf.grad is not None
    return output.detach(), leaf.grad


CASES = [pytest.param(config, id=f"{config.cls}-{config.name}") for config in fixtures_layers.CONFIGS]


@pytest.mark.parametrize("config", CASES)
def test_fixture_was_recorded_from_this_configuration(config: Any) -> None:
    assert record_for(config)["spec"] == fixtures_layers.describe(config), "re-record: make parity-fixtures"


@pytest.mark.parametrize("config", CASES)
def test_state_dict_keys_and_shapes_match_torchvision(config: Any) -> None:
    ours = [(key, tuple(value.shape)) for key, value in build(config).state_dict().items()]
    assert ours == record_for(config)["keys"]


@pytest.mark.parametrize("config", CASES)
def test_eval_output_and_input_gradient_match_torchvision(config: Any) -> None:
    reference = record_for(config)
    module = build(config)
    module.load_state_dict(reference["state_dict"], strict=True)
    module.eval()
    output, input_grad = output_and_input_grad(module, reference["input"], reference["grad_output"])
    torch.testing.assert_close(output, reference["output"], **_TOLERANCE)
    torch.testing.assert_close(input_grad, reference["input_grad"], **_TOLERANCE)
    with torch.no_grad():  # inference may take another code path (FrozenBatchNorm2d does)
        torch.testing.assert_close(module(reference["input"]), reference["output"], **_TOLERANCE)


@pytest.mark.parametrize("config", [c for c in CASES if "train_output" in record_for(c.values[0])])
def test_train_output_gradient_and_running_statistics_match_torchvision(config: Any) -> None:
    reference = record_for(config)
    module = build(config)
    module.load_state_dict(reference["state_dict"], strict=True)
    output, input_grad = output_and_input_grad(module.train(), reference["input"], reference["grad_output"])
    torch.testing.assert_close(output, reference["train_output"], **_TOLERANCE)
    torch.testing.assert_close(input_grad, reference["train_input_grad"], **_TOLERANCE)
    torch.testing.assert_close(module.state_dict(), reference["train_state_dict"], **_TOLERANCE)


def test_every_stable_class_with_state_has_parity_configurations() -> None:
    covered = {config.cls for config in fixtures_layers.CONFIGS}
    assert covered == {
        "Conv2dNormActivation",
        "Conv3dNormActivation",
        "SqueezeExcitation",
        "MLP",
        "Permute",
        "FrozenBatchNorm2d",
    }
    counts = {cls: sum(config.cls == cls for config in fixtures_layers.CONFIGS) for cls in covered}
    assert min(counts.values()) >= 3, counts


def test_frozen_batch_norm_loads_a_batch_norm_state_dict_like_torchvision() -> None:
    config = next(c for c in fixtures_layers.CONFIGS if c.load_batch_norm)
    reference = record_for(config)
    assert "num_batches_tracked" in reference["state_dict"]  # the key torchvision drops on load
    module = build(config)
    result = module.load_state_dict(reference["state_dict"], strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert [key for key, _ in reference["keys"]] == list(module.state_dict())


def test_stochastic_depth_deterministic_cases_match_torchvision() -> None:
    reference = torch.load(FIXTURES / "layers_stochasticdepth.pt", weights_only=False)
    x = reference["input"]
    assert torch.equal(tvexp.stable.StochasticDepth(0.5, "row").eval()(x), reference["eval"])
    assert torch.equal(stochastic_depth(x, 0.0, "row", training=True), reference["p0_row"])
    assert torch.equal(stochastic_depth(x, 1.0, "row", training=True), reference["p1_row"])
    assert torch.equal(stochastic_depth(x, 1.0, "batch", training=True), reference["p1_batch"])
    assert list(tvexp.stable.StochasticDepth(0.1, "row").state_dict()) == reference["keys"]
    assert repr(tvexp.stable.StochasticDepth(0.1, "row")) == reference["repr"]
