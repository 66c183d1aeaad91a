"""The PINN Balls model seen by a least-squares solver: its residual Jacobian as per-ball blocks,
and the adversarial move of the ball geometry (the model's ``block_jacobian`` and ``density``
capabilities, see ``pinnbench.protocols``).

The residual row of a point depends on expert j's parameters only when the point lies in ball j,
so the Jacobian is stored as M blocks J_j of (rows of ball j's points) x (expert j's parameters),
with the global row index of each block row. Each block row is a per-point reverse-mode Jacobian
with respect to one expert's parameters: at point x_i, u = rest_i + lambda_j(x_i) U_j(x_i;
theta_j), where rest_i (value, gradient, Hessian diagonal of every other ball's term) is fixed and
read off the batched forward pass, so a block costs one expert evaluation per point. A constraint
that reads the field away from its own point (a pressure gauge, a periodic boundary: ``field_at``)
is detected while tracing; its rows are then built through the whole model, one row per point in
every block.

The geometry (centres, radii, density weights) is not part of that system. ``ascend`` takes one
gradient-ascent step of it on log E_p[|r|^2] with p proportional to the balls' density, estimated
by self-normalised importance weights over the current interior points (the current density
standing for the one they were drawn from). Its gradient, sum_i (|r_i|^2 / sum |r|^2 - 1/N)
grad log p(x_i), does not depend on the residual's scale.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from pinnbench.derivatives import Field, Jet
from pinnbench.models.balls import Balls, combine, total
from pinnbench.protocols import JET, Blocks

GEOMETRY = ("centres", "log_radii", "log_weights")


def _flatten(experts: Any) -> tuple[jax.Array, Callable[[jax.Array], Any]]:
    """(M, P) flat expert parameters, and the map from one row back to an expert's pytree."""
    unravel = ravel_pytree(jax.tree.map(lambda a: a[0], experts))[1]
    return jax.vmap(lambda t: ravel_pytree(t)[0])(experts), unravel


def expert_vectors(params: dict[str, Any]) -> tuple[jax.Array, Callable[[jax.Array], Any]]:
    """(M, P) flat expert parameters, and the map from such an array back to params."""
    flat, unravel = _flatten(params["experts"])
    return flat, lambda f: {**params, "experts": jax.vmap(unravel)(f)}


class _BallView:
    """Expert j at one point, seen as a model of theta_j: everything else is a fixed ``rest``."""

    capabilities = frozenset({JET})

    def __init__(self, expert, unravel, x, gate, rest, seen):
        self.expert, self.unravel, self.x, self.gate, self.rest = expert, unravel, x, gate, rest
        self.seen = seen

    def jet(self, theta, x, mode):
        if x is not self.x:  # the residual reads the field at other points
            self.seen["foreign"] = True
        e = self.expert.jet(self.unravel(theta), self.x, "diag")
        lam, dlam, d2lam = self.gate
        c = combine(e, lam[None], dlam[None], d2lam[None])
        value, grad, diag = (a + b for a, b in zip(self.rest, c, strict=True))
        return Jet(value, grad, jnp.sum(diag, axis=1) if mode == "laplacian" else diag)

    def apply(self, theta, x):
        return self.jet(theta, x, "diag").value


def block_system(model: Balls, objective: Any, params: dict[str, Any]) -> Blocks:
    """Residual vector and block Jacobian of ``objective`` for the balls model at ``params``."""
    experts = params["experts"]
    flat, unravel = _flatten(experts)  # (M, P)
    m_balls = flat.shape[0]
    regions: dict[str, Any] = {}
    values, blocks, rows, dropped = [], [], [], []
    interior = None
    offset = 0
    for c in objective.problem.constraints():
        x = objective.points[c.region]
        n, d = x.shape
        if c.region not in regions:
            layout, contrib = model.contributions(params, x)
            regions[c.region] = (layout, contrib, total(layout.idx, contrib, n, "diag"))
            dropped.append(jnp.max(jnp.maximum(layout.count - layout.idx.shape[1], 0)))
        layout, contrib, tot = regions[c.region]
        seen = {"foreign": False}

        def point(theta, xp, gate, rest, c=c, seen=seen):
            view = _BallView(model.expert, unravel, xp[None], gate, rest, seen)
            return jnp.ravel(c.residual(Field(view, theta, view.x)))

        xs = x[layout.idx]
        rest = tuple(a[layout.idx] - b for a, b in zip(tot, contrib, strict=True))
        gate = (layout.lam, layout.grad, layout.diag)
        per_ball = jax.vmap(jax.jacrev(point), (None, 0, 0, 0))
        J = jax.vmap(per_ball)(flat, xs, gate, rest)  # (M, C, k, P)
        if seen["foreign"]:
            r, J, idx, mask = _through_model(objective, c, params, unravel, flat)
        else:
            r = jnp.ravel(c.residual(Field(model, params, x)))
            idx, mask = layout.idx, layout.mask
        k = J.shape[2]
        scale = jnp.sqrt(objective.weight(c.name) / r.shape[0])
        values.append(scale * r)
        J = J * (scale * mask)[..., None, None]
        blocks.append(J.reshape(m_balls, -1, J.shape[-1]))
        rows.append((offset + idx[..., None] * k + jnp.arange(k)).reshape(m_balls, -1))
        offset += r.shape[0]
        if c.region == "interior":
            sq = jnp.sum(r.reshape(n, -1) ** 2, axis=1)
            interior = sq if interior is None else interior + sq
    if interior is None:
        interior = jnp.zeros((0,), flat.dtype)
    return Blocks(jnp.concatenate(values), jnp.concatenate(blocks, axis=1),
                  jnp.concatenate(rows, axis=1), interior, jnp.max(jnp.stack(dropped)))


def _through_model(objective, c, params, unravel, flat):
    """Rows of a constraint that is not local to its point: every point in every block, each
    row through the whole model with expert j's parameters varied."""
    x = objective.points[c.region]

    def point(theta, j, xp):
        experts = jax.tree.map(lambda a, t: a.at[j].set(t), params["experts"], unravel(theta))
        field = Field(objective.model, {**params, "experts": experts}, xp[None])
        return jnp.ravel(c.residual(field))

    r = jnp.ravel(jax.vmap(point, (None, None, 0))(flat[0], 0, x))
    per_ball = jax.vmap(jax.jacrev(point), (None, None, 0))
    m = flat.shape[0]
    J = jax.vmap(per_ball, (0, 0, None))(flat, jnp.arange(m), x)
    idx = jnp.broadcast_to(jnp.arange(x.shape[0]), (m, x.shape[0]))
    return r, J, idx, jnp.ones(idx.shape, bool)



# ---- AAS ascent ---------------------------------------------------------------------------------
def ascent_direction(model: Balls, params: dict[str, Any], x: jax.Array,
                     sq: jax.Array) -> dict[str, jax.Array]:
    """Gradient of log E_p[|r|^2] over the ball geometry, self-normalised over the points x."""
    a = sq / jnp.maximum(jnp.sum(sq), jnp.finfo(sq.dtype).tiny) - 1.0 / sq.shape[0]

    def objective(geometry):
        return a @ jnp.log(model.density({**params, **geometry}, x))

    return jax.grad(objective)({k: params[k] for k in GEOMETRY})


def ascend(model: Balls, params: dict[str, Any], x: jax.Array, sq: jax.Array,
           lr: jax.Array) -> dict[str, Any]:
    """One projected ascent step of the geometry toward the residual at x (|r|^2 = sq)."""
    up = ascent_direction(model, params, x, sq)
    return model.project({**params, **{k: params[k] + lr * up[k] for k in GEOMETRY}})
