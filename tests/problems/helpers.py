"""Shared test tools: the exact solution as a differentiable model and a finite-difference Field
(both from pinnbench.references.verify, which `pinnbench verify` uses too), and a few-step
training run."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from pinnbench.engine.train import RunResult, train
from pinnbench.references.verify import FDField  # noqa: F401 - re-exported for the problem tests
from pinnbench.references.verify import ReferenceModel as RefModel  # noqa: F401
from pinnbench.references.verify import SolutionModel as ExactModel  # noqa: F401
from pinnbench.spec import RunSpec


def residuals_at(problem: Any, field_for: Any, n: int = 200, seed: int = 0,
                 margin: float = 0.0, jit: bool = False) -> dict[str, np.ndarray]:
    """Every constraint's residual on n points of its region, shrunk away from the box's faces by
    ``margin`` (a fraction of the width) along axes that are not fixed by the region."""
    out = {}
    key = jax.random.PRNGKey(seed)
    lo, hi = np.asarray(problem.lower), np.asarray(problem.upper)
    for c in problem.constraints():
        x = np.asarray(problem.sample(c.region, key, n, jnp.float64))
        if margin:
            inner = lo + margin * (hi - lo) + (x - lo) * (1 - 2 * margin)
            on_face = np.isclose(x, lo) | np.isclose(x, hi)
            x = np.where(on_face, x, inner)
        if jit:  # one compiled call instead of thousands of eager jvp ops
            out[c.name] = np.asarray(jax.jit(lambda x, c=c: c.residual(field_for(x)))(x))
        else:
            out[c.name] = np.asarray(c.residual(field_for(x)))
    return out


def smoke_spec(problem: dict[str, Any], steps: int = 4, precision: str = "float32",
               sampler: dict[str, Any] | None = None) -> RunSpec:
    return RunSpec(
        suite="smoke", problem_label=problem["type"], problem=problem, method_label="adam",
        method={"model": {"type": "mlp", "width": 16, "depth": 2},
                "optimizer": {"type": "adam", "lr": 1e-3},
                "sampler": sampler or {"type": "uniform", "n_interior": 64, "n_boundary": 32,
                                       "n_initial": 32}},
        seed=0, data_seed=0, precision=precision, budget={"steps": steps, "eval_every": steps})


def smoke_train(problem: dict[str, Any], **kw: Any) -> RunResult:
    return train(smoke_spec(problem, **kw))
