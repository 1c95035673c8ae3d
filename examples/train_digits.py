"""The README's demo: a small image classifier built from tvexp layers, trained on real images.

The data are scikit-learn's bundled 8x8 handwritten digits (1,797 images shipped inside the
package, so nothing is downloaded). The network uses stable layers (Conv2dNormActivation,
SqueezeExcitation, StochasticDepth, MLP) and one prototype layer (LayerNorm2d), which needs the
explicit opt-in shown below. It trains for a few seconds on a 2-core CPU, prints the test
accuracy, then prints the tier table of tvexp's public API.

Run with ``make demo`` (or ``.venv/bin/python examples/train_digits.py``).
"""

from __future__ import annotations

import argparse
import time

import torch
from sklearn.datasets import load_digits
from torch import Tensor, nn

import tvexp
import tvexp.prototype as tvp
import tvexp.stable as tvs
from tvexp._tooling.cli import main as tvexp_api

# LayerNorm2d is a prototype layer: it may change in any release. Opting in acknowledges that and
# silences the one-time tvexp.PrototypeWarning (TVEXP_PROTOTYPE_OPT_IN=1 does the same).
tvp.opt_in()


class ResidualStage(nn.Module):
    """Two conv-norm-activation layers with squeeze-excitation and a stochastic-depth skip."""

    def __init__(self, channels: int, drop_path: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            tvs.Conv2dNormActivation(channels, channels, kernel_size=3),
            tvs.Conv2dNormActivation(channels, channels, kernel_size=3, activation_layer=None),
            tvs.SqueezeExcitation(channels, channels // 4),
        )
        self.drop_path = tvs.StochasticDepth(drop_path, mode="row")
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(x + self.drop_path(self.body(x)))


def build_model(num_classes: int = 10) -> nn.Module:
    return nn.Sequential(
        tvs.Conv2dNormActivation(1, 32, kernel_size=3),  # 8x8
        ResidualStage(32, drop_path=0.1),
        tvs.Conv2dNormActivation(32, 64, kernel_size=3, stride=2),  # 4x4
        ResidualStage(64, drop_path=0.1),
        tvp.LayerNorm2d(64),  # the prototype layer
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        tvs.MLP(64, [64, num_classes], activation_layer=nn.GELU, dropout=0.1),
    )


def load_data(seed: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0  # (1797, 1, 8, 8) in [0, 1]
    labels = torch.tensor(digits.target, dtype=torch.long)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    split = int(0.8 * len(labels))
    train, test = order[:split], order[split:]
    mean, std = images[train].mean(), images[train].std()
    images = (images - mean) / std
    return images[train], labels[train], images[test], labels[test]


def train(epochs: int, seed: int) -> float:
    torch.manual_seed(seed)
    x_train, y_train, x_test, y_test = load_data(seed)
    model = build_model()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=3e-3, total_steps=epochs * ((len(y_train) + 63) // 64)
    )
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    parameters = sum(p.numel() for p in model.parameters())
    print(
        f"tvexp {tvexp.__version__}, torch {torch.__version__}: {parameters:,} parameters, "
        f"{len(y_train)} training / {len(y_test)} test images (scikit-learn digits, 8x8)"
    )
    start = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        for batch in torch.randperm(len(y_train)).split(64):
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()
            schedule.step()
        if epoch == 0 or (epoch + 1) % 5 == 0:
            print(f"  epoch {epoch + 1:2d}/{epochs}: last batch loss {loss.item():.3f}")
    model.eval()
    with torch.no_grad():
        accuracy = (model(x_test).argmax(dim=1) == y_test).float().mean().item()
    print(f"test accuracy: {accuracy:.1%} after {epochs} epochs ({time.perf_counter() - start:.1f} s of training)")
    return accuracy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(2)
    train(args.epochs, args.seed)
    print("\nThe public API of tvexp by tier (`tvexp-api list`):")
    return tvexp_api(["list"])


if __name__ == "__main__":
    raise SystemExit(main())
