"""The optimizer protocol.

An optimizer is a frozen dataclass of options with three pure methods:

    init(params) -> state
    step(params, state, objective, step) -> (params, state, info)
    summary(state) -> dict          # host-side facts for the results table (stop reason, counts)

``objective`` is a :class:`pinnbench.objective.Objective` on the current points: first-order methods
call ``objective.loss``; least-squares methods use ``objective.residual_vector``. ``info`` is a
dict of scalars for this step; it must contain "loss" (the loss before the step) and "done" (True
once the method has stopped by itself, after which further steps leave params unchanged). It may
contain "work": counts of what the step evaluated, so that methods can be compared per unit of
work as well as per step and per second. The names used: "grad" (loss + gradient evaluations),
"loss" (loss-only evaluations), "jacobian" (full residual Jacobians), "hvp" (Hessian- or
Gauss-Newton-vector products). The engine sums them into the history.
"""

from __future__ import annotations

from typing import Any, Protocol

import jax
import jax.numpy as jnp

from pinnbench.objective import Objective

Params = Any
State = Any
Info = dict[str, Any]


def work(**counts: Any) -> dict[str, jax.Array]:
    """A step's work counts as int32 scalars (so they sum the same under float64 and float32)."""
    return {k: jnp.asarray(v).astype(jnp.int32) for k, v in counts.items()}


class Optimizer(Protocol):
    def init(self, params: Params) -> State: ...

    def step(self, params: Params, state: State, objective: Objective,
             step: jax.Array) -> tuple[Params, State, Info]: ...

    def summary(self, state: State) -> dict[str, Any]: ...
