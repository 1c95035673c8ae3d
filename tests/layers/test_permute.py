"""Permute: torchvision's behaviour, dims checked at construction."""

from __future__ import annotations

import pytest
import torch

from tvexp.stable import Permute


def test_permutes_like_torch_permute_including_negative_dims() -> None:
    x = torch.randn(2, 3, 4, 5)
    assert torch.equal(Permute([0, 2, 3, 1])(x), x.permute(0, 2, 3, 1))
    assert torch.equal(Permute([0, -1, 1, 2])(x), x.permute(0, 3, 1, 2))
    assert repr(Permute([0, 2, 3, 1])) == "Permute(dims=[0, 2, 3, 1])"


@pytest.mark.parametrize(
    ("dims", "error"),
    [
        ([0, 0, 1], ValueError),
        ([0, 1, 3], ValueError),
        ([0, -1, 2], ValueError),
        ("012", TypeError),
        ([0, 1.0], TypeError),
    ],
)
def test_dims_that_are_not_a_permutation_are_rejected(dims: object, error: type) -> None:
    with pytest.raises(error, match="dims must be"):
        Permute(dims)  # type: ignore[arg-type]
