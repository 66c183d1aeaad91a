"""One Levenberg-Marquardt step for the balls model: block-sparse against dense Jacobian, and
the three solves of the block-sparse step side by side (``--solvers``): block-Jacobi CG through
the blocks, Cholesky of J^T J assembled densely from the blocks, and the sparse direct solve
(block-banded Cholesky in the balls' Fiedler order, with the band set to the bandwidth that holds
every coupling at initialisation, so the factorisation alone is the step).

Helmholtz 2D (a1 = 1, a2 = 4) in float64; M experts of 2 hidden layers of 16 units (337
parameters each), both optimizers on the same model, so the parameter count is equal; the points
grow with M (``--points-per-ball`` interior points per ball, a quarter as many on the boundary), so
that the sparse step should grow like points x parameters-per-expert x overlap (linear in M) and
the dense one like points x all parameters plus all parameters squared (quadratic in M).

Memory is XLA's own account of the compiled step (arguments + outputs + temporaries,
``memory_analysis``), so cases too large for this machine are still measured without running
them; time is the median of repeats of the compiled step, for the cases below ``--run-below-mb``.
Each ball's capacity is set to 1.2x the fullest ball's share of the points at initialisation.
The largest M that fits in 8 GiB comes from a power law fitted to the last three sizes of each.
Run as

    .venv/bin/python benchmarks/balls_lm.py [--ms 4 8 16 32 64] [--solvers]
"""

from __future__ import annotations

import argparse
import json
import math
import time

import jax
import numpy as np
from common import OUT_DIR, load_avg, median

from pinnbench.engine.train import Trainer
from pinnbench.optim.sparse_lm import coupling, fiedler_order
from pinnbench.run.suite import _Checker
from pinnbench.spec import RunSpec

WIDTH, DEPTH = 16, 2
LIMIT_GIB = 8.0


