"""APTS replicas spread over several devices give the single-device result (4 host CPU devices)."""

import json
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import json
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    from pinnbench.models.mlp import MLP
    from pinnbench.objective import Objective
    from pinnbench.optim.trust_region import APTS
    from pinnbench.problems.classic import Poisson1D

    problem = Poisson1D()
    model = MLP(width=8, depth=2).bind(problem.lower, problem.upper)
    params = model.init(jax.random.PRNGKey(0), 1, 1, jnp.float64)
    points = {r: problem.sample(r, jax.random.PRNGKey(i), 64 if r == "interior" else 2,
                                jnp.float64)
              for i, r in enumerate(sorted({c.region for c in problem.constraints()}))}
    objective = Objective(problem, model, points)
    out = {"devices": jax.device_count()}
    for shard in (True, False):
        opt = APTS(subdomains=4, local_steps=2, shard=shard)
        # One compilation serves both the steps and the look at the compiled program.
        state = opt.init(params)
        step = jax.jit(lambda p, s: opt.step(s, jnp.asarray(0), objective, p)).lower(
            params, state).compile()
        p = params
        for _ in range(3):
            p, state, info = step(p, state)
        text = step.as_text()
        out[str(shard)] = {"loss": float(objective.loss(p)),
                           "collective": "all-reduce" in text or "all-gather" in text,
                           "accepted": int(state.preconditioner_accepted)}
    print(json.dumps(out))
""")


def test_sharded_replicas_match_the_vectorised_ones():
    # Added to the test session's XLA flags (its optimisation level, tests/conftest.py).
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=4"
    env = {**os.environ, "XLA_FLAGS": flags.strip(), "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["devices"] == 4
    sharded, single = out["True"], out["False"]
    assert sharded["collective"] and not single["collective"]
    assert sharded["accepted"] == single["accepted"]
    assert abs(sharded["loss"] - single["loss"]) <= 1e-9 * max(1.0, abs(single["loss"]))
