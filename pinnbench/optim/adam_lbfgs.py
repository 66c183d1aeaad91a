"""Adam for a number of steps, then L-BFGS: the usual PINN training recipe."""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax

from pinnbench.objective import Objective
from pinnbench.optim.adam import Adam, AdamState
from pinnbench.optim.lbfgs import LBFGS, LBFGSState
from pinnbench.registry import optimizers, positive


class AdamLBFGSState(NamedTuple):
    """Both phases' states, each carried through the whole run (``lax.cond`` picks the phase
    inside the compiled step, so both branches need their state at every step)."""

    adam: AdamState  # left as it is once L-BFGS runs
    lbfgs: LBFGSState  # fresh until Adam's steps are over


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

    def init(self, params: Any) -> AdamLBFGSState:
        adam, lbfgs = self.phases
        return AdamLBFGSState(adam.init(params), lbfgs.init(params))

    def step(self, state: AdamLBFGSState, step: jax.Array, objective: Objective,
             params: Any) -> tuple[Any, AdamLBFGSState, dict[str, Any]]:
        adam, lbfgs = self.phases

        def first(operand):
            params, state = operand
            params, s_adam, info = adam.step(state.adam, step, objective, params)
            return params, state._replace(adam=s_adam), info

        def second(operand):
            params, state = operand
            params, s_lbfgs, info = lbfgs.step(state.lbfgs, step, objective, params)
            return params, state._replace(lbfgs=s_lbfgs), info

        return jax.lax.cond(step < self.adam_steps, first, second, (params, state))

    def summary(self, state: AdamLBFGSState) -> dict[str, Any]:
        return self.phases[1].summary(state.lbfgs)
