"""StochasticDepth: torchvision's distribution ('row' per sample, 'batch' shared), eager validation, rate schedules.

The statistical tests use seeded draws and tolerances of at least six standard errors, so they
are deterministic and far from their thresholds.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.fx

from tvexp.prototype import stochastic_depth_rates
from tvexp.stable import StochasticDepth
from tvexp.stable.functional import stochastic_depth


def test_row_mode_drops_whole_samples_at_rate_p_and_rescales_the_rest() -> None:
    torch.manual_seed(0)
    p, samples = 0.3, 20000
    x = torch.rand(samples, 3, 2) + 1.0
    out = StochasticDepth(p, "row").train()(x)
    dropped = (out == 0).all(dim=(1, 2))
    kept = ~dropped
    torch.testing.assert_close(out[kept], x[kept] / (1 - p))  # every kept sample entirely, scaled by 1/(1-p)
    assert ((out == 0).any(dim=(1, 2)) == dropped).all()  # no partially dropped sample
    assert abs(dropped.float().mean().item() - p) < 6 * math.sqrt(p * (1 - p) / samples)


def test_row_mode_keeps_the_expectation() -> None:
    torch.manual_seed(1)
    x = torch.ones(50000, 1)
    out = stochastic_depth(x, 0.2, "row", training=True)
    standard_error = math.sqrt(0.2 / 0.8 / 50000)  # std of x * Bernoulli(0.8) / 0.8 is sqrt(p / (1 - p))
    assert abs(out.mean().item() - 1.0) < 6 * standard_error


def test_batch_mode_drops_the_whole_input_at_rate_p() -> None:
    torch.manual_seed(2)
    p, draws = 0.25, 4000
    x = torch.rand(4, 3) + 1.0
    dropped = 0
    for _ in range(draws):
        out = stochastic_depth(x, p, "batch", training=True)
        if (out == 0).all():
            dropped += 1
        else:
            torch.testing.assert_close(out, x / (1 - p))
    assert abs(dropped / draws - p) < 6 * math.sqrt(p * (1 - p) / draws)


def test_identity_cases_and_gradient() -> None:
    x = torch.randn(4, 3)
    assert StochasticDepth(0.9, "row").eval()(x) is x
    assert stochastic_depth(x, 0.0, "batch") is x
    assert torch.equal(stochastic_depth(x, 1.0, "row"), torch.zeros_like(x))
    torch.manual_seed(3)
    leaf = torch.ones(64, 2, requires_grad=True)
    out = stochastic_depth(leaf, 0.5, "row")
    out.sum().backward()
    torch.testing.assert_close(leaf.grad, out.detach())  # d(out)/dx is the (scaled) mask itself


@pytest.mark.parametrize(
    ("p", "mode", "message"),
    [
        (1.5, "row", r"p must be a probability in \[0, 1\], got 1.5"),
        (-0.1, "row", "got -0.1"),
        (float("nan"), "row", "got nan"),
        (0.1, "rows", "mode must be 'row' or 'batch', got 'rows'"),
    ],
)
def test_module_validates_at_construction(p: float, mode: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StochasticDepth(p, mode)


def test_functional_validates_in_eval_too_and_when_scripted() -> None:
    x = torch.randn(2, 2)
    with pytest.raises(ValueError, match=r"p must be a probability in \[0, 1\]"):
        stochastic_depth(x, 2.0, "row", training=False)
    with pytest.raises(ValueError, match="mode has to be either 'batch' or 'row', but got foo .*mode must be"):
        stochastic_depth(x, 0.1, "foo")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        scripted = torch.jit.script(stochastic_depth)
    with pytest.raises(Exception, match="drop probability has to be between 0 and 1, but got 2"):
        scripted(x, 2.0, "row", False)


def test_repr_and_fx_leaf() -> None:
    module = StochasticDepth(0.1, "batch")
    assert repr(module) == "StochasticDepth(p=0.1, mode=batch)"
    graph = torch.fx.symbolic_trace(module).graph
    assert any(node.op == "call_function" and node.target is stochastic_depth for node in graph.nodes)


def test_rates_match_the_model_builders_formulas() -> None:
    # ConvNeXt / Swin: rate * i / (n - 1); EfficientNet: rate * i / n.
    assert stochastic_depth_rates(0.4, [3, 3, 9, 3]) == [0.4 * i / 17.0 for i in range(18)]
    assert stochastic_depth_rates(0.2, 16, endpoint=False) == [0.2 * float(i) / 16 for i in range(16)]
    assert stochastic_depth_rates(0.3, [2, 0, 1], per_stage=True) == [0.0, 0.0, 0.3]
    assert stochastic_depth_rates(0.3, [1, 2, 1], per_stage=True, endpoint=False) == pytest.approx([0.0, 0.1, 0.1, 0.2])
    assert stochastic_depth_rates(0.5, 1) == [0.0]
    assert all(type(rate) is float for rate in stochastic_depth_rates(1, 3))


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        ((1.5, 3), {}, ValueError, "drop_path_rate must be a probability"),
        ((0.1, 0), {}, ValueError, "depths must contain at least one block"),
        ((0.1, [2, -1]), {}, ValueError, "depths must be non-negative ints"),
        ((0.1, 4), {"per_stage": True}, ValueError, "per_stage=True needs depths per stage"),
        ((0.1, "4"), {}, TypeError, "depths must be an int or a sequence of ints"),
    ],
)
def test_rates_validate_their_arguments(args: tuple, kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        stochastic_depth_rates(*args, **kwargs)


def test_functional_rejects_a_non_number_p_with_a_clear_type_error() -> None:
    with pytest.raises(TypeError, match=r"p must be a probability in \[0, 1\], got '0.5' of type str"):
        stochastic_depth(torch.ones(2, 3), "0.5", "row")  # type: ignore[arg-type]


def test_torchvision_messages_and_tensor_p() -> None:
    # torchvision's texts lead (its tests match on them), the argument's name follows.
    with pytest.raises(ValueError, match=r"drop probability has to be between 0 and 1, but got 1.5 \(p must be"):
        StochasticDepth(1.5, "row")
    with pytest.raises(ValueError, match="drop probability has to be between 0 and 1, but got nan"):
        stochastic_depth(torch.ones(2), float("nan"), "row")
    # A 0-d tensor p works as in torchvision (converted to a float).
    layer = StochasticDepth(torch.tensor(0.25), "row")
    assert isinstance(layer.p, float) and layer.p == 0.25
    assert layer(torch.ones(4, 2)).shape == (4, 2)
    with pytest.raises(TypeError, match="training must be True or False"):
        stochastic_depth(torch.ones(2), 0.5, "row", training="False")
