"""SwinTransformerBlock, PatchMerging and PatchEmbedding3d: behaviour beyond the parity fixtures, dynamic export."""

from __future__ import annotations

import pytest
import torch
from torch.export import Dim

from tvexp.prototype import PatchEmbedding3d, PatchMerging, SwinTransformerBlock


def test_v1_is_pre_norm_and_v2_post_norm() -> None:
    x = torch.randn(2, 6, 5, 8)
    v1 = SwinTransformerBlock(8, 2, [4, 4], [2, 2]).eval()
    hidden = x + v1.attn(v1.norm1(x))
    torch.testing.assert_close(v1(x), hidden + v1.mlp(v1.norm2(hidden)))
    v2 = SwinTransformerBlock(8, 2, [4, 4], [2, 2], version=2).eval()
    hidden = x + v2.norm1(v2.attn(x))
    torch.testing.assert_close(v2(x), hidden + v2.norm2(v2.mlp(hidden)))


def test_block_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="mlp_ratio must give an MLP at least 1 wide"):
        SwinTransformerBlock(8, 2, [4, 4], [2, 2], mlp_ratio=0.01)
    with pytest.raises(ValueError, match="stochastic_depth_prob must be a probability"):
        SwinTransformerBlock(8, 2, [4, 4], [2, 2], stochastic_depth_prob=1.5)
    with pytest.raises(TypeError, match="norm_layer"):
        SwinTransformerBlock(8, 2, [4, 4], [2, 2], norm_layer=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"expects a 5-D channels-last input \(N, T, H, W, 8\)"):
        SwinTransformerBlock(8, 2, [2, 4, 4], [1, 2, 2])(torch.randn(2, 4, 4, 8))


def test_patch_merging_orders_the_four_neighbours_as_torchvision() -> None:
    merging = PatchMerging(1, norm_layer=torch.nn.Identity)
    x = torch.arange(16.0).view(1, 4, 4, 1)
    with torch.no_grad():
        merging.reduction.weight.copy_(torch.eye(2, 4))  # keep the first two of the four features
    # (0, 0) then (1, 0): the top-left token and the one below it.
    torch.testing.assert_close(merging(x)[0, 0, 0], torch.tensor([0.0, 4.0]))
    assert PatchMerging(4)(torch.randn(2, 3, 5, 7, 4)).shape == (2, 3, 3, 4, 8)


def test_patch_embedding_pads_to_whole_patches_and_omits_the_norm_by_default() -> None:
    embedding = PatchEmbedding3d([2, 4, 4], 3, 8)
    assert isinstance(embedding.norm, torch.nn.Identity)
    assert embedding(torch.randn(1, 3, 3, 5, 8)).shape == (1, 2, 2, 2, 8)
    with pytest.raises(ValueError, match="expects 3 channels"):
        embedding(torch.randn(1, 4, 2, 4, 4))
    with pytest.raises(TypeError, match="patch_size must be a list or tuple of 3"):
        PatchEmbedding3d([4, 4])


@pytest.mark.slow
@pytest.mark.parametrize("version", [1, 2])
def test_block_exports_once_with_dynamic_batch_height_and_width(version: int) -> None:
    # torchvision's functional branches in Python on the input size (padding, shift, mask), so its
    # exported program is specialised to one size. Here padding, shift and mask are arithmetic on the
    # sizes, partition/merge are gathers, and under export the windows join the batch (no dimension is the
    # window count, which torch's view checks would ask about): one program serves every size.
    block = SwinTransformerBlock(8, 2, [4, 4], [2, 2], version=version).eval()
    dims = {0: Dim("batch", min=1, max=64), 1: Dim("height", min=1, max=512), 2: Dim("width", min=1, max=512)}
    program = torch.export.export(block, (torch.randn(2, 9, 10, 8),), dynamic_shapes=(dims,)).module()
    # padded both ways, whole windows, one window high (its shift off), padded one way, and maps that are
    # a single window in total (padded, exact, one token)
    shapes = [(2, 9, 10, 8), (1, 16, 16, 8), (2, 3, 9, 8), (3, 13, 8, 8), (1, 3, 4, 8), (2, 4, 4, 8), (1, 1, 1, 8)]
    for shape in shapes:
        x = torch.randn(shape)
        with torch.no_grad():
            torch.testing.assert_close(program(x), block(x), rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_video_block_exports_once_with_dynamic_depth_height_and_width() -> None:
    # The video block also cuts a window that covers a dimension to its size: min(size, window), a
    # symbolic Min that export reasons about quickly (the earlier integer formula did not finish in 400 s).
    torch.manual_seed(0)
    block = SwinTransformerBlock(16, 2, [2, 4, 4], [1, 2, 2]).eval()
    dims = {
        0: Dim("batch", min=1, max=64),
        1: Dim("depth", min=1, max=64),
        2: Dim("height", min=1, max=256),
        3: Dim("width", min=1, max=256),
    }
    program = torch.export.export(block, (torch.randn(2, 3, 9, 10, 16),), dynamic_shapes=(dims,)).module()
    # padded in all three, whole windows, one frame (window cut to 1), three rows (window cut to 3), depth
    # and height exactly one window, one window in total (exact, and with all three windows cut)
    shapes = [(2, 3, 9, 10, 16), (1, 4, 8, 8, 16), (1, 1, 9, 10, 16), (2, 3, 3, 10, 16), (1, 2, 4, 12, 16)]
    for shape in [*shapes, (1, 2, 4, 4, 16), (2, 1, 3, 2, 16), (1, 3, 1, 1, 16)]:  # ... and a 1 x 1 plane
        x = torch.randn(shape)
        with torch.no_grad():
            torch.testing.assert_close(program(x), block(x), rtol=1e-5, atol=1e-5)
    # Not served: a video of one token (T = H = W = 1). Splitting the (N * tokens, C) projection back into
    # (N, tokens, C) compares N with N * tokens, and export keeps the answer (tokens is not 1) as a guard.
    with pytest.raises(AssertionError, match=r"Guard failed: x\.size\(\)\[0\] \* .* != x\.size\(\)\[0\]"):
        program(torch.randn(1, 1, 1, 1, 16))
