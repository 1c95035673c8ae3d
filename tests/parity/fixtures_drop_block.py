"""Records torchvision 0.29's DropBlock2d/3d behaviour (run by ``make parity-fixtures``).

Files named ``dropblock_*.pt``:

* ``dropblock_identity.pt``: inputs and the outputs of eval mode and of ``p=0`` in training
  (torchvision returns the input unchanged), the state-dict key lists (empty) and the reprs;
* ``dropblock_statistics.pt``: for a few configurations, torchvision's training-mode statistics
  over many seeded draws: the mean and standard deviation of the dropped fraction, the
  per-position drop rate, and whether every kept value equals ``numel / (eps + kept)``.

Random draws differ between implementations, so the statistics are compared with tolerances.
"""

from __future__ import annotations

from pathlib import Path

import torch

__all__ = ["STATISTICS_CONFIGS", "DRAWS", "record"]

# (name, spatial dims, input shape, p, block_size); torchvision accepts odd sizes only.
STATISTICS_CONFIGS = [
    ("2d_p0.1_b7", 2, (4, 16, 28, 28), 0.1, 7),
    ("2d_p0.3_b3", 2, (4, 16, 11, 13), 0.3, 3),
    ("2d_p0.5_b5", 2, (4, 16, 12, 12), 0.5, 5),
    ("3d_p0.2_b3", 3, (2, 8, 6, 7, 8), 0.2, 3),
]
DRAWS = 40


def record(out_dir: Path) -> None:
    from torchvision.ops import DropBlock2d, DropBlock3d, drop_block2d, drop_block3d

    generator = torch.Generator().manual_seed(0)
    x2 = torch.randn(2, 3, 8, 8, generator=generator)
    x3 = torch.randn(2, 3, 4, 5, 6, generator=generator)
    identity = {
        "x2": x2,
        "x3": x3,
        "eval2": DropBlock2d(0.5, 3).eval()(x2),
        "eval3": DropBlock3d(0.5, 3).eval()(x3),
        "p0_2": drop_block2d(x2, 0.0, 3, training=True),
        "p0_3": drop_block3d(x3, 0.0, 3, training=True),
        "eval_even_block": DropBlock2d(0.5, 4).eval()(x2),  # eval skips the odd-size check
        "keys2": sorted(DropBlock2d(0.1, 3).state_dict()),
        "keys3": sorted(DropBlock3d(0.1, 3).state_dict()),
        "repr2": repr(DropBlock2d(0.1, 3)),
        "repr3": repr(DropBlock3d(0.2, 5, inplace=True)),
        "is_subclass": issubclass(DropBlock3d, DropBlock2d),
    }
    torch.save(identity, out_dir / "dropblock_identity.pt")

    statistics = {}
    torch.manual_seed(0)
    for name, dims, shape, p, block in STATISTICS_CONFIGS:
        functional = drop_block2d if dims == 2 else drop_block3d
        x = torch.ones(shape)
        fractions = []
        rate = torch.zeros(shape[2:], dtype=torch.float64)
        normalised = True
        for _ in range(DRAWS):
            out = functional(x, p, block)
            dropped = out == 0
            fractions.append(dropped.double().mean().item())
            rate += dropped.double().mean((0, 1))
            kept = int((~dropped).sum())
            expected = x.numel() / (1e-6 + kept)
            normalised &= bool(torch.allclose(out[~dropped], torch.tensor(expected), rtol=1e-5))
        values = torch.tensor(fractions, dtype=torch.float64)
        statistics[name] = {
            "dims": dims,
            "shape": shape,
            "p": p,
            "block_size": block,
            "draws": DRAWS,
            "mean": values.mean().item(),
            "std": values.std().item(),
            "rate": rate / DRAWS,
            "normalised": normalised,
        }
    torch.save(statistics, out_dir / "dropblock_statistics.pt")


if __name__ == "__main__":
    record(Path(__file__).resolve().parent / "fixtures")
