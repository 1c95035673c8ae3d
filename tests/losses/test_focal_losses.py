"""Behaviour of the sigmoid and softmax focal losses beyond the contract."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tvexp.prototype.losses import SigmoidFocalLoss, SoftmaxFocalLoss, softmax_focal_loss
from tvexp.stable.losses import sigmoid_focal_loss


def test_sigmoid_focal_matches_a_numpy_reference() -> None:
    x = np.array([2.0, -1.0, 0.0, 3.0, -4.0])
    t = np.array([1.0, 0.0, 1.0, 0.0, 0.3])
    p = 1 / (1 + np.exp(-x))
    ce = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    p_t = p * t + (1 - p) * (1 - t)
    alpha_t = 0.3 * t + 0.7 * (1 - t)
    expected = alpha_t * ce * (1 - p_t) ** 1.5
    output = sigmoid_focal_loss(torch.from_numpy(x), torch.from_numpy(t), alpha=0.3, gamma=1.5)
    np.testing.assert_allclose(output.numpy(), expected, rtol=1e-12)


def test_sigmoid_focal_without_alpha_and_gamma_is_binary_cross_entropy() -> None:
    x, t = torch.randn(10, dtype=torch.float64), (torch.rand(10) > 0.5).double()
    torch.testing.assert_close(
        sigmoid_focal_loss(x, t, alpha=-1, gamma=0, reduction="mean"), F.binary_cross_entropy_with_logits(x, t)
    )


@pytest.mark.parametrize("alpha", [1.5, -0.5])
def test_sigmoid_focal_rejects_alpha_out_of_range(alpha: float) -> None:
    with pytest.raises(ValueError, match=rf"alpha must be in \[0, 1\], or -1 .*got {alpha}"):
        sigmoid_focal_loss(torch.zeros(2), torch.zeros(2), alpha=alpha)
    with pytest.raises(ValueError, match="alpha must be"):
        SigmoidFocalLoss(alpha=alpha)
    with pytest.raises(ValueError, match="gamma must be a finite non-negative number, got -1"):
        SigmoidFocalLoss(gamma=-1)


def test_sigmoid_focal_accepts_integer_targets() -> None:
    x = torch.randn(6)
    torch.testing.assert_close(
        sigmoid_focal_loss(x, torch.tensor([1, 0, 1, 0, 0, 1])),
        sigmoid_focal_loss(x, torch.tensor([1.0, 0, 1, 0, 0, 1])),
    )


def _class_problem() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 4, 5, generator=generator, dtype=torch.float64)
    target = torch.randint(0, 4, (3, 5), generator=generator)
    target[0, :2] = -100
    return logits, target


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_softmax_focal_with_gamma_0_is_cross_entropy(reduction: str) -> None:
    logits, target = _class_problem()
    torch.testing.assert_close(
        softmax_focal_loss(logits, target, gamma=0.0, reduction=reduction),
        F.cross_entropy(logits, target, reduction=reduction),
    )


def test_softmax_focal_modulates_and_weights_by_class() -> None:
    logits, target = _class_problem()
    alpha = [0.1, 0.2, 0.3, 0.4]
    valid = target != -100
    log_pt = F.log_softmax(logits, 1).gather(1, target.clamp(min=0).unsqueeze(1)).squeeze(1)
    expected = -torch.tensor(alpha, dtype=torch.float64)[target.clamp(min=0)] * (1 - log_pt.exp()) ** 2 * log_pt
    expected = torch.where(valid, expected, torch.zeros_like(expected))
    torch.testing.assert_close(softmax_focal_loss(logits, target, alpha=alpha, reduction="none"), expected)
    torch.testing.assert_close(softmax_focal_loss(logits, target, alpha=0.5), 0.5 * softmax_focal_loss(logits, target))
    torch.testing.assert_close(softmax_focal_loss(logits, target, alpha=alpha), expected.sum() / valid.sum())


def test_softmax_focal_custom_ignore_index_and_all_ignored() -> None:
    logits, target = _class_problem()
    target = target.clamp(min=0)
    masked = softmax_focal_loss(logits, target, ignore_index=2, reduction="none")
    assert (masked[target == 2] == 0).all() and (masked[target != 2] > 0).all()
    leaf = logits.clone().requires_grad_()
    output = softmax_focal_loss(leaf, torch.full_like(target, -100))
    assert output.item() == 0.0
    output.backward()
    assert torch.equal(leaf.grad, torch.zeros_like(leaf))


def test_softmax_focal_rejects_bad_arguments() -> None:
    logits, target = _class_problem()
    with pytest.raises(ValueError, match=r"one non-negative weight per class \(4\): got 2 weights"):
        softmax_focal_loss(logits, target, alpha=[1.0, 1.0])
    with pytest.raises(ValueError, match="alpha must be a finite non-negative number, got -1"):
        SoftmaxFocalLoss(alpha=-1.0)
    with pytest.raises(ValueError, match="target must hold integer class indices, got dtype torch.float64"):
        softmax_focal_loss(logits, target.double())
    with pytest.raises(ValueError, match=r"expected logits \(N, C, ...\) and class indices \(N, ...\)"):
        softmax_focal_loss(logits, target[0])


def test_softmax_focal_module_keeps_weights_out_of_the_state_dict() -> None:
    module = SoftmaxFocalLoss(alpha=(0.1, 0.2, 0.3, 0.4))
    assert module.state_dict() == {}
    assert module.to(torch.float64).class_weights.dtype == torch.float64
    assert "alpha=[0.1" in repr(module)
    logits, target = _class_problem()
    torch.testing.assert_close(module(logits, target), softmax_focal_loss(logits, target, alpha=[0.1, 0.2, 0.3, 0.4]))


@pytest.mark.parametrize("target_shape", [(4, 5, 4), (1, 5, 5)])
def test_softmax_focal_rejects_a_target_that_gather_would_accept(target_shape: tuple[int, ...]) -> None:
    # gather takes an index smaller than its input, so these used to return a value.
    with pytest.raises(ValueError, match=r"target must have the shape of logits without dimension 1 \(\[4, 5, 5\]\)"):
        softmax_focal_loss(torch.randn(4, 3, 5, 5), torch.zeros(target_shape, dtype=torch.long))


def test_softmax_focal_rejects_tensor_alpha_and_non_int_ignore_index() -> None:
    logits, target = torch.randn(2, 3), torch.tensor([0, 2])
    with pytest.raises(TypeError, match=r"alpha must be None, a number or a list .* got a Tensor; pass alpha.tolist"):
        softmax_focal_loss(logits, target, alpha=torch.ones(3))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"alpha must be None, a number or a list .* got a Tensor"):
        SoftmaxFocalLoss(alpha=torch.ones(3))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"ignore_index must be an int, got 1.5 of type float"):
        SoftmaxFocalLoss(ignore_index=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"ignore_index must be an int, got 'a'"):
        softmax_focal_loss(logits, target, ignore_index="a")  # type: ignore[arg-type]


def test_softmax_focal_checks_the_number_of_class_weights_in_both_forms() -> None:
    logits, target = _class_problem()  # 4 classes
    for alpha in ([1.0, 1.0], [1.0] * 5):  # too few used to raise IndexError, too many ran silently
        with pytest.raises(ValueError, match=rf"per class \(4\): got {len(alpha)} weights"):
            softmax_focal_loss(logits, target, alpha=alpha)
        with pytest.raises(ValueError, match=rf"per class \(4\): got {len(alpha)} weights"):
            SoftmaxFocalLoss(alpha=alpha)(logits, target)


def test_softmax_focal_accepts_a_tuple_alpha_in_both_forms() -> None:
    logits, target = _class_problem()
    weights = (0.1, 0.2, 0.3, 0.4)
    expected = softmax_focal_loss(logits, target, alpha=list(weights))
    torch.testing.assert_close(softmax_focal_loss(logits, target, alpha=weights), expected)
    torch.testing.assert_close(SoftmaxFocalLoss(alpha=weights)(logits, target), expected)


@pytest.mark.parametrize("alpha", [[1.0, float("nan"), 1.0, 1.0], [1.0, float("inf"), 1.0, 1.0], float("nan")])
def test_softmax_focal_rejects_non_finite_alpha_in_both_forms(alpha: object) -> None:
    logits, target = _class_problem()
    with pytest.raises(ValueError, match="alpha"):
        softmax_focal_loss(logits, target, alpha=alpha)
    with pytest.raises(ValueError, match="alpha"):
        SoftmaxFocalLoss(alpha=alpha)


@pytest.mark.parametrize("gamma", [-1.0, float("nan"), float("inf")])
def test_sigmoid_focal_function_and_module_reject_the_same_gamma(gamma: float) -> None:
    with pytest.raises(ValueError, match="gamma must be a finite non-negative number"):
        sigmoid_focal_loss(torch.zeros(2), torch.zeros(2), gamma=gamma)
    with pytest.raises(ValueError, match="gamma must be a finite non-negative number"):
        SigmoidFocalLoss(gamma=gamma)


def test_sigmoid_focal_rejects_nan_alpha_with_torchvisions_words() -> None:
    # NaN used to compare like -1 (no weighting); torchvision raises with this text.
    with pytest.raises(ValueError, match=r"Invalid alpha value: nan\. alpha must be in the range \[0,1\] or -1"):
        sigmoid_focal_loss(torch.zeros(2), torch.zeros(2), alpha=float("nan"))
    with pytest.raises(ValueError, match="Invalid alpha value: nan"):
        SigmoidFocalLoss(alpha=float("nan"))
    with pytest.raises(TypeError, match="alpha must be a number"):
        sigmoid_focal_loss(torch.zeros(2), torch.zeros(2), alpha="0.25")
