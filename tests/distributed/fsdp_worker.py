"""One rank of the FSDP2 test (run as a script by ``test_fsdp.py``).

``python fsdp_worker.py RANK WORLD_SIZE PORT OUT_DIR`` trains every block of :data:`BLOCKS` for
:data:`STEPS` SGD steps, sharded with ``torch.distributed.fsdp.fully_shard`` over a one-dimensional
CPU device mesh (gloo over loopback), each rank on its half of the block's global batch, and saves
the rank's loss, the gathered full gradients of every step and the gathered final parameters to
``OUT_DIR/rank<RANK>.pt``. The test loads this file as a module too, to train the single-process
reference on the whole global batch with the same code (:func:`train` without a process group).

A block joins the test with one line in :data:`BLOCKS`: a factory and the shape of one sample.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, NamedTuple

import torch
from torch import Tensor, nn

STEPS = 3
GLOBAL_BATCH = 4
LEARNING_RATE = 0.1


def _prototype() -> Any:
    import tvexp.prototype

    return tvexp.prototype


class BlockCase(NamedTuple):
    """How to build one block and the shape of one input sample (without the batch dimension)."""

    build: Callable[[], nn.Module]
    sample_shape: tuple[int, ...]


# Layer scales start at 0.5, not at their tiny defaults, so that the gradients reaching the
# parameters behind them are large enough for the comparison to mean something.
BLOCKS: dict[str, BlockCase] = {
    "TransformerEncoderBlock": BlockCase(lambda: _prototype().TransformerEncoderBlock(2, 16, 32), (5, 16)),
    "ConvNeXtBlock": BlockCase(lambda: _prototype().ConvNeXtBlock(8, layer_scale=0.5), (8, 6, 6)),
    "MultiheadSelfAttention": BlockCase(lambda: _prototype().MultiheadSelfAttention(16, 2), (5, 16)),
    "LayerScale": BlockCase(lambda: _prototype().LayerScale(16, init_value=0.5), (5, 16)),
    "LayerNorm2d": BlockCase(lambda: _prototype().LayerNorm2d(8), (8, 6, 6)),
    "SwinTransformerBlock v1": BlockCase(lambda: _prototype().SwinTransformerBlock(16, 2, [4, 4], [2, 2]), (6, 7, 16)),
    "SwinTransformerBlock v2": BlockCase(
        lambda: _prototype().SwinTransformerBlock(16, 2, [4, 4], [2, 2], version=2), (6, 7, 16)
    ),
    "SwinTransformerBlock 3-D": BlockCase(
        lambda: _prototype().SwinTransformerBlock(16, 2, [2, 4, 4], [1, 2, 2]), (3, 6, 5, 16)
    ),
    "PatchMerging": BlockCase(lambda: _prototype().PatchMerging(8), (6, 6, 8)),
    "MultiscaleBlock": BlockCase(
        lambda: _prototype().MultiscaleBlock(
            16,
            2,
            (2, 4, 4),
            output_dim=32,
            query_kernel_size=(3, 3, 3),
            query_stride=(1, 2, 2),
            key_value_kernel_size=(3, 3, 3),
            key_value_stride=(1, 2, 2),
            residual_pooling=True,
            relative_position_embedding=True,
            project_after_attention=True,
        ),
        (33, 16),
    ),
}


def build(name: str) -> nn.Module:
    """Block ``name``, identically initialised in every process, with every parameter perturbed.

    The perturbation keeps ones/zeros initialisations (norm weights and biases) from hiding
    gradients that would only be wrong for other values.
    """
    torch.manual_seed(0)
    block = BLOCKS[name].build().train()
    with torch.no_grad():
        for parameter in block.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    return block


def global_batch(name: str) -> tuple[Tensor, Tensor]:
    """Inputs and regression targets of block ``name``; the targets have the output's shape."""
    generator = torch.Generator().manual_seed(1)
    inputs = torch.randn(GLOBAL_BATCH, *BLOCKS[name].sample_shape, generator=generator)
    with torch.no_grad():
        output_shape = build(name)(inputs[:1]).shape[1:]
    targets = torch.randn(GLOBAL_BATCH, *output_shape, generator=generator)
    return inputs, targets


def shard(block: nn.Module, mesh: Any) -> nn.Module:
    """``fully_shard`` on every direct child that holds parameters, then on the block itself."""
    from torch.distributed.fsdp import fully_shard

    for child in block.children():
        if any(True for _ in child.parameters()):
            fully_shard(child, mesh=mesh)
    fully_shard(block, mesh=mesh)
    return block


def _full(tensor: Tensor) -> Tensor:
    """The whole tensor: a sharded DTensor gathered from all ranks, a plain tensor as it is."""
    full_tensor = getattr(tensor, "full_tensor", None)
    return (full_tensor() if full_tensor is not None else tensor).detach().clone()


def train(block: nn.Module, inputs: Tensor, targets: Tensor) -> dict[str, Any]:
    """:data:`STEPS` SGD steps on the mean squared error; losses, full gradients and final parameters.

    FSDP averages the gradients over ranks (reduce-scatter with the mean), so with equal shards its
    gradients are those of the mean loss over the global batch, and the mean of the ranks' losses
    is the loss of one process on the global batch.
    """
    optimizer = torch.optim.SGD(block.parameters(), lr=LEARNING_RATE)
    losses, gradients = [], []
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(block(inputs), targets)
        loss.backward()
        losses.append(loss.item())
        gradients.append({name: _full(p.grad) for name, p in block.named_parameters() if p.grad is not None})
        optimizer.step()
    return {
        "losses": losses,
        "gradients": gradients,
        "parameters": {name: _full(parameter) for name, parameter in block.named_parameters()},
    }


def main(rank: int, world_size: int, port: int, out_dir: str) -> None:
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size)
    try:
        mesh = init_device_mesh("cpu", (world_size,))
        results = {}
        for name in BLOCKS:
            inputs, targets = global_batch(name)
            part = slice(rank * GLOBAL_BATCH // world_size, (rank + 1) * GLOBAL_BATCH // world_size)
            block = shard(build(name), mesh)
            local = sum(parameter.to_local().numel() for parameter in block.parameters())
            results[name] = train(block, inputs[part], targets[part])
            # Evidence that the block really was sharded: its class and the elements this rank holds.
            results[name]["wrapped_as"] = type(block).__name__
            results[name]["local_elements"] = local
            results[name]["elements"] = sum(parameter.numel() for parameter in block.parameters())
        torch.save(results, f"{out_dir}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
