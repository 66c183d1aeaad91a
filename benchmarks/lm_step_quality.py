"""How much better could one Levenberg-Marquardt step be? A damping sweep and exact Newton steps.

LM on Helmholtz 2D (a1 = 1, a2 = 4, float64, 2048 interior + 512 boundary uniform points, boundary
weight 100) converges linearly: each step removes a few percent of the loss, with the gain ratio
near 0.6 throughout. This script asks whether a better choice of step would do much better, at
one point of a run:

1. train with ``lm`` (MLP) or ``lm_sparse`` (balls) for ``--steps`` steps (the suite's settings);
2. at the parameters reached, on the same points, evaluate the actual loss after the step
   d(mu) = -(J^T J + mu I)^-1 J^T r for damping values mu from 1e-12 to 1 (one eigendecomposition
   of J^T J serves them all), and after saddle-free Newton steps -(|H| + mu I)^-1 J^T r with the
   exact Hessian H of the loss / 2 (which adds sum_i r_i d^2 r_i to J^T J);
3. for the MLP, the loss after solving for the output layer exactly (it enters linearly);
4. the minimum of the Gauss-Newton model ||r + J d||^2 over all d, for comparison.

The variables are the LM ones (all MLP parameters; the experts of a balls model, not its
centres, radii and density weights). Prints the loss now, the best loss over each sweep and the
smallest singular values of J; run as

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/lm_step_quality.py [--model balls]
"""

from __future__ import annotations

import argparse
import json

import jax
import jax.numpy as jnp
import numpy as np
from common import OUT_DIR
from jax.flatten_util import ravel_pytree

from pinnbench.engine.train import Trainer, train
from pinnbench.run.suite import _Checker
from pinnbench.spec import RunSpec

MODELS = {
    "mlp": ({"type": "mlp", "width": 20, "depth": 3}, {"type": "lm"}),
    "balls": ({"type": "balls", "n_balls": 4, "width": 12, "depth": 2, "capacity": 0.55},
              {"type": "lm_sparse", "solver": "cholesky"}),
}


def spec(model: str, steps: int) -> RunSpec:
    c = _Checker("lm_step_quality")
    model_table, optimizer = MODELS[model]
    method = {
        "model": c.component("model", model_table, "m"),
        "optimizer": c.component("optimizer", optimizer, "o"),
        "sampler": c.component("sampler", {"type": "uniform", "n_interior": 2048,
                                           "n_boundary": 512}, "s"),
        "weights": {},
    }
    problem = c.component("problem", {"type": "helmholtz2d", "a1": 1.0, "a2": 4.0,
                                      "bc_weight": 100.0}, "p")
    return RunSpec("lm_step_quality", "helmholtz2d", problem, model, method, 0, 0, "float64",
                   {"steps": steps, "eval_every": steps})


