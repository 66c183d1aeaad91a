"""Linear least squares for models with fixed basis functions (ELM-FBPINN), and Gauss-Newton.

The model's ``linear_system(objective, params)`` gives the residual vector r and its Jacobian M
with respect to the output weights, block-sparse: per constraint, values (R, P, b) and subdomain
ids (R, P), where b = K·outputs is one subdomain's block of columns. A step solves
min_d ||M d + r||^2 and adds d to the output weights: for a linear problem that is the exact
minimiser of the loss, so the optimizer stops after one step; with ``gauss_newton`` it repeats on
nonlinear problems (one Gauss-Newton iteration per step, halving the step until the loss drops).

Solvers: ``dense`` (SVD least squares on the assembled matrix; singular values below rcond ·
largest are cut, which the nearly dependent random bases need), ``cg`` (CGLS: conjugate gradients
on the normal equations, matrix-free) and ``lsqr`` (Paige & Saunders), both on M T with T the
block-Jacobi preconditioner: per subdomain, the inverse square root of its diagonal block of
MᵀM (eigen-decomposed; directions with eigenvalue below ``block_rcond`` times the block's largest
are dropped, i.e. local feature filtering). ``auto`` takes ``dense`` up to ``dense_max`` unknowns,
else ``lsqr``. Everything runs in the parameters' dtype: use float64.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from pinnbench.objective import Objective
from pinnbench.optim.base import work
from pinnbench.registry import non_negative, optimizers, option, positive

SOLVERS = ("auto", "dense", "cg", "lsqr")
PRECONDITIONERS = ("block_jacobi", "none")
SOLVER_CODES = {"dense": 0, "cg": 1, "lsqr": 2}


class BlockRows(NamedTuple):
    """Rows of a block-sparse matrix: row i has blocks vals[i, p] at block column ids[i, p]."""

    vals: jax.Array  # (R, P, b)
    ids: jax.Array  # (R, P)


class Operator(NamedTuple):
    """M as a list of row blocks over J block columns of width b."""

    rows: list[BlockRows]
    blocks: int
    width: int

    @property
    def shape(self) -> tuple[int, int]:
        return sum(r.vals.shape[0] for r in self.rows), self.blocks * self.width

    def matvec(self, v: jax.Array) -> jax.Array:
        """M v for v of shape (J, b)."""
        return jnp.concatenate([jnp.einsum("rpb,rpb->r", r.vals, v[r.ids]) for r in self.rows])

    def rmatvec(self, y: jax.Array) -> jax.Array:
        """Mᵀ y as (J, b): a segment sum of every pair's block into its subdomain."""
        out, start = 0.0, 0
        for r in self.rows:
            n, p, b = r.vals.shape
            part = r.vals * y[start:start + n, None, None]
            out = out + jax.ops.segment_sum(part.reshape(n * p, b), r.ids.reshape(-1),
                                            num_segments=self.blocks)
            start += n
        return out

    def block_diagonal(self) -> jax.Array:
        """(J, b, b) diagonal blocks of MᵀM, one pair slot at a time to bound memory."""
        out = jnp.zeros((self.blocks, self.width, self.width), self.rows[0].vals.dtype)
        for r in self.rows:
            for p in range(r.vals.shape[1]):
                v = r.vals[:, p]
                out = out + jax.ops.segment_sum(v[:, :, None] * v[:, None, :], r.ids[:, p],
                                                num_segments=self.blocks)
        return out

    def dense(self) -> jax.Array:
        """The assembled (R, J·b) matrix (duplicate blocks of a row add up)."""
        parts = []
        for r in self.rows:
            n, p, b = r.vals.shape
            cols = r.ids[:, :, None] * b + jnp.arange(b)
            rows = jnp.broadcast_to(jnp.arange(n)[:, None, None], cols.shape)
            parts.append(jnp.zeros((n, self.shape[1]), r.vals.dtype).at[rows, cols].add(r.vals))
        return jnp.concatenate(parts)

    def nnz(self) -> jax.Array:
        return sum(jnp.sum(r.vals != 0) for r in self.rows)


def block_jacobi(op: Operator, rcond: float) -> jax.Array:
    """T (J, b, b) with T_j = Q_j Λ_j^{-1/2} over the kept eigenpairs of block j of MᵀM, so that
    the diagonal blocks of (M T)ᵀ(M T) are identities on the kept directions."""
    lam, q = jnp.linalg.eigh(op.block_diagonal())
    top = jnp.max(lam, axis=1, keepdims=True)
    keep = lam > rcond * jnp.where(top > 0, top, 1.0)
    inv = jnp.where(keep, 1.0 / jnp.sqrt(jnp.where(keep, lam, 1.0)), 0.0)
    return q * inv[:, None, :]


