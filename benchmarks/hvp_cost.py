"""Cost of one Hessian-vector product against one gradient of the full PINN loss.

Trust-region methods (newton_cg, apts) spend most of their work in Hessian-vector products; this
ratio converts the history's ``work.hvp`` counts into gradient equivalents, so that first- and
second-order methods can be given equal work (suites/papers/apts_equal_work.toml).

    python benchmarks/hvp_cost.py [--rounds 15] [--points 1000]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

jax.config.update("jax_enable_x64", True)

from pinnbench.models.mlp import MLP  # noqa: E402
from pinnbench.objective import Objective  # noqa: E402
from pinnbench.problems.classic import Heat  # noqa: E402


def timed(fn, *args, calls: int) -> float:
    t = time.perf_counter()
    for _ in range(calls):
        jax.block_until_ready(fn(*args))
    return (time.perf_counter() - t) / calls


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--points", type=int, default=1000)
    args = ap.parse_args()
    problem = Heat()
    model = MLP(width=20, depth=3).bind(problem.lower, problem.upper)
    params = model.init(jax.random.PRNGKey(0), 2, 1, jnp.float64)
    counts = [("interior", args.points), ("initial", 100), ("boundary", 100)]
    points = {r: problem.sample(r, jax.random.PRNGKey(i), n, jnp.float64)
              for i, (r, n) in enumerate(counts)}
    objective = Objective(problem, model, points)
    x, unravel = ravel_pytree(params)

    def loss(x):
        return objective.loss(unravel(x))

    grad = jax.jit(jax.grad(loss))
    hvp = jax.jit(lambda x, v: jax.jvp(jax.grad(loss), (x,), (v,))[1])
    v = jnp.ones_like(x)
    grad(x).block_until_ready()
    hvp(x, v).block_until_ready()
    g_times, h_times = [], []
    for _ in range(args.rounds):  # interleaved, so both see the same load
        g_times.append(timed(grad, x, calls=20))
        h_times.append(timed(hvp, x, v, calls=20))
    ratio = np.median(np.asarray(h_times) / np.asarray(g_times))
    print(f"heat, MLP 3x20 tanh, {args.points} interior points, float64, {x.size} parameters")
    print(f"gradient {np.median(g_times) * 1e3:.2f} ms, Hessian-vector product "
          f"{np.median(h_times) * 1e3:.2f} ms (medians of {args.rounds} x 20 calls); "
          f"ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
