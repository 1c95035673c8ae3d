"""LayerNorm2d on a contiguous input: the shipped layer, its two routes forced, and timm's, interleaved.

    .venv-ref/bin/python benchmarks/bench_layer_norm_2d.py [--threads 2] [--dtype float32] [--rounds 25]

"per-sample" forces the batch-norm-per-sample path (taken by itself on one intra-op thread only),
"permute" the permute + layer_norm + copy-back route (taken with more threads). Ratios are medians of
per-round ratios to timm's ``LayerNorm2d`` (which returns channels_last for a contiguous input).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any, Callable

import torch

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

import run  # noqa: E402  (benchmarks/run.py: the interleaving and the allocator settings)

import tvexp.prototype as tvp  # noqa: E402
from tvexp._layers import layer_norm_2d  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    parser.add_argument("--rounds", type=int, default=25)
    arguments = parser.parse_args(argv)
    allocator = run.steady_allocator()
    torch.set_num_threads(arguments.threads)
    timm_layers = run.optional("timm.layers")
    if timm_layers is None:
        print("timm is not importable: run this in the reference environment (.venv-ref)")
        return 1
    dtype = getattr(torch, arguments.dtype)
    tvp.opt_in()
    ours, timm = tvp.LayerNorm2d(64).to(dtype), timm_layers.LayerNorm2d(64).to(dtype)
    x = torch.randn(8, 64, 56, 56, dtype=dtype)
    shipped = layer_norm_2d._takes_sample_path
    routes: dict[str, Callable[..., bool] | None] = {
        "tvexp": shipped,
        "per-sample": _forced(shipped),
        "permute": lambda *_: False,
        "timm": None,
    }

    def candidate(name: str, backward: bool) -> Callable[[], Any]:
        module = timm if name == "timm" else ours
        leaf = x.detach().clone().requires_grad_()

        def call() -> Any:
            if routes[name] is not None:
                layer_norm_2d._takes_sample_path = routes[name]  # type: ignore[assignment]
            try:
                if backward:
                    y = module(leaf * 1.0)
                    y.backward(torch.ones_like(y))
                    return y
                with torch.no_grad():
                    return module(x)
            finally:
                layer_norm_2d._takes_sample_path = shipped

        return call

    print(f"{arguments.threads} thread(s), {arguments.dtype}, 8x64x56x56, {arguments.rounds} rounds; {allocator}")
    for backward in (False, True):
        samples = run.interleaved_samples({name: candidate(name, backward) for name in routes}, arguments.rounds, 3)
        ratios = run.round_ratios(samples, "timm")
        times = ", ".join(f"{name} {statistics.median(values) * 1e3:.2f} ms" for name, values in samples.items())
        versus = ", ".join(f"{name} {1 / ratio:.2f}x" for name, ratio in ratios.items())
        print(f"{'forward+backward' if backward else 'forward'}: {times}; per-round ratio to timm: {versus}")
    return 0


def _forced(shipped: Callable[..., bool]) -> Callable[..., bool]:
    """The shipped eligibility test without its thread-count condition."""

    def eligible(x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None) -> bool:
        get_num_threads = torch.get_num_threads
        torch.get_num_threads = lambda: 1  # what the test reads; the operations keep every thread
        try:
            return shipped(x, weight, bias)
        finally:
            torch.get_num_threads = get_num_threads

    return eligible


if __name__ == "__main__":
    raise SystemExit(main())
