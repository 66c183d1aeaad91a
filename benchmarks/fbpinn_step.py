"""FBPINN step time: the pair-major evaluation against the subdomain-major one.

The compiled time of one loss-and-gradient evaluation (``jax.value_and_grad`` of the training
objective, what every gradient optimizer step costs) for the same FBPINN evaluated pair-major
(``evaluation = "pairs"``: per (point, subdomain) pair, weights gathered per pair) and with the
``evaluation = "auto"`` (subdomain-major blocks: per subdomain, one batched matmul over a
block of its points), compiled side by side in one process and timed in alternation.

Cases: poisson_multiscale (n = 2, 2D) with 16 subdomains per axis, one hidden layer of 16 tanh
units, 4096 Sobol interior + 512 boundary points, float64, one level and five levels (16, 8, 4,
2, 1 per axis); the oscillator (omega0 = 80, 1D) with 16 subdomains, one and five levels. Both
layouts run with the default ``chunk`` and, with ``--one-chunk``, also with every point in one
chunk; ``--width`` and ``--depth`` change the subdomain networks. Medians of repeats after
compilation; run as

    .venv/bin/python benchmarks/fbpinn_step.py [--repeats 15] [--one-chunk] [--width 16 --depth 1]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import jax
from common import OUT_DIR, cpu_model, median

import pinnbench.plugins  # noqa: F401
from pinnbench.engine.train import Trainer
from pinnbench.run.suite import _Checker
from pinnbench.spec import RunSpec

PROBLEMS = {
    "poisson_multiscale": {"type": "poisson_multiscale", "n": 2},
    "oscillator": {"type": "oscillator", "omega0": 80.0},
}


def spec(problem: str, levels: int, evaluation: str, chunk: int | None, width: int = 16,
         depth: int = 1) -> RunSpec:
    c = _Checker("fbpinn_step")
    model = {"type": "fbpinn", "subdomains": 16, "levels": levels, "width": width,
             "depth": depth, "evaluation": evaluation}
    if chunk is not None:
        model["chunk"] = chunk
    method = {
        "model": c.component("model", model, "m"),
        "optimizer": c.component("optimizer", {"type": "adam", "lr": 1e-2}, "o"),
        "sampler": c.component("sampler", {"type": "sobol", "n_interior": 4096,
                                           "n_boundary": 512, "n_initial": 1}, "s"),
        "weights": {},
    }
    prob = c.component("problem", PROBLEMS[problem], "p")
    return RunSpec("fbpinn_step", problem, prob, "fbpinn", method, 0, 0, "float64",
                   {"steps": 10, "eval_every": 10})


def compiled_step(run: RunSpec) -> tuple:
    """The compiled loss-and-gradient of a run's objective at its initial point, its compile
    seconds, its parameters and the trainer."""
    trainer = Trainer(run)
    params, _, sampler_state, _, loss_state = trainer.initial_state()
    objective = trainer.objective(sampler_state["points"], loss_state)
    t = time.perf_counter()
    step = jax.jit(jax.value_and_grad(objective.loss)).lower(params).compile()
    return step, time.perf_counter() - t, params, trainer, sampler_state["points"]


def layouts_used(trainer: Trainer, points: dict) -> dict[str, str]:
    """Per region: pairs, blocks, or blocks that overflow (and so fall back to pairs)."""
    model = trainer.model
    out = {}
    for region, x in points.items():
        if not model.uses_blocks(min(x.shape[0], model._points_per_chunk())):
            out[region] = "pairs"
        else:
            over = bool(jax.jit(model.block_overflow, static_argnums=1)(x, "laplacian"))
            out[region] = "blocks, overflow -> pairs" if over else "blocks"
    return out


def compare(problem: str, levels: int, chunk: int | None, repeats: int, width: int,
            depth: int) -> dict:
    """Both layouts compiled, then timed in alternation (the machine's load drifts)."""
    steps = {ev: compiled_step(spec(problem, levels, ev, chunk, width, depth))
             for ev in ("pairs", "auto")}
    losses = {ev: float(jax.block_until_ready(s[0](s[2]))[0]) for ev, s in steps.items()}
    times: dict[str, list[float]] = {ev: [] for ev in steps}
    for _ in range(repeats):
        for ev, (step, _, params, _, _) in steps.items():
            t = time.perf_counter()
            jax.block_until_ready(step(params))
            times[ev].append(time.perf_counter() - t)
    _, _, _, trainer, points = steps["auto"]
    model = trainer.model
    n = min(points["interior"].shape[0], model._points_per_chunk())
    return {
        "problem": problem, "levels": levels, "width": width, "depth": depth,
        "chunk": "default" if chunk is None else "all points",
        "pairs_ms": 1e3 * median(times["pairs"]), "blocks_ms": 1e3 * median(times["auto"]),
        "pairs_min_ms": 1e3 * min(times["pairs"]), "blocks_min_ms": 1e3 * min(times["auto"]),
        "speedup": median(times["pairs"]) / median(times["auto"]),
        "compile_s": {ev: s[1] for ev, s in steps.items()},
        "loss_diff": abs(losses["pairs"] - losses["auto"]),
        "interior_points_per_chunk": n,
        "interior_pairs_per_chunk": n * model.decomposition.pairs_per_point,
        "interior_block_rows_per_chunk": model.block_rows(n),
        "layouts": layouts_used(trainer, points),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=15, help="timed calls per case (15)")
    p.add_argument("--one-chunk", action="store_true",
                   help="also time both layouts with all points in one chunk")
    p.add_argument("--width", type=int, default=16, help="hidden units per layer (16)")
    p.add_argument("--depth", type=int, default=1, help="hidden layers (1)")
    args = p.parse_args()
    jax.config.update("jax_enable_x64", True)
    chunks: list[int | None] = [None] + ([10**7] if args.one_chunk else [])
    rows = []
    print(f"{'problem':<19} {'levels':>6} {'chunk':>10} {'pairs ms':>9} {'blocks ms':>10} "
          f"{'speed-up':>8} {'compile s':>11}  layouts")
    for problem in PROBLEMS:
        for levels in (1, 5):
            for chunk in chunks:
                row = compare(problem, levels, chunk, args.repeats, args.width, args.depth)
                rows.append(row)
                compile_s = f"{row['compile_s']['pairs']:.1f}/{row['compile_s']['auto']:.1f}"
                layouts = ", ".join(f"{k}: {v}" for k, v in row["layouts"].items())
                print(f"{problem:<19} {levels:>6} {row['chunk']:>10} {row['pairs_ms']:>9.1f} "
                      f"{row['blocks_ms']:>10.1f} {row['speedup']:>7.2f}x {compile_s:>11}  "
                      f"{layouts}", flush=True)
    OUT_DIR.mkdir(exist_ok=True)
    out = {"rows": rows, "cpu": cpu_model(), "cores": os.cpu_count(), "load": os.getloadavg(),
           "jax": jax.__version__}
    name = "fbpinn_step" + ("" if (args.width, args.depth) == (16, 1)
                            else f"_w{args.width}_d{args.depth}")
    (OUT_DIR / f"{name}.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
