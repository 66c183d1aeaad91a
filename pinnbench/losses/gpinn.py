"""Gradient-enhanced PINN (Yu, Lu, Meng & Karniadakis, 2022).

The PDE residual r vanishes on the whole domain, so its input gradient does too; gPINN adds
w_g · mean((∂r/∂x_j)^2) for every input direction j to the loss. The extra terms are ordinary
constraints on the interior points, named ``<constraint>_g<j>`` (``pde_g0``, ``pde_g1`` for a PDE
in (x, t)), so every optimizer, least-squares ones included, and every sampler see them.

∂r/∂x_j at every point of the batch is one forward-mode ``jvp`` of the batched residual along the
unit tangent e_j. That is the per-point derivative only when row i of the residual depends on
point i alone, which is why gPINN needs pointwise interior constraints (periodic constraints,
which compare the network at two points, sit on the boundary and are left as they are).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from pinnbench.derivatives import Field
from pinnbench.losses.base import Stateless
from pinnbench.problems.base import Constraint, field_at
from pinnbench.registry import losses, non_negative, option


def residual_gradient(constraint: Constraint, axis: int):
    """The residual function f -> ∂r/∂x_axis at the points of f (rows as in ``constraint``)."""

    def residual(f: Field) -> jax.Array:
        def r(x: jax.Array) -> jax.Array:
            return jnp.ravel(constraint.residual(field_at(f, x)))

        tangent = jnp.zeros_like(f.x).at[:, axis].set(1.0)
        return jax.jvp(r, (f.x,), (tangent,))[1]

    return residual


@losses.register("gpinn")
@dataclasses.dataclass(frozen=True)
class GPINN(Stateless):
    """gPINN: adds w_g · mean((∂r/∂x_j)^2) of every interior residual r, for every input x_j."""

    weight: float = non_negative("weight w_g of each residual-gradient term", 0.01)
    time: bool = option(True, "include ∂r/∂t for time-dependent problems (the paper does)",
                        check=lambda v: isinstance(v, bool), expect="true or false")

    def axes(self, problem: Any) -> range:
        space = problem.dim - 1 if problem.time_dependent else problem.dim
        return range(problem.dim if self.time else space)

    def constraints(self, problem: Any) -> tuple[Constraint, ...]:
        base = tuple(problem.constraints())
        extra = tuple(Constraint(f"{c.name}_g{j}", c.region, residual_gradient(c, j), self.weight)
                      for c in base if c.region == "interior" for j in self.axes(problem))
        return base + extra

    def incompatibility(self, parts: dict[str, Any]) -> str | None:
        problem = parts.get("problem")
        if problem is None:
            return None
        bad = [c.name for c in problem.constraints() if c.region == "interior" and not c.pointwise]
        if bad:
            return (f"gpinn differentiates residuals point by point; constraint "
                    f"{', '.join(bad)} of {type(problem).registered_name} is not pointwise")
        return None
