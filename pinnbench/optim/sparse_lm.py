"""Levenberg-Marquardt on a block-sparse Jacobian (PINN Balls), and the adversarial ascent.

The model provides the system (its ``block_jacobian`` capability, ``pinnbench.protocols``): the
residual vector and M Jacobian blocks J_j of (rows of expert j's points) x (expert j's
parameters), with the global row of each block row. J^T J has a nonzero (j, k) block only where
experts j and k share points; it is never formed for CG. The damped normal equations
(J^T J + mu I) delta = -J^T r are solved by preconditioned CG whose matvec goes through the blocks
(J v scatters each J_j v_j into the rows, J^T y gathers them back), with a block-Jacobi
preconditioner (J_j^T J_j + mu I, factorised per block) or its diagonal; or exactly, by Cholesky
of J^T J assembled from the blocks; or by the sparse direct solve: the balls ordered along the
Fiedler vector of their coupling graph (which balls share rows), J^T J + mu I kept only on the
block band |a - b| <= ``band`` of that order and factorised by block-banded Cholesky. When every
coupling lies in the band that factorisation is the exact solve (memory M (band + 1) P^2, work
M band^2 P^3, against (M P)^2 and (M P)^3 / 3 for the dense Cholesky); couplings outside it are
counted (``outside_band``) and the band factor then serves as the preconditioner of CG through
the blocks, so the step stays exact to ``cg_tol`` either way.

With ``aas_lr > 0`` every LM step is followed by the model's ascent of its sampling density on
the residual (its ``density`` capability: adversarial adaptive sampling), at the rate
aas_lr * aas_decay^step; ``aas_entropy`` = beta > 0 adds the entropy regulariser beta H(p) to
that ascent (``pinnbench.sampling.aas``). With ``aas_lr = 0`` the density stays as initialised.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from pinnbench.objective import Objective
from pinnbench.optim.base import unless_done, work
from pinnbench.optim.lm import STOP_REASONS, damping_start, lm_decision
from pinnbench.protocols import BLOCK_JACOBIAN, DENSITY, Blocks, has
from pinnbench.registry import component_name, non_negative, optimizers, option, positive
from pinnbench.sampling.aas import entropy_target

PRECONDITIONERS = ("block_jacobi", "jacobi", "none")
SOLVERS = ("cg", "cholesky", "sparse_cholesky")


class SparseLMState(NamedTuple):
    """The block-sparse LM's state: ``lm``'s damping and stopping fields (no Marquardt scale:
    the damping is mu I) and the solves' record.

    The shared fields sit beside the new ones rather than in a nested ``LMState``, so that
    ``lm_decision`` and ``unless_done`` read and set them by name on either state."""

    mu: jax.Array  # damping; negative until the first step sets it from J^T J
    nu: jax.Array  # Nielsen's growth factor of mu after a rejected step
    accepted: jax.Array  # int32: trial steps taken
    rejected: jax.Array  # int32: trial steps refused
    reason: jax.Array  # int32: index into lm's STOP_REASONS (0 while running)
    done: jax.Array  # bool: stopped by itself; later steps leave the parameters unchanged
    last_loss: jax.Array  # loss after the last trial step, or before it if refused (inf at first)
    cg_iterations: jax.Array  # int32: CG iterations over all steps
    dropped: jax.Array  # int32: most points beyond a ball's capacity, left out (0: exact)
    outside_band: jax.Array  # int32: sparse_cholesky: most couplings beyond the band (else 0)


# ---- the block operator -------------------------------------------------------------------------
def jvp_blocks(J: jax.Array, rows: jax.Array, v: jax.Array, n_rows: int) -> jax.Array:
    """J v for v of shape (M, P): each block's rows scattered into the residual vector."""
    out = jnp.zeros((n_rows,), J.dtype)
    return out.at[rows.ravel()].add(jnp.einsum("mbp,mp->mb", J, v).ravel())


def vjp_blocks(J: jax.Array, rows: jax.Array, y: jax.Array) -> jax.Array:
    """J^T y, (M, P)."""
    return jnp.einsum("mbp,mb->mp", J, y[rows])


