"""What the scoped opt-in costs: forward, warm construction, prototype function calls, import time.

Usage::

    python benchmarks/bench_opt_in.py [--base-ref REV] [--rounds N] [--quick]

Runs in the torch-only environment (the paths timed are the same with or without
``TVEXP_PROTOTYPE_OPT_IN``). ``--base-ref`` (default ``6fdbf03``, the commit before the
scoped opt-in) is extracted with ``git archive`` into a temporary folder; its ``tvexp/_api/tiers.py``
is loaded next to the live one in this process, so that the markers of both decorate copies of
the same class and function and are timed interleaved: every round times each candidate once, in
a rotating order, and the tables report medians over rounds and minima with ratios, so that a slow spell of a
shared machine hits all candidates alike. Import time runs ``python -X importtime -c "import
tvexp.prototype"`` in fresh processes, alternating between the base tree and this one.

* **forward**: a prototype layer's forward with no opt-in, with a scoped opt-in that covers the
  caller, and with one that does not (the forward runs no tier code: the three should match);
* **construction** of a prototype class after its first warning (the warm path), base vs live,
  and the live path of a library whose scope silences every construction (nothing is recorded, so
  each construction finds its caller: the one path that costs more);
* **function calls** of a prototype function, the same candidates;
* **import**: the summed self time of the ``tvexp`` modules, and modules that only one side imports.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import types
import warnings
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import tvexp.prototype as tvp  # noqa: E402
from tvexp._api import tiers  # noqa: E402
from tvexp._layers.channel_rounding import make_divisible  # noqa: E402

Candidate = tuple[Callable[[], None], Callable[[], Any]]  # (set the state, the timed call)


def interleaved(candidates: dict[str, Candidate], rounds: int, calls: int) -> dict[str, list[float]]:
    """Seconds per call of each candidate in every round; candidates alternate within every round."""
    names = list(candidates)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for name in names:  # warm-up
        setup, function = candidates[name]
        setup()
        function()
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            setup, function = candidates[name]
            setup()
            start = time.perf_counter()
            for _ in range(calls):
                function()
            samples[name].append((time.perf_counter() - start) / calls)
    return samples


def table(title: str, samples: dict[str, list[float]], reference: str, unit: str = "us") -> str:
    """Median and minimum per candidate, each with its ratio to ``reference`` (the minimum is the
    steadier figure on a shared machine)."""
    scale = {"us": 1e6, "ms": 1e3}[unit]
    medians = {name: statistics.median(values) for name, values in samples.items()}
    minima = {name: min(values) for name, values in samples.items()}
    lines = [
        f"### {title}",
        "",
        f"| candidate | median ({unit}) | ratio | min ({unit}) | ratio |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in samples:
        lines.append(
            f"| {name} | {medians[name] * scale:.3f} | {medians[name] / medians[reference]:.3f} "
            f"| {minima[name] * scale:.3f} | {minima[name] / minima[reference]:.3f} |"
        )
    return "\n".join(lines) + f"\n\nRatios are to {reference}.\n"


# --------------------------------------------------------------------------- the base commit


def extract_base(ref: str, into: Path) -> Path | None:
    """``tvexp/`` of ``ref`` extracted into ``into``; ``None`` (with a message) when git cannot give it."""
    result = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", ref, "tvexp"], capture_output=True)
    if result.returncode != 0:
        print(f"cannot extract {ref}: {result.stderr.decode().strip()}; before/after rows are skipped")
        return None
    with tarfile.open(fileobj=io.BytesIO(result.stdout)) as archive:
        archive.extractall(into, filter="data")
    return into


def load_base_tiers(base: Path) -> types.ModuleType:
    """The base commit's tiers.py as a module of its own (it imports the live tvexp._api helpers)."""
    spec = importlib.util.spec_from_file_location("tvexp_base_tiers", base / "tvexp" / "_api" / "tiers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- subjects


class _Layer(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight


def layer_copy(name: str) -> type[nn.Module]:
    cls = type(name, (_Layer,), {"__module__": __name__, "__qualname__": name})
    return cls


def function_copy(name: str) -> Callable[..., int]:
    raw = make_divisible.__wrapped__  # type: ignore[attr-defined]
    copy = types.FunctionType(raw.__code__, raw.__globals__, name, raw.__defaults__, raw.__closure__)
    copy.__kwdefaults__ = raw.__kwdefaults__
    copy.__qualname__ = name
    copy.__module__ = __name__
    return copy


def set_scopes(*names: str) -> Callable[[], None]:
    def setup() -> None:
        tiers._scopes = tiers._Scopes(frozenset(names), {})

    return setup


def warm(*uses: Callable[[], Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for use in uses:
            use()


# --------------------------------------------------------------------------- sections


def bench_forward(rounds: int, calls: int) -> str:
    layers: list[nn.Module] = []
    warm(lambda: layers.append(tvp.LayerNorm2d(32)))
    (layer,) = layers
    x = torch.randn(1, 32, 28, 28)
    samples = interleaved(
        {
            "no opt-in": (set_scopes(), lambda: layer(x)),
            "scoped opt-in covering the caller": (set_scopes(__name__), lambda: layer(x)),
            "scoped opt-in of another package": (set_scopes("otherlib"), lambda: layer(x)),
        },
        rounds,
        calls,
    )
    set_scopes()()
    return table("Forward of tvexp.prototype.LayerNorm2d(32), input 1x32x28x28", samples, "no opt-in")


def bench_calls(base: types.ModuleType | None, rounds: int, calls: int) -> str:
    plain_layer, plain_function = layer_copy("Plain"), function_copy("plain")
    live_warned = tiers.prototype(since="0.1.0")(layer_copy("LiveWarned"))
    live_scoped = tiers.prototype(since="0.1.0")(layer_copy("LiveScoped"))
    live_warned_f = tiers.prototype(since="0.1.0")(function_copy("live_warned"))
    live_scoped_f = tiers.prototype(since="0.1.0")(function_copy("live_scoped"))
    none = set_scopes()
    none()
    warm(lambda: live_warned(8), lambda: live_warned_f(100, 8))
    library = set_scopes(__name__)  # this module stands for a library that opted in for itself
    construction: dict[str, Candidate] = {"undecorated": (none, lambda: plain_layer(8))}
    function: dict[str, Candidate] = {"undecorated": (none, lambda: plain_function(100, 8))}
    if base is not None:
        base_warned = base.prototype(since="0.1.0")(layer_copy("BaseWarned"))
        base_warned_f = base.prototype(since="0.1.0")(function_copy("base_warned"))
        warm(lambda: base_warned(8), lambda: base_warned_f(100, 8))
        construction["base, after the warning"] = (none, lambda: base_warned(8))
        function["base, after the warning"] = (none, lambda: base_warned_f(100, 8))
    construction["live, after the warning"] = (none, lambda: live_warned(8))
    construction["live, silenced by a scope (library path)"] = (library, lambda: live_scoped(8))
    function["live, after the warning"] = (none, lambda: live_warned_f(100, 8))
    function["live, silenced by a scope (library path)"] = (library, lambda: live_scoped_f(100, 8))
    reference = "base, after the warning" if base is not None else "undecorated"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a scoped candidate that warned would be timing the wrong path
        out = table("Construction of a prototype class (warm)", interleaved(construction, rounds, calls), reference)
        out += "\n" + table(
            "Call of a prototype function, make_divisible(100, 8)", interleaved(function, rounds, calls * 5), reference
        )
    set_scopes()()
    return out


_IMPORT_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def import_profile(pythonpath: Path) -> tuple[float, float, set[str]]:
    """(summed self seconds of tvexp modules, cumulative seconds of tvexp.prototype, module names)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import tvexp.prototype"],
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
        env={**os.environ, "PYTHONPATH": str(pythonpath)},
        check=True,
    )
    own = cumulative = 0.0
    names = set()
    for line in result.stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if not match:
            continue
        name = match[4]
        names.add(name)
        if name.startswith("tvexp"):
            own += int(match[1]) / 1e6
        if name == "tvexp.prototype":
            cumulative = int(match[2]) / 1e6
    return own, cumulative, names


def bench_import(base: Path | None, repetitions: int) -> str:
    if base is None:
        return ""
    sides = {"base": base, "live": REPO}
    own: dict[str, list[float]] = {side: [] for side in sides}
    cumulative: dict[str, list[float]] = {side: [] for side in sides}
    names: dict[str, set[str]] = {}
    for repetition in range(repetitions):
        order = list(sides) if repetition % 2 == 0 else list(sides)[::-1]
        for side in order:
            seconds, total, imported = import_profile(sides[side])
            own[side].append(seconds)
            cumulative[side].append(total)
            names[side] = imported
    out = table(
        f"Import: self time of the tvexp modules, `import tvexp.prototype` ({repetitions} runs each)",
        own,
        "base",
        unit="ms",
    )
    out += "\n" + table(
        f"Import: cumulative time of `import tvexp.prototype`, torch included ({repetitions} runs each)",
        cumulative,
        "base",
        unit="ms",
    )
    only_live = sorted(names["live"] - names["base"])
    only_base = sorted(names["base"] - names["live"])
    out += f"\nModules imported only by live: {only_live or 'none'}; only by base: {only_base or 'none'}\n"
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-ref", default="6fdbf03", help="the commit to compare with (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--quick", action="store_true", help="few rounds and calls: proves the script works")
    args = parser.parse_args(argv)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rounds = 3 if args.quick else args.rounds
    calls = 20 if args.quick else 400
    with tempfile.TemporaryDirectory() as directory:
        base_tree = extract_base(args.base_ref, Path(directory))
        base = load_base_tiers(base_tree) if base_tree is not None else None
        report = [f"## tvexp opt-in costs (base {args.base_ref}; {rounds} interleaved rounds)", ""]
        report.append(bench_forward(rounds, max(1, calls // 4)))
        report.append(bench_calls(base, rounds, calls))
        report.append(bench_import(base_tree, 2 if args.quick else 9))
    torch.set_num_threads(threads)
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
