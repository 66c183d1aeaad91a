"""Adam (optax) with a learning-rate schedule."""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import optax

from pinnbench.objective import Objective
from pinnbench.optim.base import optax_step, repeated
from pinnbench.registry import optimizers, option, positive

SCHEDULES = ("constant", "exponential", "cosine")


class AdamState(NamedTuple):
    """Adam's state: optax's, under a name of its own."""

    opt: optax.OptState  # optax.adam's: the moments and the step count the schedule reads


@optimizers.register("adam")
@dataclasses.dataclass(frozen=True)
class Adam:
    """Adam with a constant, exponentially decaying or cosine-decaying learning rate."""

    lr: float = positive("initial learning rate", 1e-3)
    schedule: str = option("constant", "learning-rate schedule", check=lambda v: v in SCHEDULES,
                           expect=f"one of {list(SCHEDULES)}")
    decay_rate: float = positive("exponential: factor applied every decay_steps", 0.9)
    decay_steps: int = positive("exponential: steps per decay; cosine: steps to reach lr*alpha",
                                1000)
    alpha: float = option(0.0, "cosine: final lr as a fraction of lr",
                          check=lambda v: 0 <= v <= 1, expect="in [0, 1]")
    b1: float = option(0.9, "first-moment decay", check=lambda v: 0 <= v < 1, expect="in [0, 1)")
    b2: float = option(0.999, "second-moment decay", check=lambda v: 0 <= v < 1,
                       expect="in [0, 1)")
    steps_per_iteration: int = positive("Adam steps per step of the run (the APTS paper: 2 per "
                                        "outer iteration); the schedule counts Adam steps", 1,
                                        id_at_default=False)

    def learning_rate(self) -> optax.Schedule:
        if self.schedule == "exponential":
            return optax.exponential_decay(self.lr, self.decay_steps, self.decay_rate)
        if self.schedule == "cosine":
            return optax.cosine_decay_schedule(self.lr, self.decay_steps, self.alpha)
        return optax.constant_schedule(self.lr)

    def transform(self) -> optax.GradientTransformation:
        return optax.adam(self.learning_rate(), b1=self.b1, b2=self.b2)

    def init(self, params: Any) -> AdamState:
        return AdamState(self.transform().init(params))

    def step(self, state: AdamState, step: jax.Array, objective: Objective,
             params: Any) -> tuple[Any, AdamState, dict[str, Any]]:
        transform = self.transform()

        def one(s: AdamState, p: Any) -> tuple[Any, AdamState, dict[str, Any]]:
            p, opt, info = optax_step(transform, s.opt, objective, p)
            return p, s._replace(opt=opt), info

        return repeated(one, self.steps_per_iteration, state, params)

    def summary(self, state: AdamState) -> dict[str, Any]:
        return {}
