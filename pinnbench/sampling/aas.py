"""Adversarial adaptive sampling (AAS) for the balls model: interior points drawn from the balls'
density p(x) proportional to sum_j w_j phi_j(x) + floor.

The density is parameterised by the model's own centres, radii and weights, read from the probe's
parameters. Moving them is the optimizer's job, since it owns the parameters: ``lm_sparse`` with
``aas_lr > 0`` takes a gradient-ascent step on the residual after each descent step. This sampler
only draws: every ``every`` steps, a pool of uniform candidates is scored by the density and the
interior points are drawn from it without replacement (Gumbel top-k). Boundary and initial points
stay at their first uniform draw, and the first interior draw is uniform too (the balls are not
known before the network exists).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax

from pinnbench.protocols import DENSITY, has
from pinnbench.registry import component_name, positive, samplers
from pinnbench.sampling.base import Adaptive, Probe, draw_by_weights


@samplers.register("aas")
@dataclasses.dataclass(frozen=True)
class AAS(Adaptive):
    """Interior points from the balls' RBF density, redrawn every ``every`` steps from a pool of
    ``pool_factor`` x n_interior uniform candidates."""

    pool_factor: int = positive("uniform candidates per interior point scored at each draw", 8)

    def incompatibility(self, parts: dict[str, Any]) -> str | None:
        model = parts.get("model")
        if model is not None and not has(model, DENSITY):
            return ("aas draws from the model's sampling density and needs a model with the "
                    f"density capability (balls); got {component_name(model)}")
        return None

    def adapt(self, state: dict[str, Any], problem: Any, probe: Probe) -> dict[str, Any]:
        key, k_pool, k_draw = jax.random.split(state["key"], 3)
        x = state["points"]["interior"]
        pool = problem.sample("interior", k_pool, self.pool_factor * self.n_interior, x.dtype)
        q = probe.model.density(probe.params, pool)
        chosen = pool[draw_by_weights(k_draw, q / q.sum(), self.n_interior)]
        return {**state, "points": {**state["points"], "interior": chosen}, "key": key}
