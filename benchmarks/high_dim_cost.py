"""Cost of a training step as the dimension grows: d = 10, 50, 100 on the high-dimensional problems.

Every problem trains the same MLP with Adam on the same number of points, as the Trainer does
(compiled chunks of ``--chunk`` steps), and the step time is compared across dimensions and
operator paths, side by side in one process:

- ``poisson_nd``: the Laplacian by the forward-Laplacian jet (about d + 2 matrix products a layer);
- ``reaction_diffusion_nd``: the same jet (``forward``) against the randomised trace estimate
  (``hutchinson``, 4 probes: two nested jvps each, whatever d);
- ``dispersive_nd``: third derivatives along each axis by nested jvps (3·d directional passes);
- ``heat_nd``: the forward-Laplacian jet on the unit ball, plus the normal derivative on the sphere.

The figure is ms per step and its growth from d = 10 (the slope of log time over log d: 1 means
linear in d). Rounds alternate the configurations so all see the same machine load; medians.

    python benchmarks/high_dim_cost.py               # prints a Markdown table
    python benchmarks/high_dim_cost.py --dims 10 50 --rounds 3
    python benchmarks/high_dim_cost.py --only poisson_nd heat_nd   # a subset, by name prefix
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

# label -> the problem's table (one line, ", " between keys), {d} for the dimension, whose option
# name differs by problem.
PROBLEMS = {
    "poisson_nd": ('type = "poisson_nd", dims = {d}'),
    "reaction_diffusion_nd (forward)": ('type = "reaction_diffusion_nd", d = {d}'),
    "reaction_diffusion_nd (hutchinson, 4 probes)":
        ('type = "reaction_diffusion_nd", d = {d}, laplacian = "hutchinson", probes = 4'),
    "dispersive_nd": ('type = "dispersive_nd", d = {d}'),
    "heat_nd (unit ball, Neumann)": ('type = "heat_nd", dims = {d}'),
}

SUITE = """\
name = "bench-high-dim"
seeds = [0]
precision = "float32"
[budget]
steps = 1000000
eval_every = {chunk}
[defaults]
model = {{ type = "mlp", width = {width}, depth = 3, activation = "tanh" }}
optimizer = {{ type = "adam", lr = 1e-3 }}
sampler = {{ type = "uniform", n_interior = {n}, n_boundary = 256, n_initial = 256 }}
[methods.adam]
"""


def suite_text(dims: list[int], chunk: int, width: int, n: int,
               chosen: list[str] | None = None) -> str:
    """The suite: problem ``p<i>_d<d>`` is the i-th of :data:`PROBLEMS` in d dimensions."""
    text = SUITE.format(chunk=chunk, width=width, n=n)
    for i, (name, options) in enumerate(PROBLEMS.items()):
        if chosen is not None and name not in chosen:
            continue
        for d in dims:
            text += f"[problems.p{i}_d{d}]\n" + options.format(d=d).replace(", ", "\n") + "\n"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--chunk", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--n", type=int, default=1024, help="interior training points")
    parser.add_argument("--only", nargs="+", help="problems whose label starts with one of these")
    args = parser.parse_args()
    chosen = [name for name in PROBLEMS
              if not args.only or any(name.startswith(prefix) for prefix in args.only)]

    from common import ms_per_step, warm_chunks

    from pinnbench.machine import cpu_name
    from pinnbench.run.suite import load_suite

    text = suite_text(args.dims, args.chunk, args.width, args.n, chosen)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "high_dim.toml"
        path.write_text(text)
        specs = load_suite(path).runs()

    chunks, compile_s = warm_chunks(specs, args.chunk, lambda spec: spec.problem_label)
    ms = ms_per_step(chunks, args.rounds, args.chunk)

    print(f"MLP 3x{args.width} tanh, Adam, float32, {args.n} interior + 256 boundary + 256 "
          f"initial points, chunks of {args.chunk} steps, median of {args.rounds} rounds; "
          f"{cpu_name()}")
    print()
    head = " | ".join(f"d = {d}" for d in args.dims)
    print(f"| problem (operator) | {head} | growth d = {args.dims[0]} → {args.dims[-1]} "
          f"| slope (log t / log d) | compile s at d = {args.dims[-1]} |")
    print("|---|" + "---:|" * (len(args.dims) + 3))
    for i, name in enumerate(PROBLEMS):
        if name not in chosen:
            continue
        times = [ms[f"p{i}_d{d}"] for d in args.dims]
        growth = times[-1] / times[0]
        slope = math.log(growth) / math.log(args.dims[-1] / args.dims[0])
        cells = " | ".join(f"{t:.1f} ms" for t in times)
        print(f"| {name} | {cells} | {growth:.1f}x | {slope:.2f} | "
              f"{compile_s[f'p{i}_d{args.dims[-1]}']:.1f} |")


if __name__ == "__main__":
    main()
