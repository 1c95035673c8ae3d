"""Behaviour only the feature pyramid, ASPP and the LR-ASPP head have: their input and argument checks,
extra blocks that leave their inputs alone, and any module with the extra-block contract."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import Tensor, nn

import tvexp.prototype as tvp
from tvexp._api.validation import InvalidInputError


def _levels(*channels: int, size: int = 8) -> OrderedDict[str, Tensor]:
    return OrderedDict((f"c{i}", torch.randn(1, c, size >> i, size >> i)) for i, c in enumerate(channels))


def test_fpn_rejects_another_number_of_levels_or_channels_naming_the_input() -> None:
    fpn = tvp.FeaturePyramidNetwork([4, 8], 6)
    with pytest.raises(InvalidInputError, match=r"expects 2 feature maps .* got 3 \(keys \['c0', 'c1', 'c2'\]\)"):
        fpn(_levels(4, 8, 8))
    with pytest.raises(InvalidInputError, match="expects 8 channels in dimension 1 of its input, got 4"):
        fpn(_levels(4, 4))
    with pytest.raises(InvalidInputError, match="4-D input"):
        fpn(OrderedDict(a=torch.randn(4, 8, 8), b=torch.randn(8, 4, 4)))


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ([], ValueError, r"in_channels_list must be a non-empty list of positive ints, got \[\]"),
        ([4, 0], ValueError, r"in_channels_list\[1\] must be a positive int, got 0"),
        ("48", TypeError, "in_channels_list must be a non-empty list"),
        (4, TypeError, "in_channels_list must be a non-empty list"),
        ([4, 2.5], TypeError, r"in_channels_list\[1\] must be a positive int"),
    ],
)
def test_fpn_checks_in_channels_list(value: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        tvp.FeaturePyramidNetwork(value, 8)  # type: ignore[arg-type]


def test_fpn_takes_numpy_channel_counts_and_torchvision_style_extra_blocks() -> None:
    class DoubleLast(nn.Module):  # torchvision's ExtraFPNBlock contract, without its base class
        def forward(self, results: list[Tensor], x: list[Tensor], names: list[str]) -> tuple[list[Tensor], list[str]]:
            return results + [results[-1] * 2], names + ["double"]

    fpn = tvp.FeaturePyramidNetwork((np.int64(4), np.int32(8)), np.int64(6), extra_blocks=DoubleLast())
    assert fpn.in_channels_list == [4, 8] and type(fpn.in_channels_list[0]) is int
    out = fpn(_levels(4, 8))
    assert list(out) == ["c0", "c1", "double"]
    torch.testing.assert_close(out["double"], 2 * out["c1"])
    with pytest.raises(TypeError, match="extra_blocks must be an nn.Module instance"):
        tvp.FeaturePyramidNetwork([4], 6, extra_blocks=tvp.LastLevelMaxPool)  # type: ignore[arg-type]


@pytest.mark.parametrize("block", [tvp.LastLevelMaxPool(), tvp.LastLevelP6P7(4, 6), tvp.LastLevelP6P7(6, 6)])
def test_extra_blocks_leave_their_input_lists_unchanged(block: nn.Module) -> None:
    results, features, names = [torch.randn(1, 6, 8, 8)], [torch.randn(1, 4, 8, 8)], ["p5"]
    extended, extended_names = block(results, features, names)
    assert len(results) == 1 and names == ["p5"], "the block appended to the caller's lists"
    assert extended[0] is results[0] and extended_names[0] == "p5" and len(extended) == len(extended_names) > 1


def test_p6p7_reads_p5_when_the_widths_agree_and_c5_otherwise() -> None:
    from_p5, from_c5 = tvp.LastLevelP6P7(6, 6), tvp.LastLevelP6P7(4, 6)
    assert from_p5.use_P5 and not from_c5.use_P5
    p5, c5 = torch.randn(1, 6, 8, 8), torch.randn(1, 4, 8, 8)
    torch.testing.assert_close(from_p5([p5], [c5], ["p5"])[0][1], from_p5.p6(p5))
    torch.testing.assert_close(from_c5([p5], [c5], ["p5"])[0][1], from_c5.p6(c5))


def test_fpn_init_is_torchvisions_and_leaves_extra_blocks_alone() -> None:
    torch.manual_seed(0)
    fpn = tvp.FeaturePyramidNetwork([4, 8], 6, extra_blocks=tvp.LastLevelP6P7(6, 6))
    for blocks in (fpn.inner_blocks, fpn.layer_blocks):
        for block in blocks:
            assert torch.count_nonzero(block[0].bias) == 0
            fan_in = block[0].weight[0].numel()
            assert block[0].weight.abs().max() <= (3.0 / fan_in) ** 0.5  # kaiming_uniform with a=1
    assert torch.count_nonzero(fpn.extra_blocks.p6.bias) == 0
    normed = tvp.FeaturePyramidNetwork([4], 6, norm_layer=nn.BatchNorm2d)
    assert normed.inner_blocks[0][0].bias is None and isinstance(normed.inner_blocks[0][1], nn.BatchNorm2d)


def test_aspp_checks_its_rates_and_keeps_torchvisions_layout() -> None:
    with pytest.raises(TypeError, match=r"atrous_rates must be a sequence of positive ints .* got 12"):
        tvp.ASPP(8, 12)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"atrous_rates\[1\] must be a positive int, got -2"):
        tvp.ASPP(8, (1, -2))
    aspp = tvp.ASPP(8, [2, 3], 4)
    assert [m.dilation for m in (aspp.convs[1][0], aspp.convs[2][0])] == [(2, 2), (3, 3)]
    assert {key.rsplit(".", 1)[0] for key in aspp.state_dict() if key.startswith("convs.3")} == {
        "convs.3.1",
        "convs.3.2",
    }
    assert isinstance(aspp.project[3], nn.Dropout) and aspp.project[3].p == 0.5


def test_lraspp_head_names_missing_levels() -> None:
    head = tvp.LRASPPHead(4, 8, 3, 6)
    with pytest.raises(InvalidInputError, match=r"keys 'low' and 'high', got keys \['low'\]"):
        head({"low": torch.randn(1, 4, 8, 8)})
    with pytest.raises(InvalidInputError, match="expects 8 channels"):
        head({"low": torch.randn(1, 4, 8, 8), "high": torch.randn(1, 4, 4, 4)})
