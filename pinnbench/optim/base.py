"""Shared pieces of optimizers: the per-step work counts.

The optimizer protocol (``init``, ``step(state, step, objective, params)``, ``summary``) is in
:mod:`pinnbench.protocols`. ``objective`` is a :class:`pinnbench.objective.Objective` on the
current points: first-order methods call ``objective.loss``; least-squares methods use
``objective.residual_vector``. A step's ``info`` may contain "work": counts of what the step
evaluated, so that methods can be compared per unit of work as well as per step and per second.
The names used: "grad" (loss + gradient evaluations), "loss" (loss-only evaluations), "jacobian"
(full residual Jacobians), "hvp" (Hessian- or Gauss-Newton-vector products). The engine sums them
into the history.

States: each built-in optimizer keeps its state in a ``typing.NamedTuple`` of arrays (a pytree
with named, typed fields, as optax's states are), updated with ``state._replace(...)``. The
protocol asks only for a pytree, so a plugin's state may be anything JAX can carry; the engine
reads nothing inside it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

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


class Stopping(Protocol):
    """A state that can stop the method by itself: what :func:`unless_done` reads."""

    @property
    def done(self) -> jax.Array:
        """bool: the method has stopped; later steps leave the parameters unchanged."""

    @property
    def last_loss(self) -> jax.Array:
        """The loss of the last step, reported by the steps after the method stopped."""


def unless_done(iterate: Callable[[tuple], tuple], operand: tuple, state: Stopping,
                *held: Any) -> tuple[tuple, jax.Array]:
    """``iterate(operand)`` while the method runs; once ``state.done``, the operand as it is
    (parameters unchanged, so the engine can end the run after the chunk) followed by the
    state's ``last_loss`` and ``held`` in place of iterate's extra outputs. ``operand[1]`` is
    the state (any :class:`Stopping`); iterate must return a state of the same type. Returns
    the outputs and ``ran`` (int32: 1 when the method stepped, for the work counts)."""
    done = state.done

    def hold(op: tuple) -> tuple:
        return (*op, op[1].last_loss, *held)

    return jax.lax.cond(done, hold, iterate, operand), (~done).astype(jnp.int32)


def repeated(one: Callable[[Any, Any], tuple[Any, Any, dict[str, Any]]], times: int,
             state: Any, params: Any) -> tuple[Any, Any, dict[str, Any]]:
    """``times`` steps of ``one(state, params) -> (params, state, info)`` as one step: the loss
    is the first's (the loss before the step), "done" and any other entry the last's, and the
    work counts the sum. For baselines given several steps per outer iteration of another
    method (the APTS paper runs two Adam or L-BFGS steps per outer iteration)."""
    params, state, info = one(state, params)
    if times == 1:
        return params, state, info

    def body(_, carry):
        params, state, last = carry
        params, state, more = one(state, params)
        more["work"] = {k: last["work"][k] + more["work"][k] for k in last["work"]}
        return params, state, more

    params, state, last = jax.lax.fori_loop(1, times, body, (params, state, info))
    return params, state, {**last, "loss": info["loss"]}


def work(**counts: Any) -> dict[str, jax.Array]:
    """A step's work counts as int32 scalars (so they sum the same under float64 and float32)."""
    return {k: jnp.asarray(v).astype(jnp.int32) for k, v in counts.items()}
