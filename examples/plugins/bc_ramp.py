"""A plugin loss strategy (docs/extending.md): the weight of every non-PDE term ramps up.

Early in training the network fits the PDE alone; the boundary and initial terms then gain
weight linearly from ``start`` to ``end`` over ``ramp`` steps. The state is the current weight,
carried through the compiled steps like any other state.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from pinnbench.problems.base import Constraint
from pinnbench.registry import losses, non_negative, positive


@losses.register("bc_ramp")
@dataclasses.dataclass(frozen=True)
class BCRamp:
    """Weights of the boundary and initial terms from ``start`` to ``end`` over ``ramp`` steps;
    interior terms keep their own weights."""

    start: float = non_negative("weight of the non-PDE terms at step 0", 0.1)
    end: float = non_negative("weight of the non-PDE terms after the ramp", 10.0)
    ramp: int = positive("steps of the linear ramp", 1000)

    fixed = False  # the loss changes over the steps

    def constraints(self, problem: Any) -> tuple[Constraint, ...]:
        return tuple(problem.constraints())

    def init(self, constraints: tuple[Constraint, ...], dtype: Any) -> dict[str, Any]:
        names = tuple(c.name for c in constraints if c.region != "interior")
        return {name: jnp.asarray(self.start, dtype) for name in names}

    def update(self, state: dict[str, Any], step: jax.Array, objective: Any,
               params: Any) -> dict[str, Any]:
        frac = jnp.minimum(step / self.ramp, 1.0)
        return {k: (self.start + (self.end - self.start) * frac).astype(v.dtype)
                for k, v in state.items()}

    def weights(self, state: dict[str, Any]) -> dict[str, jax.Array]:
        return dict(state)
