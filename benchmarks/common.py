"""Pieces shared by the benchmark scripts: the configuration, the run spec, timing helpers."""

from __future__ import annotations

import os
import statistics
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "bench-out"

CONFIG = {
    "a1": 1.0, "a2": 4.0, "k": 1.0,
    "width": 64, "depth": 4, "activation": "tanh",
    "n_interior": 4096, "n_boundary": 1024,
    "lr": 1e-3, "precision": "float32", "seed": 0,
}

SUITE_TOML = """\
name = "bench-helmholtz"
description = "Speed benchmark: Helmholtz 2D, MLP 4x64 tanh, fixed points, Adam 1e-3"
seeds = [{seed}]
precision = "{precision}"

[budget]
steps = 1000000
eval_every = {chunk}

[problems.helmholtz2d]
a1 = {a1}
a2 = {a2}
k = {k}

[methods.adam]
model = {{ type = "mlp", width = {width}, depth = {depth}, activation = "{activation}" }}
sampler = {{ type = "uniform", n_interior = {n_interior}, n_boundary = {n_boundary} }}
optimizer = {{ type = "adam", lr = {lr}, schedule = "constant" }}
"""


# ---- small helpers -----------------------------------------------------------------------------
def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def spread(xs: list[float]) -> dict[str, float]:
    if not xs:
        return {"median": float("nan"), "min": float("nan"), "max": float("nan"), "n": 0}
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def cpu_model() -> str:
    from pinnbench.machine import cpu_name

    return cpu_name()


def op_time_by_kind(compiled: Any, arg: Any, calls: int, trace_name: str,
                    ) -> tuple[dict[str, float], dict[str, float]]:
    """Op time (microseconds, summed over XLA's threads) of ``calls`` runs of a compiled function,
    by kind of op and by op name, from a jax.profiler trace."""
    import gzip
    import json
    import re
    import shutil

    import jax

    ops = set(re.findall(r"%([\w.\-]+) = ", compiled.as_text()))
    trace_dir = OUT_DIR / trace_name
    shutil.rmtree(trace_dir, ignore_errors=True)
    jax.block_until_ready(compiled(arg))
    with jax.profiler.trace(str(trace_dir), create_perfetto_trace=True):
        for _ in range(calls):
            jax.block_until_ready(compiled(arg))
    (path,) = trace_dir.rglob("perfetto_trace.json.gz")
    with gzip.open(path) as f:
        events = json.load(f)
    events = events["traceEvents"] if isinstance(events, dict) else events
    kinds: dict[str, float] = {}
    by_name: dict[str, float] = {}
    for e in events:
        name = e.get("name", "")
        if e.get("ph") != "X" or name not in ops:
            continue
        if name.startswith(("ynn", "xnn", "onednn")):
            kind = "library dot fusions (XNNPACK/YNNPACK/oneDNN)"
        elif name.startswith(("dot", "convolution")):
            kind = "XLA dots"
        elif "copy" in name or "transpose" in name:
            kind = "copies and transposes"
        else:
            kind = "elementwise and reduction fusions"
        kinds[kind] = kinds.get(kind, 0.0) + e.get("dur", 0.0)
        by_name[name] = by_name.get(name, 0.0) + e.get("dur", 0.0)
    return kinds, by_name


def load_avg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def flops_of(compiled: Any) -> float | None:
    """'flops' from XLA's cost analysis (a dict, or a one-element list in older jax)."""
    try:
        cost = compiled.cost_analysis()
    except Exception:
        return None
    if isinstance(cost, list | tuple):
        cost = cost[0] if cost else None
    if not cost or "flops" not in cost:
        return None
    return float(cost["flops"])


def make_spec(chunk: int = 200) -> Any:
    """The benchmark's RunSpec, through the suite loader so every default is filled in."""
    from pinnbench.run.suite import load_suite

    OUT_DIR.mkdir(exist_ok=True)
    suite_file = OUT_DIR / "bench-helmholtz.toml"
    suite_file.write_text(SUITE_TOML.format(chunk=chunk, **CONFIG))
    (spec,) = load_suite(suite_file).runs()
    return spec


def scanned(fn: Any, params: Any, length: int) -> Any:
    """``length`` evaluations of fn(params) in one compiled ``lax.scan``, as the Trainer's chunks
    run steps.

    The parameters are nudged by the iteration counter so that XLA cannot hoist the work out of
    the loop, and every output is summed into the carry so that none of it is dropped.
    """
    import jax
    import jax.numpy as jnp

    def run(params):
        def body(carry, i):
            p, acc = carry
            p = jax.tree.map(lambda x: x * (1 + 1e-7 * i.astype(x.dtype)), p)
            out = fn(p)
            acc = acc + sum(jnp.sum(leaf) for leaf in jax.tree.leaves(out))
            return (p, acc), None

        zero = jnp.zeros((), jax.tree.leaves(params)[0].dtype)
        return jax.lax.scan(body, (params, zero), jnp.arange(length))[0][1]

    return jax.jit(run).lower(params).compile()


# ---- compiled chunks of training steps, timed side by side ---------------------------------------
def warm_chunks(specs: list[Any], chunk: int,
                label: Any) -> tuple[dict[str, Any], dict[str, float]]:
    """Each spec's compiled chunk of ``chunk`` steps and the state after running it once, keyed
    by ``label(spec)``, with the seconds each took to compile (as the Trainer compiles it)."""
    import time

    import jax

    from pinnbench.engine.train import Trainer

    chunks, compile_s = {}, {}
    for spec in specs:
        trainer = Trainer(spec)
        carry = trainer.initial_state()
        t = time.perf_counter()
        compiled = trainer.compiled_chunk(carry, chunk)
        compile_s[label(spec)] = time.perf_counter() - t
        # Run once untimed; the timed chunks start where it ended (an adapting sampler then
        # adapts within them).
        carry = compiled(carry)[0]
        jax.block_until_ready(carry)
        chunks[label(spec)] = (compiled, carry)
    return chunks, compile_s


def ms_per_step(chunks: dict[str, Any], rounds: int, chunk: int) -> dict[str, float]:
    """Median milliseconds per step of each warm chunk over ``rounds``, the configurations
    alternating within every round so that all see the same machine load."""
    import time

    import jax

    seconds: dict[str, list[float]] = {label: [] for label in chunks}
    for _ in range(rounds):
        for label, (compiled, carry) in chunks.items():
            t = time.perf_counter()
            jax.block_until_ready(compiled(carry))
            seconds[label].append(time.perf_counter() - t)
    return {label: 1e3 * statistics.median(ts) / chunk for label, ts in seconds.items()}
