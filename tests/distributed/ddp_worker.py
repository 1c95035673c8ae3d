"""One rank of the DistributedDataParallel test (run as a script by ``test_ddp.py``).

``python ddp_worker.py RANK WORLD_SIZE PORT OUT_DIR`` trains each model of :data:`MODELS` for
:data:`STEPS` steps on the rank's shard of :func:`global_batch` (gloo backend over loopback) and saves
the gradients seen after every step and the final parameters to ``OUT_DIR/rank<RANK>.pt``. The test
loads this file as a module too, to train the single-process reference with the same code.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor, nn

STEPS = 3
GLOBAL_BATCH = 8
LEARNING_RATE = 0.1


def _statistics_free_model() -> nn.Module:
    """Norms that do not depend on the batch: frozen BN, LayerNorm2d, and a BatchNorm kept in eval."""
    import tvexp.prototype as tvp
    import tvexp.stable as tvs

    model = nn.Sequential(
        tvs.Conv2dNormActivation(3, 8, norm_layer=tvs.FrozenBatchNorm2d),
        tvs.SqueezeExcitation(8, 4),
        tvs.Conv2dNormActivation(8, 8, groups=2, norm_layer=tvp.LayerNorm2d, activation_layer=nn.GELU),
        tvp.BasicBlock(8, 8, norm_layer=tvs.FrozenBatchNorm2d),
        tvs.Conv2dNormActivation(8, 8, kernel_size=1, norm_layer=nn.BatchNorm2d),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        tvs.MLP(8, [16, 4], norm_layer=nn.LayerNorm),
    )
    with torch.no_grad():  # non-trivial frozen and running statistics
        for module in model.modules():
            if isinstance(module, (tvs.FrozenBatchNorm2d, nn.BatchNorm2d)):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
    return model


def _batch_norm_model() -> nn.Module:
    """BatchNorm in training mode: batch statistics differ between ranks."""
    import tvexp.prototype as tvp
    import tvexp.stable as tvs

    return nn.Sequential(
        tvs.Conv2dNormActivation(3, 8),
        tvp.InvertedResidual(8, 8, expand_ratio=2, norm_layer=nn.BatchNorm2d),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 4),
    )


def _vision_transformer() -> nn.Module:
    """A two-layer ViT from tvexp's TransformerEncoderBlock (examples/torchvision_models.py) on 8x8 images."""
    repository = str(Path(__file__).resolve().parents[2])
    if repository not in sys.path:
        sys.path.insert(0, repository)
    from examples.torchvision_models import VisionTransformer

    model = VisionTransformer(8, 4, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32, num_classes=4)
    # torchvision initialises the head to zero, which would keep every gradient behind it at zero
    # in the first step.
    nn.init.normal_(model.heads.head.weight, std=0.1)
    return model


MODELS: dict[str, Callable[[], nn.Module]] = {
    "statistics_free": _statistics_free_model,
    "batch_norm": _batch_norm_model,
    "vision_transformer": _vision_transformer,
}


def build(name: str) -> nn.Module:
    """The model ``name``, identically initialised in every process, in its training configuration."""
    torch.manual_seed(0)
    model = MODELS[name]().train()
    if name == "statistics_free":
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.eval()
    return model


def global_batch() -> tuple[Tensor, Tensor]:
    generator = torch.Generator().manual_seed(1)
    inputs = torch.randn(GLOBAL_BATCH, 3, 8, 8, generator=generator)
    targets = torch.randn(GLOBAL_BATCH, 4, generator=generator)
    return inputs, targets


def train(model: nn.Module, inputs: Tensor, targets: Tensor) -> list[dict[str, Tensor]]:
    """Runs :data:`STEPS` SGD steps on a mean-reduced loss; returns the gradients of every step.

    DDP averages gradients over ranks, so with equal shards its gradients equal those of the mean
    loss over the global batch.
    """
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    names = [name for name, parameter in _unwrapped(model).named_parameters() if parameter.requires_grad]
    gradients = []
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(inputs), targets)
        loss.backward()
        parameters = dict(_unwrapped(model).named_parameters())
        gradients.append({name: parameters[name].grad.detach().clone() for name in names})
        optimizer.step()
    return gradients


def _unwrapped(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def main(rank: int, world_size: int, port: int, out_dir: str) -> None:
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size)
    try:
        inputs, targets = global_batch()
        shard = slice(rank * GLOBAL_BATCH // world_size, (rank + 1) * GLOBAL_BATCH // world_size)
        results = {}
        for name in MODELS:
            model = nn.parallel.DistributedDataParallel(build(name))
            gradients = train(model, inputs[shard], targets[shard])
            results[name] = {
                "gradients": gradients,
                "parameters": {key: value.detach().clone() for key, value in model.module.named_parameters()},
            }
        torch.save(results, f"{out_dir}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
