"""Adam for a number of steps, then L-BFGS: the usual PINN training recipe."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax

from pinnbench.objective import Objective
from pinnbench.optim.adam import Adam
from pinnbench.optim.lbfgs import LBFGS
from pinnbench.registry import optimizers, positive


@optimizers.register("adam_lbfgs")
@dataclasses.dataclass(frozen=True)
class AdamLBFGS:
    """``adam_steps`` steps of Adam (constant lr), then L-BFGS for the rest of the budget."""

    adam_steps: int = positive("steps of Adam before switching to L-BFGS", 1000)
    lr: float = positive("Adam learning rate", 1e-3)
    memory: int = positive("L-BFGS curvature pairs", 20)
    max_linesearch_steps: int = positive("L-BFGS evaluations per line search", 25)

    @property
    def phases(self) -> tuple[Adam, LBFGS]:
        return Adam(lr=self.lr), LBFGS(memory=self.memory,
                                       max_linesearch_steps=self.max_linesearch_steps)

    def init(self, params: Any) -> tuple[Any, Any]:
        adam, lbfgs = self.phases
        return adam.init(params), lbfgs.init(params)

    def step(self, state, step, objective: Objective, params):
        adam, lbfgs = self.phases

        def first(operand):
            params, (s_adam, s_lbfgs) = operand
            params, s_adam, info = adam.step(s_adam, step, objective, params)
            return params, (s_adam, s_lbfgs), info

        def second(operand):
            params, (s_adam, s_lbfgs) = operand
            params, s_lbfgs, info = lbfgs.step(s_lbfgs, step, objective, params)
            return params, (s_adam, s_lbfgs), info

        return jax.lax.cond(step < self.adam_steps, first, second, (params, state))

    def summary(self, state: Any) -> dict[str, Any]:
        return self.phases[1].summary(state[1])
