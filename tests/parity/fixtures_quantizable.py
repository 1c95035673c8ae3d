"""Records the state_dict key lists of torchvision 0.29's quantizable (eager-mode) classification models.

Run by ``make parity-fixtures`` (``record``) in the reference environment. One fixture per builder of
``torchvision.models.quantization`` (``quantize=False``: the float model, with its ``QuantStub``,
``DeQuantStub`` and ``FloatFunctional`` modules, which hold no state), named
``quantizable_keys_<builder>.pt``: the ``(key, shape, dtype)`` list, built on the meta device.

This module imports only torch at module level; the test imports :data:`NAMED_BUILDERS` from the
torch-only environment.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

__all__ = ["NAMED_BUILDERS", "record"]

# torchvision.models.quantization builder -> the tvexp example builder with the same keys
NAMED_BUILDERS = {
    "googlenet": "quantizable_googlenet",
    "inception_v3": "quantizable_inception_v3",
    "shufflenet_v2_x0_5": "quantizable_shufflenet_v2_x0_5",
    "shufflenet_v2_x1_0": "quantizable_shufflenet_v2_x1_0",
    "shufflenet_v2_x1_5": "quantizable_shufflenet_v2_x1_5",
    "shufflenet_v2_x2_0": "quantizable_shufflenet_v2_x2_0",
}


def record(out_dir: Path) -> None:
    from torchvision.models import quantization

    for name in NAMED_BUILDERS:
        with torch.device("meta"), warnings.catch_warnings():
            # googlenet(weights=None) warns that init_weights will default to False in the future.
            warnings.simplefilter("ignore", FutureWarning)
            model = getattr(quantization, name)(weights=None, quantize=False)
        keys = [(key, tuple(value.shape), str(value.dtype)) for key, value in model.state_dict().items()]
        stateless = sorted(
            path
            for path, module in model.named_modules()
            if type(module).__name__ in ("QuantStub", "DeQuantStub", "FloatFunctional")
        )
        torch.save(
            {"builder": name, "class": type(model).__name__, "keys": keys, "stateless_modules": stateless},
            out_dir / f"quantizable_keys_{name}.pt",
        )
