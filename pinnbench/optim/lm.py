"""Levenberg-Marquardt on the stacked, weighted residual vector (dense Jacobian)."""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple, Protocol, TypeVar

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from pinnbench.objective import Objective
from pinnbench.optim.base import unless_done, work
from pinnbench.registry import non_negative, optimizers, option, positive

JACOBIAN_MODES = ("pointwise", "forward", "reverse")
SOLVERS = ("cholesky", "qr", "dual")
SCALINGS = ("identity", "marquardt")
STOP_REASONS = ("budget", "gtol", "max_damping")


class LMState(NamedTuple):
    """Levenberg-Marquardt's state: the damping and the record of the run."""

    mu: jax.Array  # damping; negative until the first step sets it from J^T J
    # Marquardt scaling: running max of the column norms of J (More, 1978); ones with identity
    # scaling.
    scale: jax.Array  # (P,)
    nu: jax.Array  # Nielsen's growth factor of mu after a rejected step
    accepted: jax.Array  # int32: trial steps taken
    rejected: jax.Array  # int32: trial steps refused
    reason: jax.Array  # int32: index into STOP_REASONS (0 while running)
    done: jax.Array  # bool: stopped by itself; later steps leave the parameters unchanged
    last_loss: jax.Array  # loss after the last trial step, or before it if refused (inf at first)


class Damped(Protocol):
    """A state with Nielsen's damping and LM's counts, what :func:`lm_decision` reads; it sets
    those fields and ``mu``, ``reason``, ``done`` and ``last_loss`` through ``_replace``."""

    @property
    def nu(self) -> jax.Array: ...

    @property
    def accepted(self) -> jax.Array: ...

    @property
    def rejected(self) -> jax.Array: ...

    def _replace(self: D, **changes: Any) -> D: ...


D = TypeVar("D", bound=Damped)


def damping_start(dtype: jnp.dtype) -> dict[str, jax.Array]:
    """The fields every LM state starts with (damping, Nielsen's factor, counters, stop): what
    :func:`lm_decision` reads and updates, shared by dense and block-sparse LM."""
    return {"mu": jnp.asarray(-1.0, dtype), "nu": jnp.asarray(2.0, dtype),
            "accepted": jnp.asarray(0, jnp.int32), "rejected": jnp.asarray(0, jnp.int32),
            "reason": jnp.asarray(0, jnp.int32), "done": jnp.asarray(False),
            "last_loss": jnp.asarray(jnp.inf, dtype)}


def residual_and_jacobian(objective: Objective, flat: jax.Array, unravel, mode: str):
    """r and dr/dtheta (dense). Pointwise: per-point reverse mode, about one gradient's work;
    forward / reverse over the whole batch cost one pass per parameter / per residual."""
    if mode == "pointwise":
        return objective.residual_jacobian(unravel(flat))

    def residual(x):
        return objective.residual_vector(unravel(x))

    return residual(flat), (jax.jacfwd if mode == "forward" else jax.jacrev)(residual)(flat)


def damped_step(J: jax.Array, r: jax.Array, mu: jax.Array, solver: str,
                scale: jax.Array) -> jax.Array:
    """argmin_d ||r + J d||^2 + mu ||D d||^2 with D = diag(scale)."""
    if solver == "dual":
        # The same step from the N x N kernel matrix, d = -D^-2 J^T (J D^-2 J^T + mu I)^-1 r:
        # N^2 P work instead of N P^2, the cheaper form when there are fewer residuals N than
        # parameters P (benchmarks/lm_solve.py). Columns with zero scale do not move.
        inverse = jnp.where(scale > 0, 1.0 / jnp.where(scale > 0, scale, 1.0) ** 2, 0.0)
        scaled = J * inverse
        kernel = scaled @ J.T + mu * jnp.eye(J.shape[0], dtype=J.dtype)
        return -scaled.T @ jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(kernel), r)
    if solver == "qr":
        # Least squares on [J; sqrt(mu) D] avoids squaring the condition number.
        stacked = jnp.concatenate([J, jnp.diag(jnp.sqrt(mu) * scale)])
        q, rr = jnp.linalg.qr(stacked)
        rhs = -q[: J.shape[0]].T @ r
        return jax.scipy.linalg.solve_triangular(rr, rhs)
    A = J.T @ J + jnp.diag(mu * scale**2)
    return jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(A), -(J.T @ r))