class Krylov(NamedTuple):
    x: jax.Array
    iterations: jax.Array
    cond: jax.Array  # estimate of cond(A) for the operator A the method ran on


def lsqr(matvec, rmatvec, b: jax.Array, x_shape: tuple, tol: float, max_iters: int) -> Krylov:
    """LSQR (Paige & Saunders 1982) for min ||A x - b||. Stops when ||Aᵀ r|| <= tol ||Aᵀ b||.
    The condition estimate is LSQR's own: ||B_k||_F ||B_k^+||_F of the bidiagonalisation."""
    dtype = b.dtype

    def unit(v):
        n = jnp.linalg.norm(v)
        return n, v / jnp.where(n > 0, n, 1.0)

    beta, u = unit(b)
    alpha, v = unit(rmatvec(u))
    zero = jnp.zeros((), dtype)
    state = dict(x=jnp.zeros(x_shape, dtype), u=u, v=v, w=v, alpha=alpha, phibar=beta,
                 rhobar=alpha, arnorm=alpha * beta, anorm2=alpha**2, ddnorm=zero,
                 k=jnp.asarray(0, jnp.int32))
    target = tol * alpha * beta

    def cond(s):
        return (s["k"] < max_iters) & (s["arnorm"] > target)

    def body(s):
        beta, u = unit(matvec(s["v"]) - s["alpha"] * s["u"])
        alpha, v = unit(rmatvec(u) - beta * s["v"])
        rho = jnp.sqrt(s["rhobar"] ** 2 + beta**2)
        rho = jnp.where(rho > 0, rho, 1.0)
        c, sn = s["rhobar"] / rho, beta / rho
        theta, rhobar = sn * alpha, -c * alpha
        phi, phibar = c * s["phibar"], sn * s["phibar"]
        dk = s["w"] / rho
        return dict(x=s["x"] + phi * dk, u=u, v=v, w=v - (theta / rho) * s["w"], alpha=alpha,
                    phibar=phibar, rhobar=rhobar, arnorm=phibar * alpha * jnp.abs(c),
                    anorm2=s["anorm2"] + alpha**2 + beta**2,
                    ddnorm=s["ddnorm"] + jnp.sum(dk * dk), k=s["k"] + 1)

    s = jax.lax.while_loop(cond, body, state)
    return Krylov(s["x"], s["k"], jnp.sqrt(s["anorm2"] * s["ddnorm"]))


def cgls(matvec, rmatvec, b: jax.Array, x_shape: tuple, tol: float, max_iters: int,
         lanczos: int = 100) -> Krylov:
    """Conjugate gradients on AᵀA x = Aᵀ b without forming AᵀA (CGLS). Stops when ||Aᵀ r|| <=
    tol ||Aᵀ b||. The condition estimate of A is the square root of that of the Lanczos matrix
    built from the first ``lanczos`` CG coefficients (a lower bound that tightens with them)."""
    dtype = b.dtype
    s0 = rmatvec(b)
    gamma0 = jnp.sum(s0 * s0)
    alphas = jnp.zeros((lanczos,), dtype)
    betas = jnp.zeros((lanczos,), dtype)
    state = dict(x=jnp.zeros(x_shape, dtype), r=b, p=s0, gamma=gamma0, k=jnp.asarray(0, jnp.int32),
                 alphas=alphas, betas=betas)
    target = tol**2 * gamma0

    def cond(s):
        return (s["k"] < max_iters) & (s["gamma"] > target)

    def body(s):
        q = matvec(s["p"])
        qq = jnp.sum(q * q)
        alpha = s["gamma"] / jnp.where(qq > 0, qq, 1.0)
        r = s["r"] - alpha * q
        sv = rmatvec(r)
        gamma = jnp.sum(sv * sv)
        beta = gamma / s["gamma"]
        i = jnp.minimum(s["k"], lanczos - 1)
        record = s["k"] < lanczos
        return dict(x=s["x"] + alpha * s["p"], r=r, p=sv + beta * s["p"], gamma=gamma,
                    k=s["k"] + 1,
                    alphas=jnp.where(record, s["alphas"].at[i].set(alpha), s["alphas"]),
                    betas=jnp.where(record, s["betas"].at[i].set(beta), s["betas"]))

    s = jax.lax.while_loop(cond, body, state)
    # Lanczos tridiagonal of the normal matrix from the CG coefficients; unused rows get a copy
    # of the first diagonal entry (inside the spectrum), so they move neither extreme.
    a, bt = s["alphas"], s["betas"]
    used = jnp.arange(lanczos) < jnp.minimum(s["k"], lanczos)
    a_prev = jnp.concatenate([jnp.ones((1,), dtype), a[:-1]])
    b_prev = jnp.concatenate([jnp.zeros((1,), dtype), bt[:-1]])
    diag = 1.0 / jnp.where(a > 0, a, 1.0) + b_prev / jnp.where(a_prev > 0, a_prev, 1.0)
    diag = jnp.where(used, diag, diag[0])
    off = jnp.where(used[1:], jnp.sqrt(jnp.abs(bt[:-1])) / jnp.where(a[:-1] > 0, a[:-1], 1.0),
                    0.0)
    lam = jnp.linalg.eigvalsh(jnp.diag(diag) + jnp.diag(off, 1) + jnp.diag(off, -1))
    estimate = jnp.sqrt(lam[-1] / jnp.where(lam[0] > 0, lam[0], jnp.finfo(dtype).tiny))
    return Krylov(s["x"], s["k"], estimate)


