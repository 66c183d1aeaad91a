"""The interface terms of XPINN (Jagtap & Karniadakis 2020): the problem's constraints plus
solution continuity and residual continuity across the model's interfaces.

The interface points belong to the model's decomposition (``pinnbench.models.xpinn``), not to the
problem, so the two extra constraints ask the model for their rows; their region ``interface``
holds a single placeholder point of its own (so no sampler draws for it, and the residual-based
samplers, which score the interior region, never see these rows). The rows are not one per point:
the constraints are marked not pointwise.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax.numpy as jnp
import numpy as np

from pinnbench.losses.base import Stateless
from pinnbench.problems.base import Constraint
from pinnbench.registry import component_name, losses, non_negative


@losses.register("interface")
@dataclasses.dataclass(frozen=True)
class Interface(Stateless):
    """Problem constraints + XPINN interface terms: ``weight_u`` x mean |U_q - {{u}}|^2 and
    ``weight_r`` x mean |R_q - R_{q+1}|^2 over the interface points (model ``xpinn``)."""

    # XPINN's examples weight the average-continuity term 20 and the residual continuity 1.
    weight_u: float = non_negative("weight of the solution continuity term", 20.0)
    weight_r: float = non_negative("weight of the residual continuity term", 1.0)
    weight_flux: float = non_negative("weight of the normal-derivative continuity term (cPINN's "
                                      "flux term; 0: XPINN's loss as published)", 0.0)

    def incompatibility(self, parts: dict[str, Any]) -> str | None:
        model = parts.get("model")
        if model is not None and component_name(model) != "xpinn":
            return ("the interface loss adds XPINN's interface terms and needs the xpinn model; "
                    f"got {component_name(model)}")
        return None

    def constraints(self, problem: Any) -> tuple[Constraint, ...]:
        base = tuple(problem.constraints())
        pdes = [c for c in base if c.region == "interior"]
        d = problem.dim
        placeholder = np.zeros((1, d)) + np.asarray(problem.lower)

        def continuity(f):
            return f.model.interface_jumps(f.params, d)

        def residual_continuity(f):
            return jnp.concatenate([f.model.residual_jumps(f.params, d, c.residual)
                                    for c in pdes])

        def flux(f):
            return f.model.flux_jumps(f.params, d)

        extra = (Constraint("interface_flux", "interface", flux, self.weight_flux,
                            pointwise=False, points=placeholder),) if self.weight_flux else ()
        return base + extra + (
            Constraint("interface_u", "interface", continuity, self.weight_u, pointwise=False,
                       points=placeholder),
            Constraint("interface_r", "interface", residual_continuity, self.weight_r,
                       pointwise=False, points=placeholder),
        )
