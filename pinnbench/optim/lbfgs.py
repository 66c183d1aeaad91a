"""L-BFGS (optax) with a zoom line search, and a record of why and when it stopped."""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from pinnbench.objective import Objective
from pinnbench.optim.base import repeated, unless_done, work
from pinnbench.registry import non_negative, optimizers, positive

STOP_REASONS = ("budget", "gtol", "ftol", "linesearch_failed")


class LBFGSState(NamedTuple):
    """L-BFGS's state: optax's, and the record of the run."""

    opt: optax.OptState  # optax.lbfgs's: curvature pairs, line-search state
    done: jax.Array  # bool: stopped by itself; later steps leave the parameters unchanged
    reason: jax.Array  # int32: index into STOP_REASONS (0 while running)
    iterations: jax.Array  # int32: iterations whose step was taken
    evaluations: jax.Array  # int32: loss + gradient evaluations, line searches included
    last_loss: jax.Array  # loss at the start of the last iteration (inf before the first)
    restarts: jax.Array  # int32: memory cleared after a failed line search on new points


@optimizers.register("lbfgs")
@dataclasses.dataclass(frozen=True)
class LBFGS:
    """Limited-memory BFGS with a strong-Wolfe zoom line search.

    One step is one quasi-Newton iteration (any number of line-search evaluations). The method
    stops by itself when the gradient norm falls to ``gtol``, when the loss changes by less than
    ``ftol`` relative to its size, or when the line search cannot find a decrease (the step is
    then not taken); otherwise it runs until the budget ends.

    When the collocation points change between steps (resampling samplers), a failed line search
    says more about the stale curvature pairs, gathered on other points, than about the loss: the
    memory is then cleared and the method goes on (``restarts`` counts these), as a user calling
    an L-BFGS step per resampled batch would see.
    """

    memory: int = positive("number of stored curvature pairs", 20)
    max_linesearch_steps: int = positive("evaluations allowed per line search", 25)
    gtol: float = non_negative("stop when the gradient norm is at most this", 1e-9)
    ftol: float = non_negative("stop when |Δloss| <= ftol * max(|loss|, 1)", 0.0)
    steps_per_iteration: int = positive("L-BFGS iterations per step of the run (the APTS paper: "
                                        "2 per outer iteration)", 1,
                                        id_at_default=False)

    def transform(self) -> optax.GradientTransformationExtraArgs:
        search = optax.scale_by_zoom_linesearch(self.max_linesearch_steps)
        return optax.lbfgs(memory_size=self.memory, linesearch=search)

    def init(self, params: Any) -> LBFGSState:
        return LBFGSState(
            opt=self.transform().init(params),
            done=jnp.asarray(False),
            reason=jnp.asarray(0, jnp.int32),
            iterations=jnp.asarray(0, jnp.int32),
            evaluations=jnp.asarray(0, jnp.int32),
            last_loss=jnp.asarray(jnp.inf, jax.tree.leaves(params)[0].dtype),
            restarts=jnp.asarray(0, jnp.int32),
        )

    def step(self, state: LBFGSState, step: jax.Array, objective: Objective,
             params: Any) -> tuple[Any, LBFGSState, dict[str, Any]]:
        return repeated(lambda s, p: self.iteration(s, objective, p), self.steps_per_iteration,
                        state, params)

    def iteration(self, state: LBFGSState, objective: Objective,
                  params: Any) -> tuple[Any, LBFGSState, dict[str, Any]]:
        """One quasi-Newton iteration: (params, state, info)."""
        opt = self.transform()

        def iterate(operand):
            params, state = operand
            if objective.fixed_points:
                value, grad = optax.value_and_grad_from_state(objective.loss)(
                    params, state=state.opt)
                fresh = state.iterations == 0
            else:
                value, grad = jax.value_and_grad(objective.loss)(params)
                fresh = jnp.asarray(True)
            updates, opt_state = opt.update(grad, state.opt, params, value=value, grad=grad,
                                            value_fn=objective.loss)
            info = optax.tree_utils.tree_get(opt_state, "info")
            converged = optax.tree_utils.tree_norm(grad) <= self.gtol
            ls_failed = info.decrease_error > 0
            restart = ls_failed & (not objective.fixed_points)
            opt_state = jax.lax.cond(restart, lambda s: opt.init(params), lambda s: s, opt_state)
            ls_failed = ls_failed & ~restart
            prev = state.last_loss
            stalled = jnp.abs(prev - value) <= self.ftol * jnp.maximum(jnp.abs(value), 1.0)
            reason = jnp.select([converged, ls_failed, stalled & (self.ftol > 0)],
                                [1, 3, 2], 0).astype(jnp.int32)
            take = ~(converged | ls_failed | restart)
            new_params = jax.tree.map(lambda p, u: jnp.where(take, p + u, p), params, updates)
            new_state = state._replace(
                opt=opt_state,
                done=reason > 0,
                reason=reason,
                iterations=state.iterations + take.astype(jnp.int32),
                evaluations=state.evaluations
                + (info.num_linesearch_steps + fresh).astype(jnp.int32),
                last_loss=value,
                restarts=state.restarts + restart.astype(jnp.int32),
            )
            return new_params, new_state, value

        evaluations = state.evaluations
        (params, state, loss), _ = unless_done(iterate, (params, state), state)
        info = {"loss": loss, "done": state.done,
                "work": work(grad=state.evaluations - evaluations)}
        return params, state, info

    def summary(self, state: LBFGSState) -> dict[str, Any]:
        return {
            "stop_reason": STOP_REASONS[int(state.reason)],
            "iterations": int(state.iterations),
            "evaluations": int(state.evaluations),
            "restarts": int(state.restarts),
        }
