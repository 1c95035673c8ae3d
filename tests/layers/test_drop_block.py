"""DropBlock2d/3d: validation, shapes, block structure, normalisation, statistics and gradients.

Statistical tests draw from seeded generators, so they are deterministic; their tolerances are
several standard errors wide so that a change of seed would not make them fail either.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from tvexp._layers import drop_block as impl
from tvexp.stable import DropBlock2d, DropBlock3d
from tvexp.stable.functional import drop_block2d, drop_block3d


def dense(input, p, block, shared=False, eps=1e-6):  # type: ignore[no-untyped-def]
    """The static-shape path (the one scripting, tracing, exporting and compiling use)."""
    spatial = input.shape[2:]
    block = [min(b, s) for b, s in zip(block, spatial)]
    valid = [s - b + 1 for b, s in zip(block, spatial)]
    gamma = p * math.prod(spatial) / (math.prod(block) * math.prod(valid))
    return impl._dense_drop_block(input, gamma, block, valid, False, eps, shared)


def is_union_of_blocks(dropped: torch.Tensor, block: list[int]) -> bool:
    """Whether a boolean (N, C, *spatial) mask is a non-empty union of whole blocks inside the map.

    An empty mask does not count: a layer that drops nothing must not pass a structure test.
    """
    if not bool(dropped.any()):
        return False
    pool = F.max_pool2d if len(block) == 2 else F.max_pool3d
    as_float = dropped.float()
    # Erosion: positions whose block lies entirely inside the mask (and inside the map).
    inside = -pool(-as_float, block, stride=1)
    padding = []
    for size in reversed(block):
        padding += [size - 1, size - 1]
    grown = pool(F.pad(inside, padding), block, stride=1)
    return torch.equal(grown.bool(), dropped)


def expected_drop_fraction(spatial: list[int], block: list[int], p: float) -> float:
    """Exact expected fraction of dropped elements under independent seeds at the valid positions."""
    block = [min(b, s) for b, s in zip(block, spatial)]
    valid = [s - b + 1 for b, s in zip(block, spatial)]
    gamma = p * math.prod(spatial) / (math.prod(block) * math.prod(valid))
    total = 0.0
    # Along each axis, the number of valid seeds whose block covers coordinate x.
    covers = []
    for extent, size, positions in zip(spatial, block, valid):
        covers.append([min(x, positions - 1) - max(0, x - size + 1) + 1 for x in range(extent)])
    grids = torch.meshgrid(*[torch.tensor(c, dtype=torch.float64) for c in covers], indexing="ij")
    count = grids[0]
    for grid in grids[1:]:
        count = count * grid
    total = (1 - (1 - gamma) ** count).mean().item()
    return total


# --------------------------------------------------------------------------- construction


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_invalid_p_is_rejected_at_construction(p: object) -> None:
    with pytest.raises(ValueError, match=r"p must be a probability in \[0, 1\]"):
        DropBlock2d(p, 3)  # type: ignore[arg-type]


@pytest.mark.parametrize("p", ["0.1", True, None])
def test_non_number_p_is_a_type_error_as_in_stochastic_depth(p: object) -> None:
    with pytest.raises(TypeError, match=r"p must be a probability in \[0, 1\], got .* of type"):
        DropBlock2d(p, 3)  # type: ignore[arg-type]


@pytest.mark.parametrize("eps", ["x", True])
def test_non_number_eps_is_a_type_error(eps: object) -> None:
    with pytest.raises(TypeError, match=r"eps must be a finite non-negative number, got .* of type"):
        DropBlock2d(0.1, 3, eps=eps)  # type: ignore[arg-type]


@pytest.mark.parametrize("kwargs", [{"inplace": "x"}, {"inplace": 1}, {"shared_mask": "yes"}])
def test_flags_must_be_bools(kwargs: dict) -> None:
    name = next(iter(kwargs))
    with pytest.raises(TypeError, match=rf"{name} must be True or False, got"):
        DropBlock2d(0.1, 3, **kwargs)


@pytest.mark.parametrize("block_size", [0, -3, (3, 0)])
def test_non_positive_block_size_is_rejected(block_size: object) -> None:
    with pytest.raises(ValueError, match="block_size must be positive"):
        DropBlock2d(0.1, block_size)  # type: ignore[arg-type]


@pytest.mark.parametrize("block_size", [2.5, "3", (3, 3, 3), True, None])
def test_malformed_block_size_is_rejected(block_size: object) -> None:
    with pytest.raises(TypeError, match="block_size must be an int or a tuple of 2 ints"):
        DropBlock2d(0.1, block_size)  # type: ignore[arg-type]


def test_block_size_tuple_length_matches_dimensions_in_3d() -> None:
    with pytest.raises(TypeError, match="tuple of 3 ints"):
        DropBlock3d(0.1, (3, 3))  # type: ignore[arg-type]


def test_negative_eps_is_rejected() -> None:
    with pytest.raises(ValueError, match="eps must be a finite non-negative number"):
        DropBlock2d(0.1, 3, eps=-1.0)


def test_torchvision_call_forms_work() -> None:
    layer = DropBlock2d(0.1, 3, False, 1e-6, device="cpu", dtype=torch.float32)
    assert (layer.p, layer.block_size, layer.inplace, layer.eps) == (0.1, 3, False, 1e-6)
    assert isinstance(DropBlock3d(0.1, 3), DropBlock2d)  # as in torchvision
    x = torch.randn(2, 3, 8, 8)
    assert drop_block2d(x, 0.1, 3, False, 1e-6, True).shape == x.shape
    assert drop_block3d(torch.randn(1, 2, 4, 4, 4), 0.1, 3, False, 1e-6, True).shape == (1, 2, 4, 4, 4)


def test_repr_names_hyperparameters() -> None:
    assert repr(DropBlock2d(0.1, 3)) == "DropBlock2d(p=0.1, block_size=3, inplace=False)"
    assert (
        repr(DropBlock3d(0.2, (1, 2, 3), eps=0.01))
        == "DropBlock3d(p=0.2, block_size=(1, 2, 3), inplace=False, eps=0.01)"
    )
    assert "shared_mask=True" in repr(DropBlock2d(0.1, 3, shared_mask=True))


def test_functional_rejects_wrong_rank_and_p() -> None:
    with pytest.raises(ValueError, match="input must have 4 dimensions"):
        drop_block2d(torch.zeros(2, 3, 4), 0.1, 3)
    with pytest.raises(ValueError, match="input must have 5 dimensions"):
        drop_block3d(torch.zeros(2, 3, 4, 4), 0.1, 3)
    with pytest.raises(ValueError, match="p must be a probability"):
        drop_block2d(torch.zeros(2, 3, 4, 4), 1.5, 3)


# --------------------------------------------------------------------------- semantics


def test_eval_mode_and_zero_p_return_the_input() -> None:
    x = torch.randn(2, 3, 8, 8)
    assert DropBlock2d(0.5, 3).eval()(x) is x
    assert DropBlock2d(0.0, 3)(x) is x
    assert drop_block2d(x, 0.5, 3, training=False) is x


@pytest.mark.parametrize("block_size", [1, 2, 3, 4, 7, (2, 5), (5, 2), 20])
@pytest.mark.parametrize("path", ["sparse", "dense"])
def test_blocks_of_any_size_keep_the_shape_and_lie_inside_the_map(block_size, path) -> None:  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    x = torch.ones(4, 5, 9, 11)
    block = [block_size] * 2 if isinstance(block_size, int) else list(block_size)
    out = drop_block2d(x, 0.3, block_size) if path == "sparse" else dense(x, 0.3, block)
    assert out.shape == x.shape
    dropped = out == 0
    assert dropped.any()
    assert is_union_of_blocks(dropped, [min(b, s) for b, s in zip(block, (9, 11))])


@pytest.mark.parametrize("path", ["sparse", "dense"])
def test_3d_blocks_are_whole_cuboids(path: str) -> None:
    torch.manual_seed(1)
    x = torch.ones(2, 3, 6, 7, 8)
    out = drop_block3d(x, 0.3, (2, 3, 4)) if path == "sparse" else dense(x, 0.3, [2, 3, 4])
    assert out.shape == x.shape
    assert is_union_of_blocks(out == 0, [2, 3, 4])


@pytest.mark.parametrize("path", ["sparse", "dense"])
def test_kept_values_are_scaled_by_numel_over_kept(path: str) -> None:
    torch.manual_seed(2)
    x = torch.ones(3, 4, 12, 12)
    out = drop_block2d(x, 0.2, 3) if path == "sparse" else dense(x, 0.2, [3, 3])
    kept = int((out != 0).sum())
    scale = x.numel() / (1e-6 + kept)
    torch.testing.assert_close(out[out != 0], torch.full((kept,), scale))


@pytest.mark.parametrize("path", ["sparse", "dense"])
def test_masks_are_independent_per_channel_by_default_and_shared_on_request(path: str) -> None:
    torch.manual_seed(3)
    x = torch.ones(2, 6, 16, 16)
    if path == "sparse":
        per_channel = drop_block2d(x, 0.2, 3)
        shared = DropBlock2d(0.2, 3, shared_mask=True)(x)
    else:
        per_channel, shared = dense(x, 0.2, [3, 3]), dense(x, 0.2, [3, 3], shared=True)
    assert not torch.equal(per_channel[:, 0] == 0, per_channel[:, 1] == 0)
    assert torch.equal((shared == 0), (shared[:, :1] == 0).expand_as(shared))
    assert not torch.equal(shared[0] == 0, shared[1] == 0)
    kept = int((shared != 0).sum())
    torch.testing.assert_close(shared[shared != 0], torch.full((kept,), x.numel() / (1e-6 + kept)))


@pytest.mark.parametrize(
    "spatial, block, p",
    [([56, 56], [7, 7], 0.1), ([9, 11], [2, 5], 0.3), ([12, 12], [4, 4], 0.5), ([5, 6, 7], [2, 3, 3], 0.2)],
)
@pytest.mark.parametrize("path", ["sparse", "dense"])
def test_drop_fraction_matches_the_exact_expectation(spatial, block, p, path) -> None:  # type: ignore[no-untyped-def]
    generator_seed = 1234
    torch.manual_seed(generator_seed)
    x = torch.ones([8, 16] + spatial)
    functional = drop_block2d if len(spatial) == 2 else drop_block3d
    fractions = []
    for _ in range(20):
        out = functional(x, p, tuple(block)) if path == "sparse" else dense(x, p, block)
        fractions.append((out == 0).double().mean().item())
    observed = torch.tensor(fractions)
    expected = expected_drop_fraction(spatial, block, p)
    # Seeds are independent across 8*16*20 planes; 8 standard errors of the mean (at least 0.003).
    tolerance = max(8 * observed.std().item() / math.sqrt(len(fractions)), 0.003)
    assert abs(observed.mean().item() - expected) < tolerance, (observed.mean().item(), expected)


def test_sparse_and_dense_paths_have_the_same_per_position_drop_rate() -> None:
    torch.manual_seed(5)
    x = torch.ones(32, 32, 10, 10)
    sparse = torch.stack([(drop_block2d(x, 0.3, (2, 4)) == 0).double().mean((0, 1)) for _ in range(10)]).mean(0)
    dense_rate = torch.stack([(dense(x, 0.3, [2, 4]) == 0).double().mean((0, 1)) for _ in range(10)]).mean(0)
    # 10240 planes per position: the standard error of a rate is below 0.005.
    assert (sparse - dense_rate).abs().max() < 0.03
    # Blocks lie inside the map, so corners are dropped less often than the centre (as in torchvision).
    assert sparse[0, 0] < sparse[5, 5]


# --------------------------------------------------------------------------- sparse-path internals


@pytest.mark.parametrize("draws", [None, 3])
def test_seed_positions_are_bernoulli_successes(draws: int | None) -> None:
    # draws=3 forces many rounds of the loop that extends a too-short batch of gaps.
    generator_seed = 13
    torch.manual_seed(generator_seed)
    count, gamma, trials = 40, 0.3, 3000
    hits = torch.zeros(count, dtype=torch.float64)
    pairs = 0.0
    for _ in range(trials):
        positions = impl._seed_positions(count, gamma, torch.device("cpu"), draws=draws)
        assert positions.dtype == torch.float64
        assert bool((positions[1:] > positions[:-1]).all()) and bool((positions >= 0).all())
        assert bool((positions < count).all()) and torch.equal(positions, positions.floor())
        marked = torch.zeros(count, dtype=torch.float64)
        marked[positions.long()] = 1
        hits += marked
        pairs += float((marked[:-1] * marked[1:]).mean())
    rate = hits / trials
    # Standard error of one rate: sqrt(0.21 / 3000) < 0.0084; 6 of them.
    assert (rate - gamma).abs().max() < 0.05, rate
    # Neighbouring trials are independent: both succeed with probability gamma**2 (0.09).
    assert abs(pairs / trials - gamma**2) < 0.01


def test_seed_positions_count_has_the_binomial_mean() -> None:
    torch.manual_seed(14)
    count, gamma = 200_000, 0.004  # expected 800 successes, standard deviation 28
    sizes = torch.tensor(
        [impl._seed_positions(count, gamma, torch.device("cpu")).numel() for _ in range(100)], dtype=torch.float64
    )
    # 8 standard errors of the mean (28 / sqrt(100)).
    assert abs(sizes.mean().item() - count * gamma) < 8 * 2.83
    assert abs(sizes.std().item() - math.sqrt(count * gamma * (1 - gamma))) < 8


@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "strided", "one_channel"])
def test_seed_offsets_are_the_storage_offsets_of_the_block_corners(layout: str) -> None:
    shape = [3, 5, 4, 6, 7]
    if layout == "contiguous":
        strides = list(torch.empty(shape).stride())
    elif layout == "channels_last":
        strides = list(torch.empty(shape).contiguous(memory_format=torch.channels_last_3d).stride())
    elif layout == "strided":
        strides = [1000, 3, 250, 40, 5]
    else:
        shape[1] = 1
        strides = list(torch.empty(shape).stride())
    valid = [2, 4, 5]
    grid = [shape[0], shape[1]] + valid
    torch.manual_seed(16)
    seeds = torch.randperm(math.prod(grid))[:50].sort().values.double()
    coordinates = torch.unravel_index(seeds.long(), grid)
    expected = torch.zeros_like(coordinates[0])
    for coordinate, stride in zip(coordinates, strides):
        expected += coordinate * stride
    got = impl._seed_offsets(seeds, valid, strides, channels=shape[1])
    assert got.dtype == torch.int64
    assert torch.equal(got, expected)


@pytest.mark.parametrize("numel", [1, 7, 8, 9, 1003])
def test_count_marked_counts_distinct_indices(numel: int) -> None:
    torch.manual_seed(numel)
    index = torch.randint(0, numel, (3 * numel,))
    index = torch.cat([index, torch.tensor([numel - 1, 0])])
    assert impl._count_marked(index, numel) == torch.unique(index).numel()
    assert impl._count_marked(torch.zeros(0, dtype=torch.int64), numel) == 0
    # Every element marked (a byte sum of 8 per word, the most the top byte has to hold).
    assert impl._count_marked(torch.arange(numel).repeat(3), numel) == numel


def test_block_offsets_cover_the_block_in_storage() -> None:
    x = torch.empty(2, 3, 5, 6, 7).contiguous(memory_format=torch.channels_last_3d)
    offsets = impl._block_offsets([2, 3, 4], list(x.stride()[2:]), x.device)
    storage = torch.zeros(x.numel(), dtype=torch.bool)
    storage[offsets] = True
    expected = torch.zeros(x.shape, dtype=torch.bool).contiguous(memory_format=torch.channels_last_3d)
    expected[0, 0, :2, :3, :4] = True
    flat = expected.permute(0, 2, 3, 4, 1).reshape(-1)  # channels_last_3d storage order
    assert torch.equal(storage, flat)


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last_3d])
def test_3d_sparse_path_keeps_the_layout_blocks_and_normalisation(memory_format: torch.memory_format) -> None:
    torch.manual_seed(15)
    x = torch.ones(2, 6, 5, 9, 10).contiguous(memory_format=memory_format)
    out = drop_block3d(x, 0.2, (2, 3, 3))
    assert out.is_contiguous(memory_format=memory_format)
    assert is_union_of_blocks(out == 0, [2, 3, 3])
    kept = int((out != 0).sum())
    assert 0 < kept < x.numel()
    torch.testing.assert_close(out[out != 0], torch.full((kept,), x.numel() / (1e-6 + kept)))


# --------------------------------------------------------------------------- layouts, autograd, in place


def test_channels_last_keeps_its_format_and_block_structure() -> None:
    torch.manual_seed(6)
    x = torch.ones(2, 8, 10, 10).contiguous(memory_format=torch.channels_last)
    out = drop_block2d(x, 0.2, 3)
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert is_union_of_blocks(out == 0, [3, 3])


def test_non_dense_input_works_out_of_place_and_in_place() -> None:
    torch.manual_seed(7)
    base = torch.ones(2, 4, 12, 24)
    view = base[..., ::2]
    out = drop_block2d(view, 0.2, 3)
    assert is_union_of_blocks(out == 0, [3, 3])
    result = drop_block2d(view, 0.2, 3, inplace=True)
    assert result.data_ptr() == view.data_ptr()
    assert is_union_of_blocks(view == 0, [3, 3])


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("shared", [False, True])
def test_gradient_is_the_mask_times_the_scale(memory_format: torch.memory_format, shared: bool) -> None:
    torch.manual_seed(8)
    x = (torch.rand(2, 4, 12, 12) + 0.5).contiguous(memory_format=memory_format).requires_grad_()
    layer = DropBlock2d(0.2, 3, shared_mask=shared)
    out = layer(x)
    weight = torch.randn(out.shape)
    (out * weight).sum().backward()
    assert x.grad is not None
    torch.testing.assert_close(x.grad, weight * (out / x).detach())


def test_inplace_modifies_the_input_like_out_of_place() -> None:
    x = torch.randn(2, 4, 12, 12)
    torch.manual_seed(9)
    expected = drop_block2d(x, 0.2, (3, 2))
    torch.manual_seed(9)
    y = x.clone()
    out = drop_block2d(y, 0.2, (3, 2), inplace=True)
    assert out is y
    torch.testing.assert_close(y, expected)


def test_inplace_on_a_non_leaf_tensor_backpropagates_the_mask() -> None:
    torch.manual_seed(11)
    leaf = (torch.rand(2, 3, 8, 8) + 0.5).requires_grad_()
    hidden = leaf * 2
    snapshot = hidden.detach().clone()
    out = DropBlock2d(0.2, 3, inplace=True)(hidden)
    out.sum().backward()
    torch.testing.assert_close(leaf.grad, 2 * out.detach() / snapshot)


# --------------------------------------------------------------------------- graph capture (training mode)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_training_mode_scripts_compiles_and_exports_with_block_structure() -> None:
    torch.manual_seed(12)
    layer = DropBlock2d(0.3, (2, 3))
    x = torch.ones(2, 3, 9, 10)
    scripted = torch.jit.script(layer)
    assert is_union_of_blocks(scripted(x) == 0, [2, 3])
    torch._dynamo.reset()
    compiled = torch.compile(layer, fullgraph=True, backend="eager")
    assert is_union_of_blocks(compiled(x) == 0, [2, 3])
    exported = torch.export.export(layer, (x,)).module()
    assert is_union_of_blocks(exported(x) == 0, [2, 3])
    traced = torch.fx.symbolic_trace(DropBlock3d(0.3, 2))
    assert traced(torch.ones(1, 2, 4, 4, 4)).shape == (1, 2, 4, 4, 4)
    torch._dynamo.reset()


def test_training_mode_compiles_without_graph_breaks() -> None:
    torch._dynamo.reset()
    explained = torch._dynamo.explain(DropBlock2d(0.2, 3, shared_mask=True))(torch.ones(2, 3, 8, 8))
    assert explained.graph_count == 1 and explained.graph_break_count == 0
    torch._dynamo.reset()


# --------------------------------------------------------------------------- tier


@pytest.mark.subprocess
def test_shared_mask_warns_once_and_the_torchvision_signature_does_not(python_subprocess) -> None:  # type: ignore[no-untyped-def]
    result = python_subprocess(
        """
        import warnings
        import tvexp
        from tvexp.stable import DropBlock2d, DropBlock3d
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            DropBlock2d(0.1, 3, False, 1e-6)
            DropBlock3d(0.1, 3)
            DropBlock2d(0.1, 3, shared_mask=False)
            assert not caught, [str(w.message) for w in caught]
            DropBlock2d(0.1, 3, shared_mask=True)
            DropBlock2d(0.1, 3, shared_mask=True)
            kinds = [w.category for w in caught]
            assert kinds == [tvexp.PrototypeWarning], kinds
            assert "DropBlock2d(shared_mask=...)" in str(caught[0].message)
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("cls, bad_rank", [(DropBlock2d, 3), (DropBlock3d, 4)])
def test_inactive_layer_still_rejects_a_wrong_rank(cls, bad_rank):
    for layer in (cls(0.1, 3).eval(), cls(0.0, 3).train()):
        with pytest.raises(ValueError, match="dimensions"):
            layer(torch.zeros(*([2] * bad_rank)))


@pytest.mark.parametrize("p", [0.2, 0.6], ids=["sparse-path", "dense-path"])
def test_strided_channels_last_view_drops_whole_blocks(p):
    # A channels_last base sliced along W is not dense; the output layout must match the offsets.
    base = torch.ones(2, 4, 12, 24).contiguous(memory_format=torch.channels_last)
    x = base[..., ::2]
    torch.manual_seed(0)
    y = drop_block2d(x, p, 3)
    dropped = y == 0
    assert is_union_of_blocks(dropped, [3, 3])
    kept = (~dropped).sum().item()
    torch.testing.assert_close(y[~dropped], torch.full((kept,), x.numel() / (1e-6 + kept)))


def test_dense_path_in_eager_mode_drops_whole_blocks_with_the_exact_scale():
    # p > 0.5 takes the dense (pooling) path that scripting and compiling use.
    x = torch.ones(2, 3, 16, 16)
    torch.manual_seed(1)
    y = drop_block2d(x, 0.7, 4)
    dropped = y == 0
    assert is_union_of_blocks(dropped, [4, 4])
    kept = (~dropped).sum().item()
    torch.testing.assert_close(y[~dropped], torch.full((kept,), x.numel() / (1e-6 + kept)))
