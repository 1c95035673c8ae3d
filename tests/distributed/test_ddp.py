"""Models built from tvexp layers train under DistributedDataParallel (two processes, gloo, loopback)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from tests.distributed._launch import load_worker, run_ranks

WORKER = Path(__file__).with_name("ddp_worker.py")
WORLD_SIZE = 2
# Two ranks sum their halves of the gradient in another order than one process does.
TOLERANCE = {"rtol": 1e-4, "atol": 1e-6}

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Trains every model of the worker under DDP in two processes; returns each rank's results."""
    out_dir = tmp_path_factory.mktemp("ddp")
    return run_ranks(WORKER, WORLD_SIZE, out_dir, timeout=120)


def single_process(name: str) -> tuple[list[dict[str, torch.Tensor]], dict[str, torch.Tensor]]:
    worker = load_worker(WORKER, "tvexp_tests_ddp_worker")
    model = worker.build(name)
    gradients = worker.train(model, *worker.global_batch())
    return gradients, {key: value.detach() for key, value in model.named_parameters()}


@pytest.mark.parametrize("name", ["statistics_free", "vision_transformer"])
def test_gradients_match_single_process_without_batch_statistics(name: str, ranks: list[dict[str, Any]]) -> None:
    expected_gradients, expected_parameters = single_process(name)
    assert expected_gradients[0], "the model has no trainable parameters"
    assert all(gradient.abs().max() > 0 for gradient in expected_gradients[0].values()), "a parameter got no gradient"
    for rank, results in enumerate(ranks):
        result = results[name]
        assert len(result["gradients"]) == len(expected_gradients)
        for step, (actual, expected) in enumerate(zip(result["gradients"], expected_gradients)):
            assert actual.keys() == expected.keys()
            torch.testing.assert_close(
                actual,
                expected,
                **TOLERANCE,
                msg=lambda detail, rank=rank, step=step: f"rank {rank}, step {step}: {detail}",
            )
        torch.testing.assert_close(
            result["parameters"],
            expected_parameters,
            **TOLERANCE,
            msg=lambda detail, rank=rank: f"rank {rank}, final parameters: {detail}",
        )


def test_batch_norm_ranks_stay_in_sync(ranks: list[dict[str, Any]]) -> None:
    first, second = (results["batch_norm"] for results in ranks)
    torch.testing.assert_close(second["parameters"], first["parameters"], rtol=0, atol=1e-7)
    assert len(first["gradients"]) == len(second["gradients"]) > 0, "the ranks recorded different numbers of steps"
    for step, (a, b) in enumerate(zip(first["gradients"], second["gradients"])):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-7, msg=lambda detail, step=step: f"step {step}: {detail}")
    initial = dict(load_worker(WORKER, "tvexp_tests_ddp_worker").build("batch_norm").named_parameters())
    moved = [name for name, value in first["parameters"].items() if not torch.equal(value, initial[name].detach())]
    assert len(moved) == len(initial), f"parameters that training did not change: {set(initial) - set(moved)}"


def test_batch_norm_gradients_depend_on_the_shard(ranks: list[dict[str, Any]]) -> None:
    # With batch statistics, per-rank statistics make DDP differ from one process on the global batch:
    # this shows the two-process run really split the batch (otherwise the tests above prove little).
    expected_gradients, _ = single_process("batch_norm")
    actual = ranks[0]["batch_norm"]["gradients"][0]
    assert any(not torch.allclose(actual[name], expected_gradients[0][name], **TOLERANCE) for name in actual)
