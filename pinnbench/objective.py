"""The training objective: residual vectors per constraint and the scalar loss derived from them."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from pinnbench.derivatives import Field

Params = Any


def misfit(constraint: Any, r: jax.Array) -> jax.Array:
    """A data constraint's prediction minus its observed values; any other residual as it is."""
    values = getattr(constraint, "values", None)  # constraints built before data ones existed
    if values is None:
        return r
    return r - jnp.ravel(jnp.asarray(values, r.dtype))


@dataclasses.dataclass(frozen=True)
class Objective:
    """Residuals of ``problem`` for ``model`` on a fixed set of points.

    ``points`` maps a region name to its (N, d) points (constraints that carry fixed points of
    their own, such as observations, add theirs); every constraint on that region shares one
    :class:`Field`, so derivatives used by several constraints are traced once. ``weights``
    overrides constraint weights by name. ``fixed_points`` says whether these points are the same
    as at the previous step (quasi-Newton methods may then reuse cached gradients).
    """

    problem: Any
    model: Any
    points: dict[str, jax.Array]
    weights: dict[str, float] = dataclasses.field(default_factory=dict)
    fixed_points: bool = True

    def __post_init__(self) -> None:
        # Constraints with points of their own (observations) join the sampled regions here, so
        # every reader of ``points`` (optimizers, loss strategies, Jacobians) sees them.
        own = {c.region: c.points for c in self.problem.constraints()
               if getattr(c, "points", None) is not None and c.region not in self.points}
        if own:
            dtype = next(iter(self.points.values())).dtype
            object.__setattr__(self, "points", {**self.points, **{
                region: jnp.asarray(x, dtype) for region, x in own.items()}})

    def residuals(self, params: Params) -> dict[str, jax.Array]:
        """Unweighted residual vector of every constraint, each flattened to (N_k * outputs,)."""
        fields = {region: Field(self.model, params, x) for region, x in self.points.items()}
        return {c.name: misfit(c, jnp.ravel(c.residual(fields[c.region])))
                for c in self.problem.constraints()}

    def weight(self, name: str) -> float:
        default = {c.name: c.weight for c in self.problem.constraints()}[name]
        return self.weights.get(name, default)

    def terms(self, params: Params) -> dict[str, jax.Array]:
        """Mean squared residual of every constraint (unweighted)."""
        return {name: jnp.mean(r**2) for name, r in self.residuals(params).items()}

    def weighted(self, terms: dict[str, jax.Array]) -> jax.Array:
        """The scalar loss sum_k w_k term_k from per-constraint mean squares."""
        return sum(self.weight(n) * t for n, t in terms.items())

    def loss(self, params: Params) -> jax.Array:
        return self.weighted(self.terms(params))

    def residual_jacobian(self, params: Params) -> tuple[jax.Array, jax.Array]:
        """``residual_vector`` and its Jacobian with respect to the flattened parameters.

        A pointwise constraint's rows are built point by point (vmap of a per-point reverse-mode
        Jacobian): about the work of one batched gradient, where forward mode over the whole batch
        costs one pass per parameter (measured 160x slower for a 501-parameter MLP).
        """
        flat, unravel = ravel_pytree(params)
        values, rows = [], []
        for c in self.problem.constraints():
            x = self.points[c.region]

            def batch_residual(theta, x=x, c=c):
                return jnp.ravel(c.residual(Field(self.model, unravel(theta), x)))

            if c.pointwise:
                def point_residual(theta, xi, c=c):
                    return jnp.ravel(c.residual(Field(self.model, unravel(theta), xi[None, :])))

                r = jnp.ravel(jax.vmap(point_residual, (None, 0))(flat, x))
                J = jax.vmap(jax.jacrev(point_residual), (None, 0))(flat, x)
                J = J.reshape(-1, flat.size)
            else:
                r = batch_residual(flat)
                J = jax.jacfwd(batch_residual)(flat)
            r = misfit(c, r)
            scale = jnp.sqrt(self.weight(c.name) / r.shape[0])
            values.append(scale * r)
            rows.append(scale * J)
        return jnp.concatenate(values), jnp.concatenate(rows)

    def residual_vector(self, params: Params) -> jax.Array:
        """Stacked residuals sqrt(w_k / N_k) r_k, so that ||r||^2 equals the loss."""
        parts = [jnp.sqrt(self.weight(n) / r.shape[0]) * r
                 for n, r in self.residuals(params).items()]
        return jnp.concatenate(parts)
