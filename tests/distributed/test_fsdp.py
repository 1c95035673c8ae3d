"""Transformer-era blocks train under FSDP2 (``fully_shard``, two processes, gloo, CPU) like in one process.

One spawn of two ranks trains every block of ``fsdp_worker.BLOCKS``; each block is then compared with
a single-process run on the global batch: per-step loss (mean over the ranks), per-step gradients
gathered from the shards, and the final parameters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from tests.distributed._launch import load_worker, run_ranks

WORKER = Path(__file__).with_name("fsdp_worker.py")
WORLD_SIZE = 2
# The two halves of the batch are reduced in another order than one process sums them.
TOLERANCE = {"rtol": 1e-4, "atol": 1e-6}

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]


WORKER_MODULE = load_worker(WORKER, "tvexp_tests_fsdp_worker")


@pytest.fixture(scope="module")
def ranks(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Trains every block of the worker's table sharded over two processes; each rank's results."""
    out_dir = tmp_path_factory.mktemp("fsdp")
    return run_ranks(WORKER, WORLD_SIZE, out_dir, timeout=180)


@pytest.mark.parametrize("name", list(WORKER_MODULE.BLOCKS))
def test_sharded_training_matches_one_process(name: str, ranks: list[dict[str, Any]]) -> None:
    worker = WORKER_MODULE
    expected = worker.train(worker.build(name), *worker.global_batch(name))
    assert expected["gradients"][0], f"{name} has no parameter that received a gradient"
    results = [rank_results[name] for rank_results in ranks]
    mean_losses = [sum(result["losses"][step] for result in results) / WORLD_SIZE for step in range(worker.STEPS)]
    torch.testing.assert_close(mean_losses, expected["losses"], **TOLERANCE)
    assert expected["losses"][-1] < expected["losses"][0], f"{name}: training did not lower the loss"
    for rank, result in enumerate(results):
        assert len(result["gradients"]) == worker.STEPS
        for step, (actual, wanted) in enumerate(zip(result["gradients"], expected["gradients"])):
            assert actual.keys() == wanted.keys(), f"rank {rank}, step {step}: gradients of other parameters"
            torch.testing.assert_close(
                actual,
                wanted,
                **TOLERANCE,
                msg=lambda detail, rank=rank, step=step: f"rank {rank}, step {step}: {detail}",
            )
        torch.testing.assert_close(
            result["parameters"],
            expected["parameters"],
            **TOLERANCE,
            msg=lambda detail, rank=rank: f"rank {rank}, final parameters: {detail}",
        )


def test_every_block_was_sharded(ranks: list[dict[str, Any]]) -> None:
    # Without real sharding the comparison above would compare one process with itself.
    for name in WORKER_MODULE.BLOCKS:
        for rank, rank_results in enumerate(ranks):
            result = rank_results[name]
            assert result["wrapped_as"] == f"FSDP{type(WORKER_MODULE.build(name)).__name__}", (rank, name)
            assert result["local_elements"] < result["elements"], f"rank {rank} holds all of {name}"
        assert sum(rank_results[name]["local_elements"] for rank_results in ranks) >= ranks[0][name]["elements"]
        # The ranks trained on different halves of the batch.
        assert ranks[0][name]["losses"][0] != ranks[1][name]["losses"][0], name
