"""Starting the multi-process tests: each ``*_worker.py`` script runs as ``python WORKER RANK WORLD_SIZE PORT
OUT_DIR`` in its own process (gloo over loopback) and saves ``OUT_DIR/rank<RANK>.pt``."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import torch


def load_worker(path: Path, name: str) -> ModuleType:
    """The worker script as a module, for the single-process reference that shares its code."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_ranks(worker: Path, world_size: int, out_dir: Path, timeout: float) -> list[dict[str, Any]]:
    """Runs ``worker`` in ``world_size`` processes and returns each rank's saved results (failing with the
    rank's output when one exits with an error)."""
    env = {**os.environ, "TVEXP_PROTOTYPE_OPT_IN": "1", "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
    port = str(free_port())
    processes = [
        subprocess.Popen(
            [sys.executable, str(worker), str(rank), str(world_size), port, str(out_dir)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in range(world_size)
    ]
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=timeout)[0])
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    for rank, (process, output) in enumerate(zip(processes, outputs)):
        assert process.returncode == 0, f"rank {rank} failed:\n{output[-4000:]}"
    return [torch.load(out_dir / f"rank{rank}.pt") for rank in range(world_size)]