def pcg(matvec, b: jax.Array, precondition, tol: float, maxiter: int
        ) -> tuple[jax.Array, jax.Array]:
    """Preconditioned conjugate gradients from 0 until ||r|| <= tol ||b||; (x, iterations)."""
    def dot(a, c):
        return jnp.sum(a * c)

    z = precondition(b)
    init = (jnp.zeros_like(b), b, z, z, dot(b, z), jnp.asarray(0, jnp.int32))
    stop = (tol**2) * dot(b, b)

    def cond(s):
        return (s[5] < maxiter) & (dot(s[1], s[1]) > stop)

    def body(s):
        x, r, p, _, rz, k = s
        ap = matvec(p)
        alpha = rz / dot(p, ap)
        x, r = x + alpha * p, r - alpha * ap
        z = precondition(r)
        rz_new = dot(r, z)
        return x, r, z + (rz_new / rz) * p, z, rz_new, k + 1

    out = jax.lax.while_loop(cond, body, init)
    return out[0], out[5]


def block_preconditioner(J: jax.Array, mu: jax.Array, kind: str):
    if kind == "none":
        return lambda v: v
    if kind == "jacobi":
        diag = jnp.sum(J * J, axis=1) + mu
        return lambda v: v / diag
    eye = jnp.eye(J.shape[2], dtype=J.dtype)
    factors = jax.vmap(lambda a: jax.scipy.linalg.cho_factor(a.T @ a + mu * eye)[0])(J)

    def solve(v):
        return jax.vmap(lambda f, w: jax.scipy.linalg.cho_solve((f, False), w))(factors, v)

    return solve


def normal_matrix(J: jax.Array, rows: jax.Array, n_rows: int) -> jax.Array:
    """J^T J assembled from the blocks, (M P, M P): block (j, k) is J_j^T J_k over the rows the
    two balls share. Ball k's block rows are gathered at ball j's rows through a row -> block
    position map (a row ball k does not hold maps to an appended zero row). Only the blocks
    with j <= k are multiplied and the others mirrored from them, so the work is
    M (M + 1) / 2 x rows-per-block x P^2 (1.55x faster than all M^2 products for M = 4) and the
    extra memory rows-per-block x P per pair."""
    m, b, p = J.shape
    pos = jnp.full((m, n_rows), b, jnp.int32)
    pos = jax.vmap(lambda q, r: q.at[r].set(jnp.arange(b, dtype=jnp.int32)))(pos, rows)
    padded = jnp.concatenate([J, jnp.zeros((m, 1, p), J.dtype)], axis=1)
    upper = np.array([(j, k) for j in range(m) for k in range(j, m)], np.int32)

    def block(jk):
        j, k = jk[0], jk[1]
        return J[j].T @ padded[k][pos[k][rows[j]]]

    blocks = jax.lax.map(block, jnp.asarray(upper))  # (M (M + 1) / 2, P, P)
    a = jnp.zeros((m, m, p, p), J.dtype)
    a = a.at[upper[:, 1], upper[:, 0]].set(jnp.swapaxes(blocks, 1, 2))
    a = a.at[upper[:, 0], upper[:, 1]].set(blocks)
    return jnp.swapaxes(a, 1, 2).reshape(m * p, m * p)


def solve_direct(blocks: Blocks, mu: jax.Array) -> jax.Array:
    """delta = -(J^T J + mu I)^{-1} J^T r exactly, by Cholesky of the assembled normal matrix."""
    J, rows, r = blocks.J, blocks.rows, blocks.r
    m, _, p = J.shape
    A = normal_matrix(J, rows, r.shape[0])
    A = A + mu * jnp.eye(m * p, dtype=A.dtype)
    g = vjp_blocks(J, rows, r).reshape(-1)
    return jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(A), -g).reshape(m, p)


# ---- the sparse direct solve --------------------------------------------------------------------
def coupling(J: jax.Array, rows: jax.Array, n_rows: int) -> jax.Array:
    """(M, M) count of residual rows two balls share (padding rows, all zero, count for none)."""
    active = jnp.any(J != 0, axis=2).astype(J.dtype)  # (M, B)
    m = J.shape[0]
    incidence = jnp.zeros((m, n_rows + 1), J.dtype)
    # A padding row scatters to the spare column n_rows so it never meets another ball's row.
    target = jnp.where(active > 0, rows, n_rows)
    incidence = jax.vmap(lambda z, t, a: z.at[t].max(a))(incidence, target, active)[:, :n_rows]
    return incidence @ incidence.T


def fiedler_order(c: jax.Array) -> jax.Array:
    """Balls sorted by the Fiedler vector of the coupling graph: neighbours get near positions,
    which keeps the block bandwidth of J^T J small (spectral envelope reduction)."""
    a = (c > 0).astype(c.dtype) * (1 - jnp.eye(c.shape[0], dtype=c.dtype))
    laplacian = jnp.diag(jnp.sum(a, axis=1)) - a
    _, vectors = jnp.linalg.eigh(laplacian)
    # Ties (components of a disconnected graph share the eigenvalue 0) break by index.
    key = vectors[:, 1] + 1e-9 * jnp.arange(c.shape[0], dtype=c.dtype)
    return jnp.argsort(key)