def problem_name(problem: Any) -> str:
    return getattr(type(problem), "registered_name", type(problem).__name__)


@optimizers.register("lstsq")
@dataclasses.dataclass(frozen=True)
class LinearLeastSquares:
    """Solve for the output weights of a fixed-basis model (elm_fbpinn) by linear least squares.

    Linear problems (``problem.linear``): one step, then done. Nonlinear problems need
    ``gauss_newton = true``: each step is then one Gauss-Newton iteration. The summary records the
    system's rows, columns and nonzeros, a condition estimate (dense: ratio of the extreme singular
    values of M; cg / lsqr: of the preconditioned M T), the solver's iterations and which solver
    ran; the solve time is the run's train_s (one step).
    """

    solver: str = option("auto", "dense SVD, CGLS or LSQR (auto: dense up to dense_max unknowns)",
                         check=lambda v: v in SOLVERS, expect=f"one of {list(SOLVERS)}")
    preconditioner: str = option("block_jacobi", "for cg / lsqr: per-subdomain block Jacobi",
                                 check=lambda v: v in PRECONDITIONERS,
                                 expect=f"one of {list(PRECONDITIONERS)}")
    tol: float = positive("cg / lsqr: stop when ||Mᵀr|| falls by this factor", 1e-10)
    max_iters: int = positive("cg / lsqr: iteration limit", 20000)
    rcond: float = positive("dense: singular values below rcond · largest are cut", 1e-12)
    block_rcond: float = positive("block_jacobi: eigenvalues below this · largest are dropped",
                                  1e-14)
    dense_max: int = positive("auto: largest number of unknowns solved densely", 3000)
    gauss_newton: bool = option(False, "allow nonlinear problems (one Gauss-Newton iteration "
                                       "per step)")
    gn_tol: float = non_negative("Gauss-Newton: done when the loss falls by less than this "
                                 "fraction", 1e-10)

    def incompatibility(self, parts: dict[str, Any]) -> str | None:
        model, problem = parts.get("model"), parts.get("problem")
        if model is not None and not hasattr(model, "linear_system"):
            name = getattr(type(model), "registered_name", type(model).__name__)
            return (f"lstsq needs a model with fixed basis functions (elm_fbpinn); got {name}")
        if problem is not None and not getattr(problem, "linear", False) \
                and not self.gauss_newton:
            return (f"lstsq solves linear problems; {problem_name(problem)} is nonlinear "
                    "(set gauss_newton = true for Gauss-Newton iterations)")
        return None

    def init(self, params: Any) -> dict[str, Any]:
        dtype = params["out"].dtype
        nan = jnp.asarray(jnp.nan, dtype)
        return {"done": jnp.asarray(False), "rows": jnp.asarray(0, jnp.int32),
                "cols": jnp.asarray(0, jnp.int32), "nnz": jnp.asarray(0, jnp.int32),
                "cond": nan, "iterations": jnp.asarray(0, jnp.int32),
                "total_iterations": jnp.asarray(0, jnp.int32), "solves": jnp.asarray(0, jnp.int32),
                "solver": jnp.asarray(-1, jnp.int32), "rank": jnp.asarray(-1, jnp.int32),
                "last_loss": jnp.asarray(jnp.inf, dtype)}

    def _choice(self, cols: int) -> str:
        if self.solver != "auto":
            return self.solver
        return "dense" if cols <= self.dense_max else "lsqr"

    def solve(self, op: Operator, r: jax.Array) -> tuple[jax.Array, dict[str, jax.Array]]:
        """d (J, b) minimising ||M d + r||, and facts about the solve."""
        solver = self._choice(op.shape[1])
        facts = {"solver": jnp.asarray(SOLVER_CODES[solver], jnp.int32)}
        if solver == "dense":
            d, _, rank, sv = jnp.linalg.lstsq(op.dense(), -r, rcond=self.rcond)
            facts.update(iterations=jnp.asarray(0, jnp.int32), rank=rank.astype(jnp.int32),
                         cond=sv[0] / sv[-1])
            return d.reshape(op.blocks, op.width), facts
        if self.preconditioner == "block_jacobi":
            t = block_jacobi(op, self.block_rcond)
        else:
            t = jnp.broadcast_to(jnp.eye(op.width, dtype=r.dtype), (op.blocks, op.width,
                                                                   op.width))

        def matvec(y):
            return op.matvec(jnp.einsum("jab,jb->ja", t, y))

        def rmatvec(z):
            return jnp.einsum("jab,ja->jb", t, op.rmatvec(z))

        method = lsqr if solver == "lsqr" else cgls
        out = method(matvec, rmatvec, -r, (op.blocks, op.width), self.tol, self.max_iters)
        facts.update(iterations=out.iterations, rank=jnp.asarray(-1, jnp.int32), cond=out.cond)
        return jnp.einsum("jab,jb->ja", t, out.x), facts

    def step(self, params, state, objective: Objective, step):
        linear = getattr(objective.problem, "linear", False)
        out = params["out"]

        def with_out(a):
            return {**params, "out": a}

        def iterate(operand):
            out, state = operand
            blocks, r = objective.model.linear_system(objective, with_out(out))
            op = Operator([BlockRows(v, i) for v, i in blocks], out.shape[0],
                          out.shape[1] * out.shape[2])
            loss = r @ r
            d, facts = self.solve(op, r)
            d = d.reshape(out.shape)
            if linear:
                new, new_loss = out + d, loss
                finished = jnp.asarray(True)
            else:
                # Halve the Gauss-Newton step until the loss drops (at most 30 times).
                def shorter(c):
                    return c[0] * 0.5, objective.loss(with_out(out + 0.5 * c[0] * d))

                def worse(c):
                    return (c[1] >= loss) & (c[0] > 2.0**-30)

                first = (jnp.asarray(1.0, out.dtype), objective.loss(with_out(out + d)))
                size, new_loss = jax.lax.while_loop(worse, shorter, first)
                accept = new_loss < loss
                new = jnp.where(accept, out + size * d, out)
                new_loss = jnp.where(accept, new_loss, loss)
                finished = ~accept | (loss - new_loss <= self.gn_tol * loss)
            rows, cols = op.shape
            new_state = {**state, **facts, "done": finished,
                         "rows": jnp.asarray(rows, jnp.int32),
                         "cols": jnp.asarray(cols, jnp.int32),
                         "nnz": op.nnz().astype(jnp.int32),
                         "cond": facts["cond"].astype(out.dtype),
                         "total_iterations": state["total_iterations"] + facts["iterations"],
                         "solves": state["solves"] + 1,
                         "last_loss": new_loss.astype(out.dtype)}
            return new, new_state, loss

        def finished(operand):
            out, state = operand
            return out, state, state["last_loss"]

        was_done = state["done"]
        out, state, loss = jax.lax.cond(was_done, finished, iterate, (out, state))
        ran = (~was_done).astype(jnp.int32)
        info = {"loss": loss, "done": state["done"],
                "work": work(jacobian=ran, hvp=ran * state["iterations"])}
        return with_out(out), state, info

    def summary(self, state: dict[str, Any]) -> dict[str, Any]:
        names = {v: k for k, v in SOLVER_CODES.items()}
        return {"solver": names.get(int(state["solver"]), "none"),
                "rows": int(state["rows"]), "cols": int(state["cols"]), "nnz": int(state["nnz"]),
                "cond": float(state["cond"]), "iterations": int(state["iterations"]),
                "total_iterations": int(state["total_iterations"]),
                "solves": int(state["solves"]), "rank": int(state["rank"])}
