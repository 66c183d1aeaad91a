"""Which linear solve a dense Levenberg-Marquardt step should use, by problem size.

One LM step solves min_d ||r + J d||^2 + mu ||d||^2 for the N x P residual Jacobian J. Ways to
do it, each timed here on the real Jacobian of Helmholtz 2D (a1 = 1, a2 = 4, MLPs with 2 hidden
layers, float64, the engine's point-by-point Jacobian), as a compiled function of (J, r, mu):

- ``cholesky``: form J^T J + mu I (N P^2) and factorise it (P^3 / 3); the engine's default;
- ``qr``: QR of the stacked [J; sqrt(mu) I] ((N + P) P^2), which does not square the condition;
- ``dual``: d = -J^T (J J^T + mu I)^-1 r, the same step from the N x N kernel matrix
  (N^2 P + N^3 / 3): cheaper whenever N < P;
- ``svd``: J = U S V^T once (min(N, P)^2 max(N, P)); any number of damping trials then cost two
  matrix-vector products each;
- ``cg``: conjugate gradients on the normal equations with products J v and J^T u only, for a
  fixed number of iterations (never forming a matrix).

Each row prints the time per solve (median of repeats) and the solution's relative distance to
the ``qr`` solution (the most accurate), so a fast solve that is wrong shows as such.

    .venv/bin/python benchmarks/lm_solve.py
    .venv/bin/python benchmarks/lm_solve.py --sizes 20:1024 80:1024 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable

import jax
import jax.numpy as jnp
from common import OUT_DIR
from lm_step import spec, timed

from pinnbench.engine.train import Trainer

CG_ITERATIONS = 100


def cholesky(J: jax.Array, r: jax.Array, mu: jax.Array) -> jax.Array:
    A = J.T @ J + mu * jnp.eye(J.shape[1], dtype=J.dtype)
    return jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(A), -(J.T @ r))


def qr(J: jax.Array, r: jax.Array, mu: jax.Array) -> jax.Array:
    stacked = jnp.concatenate([J, jnp.sqrt(mu) * jnp.eye(J.shape[1], dtype=J.dtype)])
    q, rr = jnp.linalg.qr(stacked)
    return jax.scipy.linalg.solve_triangular(rr, -q[: J.shape[0]].T @ r)


def dual(J: jax.Array, r: jax.Array, mu: jax.Array) -> jax.Array:
    K = J @ J.T + mu * jnp.eye(J.shape[0], dtype=J.dtype)
    return -J.T @ jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(K), r)


def svd(J: jax.Array, r: jax.Array, mu: jax.Array) -> jax.Array:
    u, s, vt = jnp.linalg.svd(J, full_matrices=False)
    return -vt.T @ (s / (s * s + mu) * (u.T @ r))


def cg(J: jax.Array, r: jax.Array, mu: jax.Array) -> jax.Array:
    def normal(v):
        return J.T @ (J @ v) + mu * v

    d, _ = jax.scipy.sparse.linalg.cg(normal, -(J.T @ r), tol=0.0, maxiter=CG_ITERATIONS)
    return d


SOLVES: dict[str, Callable[[jax.Array, jax.Array, jax.Array], jax.Array]] = {
    "cholesky": cholesky, "qr": qr, "dual": dual, "svd": svd, "cg": cg}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["20:1024", "20:4096", "40:1024",
                                                       "40:4096", "80:1024", "80:4096"],
                        help="WIDTH:INTERIOR pairs (boundary points = interior / 4)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", True)

    rows = []
    print(f"{'params':>7} {'rows':>6} " + " ".join(f"{name:>16}" for name in SOLVES)
          + "   (ms per solve / relative distance to qr)")
    for size in args.sizes:
        width, n = (int(v) for v in size.split(":"))
        trainer = Trainer(spec(width, n))
        params, _, sampler_state, _, loss_state = trainer.initial_state()
        objective = trainer.objective(sampler_state["points"], loss_state)
        r, J = jax.jit(objective.residual_jacobian)(params)
        # The initial damping of the engine's LM: tau = 1e-3 times the largest diagonal of J^T J.
        mu = 1e-3 * jnp.max(jnp.sum(J * J, axis=0))
        compiled = {name: jax.jit(fn) for name, fn in SOLVES.items()}
        exact = compiled["qr"](J, r, mu)
        row = {"params": J.shape[1], "rows": J.shape[0], "ms": {}, "distance": {}}
        for name, fn in compiled.items():
            row["ms"][name] = 1e3 * timed(fn, J, r, mu, repeats=args.repeats)
            d = fn(J, r, mu)
            row["distance"][name] = float(jnp.linalg.norm(d - exact) / jnp.linalg.norm(exact))
        row["fastest_accurate"] = min((name for name in SOLVES if row["distance"][name] < 1e-6),
                                      key=lambda name: row["ms"][name])
        rows.append(row)
        print(f"{row['params']:>7} {row['rows']:>6} " + " ".join(
            f"{row['ms'][name]:>8.1f}/{row['distance'][name]:<7.0e}" for name in SOLVES)
            + f"   fastest within 1e-6: {row['fastest_accurate']}", flush=True)
    OUT_DIR.mkdir(exist_ok=True)
    (OUT_DIR / "lm_solve.json").write_text(json.dumps(
        {"rows": rows, "cg_iterations": CG_ITERATIONS, "load": os.getloadavg(),
         "jax": jax.__version__}, indent=1))


if __name__ == "__main__":
    main()