def band_matrix(J: jax.Array, rows: jax.Array, n_rows: int, order: jax.Array, band: int
                ) -> jax.Array:
    """The band of J^T J in the order ``order``: (M, band + 1, P, P), entry [a, o] the block
    (order[a], order[a - o]) (zero for a - o < 0). Shared rows are found through the row ->
    block position map of ``normal_matrix``; M (band + 1) block products."""
    m, b, p = J.shape
    pos = jnp.full((m, n_rows), b, jnp.int32)
    pos = jax.vmap(lambda q, r: q.at[r].set(jnp.arange(b, dtype=jnp.int32)))(pos, rows)
    padded = jnp.concatenate([J, jnp.zeros((m, 1, p), J.dtype)], axis=1)
    pairs = np.array([(a, o) for a in range(m) for o in range(band + 1)], np.int32)

    def block(ao):
        a, o = ao[0], ao[1]
        j, k = order[a], order[jnp.maximum(a - o, 0)]
        out = J[j].T @ padded[k][pos[k][rows[j]]]
        return jnp.where(a - o >= 0, out, 0.0)

    return jax.lax.map(block, jnp.asarray(pairs)).reshape(m, band + 1, p, p)


def band_cholesky(a: jax.Array) -> jax.Array:
    """Block-banded Cholesky A = L L^T on the band layout of ``band_matrix`` (L in the same
    layout: [i, o] is block L_{i, i - o}). Row by row: L_{ij} = (A_{ij} - sum_k L_{ik} L_{jk}^T)
    L_jj^{-T} for j = i - band .. i - 1, then L_ii = chol(A_ii - sum_k L_ik L_ik^T). The offsets
    are unrolled, so each product runs over the band-w - o shared blocks only (static slices):
    M band^2 P^3 work in all."""
    m, w1, p, _ = a.shape
    w = w1 - 1
    tri = jax.scipy.linalg.solve_triangular

    def row(i, low):
        li = low[i]
        for o in range(w, 0, -1):  # L_{ik} for k < j = i - o is already in li
            lj = low[jnp.maximum(i - o, 0)]
            # sum over k = i - q, q = o + 1 .. w: L_{i, i-q} L_{j, j-(q-o)}^T
            s = jnp.einsum("qab,qcb->ac", li[o + 1:], lj[1:w - o + 1]) if o < w else 0.0
            blk = tri(lj[0], (li[o] - s).T, lower=True).T  # (A_ij - s) L_jj^{-T}
            li = li.at[o].set(jnp.where(i - o >= 0, blk, 0.0))
        diag = li[0] - jnp.einsum("qab,qcb->ac", li[1:], li[1:]) if w > 0 else li[0]
        return low.at[i].set(li.at[0].set(jnp.linalg.cholesky(diag)))

    return jax.lax.fori_loop(0, m, row, a)


def band_solve(low: jax.Array, b: jax.Array) -> jax.Array:
    """x with L L^T x = b for the band factor L, b of shape (M, P)."""
    m, w1, _, _ = low.shape
    tri = jax.scipy.linalg.solve_triangular
    offsets = jnp.arange(w1)

    def forward(i, y):  # y_i = L_ii^{-1} (b_i - sum_o L_{i, i-o} y_{i-o})
        prev = y[jnp.clip(i - offsets, 0, m - 1)] * ((offsets > 0) & (i - offsets >= 0))[:, None]
        return y.at[i].set(tri(low[i, 0], b[i] - jnp.einsum("qab,qb->a", low[i], prev),
                               lower=True))

    def backward(t, x):  # x_i = L_ii^{-T} (y_i - sum_o L_{i+o, i}^T x_{i+o})
        i = m - 1 - t
        nxt = jnp.clip(i + offsets, 0, m - 1)
        valid = ((offsets > 0) & (i + offsets < m))[:, None]
        blocks = low[nxt, offsets]  # L_{i+o, i}
        s = jnp.einsum("qab,qa->b", blocks, x[nxt] * valid)
        return x.at[i].set(tri(low[i, 0], x[i] - s, lower=True, trans=1))

    y = jax.lax.fori_loop(0, m, forward, jnp.zeros_like(b))
    return jax.lax.fori_loop(0, m, backward, y)


