"""The optimizer protocol.

An optimizer is a frozen dataclass of options with three pure methods:

    init(params) -> state
    step(params, state, objective, step) -> (params, state, info)
    summary(state) -> dict          # host-side facts for the results table (stop reason, counts)

``objective`` is a :class:`pinnbench.objective.Objective` on the current points: first-order methods
call ``objective.loss``; least-squares methods use ``objective.residual_vector``. ``info`` is a
dict of scalars for this step; it must contain "loss" (the loss before the step) and "done" (True
once the method has stopped by itself, after which further steps leave params unchanged).
"""

from __future__ import annotations

from typing import Any, Protocol

import jax

from pinnbench.objective import Objective

Params = Any
State = Any
Info = dict[str, jax.Array]


class Optimizer(Protocol):
    def init(self, params: Params) -> State: ...

    def step(self, params: Params, state: State, objective: Objective,
             step: jax.Array) -> tuple[Params, State, Info]: ...

    def summary(self, state: State) -> dict[str, Any]: ...
