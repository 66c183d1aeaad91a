"""Peak memory and time of one adaptive resampling: RAD vs GLF on reaction_diffusion_nd.

RAD scores a large pool of fresh candidates by the PDE residual (a Laplacian in d dimensions on
every candidate); GLF scores only the N training points and perturbs them. Each configuration
runs in its own process, so the peak resident set size (and, on a GPU, the device's peak bytes
in use) is that configuration's alone. ``uniform`` (a plain redraw of the same points) is the
baseline: its peak is what the process needs without any residual-based sampling.

    python benchmarks/sampling_memory.py                     # d = 10, 20; prints a Markdown table
    python benchmarks/sampling_memory.py --dims 10 --pool 100000 --n 2000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
METHODS = ("uniform", "rad", "glf")


def worker(method: str, d: int, n: int, pool: int, width: int, depth: int,
           repeats: int) -> dict[str, Any]:
    import jax
    import jax.numpy as jnp

    from pinnbench.machine import peak_device_mb, peak_host_rss_mb
    from pinnbench.models.mlp import MLP
    from pinnbench.problems.reaction_diffusion import ReactionDiffusionND
    from pinnbench.sampling.base import Probe
    from pinnbench.sampling.glf import GLF
    from pinnbench.sampling.residual import RAD
    from pinnbench.sampling.uniform import Uniform

    problem = ReactionDiffusionND(d=d)
    model = MLP(width=width, depth=depth).bind(problem.lower, problem.upper)
    params = model.init(jax.random.PRNGKey(0), problem.dim, 1, jnp.float32)
    counts = {"n_interior": n, "n_boundary": 256, "n_initial": 256}
    sampler = {"uniform": Uniform(**counts, resample_every=1),
               "rad": RAD(**counts, n_candidates=pool, every=1),
               "glf": GLF(**counts, every=1)}[method]
    state = sampler.init(problem, jax.random.PRNGKey(1), jnp.float32)
    jax.block_until_ready(state)
    rss_before = peak_host_rss_mb()

    def resample(state, params):
        return sampler.update(state, jnp.asarray(1), problem, Probe(problem, model, params))

    t0 = time.perf_counter()
    compiled = jax.jit(resample).lower(state, params).compile()
    compile_s = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        state = jax.block_until_ready(compiled(state, params))
        times.append(time.perf_counter() - t)
    return {"method": method, "d": d, "n": n, "pool": pool if method == "rad" else None,
            "device": jax.devices()[0].platform, "compile_s": compile_s,
            "sample_s": statistics.median(times), "rss_before_mb": rss_before,
            "peak_rss_mb": peak_host_rss_mb(), "peak_device_mb": peak_device_mb()}


def run_one(method: str, d: int, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", method, "--dims", str(d), "--n", str(args.n),
           "--pool", str(args.pool), "--width", str(args.width), "--depth", str(args.depth),
           "--repeats", str(args.repeats)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    if out.returncode != 0:
        raise RuntimeError(f"{method} d={d} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(rows: list[dict[str, Any]]) -> str:
    base = {r["d"]: r["peak_rss_mb"] for r in rows if r["method"] == "uniform"}
    gpu = any(r["peak_device_mb"] is not None for r in rows)
    head = ("| d | method | candidates scored | resampling time | peak RSS | above uniform |"
            + (" peak device memory |" if gpu else ""))
    lines = [head, "| ---: | --- | ---: | ---: | ---: | ---: |" + (" ---: |" if gpu else "")]
    for r in rows:
        scored = r["pool"] if r["method"] == "rad" else (r["n"] if r["method"] == "glf" else 0)
        line = (f"| {r['d']} | {r['method']} | {scored} | {1e3 * r['sample_s']:.1f} ms | "
                f"{r['peak_rss_mb']:.0f} MB | {r['peak_rss_mb'] - base[r['d']]:+.0f} MB |")
        if gpu:
            line += f" {r['peak_device_mb']:.0f} MB |" if r["peak_device_mb"] else " - |"
        lines.append(line)
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", choices=METHODS)
    p.add_argument("--dims", type=int, nargs="+", default=[10, 20])
    p.add_argument("--n", type=int, default=2000, help="training points")
    p.add_argument("--pool", type=int, default=100000, help="RAD candidates")
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json", type=Path, help="also write the rows here")
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.dims[0], args.n, args.pool, args.width,
                                args.depth, args.repeats)))
        return
    rows = [run_one(m, d, args) for d in args.dims for m in METHODS]
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print(table(rows))


if __name__ == "__main__":
    main()
