"""ELM-FBPINN against an FBPINN trained with Adam and a finite-difference solve, on
poisson_multiscale (n = 2) in float64.

(a) ELM-FBPINN: 8 x 8 subdomains, Legendre basis of degree <= 6 (28 functions each), one linear
    least-squares solve (LSQR, block-Jacobi) on 6400 Sobol interior + 640 boundary points: solve
    time (the run's train_s), compile time, relative L2 error, the system's size and iterations.
(b) The same problem as an FBPINN (8 x 8 subdomains, one hidden layer of 16 tanh units) trained
    with Adam (lr 1e-2) for ``--adam-s`` seconds of training: its error over time.
(c) Second-order finite differences (5-point Laplacian, scipy sparse direct solve) on grids of
    growing size, until the error on the evaluation grid falls below the ELM-FBPINN's: the time of
    that solve (assembly included).

    .venv/bin/python benchmarks/elm_fbpinn.py [--adam-s 120]

With ``--preconditioners`` it only compares the CG preconditioners (block Jacobi, additive
Schwarz) on suites/domain_decomposition.toml's elm_poly method on poisson_multiscale (seed 0;
8 x 8 subdomains, degree 8, 8192 + 512 Sobol points, tol 1e-8, at most 5000 iterations or
``--max-iters``):
iterations, solve time and relative L2 error of each (bench-out/elm_fbpinn_preconditioners.json).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import time

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from common import OUT_DIR, ROOT
from scipy.interpolate import RegularGridInterpolator

from pinnbench.engine.train import train
from pinnbench.problems.classic import PoissonMultiscale
from pinnbench.run.suite import _Checker, load_suite
from pinnbench.spec import RunSpec

N_SCALES = 2


def spec(model: dict, optimizer: dict, budget: dict, n_interior: int = 6400) -> RunSpec:
    c = _Checker("elm_fbpinn_bench")
    method = {
        "model": c.component("model", model, "m"),
        "optimizer": c.component("optimizer", optimizer, "o"),
        "sampler": c.component("sampler", {"type": "sobol", "n_interior": n_interior,
                                           "n_boundary": n_interior // 10}, "s"),
        "loss": {"type": "plain"},
        "weights": {},
    }
    problem = c.component("problem", {"type": "poisson_multiscale", "n": N_SCALES}, "p")
    return RunSpec("elm_fbpinn_bench", "poisson_multiscale", problem, model["type"], method, 0, 0,
                   "float64", budget)


def finite_differences(m: int) -> tuple[float, float]:
    """Solve on m x m interior nodes; (seconds, relative L2 error on the evaluation grid)."""
    problem = PoissonMultiscale(n=N_SCALES)
    t = time.perf_counter()
    h = 1.0 / (m + 1)
    axis = np.linspace(h, 1 - h, m)
    xx, yy = np.meshgrid(axis, axis, indexing="ij")
    f = problem.source(np.stack([xx.ravel(), yy.ravel()], axis=1), np)
    lap1 = sp.diags([1.0, -2.0, 1.0], [-1, 0, 1], shape=(m, m)) / h**2
    eye = sp.identity(m)
    lap = (sp.kron(lap1, eye) + sp.kron(eye, lap1)).tocsc()
    u = spla.spsolve(lap, f).reshape(m, m)
    seconds = time.perf_counter() - t
    full = np.zeros((m + 2, m + 2))
    full[1:-1, 1:-1] = u
    grid = np.linspace(0.0, 1.0, m + 2)
    x = problem.eval_points()
    pred = RegularGridInterpolator((grid, grid), full, method="cubic")(x)
    ref = problem.reference(x)[:, 0]
    return seconds, float(np.linalg.norm(pred - ref) / np.linalg.norm(ref))


def preconditioners(max_iters: int | None) -> None:
    """CG with each preconditioner on the domain_decomposition suite's elm_poly run (its
    iteration limit unless ``max_iters`` is given)."""
    base = next(r for r in load_suite(ROOT / "suites" / "domain_decomposition.toml").runs()
                if r.problem_label == "poisson_multiscale" and r.method_label == "elm_poly"
                and r.seed == 0)
    rows = {}
    for pre in ("block_jacobi", "schwarz"):
        optimizer = {**base.method["optimizer"], "solver": "cg", "preconditioner": pre}
        if max_iters is not None:
            optimizer["max_iters"] = max_iters
        row = train(dataclasses.replace(base, method={**base.method, "optimizer": optimizer},
                                        budget={"steps": 1, "eval_every": 1})).row
        rows[pre] = {k: v for k, v in row.items() if isinstance(v, int | float | str)}
        print(f"CG + {pre}: {row['opt_rows']} x {row['opt_cols']}, {row['opt_iterations']} "
              f"iterations, solve {row['train_s']:.2f} s (compile {row['compile_s']:.1f} s), "
              f"rel L2 {row['rel_l2']:.3e}, condition estimate {row['opt_cond']:.3g}, "
              f"load {os.getloadavg()[0]:.1f}", flush=True)
    OUT_DIR.mkdir(exist_ok=True)
    (OUT_DIR / "elm_fbpinn_preconditioners.json").write_text(json.dumps(rows, indent=1))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--adam-s", type=float, default=120.0, help="Adam training seconds (120)")
    p.add_argument("--preconditioners", action="store_true",
                   help="only compare the CG preconditioners on the suite's elm_poly run")
    p.add_argument("--max-iters", type=int, default=None,
                   help="--preconditioners: CG iteration limit (default: the suite's, 5000)")
    args = p.parse_args()
    if args.preconditioners:
        preconditioners(args.max_iters)
        return

    elm = train(spec({"type": "elm_fbpinn", "subdomains": 8, "basis": "polynomial",
                      "degree": 6},
                     {"type": "lstsq", "solver": "lsqr", "tol": 1e-10},
                     {"steps": 1, "eval_every": 1})).row
    print(f"(a) ELM-FBPINN: rel L2 {elm['rel_l2']:.2e}, solve {elm['train_s']:.2f} s (compile "
          f"{elm['compile_s']:.1f} s); {elm['opt_rows']} x {elm['opt_cols']}, nnz "
          f"{elm['opt_nnz']}, LSQR {elm['opt_iterations']} iterations, condition estimate "
          f"{elm['opt_cond']:.3g}", flush=True)

    adam = train(spec({"type": "fbpinn", "subdomains": 8, "width": 16, "depth": 1},
                      {"type": "adam", "lr": 1e-2},
                      {"steps": 10**7, "time_s": args.adam_s, "eval_every": 500}))
    curve = [(h["train_s"], h["rel_l2"]) for h in adam.history]
    best = min(e for _, e in curve)
    reached = next((t for t, e in curve if e <= elm["rel_l2"]), None)
    print(f"(b) FBPINN + Adam: rel L2 {adam.row['rel_l2']:.2e} after {adam.row['steps']} steps "
          f"/ {adam.row['train_s']:.0f} s (best {best:.2e}); ELM-FBPINN's error "
          + (f"reached after {reached:.1f} s" if reached is not None else "not reached"),
          flush=True)

    fd = []
    for m in (31, 63, 127, 255, 511, 1023):
        seconds, err = finite_differences(m)
        fd.append({"m": m, "seconds": seconds, "rel_l2": err})
        print(f"(c) finite differences {m} x {m}: rel L2 {err:.2e} in {seconds:.3f} s",
              flush=True)
        if err <= elm["rel_l2"]:
            break

    OUT_DIR.mkdir(exist_ok=True)
    (OUT_DIR / "elm_fbpinn.json").write_text(json.dumps({
        "elm": {k: v for k, v in elm.items() if isinstance(v, int | float | str)},
        "adam_curve": curve, "finite_differences": fd, "load": os.getloadavg(),
        "fd_order_check": math.log2(fd[-2]["rel_l2"] / fd[-1]["rel_l2"]) if len(fd) > 1 else None,
    }, indent=1))


if __name__ == "__main__":
    main()
