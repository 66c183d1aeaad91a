"""The training objective: residual vectors per constraint and the scalar loss derived from them."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from pinnbench.derivatives import Field

Params = Any


@dataclasses.dataclass(frozen=True)
class Objective:
    """Residuals of ``problem`` for ``model`` on a fixed set of points.

    ``points`` maps a region name to its (N, d) points; every constraint on that region shares one
    :class:`Field`, so derivatives used by several constraints are traced once. ``weights``
    overrides constraint weights by name. ``fixed_points`` says whether these points are the same
    as at the previous step (quasi-Newton methods may then reuse cached gradients).
    """

    problem: Any
    model: Any
    points: dict[str, jax.Array]
    weights: dict[str, float] = dataclasses.field(default_factory=dict)
    fixed_points: bool = True

    def residuals(self, params: Params) -> dict[str, jax.Array]:
        """Unweighted residual vector of every constraint, each flattened to (N_k * outputs,)."""
        fields = {region: Field(self.model, params, x) for region, x in self.points.items()}
        return {c.name: jnp.ravel(c.residual(fields[c.region]))
                for c in self.problem.constraints()}

    def weight(self, name: str) -> float:
        default = {c.name: c.weight for c in self.problem.constraints()}[name]
        return self.weights.get(name, default)

    def terms(self, params: Params) -> dict[str, jax.Array]:
        """Mean squared residual of every constraint (unweighted)."""
        return {name: jnp.mean(r**2) for name, r in self.residuals(params).items()}

    def loss(self, params: Params) -> jax.Array:
        return sum(self.weight(n) * t for n, t in self.terms(params).items())

    def residual_vector(self, params: Params) -> jax.Array:
        """Stacked residuals sqrt(w_k / N_k) r_k, so that ||r||^2 equals the loss."""
        parts = [jnp.sqrt(self.weight(n) / r.shape[0]) * r
                 for n, r in self.residuals(params).items()]
        return jnp.concatenate(parts)
