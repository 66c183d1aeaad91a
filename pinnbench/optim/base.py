"""Shared pieces of optimizers: the per-step work counts.

The optimizer protocol (``init``, ``step(state, step, objective, params)``, ``summary``) is in
:mod:`pinnbench.protocols`. ``objective`` is a :class:`pinnbench.objective.Objective` on the
current points: first-order methods call ``objective.loss``; least-squares methods use
``objective.residual_vector``. A step's ``info`` may contain "work": counts of what the step
evaluated, so that methods can be compared per unit of work as well as per step and per second.
The names used: "grad" (loss + gradient evaluations), "loss" (loss-only evaluations), "jacobian"
(full residual Jacobians), "hvp" (Hessian- or Gauss-Newton-vector products). The engine sums them
into the history.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp


def work(**counts: Any) -> dict[str, jax.Array]:
    """A step's work counts as int32 scalars (so they sum the same under float64 and float32)."""
    return {k: jnp.asarray(v).astype(jnp.int32) for k, v in counts.items()}
