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
import optax


def optax_step(transform: optax.GradientTransformation, state: Any, objective: Any,
               params: Any) -> tuple[Any, Any, dict[str, Any]]:
    """One step of a first-order optax transformation on the objective's loss, with the info
    the engine expects: (params, state, info)."""
    loss, grad = jax.value_and_grad(objective.loss)(params)
    updates, state = transform.update(grad, state, params)
    info = {"loss": loss, "done": jnp.asarray(False), "work": work(grad=1)}
    return optax.apply_updates(params, updates), state, info


def work(**counts: Any) -> dict[str, jax.Array]:
    """A step's work counts as int32 scalars (so they sum the same under float64 and float32)."""
    return {k: jnp.asarray(v).astype(jnp.int32) for k, v in counts.items()}