def spec(optimizer: str, m: int, n_interior: int, capacity: float, **options) -> RunSpec:
    c = _Checker("balls_lm")
    method = {
        "model": c.component("model", {"type": "balls", "n_balls": m, "width": WIDTH,
                                       "depth": DEPTH, "capacity": capacity}, "m"),
        "optimizer": c.component("optimizer", {"type": optimizer, **options}, "o"),
        "sampler": c.component("sampler", {"type": "uniform", "n_interior": n_interior,
                                           "n_boundary": n_interior // 4}, "s"),
    }
    problem = c.component("problem", {"type": "helmholtz2d", "a2": 4.0, "bc_weight": 100.0}, "p")
    return RunSpec("balls_lm", "helmholtz2d", problem, optimizer, method, 0, 0, "float64",
                   {"steps": 1, "eval_every": 1})


def occupancy(m: int, n_interior: int) -> tuple[float, float]:
    """(fullest ball's share of the points, mean balls per point) at initialisation."""
    trainer = Trainer(spec("lm_sparse", m, n_interior, 1.0))
    params, _, sampler_state = trainer.initial_state()[:3]
    shares, overlaps = [], []
    for x in sampler_state["points"].values():
        layout = trainer.model.layout(params, x)
        shares.append(float(layout.count.max()) / x.shape[0])
        overlaps.append(float(layout.count.sum()) / x.shape[0])
    return max(shares), float(np.mean(overlaps))


def bandwidth(m: int, n_interior: int, capacity: float) -> int:
    """Block bandwidth of J^T J in the Fiedler order at initialisation (what the band must hold
    for the sparse direct solve to need no CG)."""
    trainer = Trainer(spec("lm_sparse", m, n_interior, capacity))
    state = trainer.initial_state()
    objective = trainer.objective(state[2]["points"], *state[4:])
    b = jax.jit(lambda p: trainer.model.block_system(objective, p))(state[0])
    c = np.asarray(coupling(b.J, b.rows, b.r.shape[0]))
    position = np.argsort(np.asarray(fiedler_order(jax.numpy.asarray(c))))
    i, j = np.nonzero(np.triu(c, 1))
    return int(np.max(np.abs(position[i] - position[j]))) if i.size else 0


def measure(optimizer: str, m: int, n_interior: int, capacity: float, run_below_mb: float,
            repeats: int, **options) -> dict:
    trainer = Trainer(spec(optimizer, m, n_interior, capacity, **options))
    state = trainer.initial_state()
    params, opt_state, sampler_state = state[:3]
    objective = trainer.objective(sampler_state["points"], *state[4:])  # (+ loss state)
    step = jax.jit(lambda p, s, o=objective, opt=trainer.optimizer: opt.step(s, 0, o, p))
    t = time.perf_counter()
    compiled = step.lower(params, opt_state).compile()
    compile_s = time.perf_counter() - t
    mem = compiled.memory_analysis()
    total_mb = (mem.argument_size_in_bytes + mem.output_size_in_bytes
                + mem.temp_size_in_bytes) / 2**20
    row = {"optimizer": optimizer, **options, "M": m, "params": int(sum(
        x.size for x in jax.tree.leaves(params))), "points": int(sum(
            x.shape[0] for x in sampler_state["points"].values())),
        "memory_mb": total_mb, "temp_mb": mem.temp_size_in_bytes / 2**20,
        "compile_s": compile_s, "step_ms": None, "cg_iterations": None}
    if total_mb <= run_below_mb:
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            out = jax.block_until_ready(compiled(params, opt_state))
            times.append(time.perf_counter() - t)
        row["step_ms"] = 1e3 * median(times)
        if "cg_iterations" in out[2]:
            row["cg_iterations"] = int(out[2]["cg_iterations"])
    return row


def largest_m(rows: list[dict], limit_mb: float) -> dict:
    """Largest M under the limit: measured where a measured M exceeds it, else extrapolated by a
    power law through the last three sizes."""
    ms = np.array([r["M"] for r in rows], float)
    mb = np.array([r["memory_mb"] for r in rows], float)
    slope, intercept = np.polyfit(np.log(ms[-3:]), np.log(mb[-3:]), 1)
    fits = ms[mb <= limit_mb]
    if np.any(mb > limit_mb):
        return {"largest_m": int(fits.max()) if fits.size else 0, "how": "measured",
                "exponent": float(slope)}
    m = math.exp((math.log(limit_mb) - intercept) / slope)
    return {"largest_m": int(m), "how": "extrapolated", "exponent": float(slope)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ms", type=int, nargs="+", default=[4, 8, 16, 32, 64])
    parser.add_argument("--points-per-ball", type=int, default=128)
    parser.add_argument("--run-below-mb", type=float, default=1500.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--solvers", action="store_true",
                        help="dense LM against the three block-sparse solves (cg, cholesky, "
                        "sparse_cholesky) instead of the sparse-against-dense scaling")
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", True)
    if args.solvers:
        return solvers(args)
    rows = []
    print(f"{'M':>3} {'params':>6} {'points':>6} {'cap':>5} {'overlap':>7} | "
          f"{'sparse MB':>9} {'ms':>8} {'CG':>4} | {'dense MB':>9} {'ms':>8}")
    for m in args.ms:
        n = args.points_per_ball * m
        share, overlap = occupancy(m, n)
        capacity = min(1.0, 1.2 * share)
        sparse = measure("lm_sparse", m, n, capacity, args.run_below_mb, args.repeats)
        dense = measure("lm", m, n, capacity, args.run_below_mb, args.repeats)
        for r in (sparse, dense):
            r.update(capacity=capacity, overlap=overlap)
        rows += [sparse, dense]

        def ms(r):
            return f"{r['step_ms']:8.0f}" if r["step_ms"] is not None else f"{'-':>8}"

        print(f"{m:>3} {sparse['params']:>6} {sparse['points']:>6} {capacity:>5.2f} "
              f"{overlap:>7.2f} | {sparse['memory_mb']:>9.1f} {ms(sparse)} "
              f"{sparse['cg_iterations'] or '-':>4} | {dense['memory_mb']:>9.1f} {ms(dense)}",
              flush=True)
    limit = LIMIT_GIB * 1024
    fits = {opt: largest_m([r for r in rows if r["optimizer"] == opt], limit)
            for opt in ("lm_sparse", "lm")}
    for opt, f in fits.items():
        print(f"{opt}: memory ~ M^{f['exponent']:.2f}; largest M in {LIMIT_GIB:g} GiB: "
              f"{f['largest_m']} ({f['how']})")
    OUT_DIR.mkdir(exist_ok=True)
    out = {"rows": rows, "largest_m_8gib": fits, "load": load_avg(), "jax": jax.__version__,
           "points_per_ball": args.points_per_ball}
    (OUT_DIR / "balls_lm.json").write_text(json.dumps(out, indent=1))


def solvers(args: argparse.Namespace) -> None:
    rows = []
    print(f"{'M':>3} {'params':>6} {'points':>6} {'band':>4} | "
          + " | ".join(f"{name:>15} MB      ms" for name in
                       ("lm dense", "cg", "cholesky", "sparse_cholesky")))
    for m in args.ms:
        n = args.points_per_ball * m
        share, overlap = occupancy(m, n)
        capacity = min(1.0, 1.2 * share)
        band = bandwidth(m, n, capacity)
        cases = [("lm", {}), ("lm_sparse", {"solver": "cg"}),
                 ("lm_sparse", {"solver": "cholesky"}),
                 ("lm_sparse", {"solver": "sparse_cholesky", "band": max(band, 1)})]
        out = []
        for opt, options in cases:
            r = measure(opt, m, n, capacity, args.run_below_mb, args.repeats, **options)
            r.update(capacity=capacity, overlap=overlap, bandwidth=band)
            out.append(r)
        rows += out

        def cell(r):
            t = f"{r['step_ms']:7.0f}" if r["step_ms"] is not None else f"{'-':>7}"
            return f"{r['memory_mb']:>18.1f} {t}"

        print(f"{m:>3} {out[0]['params']:>6} {out[0]['points']:>6} {band:>4} | "
              + " | ".join(cell(r) for r in out), flush=True)
    OUT_DIR.mkdir(exist_ok=True)
    (OUT_DIR / "balls_lm_solvers.json").write_text(json.dumps(
        {"rows": rows, "load": load_avg(), "jax": jax.__version__,
         "points_per_ball": args.points_per_ball}, indent=1))


if __name__ == "__main__":
    main()
