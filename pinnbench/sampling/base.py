"""The sampler protocol: which collocation points the objective sees at each step.

    init(problem, key, dtype) -> state          # state["points"] maps region -> (N, d) array
    update(state, step, problem) -> state       # inside the compiled step; may resample
    fixed -> bool                               # True when points never change after init
"""

from __future__ import annotations

from typing import Any, Protocol

import jax


class Sampler(Protocol):
    fixed: bool

    def init(self, problem: Any, key: jax.Array, dtype: Any) -> dict[str, Any]: ...

    def update(self, state: dict[str, Any], step: jax.Array, problem: Any) -> dict[str, Any]: ...


def regions_of(problem: Any) -> list[str]:
    """Regions that carry at least one constraint, in a stable order."""
    return sorted({c.region for c in problem.constraints()})
