"""Adversarial adaptive sampling (AAS) for the balls model: interior points drawn from the balls'
density p(x) proportional to sum_j w_j phi_j(x) + floor.

The density is parameterised by the model's own centres, radii and weights, read from the probe's
parameters. Moving them is the optimizer's job, since it owns the parameters: ``lm_sparse`` with
``aas_lr > 0`` takes a gradient-ascent step on the residual after each descent step. This sampler
only draws: every ``every`` steps, a pool of uniform candidates is scored by the density and the
interior points are drawn from it without replacement (Gumbel top-k). Boundary and initial points
stay at their first uniform draw, and the first interior draw is uniform too (the balls are not
known before the network exists).

Entropy regularisation (``lm_sparse``'s ``aas_entropy`` = beta > 0). Without it the ascent
max_p E_p[|r|^2] is won by a density that piles onto the residual's peak (the supremum over
densities is a point mass at argmax |r|): the sample loses the rest of the domain. The AAS
min-max objective regularises the sampler's side by the entropy of its density, max_p E_p[|r|^2]
+ beta H(p), H(p) = -E_p[log p] (Tang, Zhai, Wan & Yang 2023, the AAS functional of their Sec. 3,
whose maximiser over all densities is the Gibbs density p* ~ exp(|r|^2 / beta)), and PINN Balls
(Bonfanti et al. 2025, Sec. 3, its adversarial adaptive sampling) trains the balls' density with
the same regularised ascent, with beta among the sampler's hyperparameters. Here the ascent is
taken on log E_p[|r|^2] + beta H(p), the scale-free form of the residual term that
``lm_sparse`` already follows (beta is then relative to E_p[|r|^2] at the current step).

Both gradients over the density's parameters phi are estimated on the current interior points
x_i (drawn from p) by the score function, self-normalised: with q the unnormalised density and
p = q / Z,

    grad log E_p[|r|^2] ~ sum_i (|r_i|^2 / sum_k |r_k|^2 - 1/N) grad log q(x_i)
    grad H(p)           ~ -(1/N) sum_i (log q(x_i) - mean_k log q(x_k)) grad log q(x_i)

(E_p[grad log p] = 0 removes both the "+1" of d(p log p) and grad log Z). The weights of the two
sum to zero, so the regularised ascent is the residual ascent with the per-point weights
``entropy_target`` returns in place of |r_i|^2.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from pinnbench.protocols import DENSITY, has
from pinnbench.registry import component_name, positive, samplers
from pinnbench.sampling.base import Adaptive, Probe, draw_by_weights


def entropy_weights(q: jax.Array) -> jax.Array:
    """Per-point weights of grad H(p) on grad log q(x_i), for x_i drawn from p ~ q (N,)."""
    log_q = jnp.log(q)
    return -(log_q - jnp.mean(log_q)) / q.shape[0]


def entropy_target(sq: jax.Array, q: jax.Array, beta: float) -> jax.Array:
    """Weights w with sum w = 1 whose residual ascent (w_i / sum w - 1/N on grad log q(x_i)) is
    the ascent of log E_p[|r|^2] + beta H(p): |r_i|^2 / sum |r|^2 + beta * entropy weight."""
    share = sq / jnp.maximum(jnp.sum(sq), jnp.finfo(sq.dtype).tiny)
    return share + beta * entropy_weights(q)


def sample_entropy(q: jax.Array) -> jax.Array:
    """Entropy of p ~ q relative to the uniform density, log |Omega| subtracted: the estimate
    -E_u[(p/u) log(p/u)] over uniform points with density ratios p/u = q / mean(q); 0 for a
    uniform p, negative as p concentrates."""
    ratio = q / jnp.mean(q)
    return -jnp.mean(ratio * jnp.log(ratio))


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
