"""A plugin with a new problem and a new optimizer (docs/extending.md, "A first plugin").

    pinnbench run examples/plugins/klein_gordon.toml      # the suite names this file
    pinnbench verify klein_gordon1d --plugin examples/plugins/klein_gordon.py

Problem: the nonlinear Klein-Gordon equation u_tt - u_xx + u^3 = f on x, t in [0, 1], with the
manufactured solution u = x cos(5 pi t) + (x t)^3 (``frequency = 5``) of Wang, Teng and
Perdikaris (2021), "Understanding and mitigating gradient flow pathologies in physics-informed
neural networks", section 3.4.
Optimizer: SGD with heavy-ball momentum, built from optax.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import optax

from pinnbench.optim.base import optax_step
from pinnbench.problems.base import ClosedFormProblem, Constraint
from pinnbench.registry import optimizers, option, positive, problems


@problems.register("klein_gordon1d")
@dataclasses.dataclass(frozen=True)
class KleinGordon1D(ClosedFormProblem):
    """u_tt - u_xx + u^3 = f on [0, 1] x [0, 1]; u from the exact solution on x = 0, 1 and at
    t = 0, u_t = 0 at t = 0. ClosedFormProblem supplies reference() from solution() and the
    ``solution`` capability, so `pinnbench verify` also checks it by autodiff."""

    frequency: float = positive("temporal frequency of the solution, in multiples of pi (the "
                                "published case: 5)", 5.0)
    bc_weight: float = positive("weight of the boundary and initial terms", 1.0)

    lower = (0.0, 0.0)   # (x, t): time is the last axis
    upper = (1.0, 1.0)
    time_dependent = True

    def solution(self, x, xp):
        s, t = x[:, 0], x[:, 1]
        return (s * xp.cos(self.frequency * math.pi * t) + (s * t) ** 3)[:, None]

    def source(self, x: jax.Array) -> jax.Array:
        s, t = x[:, 0], x[:, 1]
        omega = self.frequency * math.pi
        u_tt = -omega**2 * s * jnp.cos(omega * t) + 6 * s**3 * t
        u_xx = 6 * s * t**3
        return u_tt - u_xx + self.solution(x, jnp)[:, 0] ** 3

    def constraints(self) -> tuple[Constraint, ...]:
        def pde(f):
            u = f.value[:, 0]
            return f.d2(1)[:, 0] - f.d2(0)[:, 0] + u**3 - self.source(f.x)

        def exact(f):
            return f.value[:, 0] - self.solution(f.x, jnp)[:, 0]

        def velocity(f):
            return f.d(1)[:, 0]

        w = self.bc_weight
        return (Constraint("pde", "interior", pde), Constraint("bc", "boundary", exact, w),
                Constraint("ic", "initial", exact, w), Constraint("ic_dt", "initial", velocity, w))


@optimizers.register("sgd_momentum")
@dataclasses.dataclass(frozen=True)
class SGDMomentum:
    """Stochastic gradient descent with heavy-ball momentum (optax.sgd)."""

    lr: float = positive("learning rate", 1e-3)
    momentum: float = option(0.9, "momentum factor", check=lambda v: 0 <= v < 1,
                             expect="in [0, 1)")

    def transform(self) -> optax.GradientTransformation:
        return optax.sgd(self.lr, momentum=self.momentum)

    def init(self, params: Any) -> Any:
        return self.transform().init(params)

    def step(self, state: Any, step: jax.Array, objective: Any, params: Any):
        # value_and_grad of objective.loss, the optax update, and the info the engine expects
        # ("loss", "done", and the work done: one gradient)
        return optax_step(self.transform(), state, objective, params)

    def summary(self, state: Any) -> dict[str, Any]:
        return {}
