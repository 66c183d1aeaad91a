"""Diagnostic: how the layout of the MLP's forward-mode jet affects the cost of a training step.

``MLP.jet`` carries the input gradient as one (N, d, width) array per layer. This script times
the loss and its parameter gradient, and the whole training step, on the configuration of
``benchmarks/run.py``, with the engine's model and with drop-in variants of its ``jet`` that carry
one (N, width) array per input direction instead. Everything else (problem, residuals, Objective,
points, optimizer) is the engine's own; the variants only wrap the model, and the script checks
that every variant gives the same loss.

    .venv/bin/python benchmarks/jet_layouts.py [--length 30] [--repeats 5] [--no-profile]

Variants are timed in turn, ``--repeats`` times each, as compiled scans of ``--length``
evaluations; wall and process CPU time per evaluation are reported (medians), and op time by
kind from a profiler trace.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from typing import Any

from common import load_avg, make_spec, median, op_time_by_kind, scanned


def per_direction_jet(base: Any, closed_form_tanh: bool) -> Any:
    """A model like ``base`` (an MLP) whose jet keeps one (N, width) array per input direction."""
    import jax.numpy as jnp

    from pinnbench.derivatives import Jet, elementwise_derivatives
    from pinnbench.models.base import ACTIVATIONS

    act = ACTIVATIONS[base.activation]
    use_closed_form = closed_form_tanh and base.activation == "tanh"

    def derivatives(z):
        if use_closed_form:
            s = jnp.tanh(z)
            s1 = 1 - s * s
            return s, s1, -2 * s * s1
        return elementwise_derivatives(act, z)

    @dataclasses.dataclass(frozen=True)
    class PerDirection:
        def init(self, *args):
            return base.init(*args)

        def apply(self, params, x):
            return base.apply(params, x)

        def jet(self, params, x, mode):
            n, d = x.shape
            h = base.inputs.forward(x)
            scale = base.inputs.scale(d, x.dtype)
            gs = [jnp.zeros_like(x).at[:, i].set(scale[i]) for i in range(d)]
            secs = [jnp.zeros_like(x)] if mode == "laplacian" else [jnp.zeros_like(x)] * d
            for layer in params[:-1]:
                w, b = layer["w"], layer["b"]
                z = h @ w + b
                gs = [g @ w for g in gs]
                secs = [s @ w for s in secs]
                s, s1, s2 = derivatives(z)
                if mode == "laplacian":
                    secs = [s1 * secs[0] + s2 * sum(g * g for g in gs)]
                else:
                    secs = [s1 * sec + s2 * g * g for sec, g in zip(secs, gs, strict=True)]
                h, gs = s, [s1 * g for g in gs]
            w, b = params[-1]["w"], params[-1]["b"]
            grad = jnp.stack([g @ w for g in gs], axis=1)
            second = secs[0] @ w if mode == "laplacian" else jnp.stack([s @ w for s in secs], 1)
            return Jet(h @ w + b, grad, second)

    return PerDirection()


def op_kinds(compiled: Any, arg: Any, length: int, repeats: int = 2) -> dict[str, float]:
    """Op time per evaluation by kind (ms, summed over threads) from a profiler trace."""
    kinds, _ = op_time_by_kind(compiled, arg, repeats, "trace-jet")
    return {k: v * 1e-3 / (repeats * length) for k, v in kinds.items()}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--length", type=int, default=30, help="evaluations per compiled scan (30)")
    p.add_argument("--repeats", type=int, default=5, help="timed scans per variant (5)")
    p.add_argument("--no-profile", dest="profile", action="store_false")
    args = p.parse_args()

    import jax

    from pinnbench.engine.train import Trainer
    from pinnbench.objective import Objective

    trainer = Trainer(make_spec())
    params, _, sampler_state, _, _ = trainer.initial_state()
    points = sampler_state["points"]
    models = {
        "engine MLP.jet, gradient as (N, d, width)": trainer.model,
        "per-direction (N, width) arrays": per_direction_jet(trainer.model, False),
        "per-direction + closed-form tanh derivatives": per_direction_jet(trainer.model, True),
    }
    losses, fns = {}, {}
    for name, model in models.items():
        objective = Objective(trainer.problem, model, points, trainer.weights,
                              trainer.sampler.fixed)
        losses[name] = float(objective.loss(params))
        fns[name] = scanned(jax.value_and_grad(objective.loss), params, args.length)
        jax.block_until_ready(fns[name](params))
    ref = next(iter(losses.values()))
    for name, value in losses.items():
        if abs(value - ref) > 1e-4 * abs(ref):
            print(f"loss mismatch: {name} gives {value}, the engine {ref}")
            return 1

    wall: dict[str, list[float]] = {name: [] for name in fns}
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(args.repeats):
        for name, fn in fns.items():
            t, c = time.perf_counter(), time.process_time()
            jax.block_until_ready(fn(params))
            wall[name].append(1e3 * (time.perf_counter() - t) / args.length)
            cpu[name].append(1e3 * (time.process_time() - c) / args.length)

    # The whole training step: a Trainer per variant, its model swapped for the variant.
    chunks = {}
    for name, model in models.items():
        tr = Trainer(make_spec())
        tr.model = model
        carry = tr.initial_state()
        chunks[name] = (tr.compiled_chunk(carry, args.length), carry)
        jax.block_until_ready(chunks[name][0](carry))
    step_wall: dict[str, list[float]] = {name: [] for name in chunks}
    for _ in range(args.repeats):
        for name, (chunk, carry) in chunks.items():
            t = time.perf_counter()
            jax.block_until_ready(chunk(carry))
            step_wall[name].append(args.length / (time.perf_counter() - t))

    print(f"loss and gradient, ms per evaluation (median of {args.repeats} scans of "
          f"{args.length}); load average {load_avg()}; all losses equal ({ref:.6g})")
    base = median(wall[next(iter(fns))])
    for name in fns:
        print(f"  {median(wall[name]):6.1f} wall  {median(cpu[name]):6.1f} CPU  "
              f"x{base / median(wall[name]):4.2f}  {name}")
    print(f"whole training step (Trainer chunks of {args.length}), steps/s:")
    base = median(step_wall[next(iter(chunks))])
    for name in chunks:
        print(f"  {median(step_wall[name]):6.1f} steps/s  x{median(step_wall[name]) / base:4.2f}  "
              f"{name}")
    if args.profile:
        print("op time by kind (ms per evaluation, summed over threads):")
        for name, fn in fns.items():
            kinds = op_kinds(fn, params, args.length)
            print("  " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(kinds.items()))
                  + f"  ({name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
