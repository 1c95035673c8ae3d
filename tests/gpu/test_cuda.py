"""CUDA checks: every conformance case on the GPU against the CPU, factory kwargs, channels_last,
DropBlock statistics, losses, SyncBatchNorm inside tvexp blocks and inductor.

CI has no GPU, so these are skipped there; they run on a machine with CUDA via
``PYTHONPATH=. python -m pytest tests/gpu -m gpu``.
"""

from __future__ import annotations

import copy
import socket

import pytest
import torch
from torch import nn

from tvexp._api.tiers import internal_construction
from tvexp._tooling.conformance.cases import LAYER_CASES, LOSS_CASES
from tvexp._tooling.conformance.table import seeded

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]
CUDA = torch.device("cuda")


@pytest.fixture(autouse=True)
def _exact_math():
    # TF32 would make every convolution differ from the CPU result by ~1e-3.
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def _build(case):
    with internal_construction():
        module = seeded(case.build)
    return module.eval() if case.stochastic else module.train()


def _float_leaf(x):
    return x.detach().clone().requires_grad_() if x.is_floating_point() else x.clone()


@pytest.mark.parametrize("case", LAYER_CASES, ids=lambda c: c.id)
def test_cuda_matches_cpu(case):
    cpu_module = _build(case)
    cuda_module = copy.deepcopy(cpu_module).to(CUDA)
    cpu_inputs = tuple(_float_leaf(x) for x in case.inputs())
    cuda_inputs = tuple(_float_leaf(x.to(CUDA)) for x in case.inputs())
    cpu_out = cpu_module(*cpu_inputs)
    cuda_out = cuda_module(*cuda_inputs)
    torch.testing.assert_close(cuda_out.cpu(), cpu_out, rtol=1e-4, atol=1e-4)
    if cpu_out.requires_grad:
        upstream = torch.randn(cpu_out.shape, generator=torch.Generator().manual_seed(1))
        cpu_out.backward(upstream)
        cuda_out.backward(upstream.to(CUDA))
        for (name, p_cpu), (_, p_cuda) in zip(cpu_module.named_parameters(), cuda_module.named_parameters()):
            if p_cpu.grad is not None:
                torch.testing.assert_close(p_cuda.grad.cpu(), p_cpu.grad, rtol=1e-3, atol=1e-3, msg=name)


@pytest.mark.parametrize("case", [c for c in LAYER_CASES if c.reference], ids=lambda c: c.id)
def test_built_directly_on_cuda_and_channels_last(case):
    with torch.device(CUDA), internal_construction():
        module = seeded(case.build)
    assert all(t.device.type == "cuda" for t in [*module.parameters(), *module.buffers()])
    module = module.eval()
    inputs = tuple(x.to(CUDA) for x in case.inputs())
    with torch.no_grad():
        expected = module(*inputs)
        if inputs[0].dim() in (4, 5) and "channels_last" not in case.expected_failures:
            fmt = torch.channels_last if inputs[0].dim() == 4 else torch.channels_last_3d
            actual = module(inputs[0].contiguous(memory_format=fmt), *inputs[1:])
            torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", LOSS_CASES, ids=lambda c: c.id)
def test_losses_on_cuda_match_cpu(case):
    cpu_inputs = case.inputs()
    expected = case.function(*cpu_inputs, **case.kwargs)
    actual = case.function(*(x.detach().to(CUDA) for x in cpu_inputs), **case.kwargs)
    torch.testing.assert_close(actual.cpu(), expected.detach(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shared", [False, True])
def test_drop_block_drop_rate_on_cuda(shared):
    import tvexp.prototype
    import tvexp.stable

    tvexp.prototype.opt_in()
    layer = tvexp.stable.DropBlock2d(p=0.1, block_size=7, shared_mask=shared).train()
    x = torch.ones(16, 64, 56, 56, device=CUDA)
    torch.manual_seed(0)
    y = layer(x)
    dropped = (y == 0).float().mean().item()
    assert 0.07 < dropped < 0.13, dropped
    kept = y[y != 0]
    torch.testing.assert_close(y.mean(), torch.tensor(1.0, device=CUDA), rtol=0.05, atol=0.0)
    assert torch.allclose(kept, kept[0].expand_as(kept))  # one normalisation factor per batch


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sync_batch_norm_runs_inside_tvexp_blocks():
    import torch.distributed as dist

    import tvexp.prototype
    import tvexp.stable

    tvexp.prototype.opt_in()
    dist.init_process_group("nccl", init_method=f"tcp://127.0.0.1:{_free_port()}", rank=0, world_size=1)
    try:
        torch.manual_seed(0)
        model = nn.Sequential(tvexp.stable.Conv2dNormActivation(3, 8), tvexp.prototype.BasicBlock(8, 8)).to(CUDA)
        reference = copy.deepcopy(model)
        synced = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        assert sum(isinstance(m, nn.SyncBatchNorm) for m in synced.modules()) == 3
        assert synced.state_dict().keys() == reference.state_dict().keys()
        x = torch.randn(4, 3, 16, 16, device=CUDA)
        out_sync, out_ref = synced(x), reference(x)
        torch.testing.assert_close(out_sync, out_ref, rtol=1e-4, atol=1e-4)
        out_sync.sum().backward()
        out_ref.sum().backward()
        torch.testing.assert_close(synced[0][0].weight.grad, reference[0][0].weight.grad, rtol=1e-3, atol=1e-3)
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("case", [c for c in LAYER_CASES if "inductor" in c.tags], ids=lambda c: c.id)
def test_inductor_on_cuda(case):
    torch._dynamo.reset()
    module = _build(case).to(CUDA).eval()
    inputs = tuple(x.to(CUDA) for x in case.inputs())
    compiled = torch.compile(module, fullgraph=True)
    with torch.no_grad():
        torch.testing.assert_close(compiled(*inputs), module(*inputs), rtol=1e-3, atol=1e-3)
