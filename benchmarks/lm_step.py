"""Cost of one dense Levenberg-Marquardt step as the parameter and point counts grow.

For Helmholtz 2D (a1 = 1, a2 = 4) in float64, MLPs of growing width and growing numbers of
collocation points: the time of the residual Jacobian built point by point (the engine's default),
of the whole compiled LM step, the size of the dense Jacobian and of J^T J, and, for the smallest
case, the Jacobian by forward mode over the whole batch for comparison. Medians of repeats; run as

    .venv/bin/python benchmarks/lm_step.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import jax
from common import OUT_DIR, median

from pinnbench.engine.train import Trainer
from pinnbench.run.suite import _Checker
from pinnbench.spec import RunSpec


def spec(width: int, n_interior: int) -> RunSpec:
    c = _Checker("lm_step")
    method = {
        "model": c.component("model", {"type": "mlp", "width": width, "depth": 2}, "m"),
        "optimizer": c.component("optimizer", {"type": "lm"}, "o"),
        "sampler": c.component("sampler", {"type": "uniform", "n_interior": n_interior,
                                           "n_boundary": n_interior // 4}, "s"),
        "weights": {"bc": 100.0},
    }
    problem = c.component("problem", {"type": "helmholtz2d", "a2": 4.0}, "p")
    return RunSpec("lm_step", "helmholtz2d", problem, "lm", method, 0, 0, "float64",
                   {"steps": 10, "eval_every": 10})


def timed(fn, *args, repeats: int = 5) -> float:
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t)
    return median(times)


CHOLESKY = """
import time, jax, jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
a = jax.random.normal(jax.random.PRNGKey(0), (1280, 501), jnp.float64)
m = a.T @ a + jnp.eye(501)
f = jax.jit(lambda m: jax.scipy.linalg.cho_factor(m)[0])
f(m).block_until_ready()
ts = []
for _ in range(10):
    t = time.perf_counter(); f(m).block_until_ready(); ts.append(time.perf_counter() - t)
print(sorted(ts)[5])
"""


def cholesky_ms(openblas_threads: str) -> float:
    """A jitted 501 x 501 Cholesky in a fresh process with the given OpenBLAS thread count
    (jax is imported directly, not through pinnbench, which would set the variable itself)."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": openblas_threads}
    out = subprocess.run([sys.executable, "-c", CHOLESKY], env=env, capture_output=True,
                         text=True, check=True)
    return 1e3 * float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    jax.config.update("jax_enable_x64", True)
    rows = []
    print(f"{'width':>5} {'points':>7} {'params':>7} {'J MB':>7} {'JtJ MB':>7} "
          f"{'jacobian ms':>12} {'LM step ms':>11}")
    for width, n in [(20, 1024), (20, 4096), (40, 1024), (40, 4096), (80, 1024), (80, 4096)]:
        trainer = Trainer(spec(width, n))
        params, opt_state, sampler_state, _, loss_state = trainer.initial_state()
        objective = trainer.objective(sampler_state["points"], loss_state)
        n_params = sum(x.size for x in jax.tree.leaves(params))
        n_rows = sum(x.shape[0] for x in sampler_state["points"].values())
        jac = jax.jit(objective.residual_jacobian)
        step = jax.jit(lambda p, s, o=objective, opt=trainer.optimizer: opt.step(s, 0, o, p))
        row = {"width": width, "points": n_rows, "params": int(n_params),
               "jacobian_mb": n_rows * n_params * 8 / 2**20,
               "normal_matrix_mb": n_params**2 * 8 / 2**20,
               "jacobian_ms": 1e3 * timed(jac, params),
               "lm_step_ms": 1e3 * timed(step, params, opt_state)}
        if (width, n) == (20, 1024):
            flat, unravel = jax.flatten_util.ravel_pytree(params)
            dense = jax.jit(jax.jacfwd(
                lambda x, o=objective, u=unravel: o.residual_vector(u(x))))
            row["jacfwd_whole_batch_ms"] = 1e3 * timed(dense, flat, repeats=2)
        rows.append(row)
        print(f"{width:>5} {n_rows:>7} {n_params:>7} {row['jacobian_mb']:>7.1f} "
              f"{row['normal_matrix_mb']:>7.1f} {row['jacobian_ms']:>12.1f} "
              f"{row['lm_step_ms']:>11.1f}", flush=True)
    first = rows[0]
    print(f"whole-batch forward-mode Jacobian for the first case: "
          f"{first['jacfwd_whole_batch_ms']:.0f} ms vs {first['jacobian_ms']:.1f} ms "
          f"point by point "
          f"({first['jacfwd_whole_batch_ms'] / first['jacobian_ms']:.0f}x)")
    threads = {n: cholesky_ms(n) for n in ("1", str(os.cpu_count()))}
    print("501 x 501 Cholesky (jit, float64): " + ", ".join(
        f"{ms:.1f} ms with OPENBLAS_NUM_THREADS={n}" for n, ms in threads.items()))
    OUT_DIR.mkdir(exist_ok=True)
    out = {"rows": rows, "cholesky_ms_by_openblas_threads": threads, "load": os.getloadavg(),
           "jax": jax.__version__}
    (OUT_DIR / "lm_step.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
