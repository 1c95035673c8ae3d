"""LayerNorm2d: values, memory format, validation and its prototype warning."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from tvexp.prototype import LayerNorm2d


@pytest.fixture(params=[1, 2], ids=["1-thread", "2-threads"])
def threads(request: pytest.FixtureRequest):
    """Runs the test with 1 and with 2 intra-op threads (a contiguous input has a one-thread path)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(request.param)
    yield request.param
    torch.set_num_threads(previous)


def _reference(x: torch.Tensor, norm: LayerNorm2d) -> torch.Tensor:
    return F.layer_norm(x.permute(0, 2, 3, 1), (x.shape[1],), norm.weight, norm.bias, norm.eps).permute(0, 3, 1, 2)


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_normalizes_over_channels_and_keeps_the_memory_format(memory_format: torch.memory_format, threads: int) -> None:
    norm = LayerNorm2d(8)
    with torch.no_grad():
        norm.weight.normal_()
        norm.bias.normal_()
    x = torch.randn(2, 8, 5, 7).to(memory_format=memory_format)
    y = norm(x)
    torch.testing.assert_close(y, _reference(x, norm))
    assert y.is_contiguous(memory_format=memory_format)


def test_without_affine_the_output_has_zero_mean_and_unit_variance_per_position() -> None:
    y = LayerNorm2d(16, elementwise_affine=False)(torch.randn(2, 16, 3, 3) * 5 + 2)
    torch.testing.assert_close(y.mean(1), torch.zeros(2, 3, 3), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.var(1, unbiased=False), torch.ones(2, 3, 3), atol=1e-3, rtol=0)


def test_parameter_names_match_torchvision_convnext() -> None:
    assert list(LayerNorm2d(4).state_dict()) == ["weight", "bias"]
    assert list(LayerNorm2d(4, bias=False).state_dict()) == ["weight"]


@pytest.mark.parametrize(
    "kwargs, message", [({"num_channels": 0}, "num_channels"), ({"num_channels": 4, "eps": 0.0}, "eps")]
)
def test_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LayerNorm2d(**kwargs)