def solve_sparse_direct(blocks: Blocks, mu: jax.Array, band: int, tol: float, maxiter: int
                        ) -> tuple[jax.Array, jax.Array, jax.Array]:
    """delta = -(J^T J + mu I)^{-1} J^T r by block-banded Cholesky in the Fiedler order of the
    balls; CG through the blocks, preconditioned by that factor, finishes what the band misses.
    (delta (M, P), CG iterations (1 when the band holds every coupling), couplings outside the
    band)."""
    J, rows, r = blocks.J, blocks.rows, blocks.r
    m, _, p = J.shape
    band = min(band or m - 1, m - 1)
    c = coupling(J, rows, r.shape[0])
    order = fiedler_order(c)
    position = jnp.argsort(order)
    gap = jnp.abs(position[:, None] - position[None, :])
    outside = jnp.sum((c > 0) & (gap > band)) // 2
    a = band_matrix(J, rows, r.shape[0], order, band)
    a = a.at[:, 0].add(mu * jnp.eye(p, dtype=J.dtype))
    low = band_cholesky(a)

    def precondition(v):
        return band_solve(low, v[order])[position]

    def matvec(v):
        return vjp_blocks(J, rows, jvp_blocks(J, rows, v, r.shape[0])) + mu * v

    g = vjp_blocks(J, rows, r)
    delta, iters = pcg(matvec, -g, precondition, tol, maxiter)
    return delta, iters, outside


def solve_damped(blocks: Blocks, mu: jax.Array, preconditioner: str, tol: float,
                 maxiter: int) -> tuple[jax.Array, jax.Array]:
    """delta = -(J^T J + mu I)^{-1} J^T r by block-preconditioned CG; (delta (M, P), iters)."""
    J, rows, r = blocks.J, blocks.rows, blocks.r

    def matvec(v):
        return vjp_blocks(J, rows, jvp_blocks(J, rows, v, r.shape[0])) + mu * v

    g = vjp_blocks(J, rows, r)
    return pcg(matvec, -g, block_preconditioner(J, mu, preconditioner), tol, maxiter)


