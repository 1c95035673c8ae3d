"""int8 versus float CPU latency of networks built from tvexp blocks (PT2E flow, lowered by inductor).

Usage::

    python benchmarks/bench_quantization.py [--batch-size 8] [--image-size 224] [--rounds 10] [--threads 2]
                                            [--only resnet18|mobilenet_v3_small] [--tiny]

For each network (examples/torchvision_models.py: ResNet-18 and MobileNetV3-small, random weights,
BatchNorm statistics made non-trivial) it times, in evaluation mode under ``torch.no_grad()``:

- ``float eager``: the float model;
- ``float inductor``: ``torch.compile`` of the float model (``freezing`` on, as for int8, so BatchNorm
  is folded in both);
- ``int8 reference``: the PT2E-converted graph run as is (quantize-dequantize in float: the numerics of
  int8, not its speed);
- ``int8 inductor``: ``torch.compile`` of the converted graph with ``freezing`` on, which is what turns
  the quantize-dequantize patterns into oneDNN int8 convolutions and linears.

Candidates are interleaved round by round and the table reports the median latency per batch, plus
the int8 output's cosine similarity to float. Prints a markdown table; asserts nothing. ``--tiny``
runs one round on 32x32 inputs (a smoke test: compile times dominate).

On a machine shared with other jobs, ``--threads 1`` gives steadier numbers: with 2 threads a
descheduled OpenMP thread stalls the other at every barrier, which inflated some 2-thread medians
tenfold in our runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

os.environ.setdefault("TVEXP_PROTOTYPE_OPT_IN", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import torch  # noqa: E402
from torch import Tensor, nn  # noqa: E402

from examples import torchvision_models  # noqa: E402
from tvexp.prototype import quantize_pt2e  # noqa: E402

MODELS: dict[str, Callable[[], nn.Module]] = {
    "resnet18": lambda: torchvision_models.resnet18(),
    "mobilenet_v3_small": lambda: torchvision_models.mobilenet_v3_small(),
}


def realistic_norms(model: nn.Module) -> nn.Module:
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                n = module.num_features
                assert module.running_mean is not None and module.running_var is not None
                module.running_mean.copy_(torch.rand(n, generator=generator) * 0.2 - 0.1)
                module.running_var.copy_(torch.rand(n, generator=generator) * 0.5 + 0.75)
    return model.eval()


def time_call(fn: Callable[[], Tensor], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def compiled(model: nn.Module) -> Callable[[Tensor], Tensor]:
    torch._dynamo.reset()
    return torch.compile(model)  # type: ignore[return-value]


def bench_model(name: str, batch_size: int, image_size: int, rounds: int, calibration: int) -> list[str]:
    torch.manual_seed(0)
    model = realistic_norms(MODELS[name]())
    x = torch.randn(batch_size, 3, image_size, image_size)
    batches = [torch.randn(batch_size, 3, image_size, image_size) for _ in range(calibration)]
    started = time.perf_counter()
    quantized = quantize_pt2e(model, (x,), batches)
    quantize_seconds = time.perf_counter() - started

    candidates: dict[str, Callable[[], Tensor]] = {}
    compile_seconds: dict[str, float] = {}
    with torch.no_grad():
        reference = model(x)
        candidates["float eager"] = lambda: model(x)
        for label, module in (("float inductor", model), ("int8 reference", None), ("int8 inductor", quantized)):
            if module is None:
                candidates[label] = lambda: quantized(x)
                continue
            function = compiled(module)
            started = time.perf_counter()
            function(x)
            function(x)
            compile_seconds[label] = time.perf_counter() - started
            candidates[label] = (lambda f: lambda: f(x))(function)
        int8_output = candidates["int8 inductor"]()
        cosine = torch.nn.functional.cosine_similarity(int8_output.flatten(), reference.flatten(), dim=0).item()

        samples: dict[str, list[float]] = {label: [] for label in candidates}
        for round_index in range(rounds):
            labels = list(candidates)
            shift = round_index % len(labels)
            for label in labels[shift:] + labels[:shift]:
                samples[label].append(time_call(candidates[label], 1))

    float_ms = statistics.median(samples["float eager"]) * 1e3
    inductor_ms = statistics.median(samples["float inductor"]) * 1e3
    rows = []
    for label, values in samples.items():
        median_ms = statistics.median(values) * 1e3
        extra = f"compile {compile_seconds[label]:.0f} s" if label in compile_seconds else ""
        if label.startswith("int8"):
            extra = ", ".join(
                part for part in (extra, f"cosine vs float {cosine:.4f}" if "inductor" in label else "") if part
            )
        rows.append(
            f"| {name} | {label} | {median_ms:.1f} | {float_ms / median_ms:.2f}x | "
            f"{inductor_ms / median_ms:.2f}x | {extra} |"
        )
    rows.append(
        f"| {name} | (PT2E export + calibration + convert) | {quantize_seconds * 1e3:.0f} | | | "
        f"{calibration} calibration batches |"
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--calibration", type=int, default=4, help="calibration batches")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", choices=sorted(MODELS), action="append")
    parser.add_argument("--tiny", action="store_true", help="one round at 32x32 (smoke test)")
    args = parser.parse_args()
    if args.tiny:
        args.image_size, args.rounds, args.calibration = 32, 1, 1
    logging.getLogger("torchao").setLevel(logging.ERROR)
    torch.set_num_threads(args.threads)
    # Freezing lets inductor treat weights as constants: it folds BatchNorm and, for the converted
    # graph, packs the int8 weights for oneDNN. Without it the int8 graph is not lowered to int8 kernels.
    import torch._inductor.config as inductor_config

    inductor_config.freezing = True

    print(
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads, batch {args.batch_size}, {args.image_size}x{args.image_size}, "
        f"median of {args.rounds} rounds\n"
    )
    print("| model | variant | median ms / batch | vs float eager | vs float inductor | notes |")
    print("|---|---|---|---|---|---|")
    for name in args.only or list(MODELS):
        for row in bench_model(name, args.batch_size, args.image_size, args.rounds, args.calibration):
            print(row, flush=True)


if __name__ == "__main__":
    main()