def columns(fn, x: jax.Array, per_batch: int = 16) -> np.ndarray:
    """The Jacobian of fn at x, a few forward-mode columns at a time (bounded memory)."""
    def column(e):
        return jax.jvp(fn, (x,), (e,))[1]

    basis = jnp.eye(x.size, dtype=x.dtype)
    return np.asarray(jax.jit(lambda b: jax.lax.map(column, b, batch_size=per_batch))(basis)).T


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=sorted(MODELS), default="mlp")
    p.add_argument("--steps", type=int, default=300, help="LM steps before the sweep (300)")
    args = p.parse_args()
    jax.config.update("jax_enable_x64", True)
    run = spec(args.model, args.steps)
    result = train(run)
    trainer = Trainer(run)
    _, _, sampler_state, _, loss_state = trainer.initial_state()
    objective = trainer.objective(sampler_state["points"], loss_state)
    params = jax.tree.map(jnp.asarray, result.params)
    balls = args.model == "balls"
    variables = params["experts"] if balls else params
    flat, unravel = ravel_pytree(variables)

    def with_variables(v):
        return {**params, "experts": unravel(v)} if balls else unravel(v)

    residual = jax.jit(lambda v: objective.residual_vector(with_variables(v)))
    r = np.asarray(residual(flat))
    J = columns(residual, flat)
    g = J.T @ r
    loss = float(r @ r)

    def loss_after(step: np.ndarray) -> float:
        new = np.asarray(residual(flat + step))
        value = float(new @ new)
        return value if np.isfinite(value) else float("inf")

    # What the Gauss-Newton model promises: its minimum over all steps (pseudo-inverse).
    model_min = float(np.sum((r + J @ np.linalg.lstsq(J, -r, rcond=1e-12)[0]) ** 2))
    lam, V = np.linalg.eigh(J.T @ J)
    gv = V.T @ g
    mus = np.logspace(-12, 0, 25)
    lm = [loss_after(-V @ (gv / (lam + mu))) for mu in mus]
    hessian = columns(jax.grad(lambda v: 0.5 * jnp.sum(residual(v) ** 2)), flat)
    lam_h, V_h = np.linalg.eigh(hessian)
    gh = V_h.T @ g
    # mu for the loss / 2 Hessian is half the LM damping of the same step length.
    newton = [loss_after(-V_h @ (gh / (np.abs(lam_h) + mu / 2))) for mu in mus]
    out = {
        "model": args.model, "steps": args.steps, "rel_l2": result.row["rel_l2"],
        "loss": loss, "parameters": int(flat.size), "residuals": int(r.size),
        "lm_damping_now": result.row.get("opt_damping"), "gauss_newton_model_min": model_min,
        "best_lm_loss": min(lm), "best_lm_mu": float(mus[int(np.argmin(lm))]),
        "best_newton_loss": min(newton), "best_newton_mu": float(mus[int(np.argmin(newton))]),
        "negative_hessian_eigenvalues": int(np.sum(lam_h < 0)),
        "singular_values_below_1e-6_of_max": int(np.sum(np.sqrt(np.maximum(lam, 0))
                                                        < 1e-6 * np.sqrt(lam[-1]))),
        "sweep": {"mu": mus.tolist(), "lm": lm, "newton": newton},
    }
    if not balls:
        # The output layer's columns of J: the last leaves of the flattened parameters.
        last = params[-1]
        k = sum(leaf.size for leaf in jax.tree.leaves(last))
        A = J[:, -k:]
        d, *_ = np.linalg.lstsq(A, -r, rcond=None)
        out["output_layer_solve_loss"] = float(np.sum((r + A @ d) ** 2))
    print(f"{args.model} after {args.steps} LM steps: rel L2 {out['rel_l2']:.3g}, loss "
          f"{loss:.4g}, {out['parameters']} LM variables, {out['residuals']} residuals")
    print(f"  Gauss-Newton model minimum (pseudo-inverse step): {model_min:.3g}")
    print(f"  best step over damping 1e-12..1 (25 values): loss {out['best_lm_loss']:.4g} "
          f"({100 * (1 - out['best_lm_loss'] / loss):.1f}% lower) at mu = {out['best_lm_mu']:.1e}")
    print(f"  best saddle-free Newton step (exact Hessian, {out['negative_hessian_eigenvalues']} "
          f"negative eigenvalues): loss {out['best_newton_loss']:.4g} "
          f"({100 * (1 - out['best_newton_loss'] / loss):.1f}% lower)")
    if "output_layer_solve_loss" in out:
        print(f"  output layer solved exactly: loss {out['output_layer_solve_loss']:.4g} "
              f"({100 * (1 - out['output_layer_solve_loss'] / loss):.1f}% lower)")
    print(f"  singular values of J below 1e-6 of the largest: "
          f"{out['singular_values_below_1e-6_of_max']} of {out['parameters']}")
    print("  mu        LM step loss   Newton step loss")
    for mu, a, b in zip(mus, lm, newton, strict=True):
        print(f"  {mu:8.1e}  {a:12.4g}  {b:12.4g}")
    OUT_DIR.mkdir(exist_ok=True)
    (OUT_DIR / f"lm_step_quality_{args.model}.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