@optimizers.register("lm_sparse")
@dataclasses.dataclass(frozen=True)
class SparseLM:
    """Levenberg-Marquardt for the balls model with the Jacobian stored per ball.

    Updates the experts' parameters; the damping is Nielsen's, as in ``lm`` (identity scaling,
    initial mu = tau * max diag(J^T J)). The damped system is solved by CG with a block-Jacobi
    (or Jacobi) preconditioner. With ``aas_lr > 0`` every step is followed by a gradient-ascent
    step of the ball geometry on the residual (adversarial adaptive sampling); pair it with the
    ``aas`` sampler, which draws the interior points from the balls' density.
    """

    tau: float = positive("initial damping relative to max diag(J^T J)", 1e-3)
    gtol: float = non_negative("stop when ||J^T r||_inf is at most this", 0.0)
    max_damping: float = positive("stop when the damping exceeds this", 1e16)
    solver: str = option("cg", "damped normal equations: CG through the blocks, Cholesky of "
                         "J^T J assembled from them (exact; (M P)^2 memory), or sparse_cholesky "
                         "(block-banded Cholesky in the balls' Fiedler order; M (band + 1) P^2)",
                         check=lambda v: v in SOLVERS, expect=f"one of {list(SOLVERS)}")
    preconditioner: str = option("block_jacobi", "CG preconditioner",
                                 check=lambda v: v in PRECONDITIONERS,
                                 expect=f"one of {list(PRECONDITIONERS)}")
    band: int = option(0, "sparse_cholesky: blocks kept on each side of the diagonal in the "
                       "Fiedler order (0: all, M - 1); couplings beyond it are left to CG "
                       "preconditioned by the band factor", check=lambda v: v >= 0,
                       expect=">= 0", id_at_default=False)
    cg_tol: float = positive("CG stops at this residual relative to ||J^T r||", 1e-10)
    cg_maxiter: int = positive("CG iterations per step at most", 200)
    aas_lr: float = non_negative("ascent rate of centres / radii / weights (0: fixed balls)", 0.0)
    aas_decay: float = option(0.999, "per-step factor of the ascent rate",
                              check=lambda v: 0 < v <= 1, expect="in (0, 1]")
    aas_entropy: float = option(0.0, "entropy regularisation beta of the AAS ascent: ascend "
                                "log E_p[|r|^2] + beta H(p) (0: none)", check=lambda v: v >= 0,
                                expect=">= 0", id_at_default=False)

    def incompatibility(self, parts: dict[str, Any]) -> str | None:
        model = parts.get("model")
        if model is not None and not has(model, BLOCK_JACOBIAN):
            return ("lm_sparse stores the Jacobian per expert and needs a model with the "
                    f"block_jacobian capability (balls); got {component_name(model)}")
        if model is not None and self.aas_lr > 0 and not has(model, DENSITY):
            return ("lm_sparse with aas_lr > 0 moves the model's sampling density and needs a "
                    f"model with the density capability (balls); got {component_name(model)}")
        problem = parts.get("problem")
        if problem is not None:
            dense = [c.name for c in problem.constraints() if not c.pointwise]
            if dense:
                return f"lm_sparse needs pointwise constraints; not pointwise: {', '.join(dense)}"
        return None

    def init(self, params: Any) -> SparseLMState:
        dtype = jax.tree.leaves(params)[0].dtype
        return SparseLMState(
            **damping_start(dtype),
            cg_iterations=jnp.asarray(0, jnp.int32),
            dropped=jnp.asarray(0, jnp.int32),
            outside_band=jnp.asarray(0, jnp.int32),
        )

    def lm_step(self, params: Any, state: SparseLMState, objective: Objective
                ) -> tuple[Any, SparseLMState, jax.Array, Blocks, jax.Array]:
        """One trial LM step on the experts: (params, state, loss, blocks, cg iterations)."""
        b = objective.model.block_system(objective, params)
        flat, rebuild = objective.model.expert_vectors(params)
        loss = b.r @ b.r
        g = vjp_blocks(b.J, b.rows, b.r)
        first = self.tau * jnp.max(jnp.sum(b.J * b.J, axis=1))
        mu = jnp.where(state.mu < 0, first, state.mu)
        outside_band = state.outside_band
        if self.solver == "cholesky":
            delta, iters = solve_direct(b, mu), jnp.asarray(0, jnp.int32)
        elif self.solver == "sparse_cholesky":
            delta, iters, outside = solve_sparse_direct(b, mu, self.band, self.cg_tol,
                                                        self.cg_maxiter)
            outside_band = jnp.maximum(outside_band, outside.astype(jnp.int32))
        else:
            delta, iters = solve_damped(b, mu, self.preconditioner, self.cg_tol,
                                        self.cg_maxiter)
        trial = rebuild(flat + delta)
        r_new = objective.residual_vector(trial)
        jd = jvp_blocks(b.J, b.rows, delta, b.r.shape[0])
        predicted = -(2 * jnp.sum(g * delta) + jd @ jd)
        take, decided = lm_decision(state, mu, loss, r_new @ r_new, predicted, g, self.gtol,
                                    self.max_damping)
        new_state = decided._replace(
            cg_iterations=state.cg_iterations + iters,
            dropped=jnp.maximum(state.dropped, b.dropped.astype(jnp.int32)),
            outside_band=outside_band,
        )
        params = jax.tree.map(lambda new, old: jnp.where(take, new, old), trial, params)
        return params, new_state, loss, b, iters

    def step(self, state: SparseLMState, step: jax.Array, objective: Objective,
             params: Any) -> tuple[Any, SparseLMState, dict[str, Any]]:
        def iterate(operand):
            params, state = operand
            params, state, loss, b, iters = self.lm_step(params, state, objective)
            if self.aas_lr > 0 and "interior" in objective.points:
                lr = self.aas_lr * self.aas_decay ** step.astype(loss.dtype)
                x = objective.points["interior"]
                target = b.interior
                if self.aas_entropy > 0:
                    q = objective.model.density(params, x)
                    target = entropy_target(target, q, self.aas_entropy)
                params = objective.model.ascend_density(params, x, target, lr)
            return params, state, loss, iters

        (params, state, loss, iters), ran = unless_done(iterate, (params, state), state,
                                                        jnp.asarray(0, jnp.int32))
        info = {"loss": loss, "done": state.done, "damping": state.mu,
                "cg_iterations": iters,
                "work": work(jacobian=ran, loss=ran, hvp=iters)}
        return params, state, info

    def summary(self, state: SparseLMState) -> dict[str, Any]:
        steps = int(state.accepted) + int(state.rejected)
        return {
            "stop_reason": STOP_REASONS[int(state.reason)],
            "accepted": int(state.accepted),
            "rejected": int(state.rejected),
            "damping": float(state.mu),
            "cg_iterations": int(state.cg_iterations),
            "cg_per_step": int(state.cg_iterations) / max(steps, 1),
            "dropped": int(state.dropped),
            **({"outside_band": int(state.outside_band)}
               if self.solver == "sparse_cholesky" else {}),
        }
