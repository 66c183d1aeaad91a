"""Step time of residual-based samplers between adaptations, and the cost of one adaptation.

A residual-based sampler should cost nothing on the steps where it does not adapt: there its
points are the ones it drew last, and the step is a plain optimizer step on them. This script
trains the same network and optimizer with every sampler on Burgers 1D, as the Trainer does
(compiled chunks of ``--chunk`` steps), side by side in one process:

- *between adaptations*: ``every`` is larger than the budget, so no chunk adapts; the figure is
  each sampler's step time over uniform's (target: at most 1.2);
- *per adaptation*: the same chunk with ``every = chunk / 2`` (two adaptations per chunk); the
  extra time over the non-adapting chunk, per adaptation.

Rounds alternate the configurations so all see the same machine load; medians over rounds.

    python benchmarks/sampler_step.py                  # prints a Markdown table
    python benchmarks/sampler_step.py --rounds 9 --candidates 100000
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

SAMPLERS = {
    "uniform": "",
    "rad": "n_candidates = {candidates}",
    "rar": "n_candidates = {candidates}, n_add = 100, rounds = 10",
    "rar_d": "n_candidates = {candidates}, n_add = 100, rounds = 10",
    "glf": "",
}
GROWING = {"rar", "rar_d"}  # these start from n_interior - rounds * n_add points
TARGET = 1.2  # between adaptations: step time over uniform's

SUITE = """\
name = "bench-samplers"
seeds = [0]
precision = "float32"
[budget]
steps = 1000000
eval_every = {chunk}
[problems.burgers1d]
[defaults]
model = {{ type = "mlp", width = {width}, depth = 3, activation = "tanh" }}
optimizer = {{ type = "adam", lr = 1e-3 }}
"""


def suite_text(chunk: int, width: int, n: int, candidates: int) -> str:
    text = SUITE.format(chunk=chunk, width=width)
    for name, extra in SAMPLERS.items():
        interior = n - 1000 if name in GROWING else n
        for label, every in ((name, 10**9), (f"{name}@adapt", chunk // 2)):
            options = [f'type = "{name}"', f"n_interior = {interior}", "n_boundary = 256",
                       "n_initial = 256"]
            if name != "uniform":
                options.append(f"every = {every}")
            elif label != name:
                continue
            if extra:
                options.append(extra.format(candidates=candidates))
            text += f'[methods."{label}"]\nsampler = {{ {", ".join(options)} }}\n'
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunk", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--n", type=int, default=2000, help="interior training points")
    parser.add_argument("--candidates", type=int, default=100000, help="pool of rad and rar*")
    args = parser.parse_args()

    from common import ms_per_step, warm_chunks

    from pinnbench.machine import cpu_name
    from pinnbench.run.suite import load_suite

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "samplers.toml"
        path.write_text(suite_text(args.chunk, args.width, args.n, args.candidates))
        specs = load_suite(path).runs()

    chunks, _ = warm_chunks(specs, args.chunk, lambda spec: spec.method_label)
    ms = ms_per_step(chunks, args.rounds, args.chunk)

    print(f"Burgers 1D, MLP 3x{args.width} tanh, Adam, float32, {args.n} interior points, "
          f"pool {args.candidates}, chunks of {args.chunk} steps, median of {args.rounds} "
          f"rounds; {cpu_name()}")
    print()
    print("| sampler | ms/step between adaptations | over uniform | ms per adaptation |")
    print("|---|---:|---:|---:|")
    base = ms["uniform"]
    worst = 0.0
    for name in SAMPLERS:
        between = ms[name]
        ratio = between / base
        worst = max(worst, ratio)
        adapt = (ms.get(f"{name}@adapt", between) - between) * args.chunk / 2
        adapt_text = "" if name == "uniform" else f"{adapt:.1f}"
        print(f"| {name} | {between:.2f} | {ratio:.2f} | {adapt_text} |")
    print()
    verdict = "meets" if worst <= TARGET else "misses"
    print(f"largest ratio between adaptations: {worst:.2f} ({verdict} the target {TARGET})")


if __name__ == "__main__":
    main()
