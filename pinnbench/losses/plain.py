"""The plain PINN loss: sum_k w_k mean(r_k^2) over the problem's own constraints."""

from __future__ import annotations

import dataclasses
from typing import Any

from pinnbench.losses.base import Stateless
from pinnbench.problems.base import Constraint
from pinnbench.registry import losses


@losses.register("plain")
@dataclasses.dataclass(frozen=True)
class Plain(Stateless):
    """The problem's constraints with their own (or the method's) weights."""

    def constraints(self, problem: Any) -> tuple[Constraint, ...]:
        return tuple(problem.constraints())
