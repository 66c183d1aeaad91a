"""Shared pieces of loss strategies (protocol: :mod:`pinnbench.protocols`): how a problem's
residuals become the training loss.

    constraints(problem) -> tuple[Constraint, ...]     # the terms trained on (gPINN adds some,
                                                       # causal reweights one); once per run
    init(constraints, dtype) -> state                  # a pytree carried through the steps
    update(state, step, objective, params) -> state    # inside the compiled step
    weights(state) -> dict[str, Array]                 # per-term weights (override constraints')
    fixed -> bool                                      # False when the loss changes over steps

A strategy never sees the optimizer: it hands the engine a set of constraints and a set of
weights, and the :class:`~pinnbench.objective.Objective` built from them is what every optimizer,
and every residual-based sampler through its probe, works on. ``plain`` returns the problem's own
constraints and no weights, which is exactly the loss as it was before strategies existed.
"""

from __future__ import annotations

from typing import Any

import jax

from pinnbench.problems.base import Constraint


class ConstraintView:
    """A problem seen through a loss strategy: every attribute is the problem's, except
    ``constraints()``, which returns the strategy's terms. Objective and Probe read constraints
    from the problem they are given, so handing them this view makes the optimizer and the
    samplers train on, and score points by, the same loss."""

    def __init__(self, problem: Any, constraints: tuple[Constraint, ...]) -> None:
        self.problem = problem
        self._constraints = tuple(constraints)

    def constraints(self) -> tuple[Constraint, ...]:
        return self._constraints

    def __getattr__(self, name: str) -> Any:
        if name in ("problem", "_constraints"):  # not set yet (copy, unpickling)
            raise AttributeError(name)
        return getattr(self.problem, name)


class Stateless:
    """Base of strategies that only rewrite the constraints: no state, no weights."""

    fixed = True

    def init(self, constraints: tuple[Constraint, ...], dtype: Any) -> dict[str, Any]:
        return {}

    def update(self, state: dict[str, Any], step: jax.Array, objective: Any,
               params: Any) -> dict[str, Any]:
        return state

    def weights(self, state: dict[str, Any]) -> dict[str, jax.Array]:
        return {}