def nielsen_update(mu: jax.Array, nu: jax.Array, loss: jax.Array, new_loss: jax.Array,
                   predicted: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Accept a trial step when it lowers the loss (gain ratio > 0); Nielsen's damping update:
    mu shrinks by max(1/3, 1 - (2 rho - 1)^3) on acceptance, else grows by nu, which doubles."""
    actual = loss - new_loss
    rho = actual / predicted
    accept = (rho > 0) & jnp.isfinite(actual)
    shrink = jnp.maximum(1 / 3, 1 - (2 * rho - 1) ** 3)
    new_mu = jnp.where(accept, mu * shrink, mu * nu)
    new_nu = jnp.where(accept, 2.0, 2 * nu)
    return accept, new_mu, new_nu


def lm_decision(state: D, mu: jax.Array, loss: jax.Array, new_loss: jax.Array,
                predicted: jax.Array, grad: jax.Array, gtol: float,
                max_damping: float) -> tuple[jax.Array, D]:
    """One trial step's verdict, shared by the dense and the block-sparse LM: whether to take it
    (accepted and not yet converged) and the state with the fields it sets (damping, counts,
    stop reason, ``done``, the loss after the step); the caller sets the others."""
    accept, new_mu, new_nu = nielsen_update(mu, state.nu, loss, new_loss, predicted)
    converged = jnp.max(jnp.abs(grad)) <= gtol
    reason = jnp.select([converged, new_mu > max_damping], [1, 2], 0)
    state = state._replace(
        mu=new_mu.astype(mu.dtype),
        nu=new_nu.astype(mu.dtype),
        accepted=state.accepted + accept.astype(jnp.int32),
        rejected=state.rejected + (~accept).astype(jnp.int32),
        reason=reason.astype(jnp.int32),
        done=reason > 0,
        last_loss=jnp.where(accept, new_loss, loss).astype(loss.dtype),
    )
    return accept & ~converged, state


@optimizers.register("lm")
@dataclasses.dataclass(frozen=True)
class LevenbergMarquardt:
    """Levenberg-Marquardt with Nielsen's damping update; one step is one trial step.

    Minimises ||r||^2 over the stacked residual vector sqrt(w_k/N_k) r_k, i.e. the same loss as the
    first-order methods. A trial step is accepted when it lowers the loss (gain ratio > 0); the
    damping mu then shrinks by max(1/3, 1 - (2 rho - 1)^3), otherwise it grows by a doubling
    factor. The initial damping is ``tau`` times the largest diagonal entry of J^T J. float64 is
    recommended: J^T J squares the condition number (``solver = "qr"`` does not).
    """

    tau: float = positive("initial damping relative to max diag(J^T J)", 1e-3)
    jacobian: str = option("pointwise", "how the Jacobian is built (pointwise is fastest)",
                           check=lambda v: v in JACOBIAN_MODES,
                           expect=f"one of {list(JACOBIAN_MODES)}")
    solver: str = option("cholesky", "damped normal equations (cholesky), QR, or the N x N "
                         "kernel form (dual: cheaper when residuals < parameters)",
                         check=lambda v: v in SOLVERS, expect=f"one of {list(SOLVERS)}")
    scaling: str = option("identity", "damping mu*I, or Marquardt's mu*diag(J^T J) (running max)",
                          check=lambda v: v in SCALINGS, expect=f"one of {list(SCALINGS)}")
    gtol: float = non_negative("stop when ||J^T r||_inf is at most this", 0.0)
    max_damping: float = positive("stop when the damping exceeds this", 1e16)

    def init(self, params: Any) -> LMState:
        dtype = jax.tree.leaves(params)[0].dtype
        return LMState(scale=jnp.zeros(ravel_pytree(params)[0].shape, dtype),
                       **damping_start(dtype))

    def step(self, state: LMState, step: jax.Array, objective: Objective,
             params: Any) -> tuple[Any, LMState, dict[str, Any]]:
        flat, unravel = ravel_pytree(params)

        def residual(x):
            return objective.residual_vector(unravel(x))

        def iterate(operand):
            flat, state = operand
            r, J = residual_and_jacobian(objective, flat, unravel, self.jacobian)
            g = J.T @ r
            loss = r @ r
            columns = jnp.sum(J * J, axis=0)
            if self.scaling == "marquardt":
                scale = jnp.maximum(state.scale, jnp.sqrt(columns))
                first = self.tau
            else:
                scale = jnp.ones_like(columns)
                first = self.tau * jnp.max(columns)
            mu = jnp.where(state.mu < 0, first, state.mu)
            delta = damped_step(J, r, mu, self.solver, scale)
            r_new = residual(flat + delta)
            Jd = J @ delta
            predicted = -(2 * g @ delta + Jd @ Jd)
            take, new_state = lm_decision(state, mu, loss, r_new @ r_new, predicted, g,
                                          self.gtol, self.max_damping)
            return jnp.where(take, flat + delta, flat), new_state._replace(scale=scale), loss

        (flat, state, loss), ran = unless_done(iterate, (flat, state), state)
        info = {"loss": loss, "done": state.done, "damping": state.mu,
                "work": work(jacobian=ran, loss=ran)}
        return unravel(flat), state, info

    def summary(self, state: LMState) -> dict[str, Any]:
        return {
            "stop_reason": STOP_REASONS[int(state.reason)],
            "accepted": int(state.accepted),
            "rejected": int(state.rejected),
            "damping": float(state.mu),
        }