@pytest.mark.subprocess
def test_warns_once_as_a_prototype(python_subprocess) -> None:
    result = python_subprocess(
        """
        import warnings
        import tvexp
        from tvexp.prototype import LayerNorm2d
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            LayerNorm2d(4); LayerNorm2d(4)
        print(sum(issubclass(w.category, tvexp.PrototypeWarning) for w in caught))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"


@pytest.mark.parametrize("shape", [(2, 4, 5), (2, 4, 5, 5, 5)])
def test_rejects_input_that_is_not_4d(shape: tuple[int, ...]) -> None:
    layer = LayerNorm2d(4)
    with pytest.raises(ValueError, match=rf"LayerNorm2d expects a 4-D \(N, C, H, W\) input, got {len(shape)}-D"):
        layer(torch.randn(shape))
    with pytest.raises(ValueError, match="expects a 4-D"):
        torch.fx.symbolic_trace(layer)(torch.randn(shape))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("affine", [(True, True), (True, False), (False, False)])
def test_contiguous_input_is_as_accurate_as_f_layer_norm_with_and_without_autograd(
    dtype: torch.dtype, affine: tuple, threads: int
) -> None:
    # A large offset checks that the variance is computed from centred values.
    elementwise_affine, bias = affine
    norm = LayerNorm2d(12, elementwise_affine=elementwise_affine, bias=bias, dtype=dtype)
    if elementwise_affine:
        with torch.no_grad():
            norm.weight.normal_()
            if norm.bias is not None:
                norm.bias.normal_()
    x = torch.randn(3, 12, 5, 6, dtype=dtype) * 0.1 + 1000.0
    with torch.no_grad():
        y = norm(x)
        exact = _reference(x.double(), copy.deepcopy(norm).double())
        permuted = _reference(x, norm)  # F.layer_norm in the input's dtype: the accuracy to match
    assert y.is_contiguous() and y.dtype == dtype
    error, reference_error = (y.double() - exact).abs().max(), (permuted.double() - exact).abs().max()
    slack = 1e-9 if dtype == torch.float64 else 1e-6
    # The contiguous path's batch-norm kernel applies the normalisation as x * (1/std) - mean/std, which
    # loses a little more than layer_norm at an offset of 10^4 standard deviations: over 300 seeds of
    # this float32 case, its error was 1.3-1.6x F.layer_norm's (median), 2.0-2.4x (95th percentile),
    # 4.5x at most (both about ulp(offset) / std); on data with an offset of a few standard
    # deviations, 0.83-1.0x (median) and 2.3x at most.
    factor = 6
    assert error <= factor * reference_error + slack, f"error {error:.2e}, F.layer_norm's {reference_error:.2e}"
    with torch.inference_mode():
        torch.testing.assert_close(norm(x), y)
    # The autograd path (an input that requires grad: without affine parameters nothing else does).
    assert (norm(x.requires_grad_()).detach().double() - exact).abs().max() <= factor * reference_error + slack


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
@pytest.mark.parametrize("parameters", ["same dtype", "float32"])
def test_reduced_precision_inputs_give_f_layer_norm_s_values(dtype: torch.dtype, parameters: str, threads: int) -> None:
    # Half and bfloat16 samples are normalised in float32 and rounded once, as layer_norm does, also
    # when they meet float32 parameters (mixed precision).
    torch.manual_seed(0)
    norm = LayerNorm2d(5)
    with torch.no_grad():
        norm.weight.normal_()
        norm.bias.normal_()
    if parameters == "same dtype":
        norm.to(dtype)
    x = (torch.randn(5, 5, 3, 6) * 3 + 2).to(dtype)
    with torch.no_grad():
        y = norm(x)
        expected = _reference(x, norm)
    assert y.dtype == dtype and y.is_contiguous()
    torch.testing.assert_close(y, expected)  # at most a rounding apart (the float32 values differ in order)
    torch.testing.assert_close(norm(x.requires_grad_()).detach(), expected)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("trainable", ["all", "input only", "parameters only", "weight only"])
def test_gradients_on_contiguous_input_match_f_layer_norm(dtype: torch.dtype, trainable: str, threads: int) -> None:
    norm = LayerNorm2d(6, dtype=dtype)
    with torch.no_grad():
        norm.weight.normal_()
        norm.bias.normal_()
    norm.weight.requires_grad_(trainable in ("all", "parameters only", "weight only"))
    norm.bias.requires_grad_(trainable in ("all", "parameters only"))
    x = torch.randn(3, 6, 4, 5, dtype=dtype, requires_grad=trainable in ("all", "input only"))
    inputs = [t for t in (x, norm.weight, norm.bias) if t.requires_grad]
    y = norm(x)
    grad = torch.randn_like(y)
    ours = torch.autograd.grad(y, inputs, grad)
    expected = torch.autograd.grad(_reference(x, norm), inputs, grad)
    for got, want in zip(ours, expected):
        torch.testing.assert_close(got, want)


def test_gradcheck_and_gradgradcheck_in_float64(threads: int) -> None:
    # The backward of the contiguous path has its own formula; its double backward differentiates
    # the layer_norm formulation (gradient penalties, create_graph=True).
    norm = LayerNorm2d(4, dtype=torch.float64)
    with torch.no_grad():
        norm.weight.normal_()
        norm.bias.normal_()
    x = torch.randn(2, 4, 3, 3, dtype=torch.float64, requires_grad=True)

    def function(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(norm, {"weight": weight, "bias": bias}, (x,))

    inputs = (x, norm.weight, norm.bias)
    assert torch.autograd.gradcheck(function, inputs)
    assert torch.autograd.gradgradcheck(function, inputs)
    # A gradient penalty: the gradient of a function of the input gradient.
    (grad,) = torch.autograd.grad(norm(x).square().sum(), x, create_graph=True)
    (penalty,) = torch.autograd.grad(grad.square().sum(), x)
    x_reference = x.detach().requires_grad_()
    (grad_reference,) = torch.autograd.grad(
        _reference(x_reference, norm).square().sum(), x_reference, create_graph=True
    )
    (penalty_reference,) = torch.autograd.grad(grad_reference.square().sum(), x_reference)
    torch.testing.assert_close(penalty, penalty_reference)


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::torch.jit.TracerWarning")
def test_transforms_traces_and_autocast_see_f_layer_norm_s_results(threads: int) -> None:
    norm = LayerNorm2d(4)
    with torch.no_grad():
        norm.weight.normal_()
        norm.bias.normal_()
    batch = torch.randn(3, 2, 4, 5, 5)
    # functorch transforms and tracing take the layer_norm route; the values are the same.
    torch.testing.assert_close(torch.func.vmap(norm)(batch), torch.stack([norm(sample) for sample in batch]))
    x = batch[0]
    traced = torch.jit.trace(norm, x)
    torch.testing.assert_close(traced(x), norm(x))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y, expected = norm(x), _reference(x, norm)
    assert y.dtype == expected.dtype
    torch.testing.assert_close(y, expected)


def test_odd_sizes_and_empty_batches(threads: int) -> None:
    norm = LayerNorm2d(3)
    for shape in [(0, 3, 4, 4), (2, 3, 1, 1), (1, 3, 7, 1)]:
        x = torch.randn(shape)
        torch.testing.assert_close(norm(x), _reference(x, norm))
        assert norm(x).shape == x.shape


def test_one_thread_takes_the_per_sample_path_and_more_threads_the_layer_norm_route(threads: int) -> None:
    norm = LayerNorm2d(4)
    y = norm(torch.randn(2, 4, 3, 3, requires_grad=True))
    expected = "_SampleLayerNormBackward" if threads == 1 else "CopyBackwards"
    assert type(y.grad_fn).__name__ == expected
