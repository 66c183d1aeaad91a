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
are dropped, i.e. local feature filtering). ``preconditioner = "schwarz"`` (``cg`` only) is
one-level additive Schwarz on the normal equations: CG on MᵀM preconditioned by
P⁻¹ = Σ_j R_jᵀ (R_j MᵀM R_jᵀ)⁺ R_j over overlapping patches (subdomain j and the subdomains that
share a point with it), see ``schwarz``. ``auto`` takes ``dense`` up to ``dense_max`` unknowns,
else ``lsqr`` (``cg`` with ``schwarz``). Everything runs in the parameters' dtype: use float64.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from pinnbench.objective import Objective
from pinnbench.optim.base import unless_done, work
from pinnbench.protocols import LINEAR, LINEAR_SYSTEM, has
from pinnbench.registry import component_name, non_negative, optimizers, option, positive

SOLVERS = ("auto", "dense", "cg", "lsqr")
PRECONDITIONERS = ("block_jacobi", "schwarz", "none")
SOLVER_CODES = {"dense": 0, "cg": 1, "lsqr": 2}


class LstsqState(NamedTuple):
    """The least-squares solver's state: facts about the last solve, for the summary."""

    done: jax.Array  # bool: solved (linear), or Gauss-Newton stopped; parameters stay as they are
    rows: jax.Array  # int32: rows of M (residuals)
    cols: jax.Array  # int32: columns of M (output weights)
    nnz: jax.Array  # int32: nonzeros of M
    cond: jax.Array  # condition estimate of the last solve (see LinearLeastSquares; nan before)
    iterations: jax.Array  # int32: Krylov iterations of the last solve (0 for dense)
    total_iterations: jax.Array  # int32: Krylov iterations of all solves
    solves: jax.Array  # int32: systems solved
    solver: jax.Array  # int32: SOLVER_CODES of the last solve (-1 before)
    rank: jax.Array  # int32: dense: numerical rank of M (else -1)
    patch: jax.Array  # int32: schwarz: most subdomains in one patch (else -1)
    patch_cut: jax.Array  # int32: schwarz: patches that left neighbours out (else -1)
    last_loss: jax.Array  # loss after the last step (inf before the first)


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
        """(J, b, b) diagonal blocks of MᵀM from same-slot products: where one row lists a
        subdomain twice (rows joining two points), their cross terms are left out, which a
        preconditioner can afford."""
        return outer_product_sums(self, self.blocks, lambda kp, kq: kp, same_slot_only=True)

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


SlotOf = Callable[[jax.Array, jax.Array], jax.Array]


def outer_product_sums(op: Operator, size: int, slot_of: SlotOf,
                       same_slot_only: bool = False) -> jax.Array:
    """(size, b, b) sums of the outer products vals[r, p] vals[r, q]ᵀ of every row's pair slots
    p, q (only p = q with ``same_slot_only``), each added into store[slot_of(ids[r, p],
    ids[r, q])]: the blocks of MᵀM that a preconditioner needs. One (p, q) at a time, which
    bounds the temporaries to R·b² numbers."""
    store = jnp.zeros((size, op.width, op.width), op.rows[0].vals.dtype)
    for r in op.rows:
        n_slots = r.ids.shape[1]

        def add(i, store, r=r, n_slots=n_slots):
            p, q = (i, i) if same_slot_only else (i // n_slots, i % n_slots)
            vp = jax.lax.dynamic_index_in_dim(r.vals, p, axis=1, keepdims=False)
            vq = jax.lax.dynamic_index_in_dim(r.vals, q, axis=1, keepdims=False)
            kp = jax.lax.dynamic_index_in_dim(r.ids, p, axis=1, keepdims=False)
            kq = jax.lax.dynamic_index_in_dim(r.ids, q, axis=1, keepdims=False)
            return store.at[slot_of(kp, kq)].add(vp[:, :, None] * vq[:, None, :])

        count = n_slots if same_slot_only else n_slots * n_slots
        store = jax.lax.fori_loop(0, count, add, store)
    return store


def block_jacobi(op: Operator, rcond: float) -> jax.Array:
    """T (J, b, b) with T_j = Q_j Λ_j^{-1/2} over the kept eigenpairs of block j of MᵀM, so that
    the diagonal blocks of (M T)ᵀ(M T) are identities on the kept directions."""
    lam, q = jnp.linalg.eigh(op.block_diagonal())
    top = jnp.max(lam, axis=1, keepdims=True)
    keep = lam > rcond * jnp.where(top > 0, top, 1.0)
    inv = jnp.where(keep, 1.0 / jnp.sqrt(jnp.where(keep, lam, 1.0)), 0.0)
    return q * inv[:, None, :]


# Patch matrices above this many numbers (2 GB in float64) are refused with a hint to set
# patch_max, rather than failing later with an out-of-memory error.
PATCH_NUMBERS_MAX = 2**28


def patch_size(op: Operator, patch_max: int = 0, decomposition: Any = None) -> int:
    """The static number m of subdomains per Schwarz patch (shapes must be fixed under jit, while
    the neighbour lists come from the ids, i.e. from the data, inside it).

    ``patch_max`` > 0 is taken as given (capped at J). Otherwise m is an upper bound that never
    cuts a patch: for rows local to their points (``decomposition`` given, no row wider than its
    pair table) two subdomains can share a point with nonzero blocks only if their open boxes
    intersect, so m = the most subdomains whose boxes meet one subdomain's (itself included),
    computed from the decomposition's geometry; 9 on one 2D level with overlap < 2. Dense rows
    (periodic conditions) couple everything, and so may multilevel decompositions, whose
    coarsest subdomain meets all others: m = J then, and the patch memory check in ``schwarz``
    asks for ``patch_max`` when that is too large. With a smaller m, a subdomain with more
    neighbours keeps the m - 1 most strongly coupled (``schwarz``): that is still an additive
    Schwarz method (every patch holds its own subdomain, so the patches cover all unknowns and
    P⁻¹ stays symmetric positive semidefinite), only a weaker one, and the solve reports how
    many patches were cut.
    """
    j = op.blocks
    if patch_max > 0:
        return min(j, patch_max)
    # Dense rows (P = J) pass this test only where J equals the pair table's width, i.e. every
    # level has at most ceil(overlap) subdomains per axis; then every box contains the centre of
    # the domain and the geometric count is J anyway.
    if decomposition is None or any(r.ids.shape[1] > decomposition.pairs_per_point
                                    for r in op.rows):
        return j
    return overlapping_boxes(decomposition.centres(), decomposition.widths())


def overlapping_boxes(centres: np.ndarray, widths: np.ndarray, chunk: int = 512) -> int:
    """The most boxes (centre ± width / 2) whose interiors meet one box's, itself included.
    Boxes that only touch count too (a relative 1e-9 slack): an overestimate is harmless."""
    most = 0
    for start in range(0, len(centres), chunk):
        c, w = centres[start:start + chunk, None], widths[start:start + chunk, None]
        meet = np.all(np.abs(c - centres) < 0.5 * (w + widths) * (1 + 1e-9), axis=2)
        most = max(most, int(meet.sum(axis=1).max()))
    return most


def coupling(op: Operator) -> jax.Array:
    """(J, J) C_jk = Σ_rows ||row's block j|| · ||row's block k||: an upper bound of ||A_jk||_F
    for A = MᵀM that is zero exactly where A_jk has no contributing row (pairs with a zero block,
    e.g. a zero window, do not count). Held densely: J² numbers."""
    j = op.blocks
    out = jnp.zeros(j * j, op.rows[0].vals.dtype)
    for r in op.rows:
        norms = jnp.linalg.norm(r.vals, axis=2)

        # One pair slot at a time bounds the temporaries to R·P numbers.
        def add(p, out, r=r, norms=norms):
            ids_p = jax.lax.dynamic_index_in_dim(r.ids, p, axis=1)  # (R, 1)
            n_p = jax.lax.dynamic_index_in_dim(norms, p, axis=1)
            return out.at[(ids_p * j + r.ids).ravel()].add((n_p * norms).ravel())

        out = jax.lax.fori_loop(0, r.ids.shape[1], add, out)
    return out.reshape(j, j)


def patch_matrices(op: Operator, nbr: jax.Array, valid: jax.Array,
                   couple: jax.Array) -> jax.Array:
    """(J, m·b, m·b) R_t A R_tᵀ for A = MᵀM and patch t = the subdomains nbr[t] where valid[t]
    (invalid slots give zero rows and columns).

    Each distinct nonzero block A_kl that some patch needs is summed once from the rows' outer
    products into a store (at most min(J², J·m²) blocks), then gathered into every patch that
    holds both k and l."""
    j, m = nbr.shape
    b = op.width
    size = min(j * j, j * m * m)
    pair = nbr[:, :, None] * j + nbr[:, None, :]  # (J, m, m)
    pair_ok = valid[:, :, None] & valid[:, None, :]
    need = jnp.zeros(j * j, bool).at[jnp.where(pair_ok, pair, j * j)].set(True, mode="drop")
    need = need & (couple.ravel() > 0)
    slot = jnp.where(need, jnp.cumsum(need) - 1, size)  # slot `size` collects what is not needed
    store = outer_product_sums(op, size + 1, lambda kp, kq: slot[kp * j + kq])
    store = store.at[size].set(0.0)
    blocks = store[slot[pair]] * pair_ok[..., None, None]  # (J, m, m, b, b)
    g = blocks.transpose(0, 1, 3, 2, 4).reshape(j, m * b, m * b)
    return 0.5 * (g + jnp.swapaxes(g, 1, 2))


class Schwarz(NamedTuple):
    """One-level additive Schwarz: P⁻¹ s = Σ_t R_tᵀ inverse_t R_t s, patch t being the subdomains
    nbr[t] (t itself first) where valid[t]."""

    nbr: jax.Array  # (J, m)
    valid: jax.Array  # (J, m)
    inverse: jax.Array  # (J, m·b, m·b) filtered pseudo-inverses of the patch matrices
    largest: jax.Array  # () most subdomains in one patch
    cut: jax.Array  # () subdomains with more neighbours than fit in a patch

    def apply(self, s: jax.Array) -> jax.Array:
        """P⁻¹ s for s of shape (J, b)."""
        j, m = self.nbr.shape
        b = s.shape[1]
        mask = self.valid[:, :, None]
        local = jnp.where(mask, s[self.nbr], 0.0).reshape(j, m * b)
        y = jnp.einsum("tij,tj->ti", self.inverse, local).reshape(j, m, b)
        y = jnp.where(mask, y, 0.0)
        return jax.ops.segment_sum(y.reshape(j * m, b), self.nbr.reshape(-1), num_segments=j)


def schwarz(op: Operator, rcond: float, m: int) -> Schwarz:
    """Additive Schwarz on A = MᵀM with patches of at most m subdomains (``patch_size``).

    Patch t is subdomain t and its neighbours, the subdomains k with A_tk ≠ 0 (sharing a row,
    i.e. a point, with a nonzero block), found from the ids through ``coupling``; when there are
    more than m - 1, the most strongly coupled are kept. Local solves are pseudo-inverses by
    eigen-decomposition with block_jacobi's filter: eigenvalues below ``rcond`` times the
    patch's largest are dropped (nearly dependent local features), so P⁻¹ is symmetric positive
    semidefinite even where a patch matrix is singular; a Cholesky factor with a shift would
    have to guess the shift's size relative to that spread of eigenvalues.

    Memory: the patch inverses hold J·(m·b)² numbers (m ≈ 3^d on one level with overlap < 2:
    about 3^{2d} times block Jacobi's J·b²), the block store as much again at most, the coupling
    table J² (so J ≤ 46,340 for int32 keys). Set-up: J eigen-decompositions of size m·b; each
    application costs 2·J·(m·b)² flops on top of the two passes over the nonzeros.
    """
    j, b = op.blocks, op.width
    if j * j >= 2**31:
        raise ValueError(f"schwarz: {j} subdomains exceed the coupling table's int32 keys")
    if j * (m * b) ** 2 > PATCH_NUMBERS_MAX:
        raise ValueError(f"schwarz: {j} patches of {m} x {b} unknowns need {j * (m * b) ** 2:.3g}"
                         " numbers; set patch_max lower (or use block_jacobi)")
    couple = coupling(op)
    # The subdomain itself always leads its patch, then its neighbours by coupling strength.
    ranked = jnp.where(jnp.eye(j, dtype=bool), jnp.inf, couple)
    strength, nbr = jax.lax.top_k(ranked, m)
    valid = strength > 0
    g = patch_matrices(op, nbr, valid, couple)
    lam, q = jnp.linalg.eigh(g)
    top = jnp.max(lam, axis=1, keepdims=True)
    keep = lam > rcond * jnp.where(top > 0, top, 1.0)
    inv = jnp.where(keep, 1.0 / jnp.where(keep, lam, 1.0), 0.0)
    inverse = jnp.einsum("tik,tk,tjk->tij", q, inv, q)
    neighbours = jnp.sum(couple > 0, axis=1) - (jnp.diagonal(couple) > 0)
    return Schwarz(nbr, valid, inverse, jnp.max(jnp.sum(valid, axis=1)),
                   jnp.sum(neighbours > m - 1))


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
         lanczos: int = 100, precondition: Callable[[jax.Array], jax.Array] | None = None
         ) -> Krylov:
    """Conjugate gradients on AᵀA x = Aᵀ b without forming AᵀA (CGLS). Stops when ||Aᵀ r|| <=
    tol ||Aᵀ b||. The condition estimate of A is the square root of that of the Lanczos matrix
    built from the first ``lanczos`` CG coefficients (a lower bound that tightens with them).

    With ``precondition`` z = P⁻¹ s (symmetric positive semidefinite): preconditioned CG on the
    normal equations (CGNR), z = P⁻¹ Aᵀ r taking the place of Aᵀ r. The stopping test is then
    on ||Aᵀ r||_{P⁻¹} = sqrt(sᵀ P⁻¹ s), which for P⁻¹ = T Tᵀ is exactly the unpreconditioned
    test on A T, and the estimate is the square root of cond(P⁻¹ AᵀA) on its range."""
    dtype = b.dtype
    pre = precondition if precondition is not None else (lambda v: v)
    s0 = rmatvec(b)
    z0 = pre(s0)
    gamma0 = jnp.sum(s0 * z0)
    alphas = jnp.zeros((lanczos,), dtype)
    betas = jnp.zeros((lanczos,), dtype)
    state = dict(x=jnp.zeros(x_shape, dtype), r=b, p=z0, gamma=gamma0, k=jnp.asarray(0, jnp.int32),
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
        zv = pre(sv)
        gamma = jnp.sum(sv * zv)
        beta = gamma / s["gamma"]
        i = jnp.minimum(s["k"], lanczos - 1)
        record = s["k"] < lanczos
        return dict(x=s["x"] + alpha * s["p"], r=r, p=zv + beta * s["p"], gamma=gamma,
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


@optimizers.register("lstsq")
@dataclasses.dataclass(frozen=True)
class LinearLeastSquares:
    """Solve for the output weights of a fixed-basis model (elm_fbpinn) by linear least squares.

    Linear problems (the ``linear`` capability): one step, then done. Nonlinear problems need
    ``gauss_newton = true``: each step is then one Gauss-Newton iteration. The summary records the
    system's rows, columns and nonzeros, a condition estimate (dense: ratio of the extreme singular
    values of M; cg / lsqr: of the preconditioned M T; cg with schwarz: the square root of that
    of P⁻¹MᵀM), the solver's iterations and which solver ran, and for schwarz the largest patch
    (subdomains) and how many patches had to leave neighbours out; the solve time is the run's
    train_s (one step).
    """

    solver: str = option("auto", "dense SVD, CGLS or LSQR (auto: dense up to dense_max unknowns)",
                         check=lambda v: v in SOLVERS, expect=f"one of {list(SOLVERS)}")
    preconditioner: str = option("block_jacobi", "for cg / lsqr: per-subdomain block Jacobi; "
                                 "schwarz (cg only): additive Schwarz over neighbour patches",
                                 check=lambda v: v in PRECONDITIONERS,
                                 expect=f"one of {list(PRECONDITIONERS)}")
    tol: float = positive("cg / lsqr: stop when ||Mᵀr|| falls by this factor", 1e-10)
    max_iters: int = positive("cg / lsqr: iteration limit", 20000)
    rcond: float = positive("dense: singular values below rcond · largest are cut", 1e-12)
    block_rcond: float = positive("block_jacobi: eigenvalues below this · largest are dropped",
                                  1e-14)
    patch_max: int = non_negative("schwarz: most subdomains per patch (0: all neighbours, "
                                  "bounded by the decomposition's geometry)", 0)
    dense_max: int = positive("auto: largest number of unknowns solved densely", 3000)
    gauss_newton: bool = option(False, "allow nonlinear problems (one Gauss-Newton iteration "
                                       "per step)")
    gn_tol: float = non_negative("Gauss-Newton: done when the loss falls by less than this "
                                 "fraction", 1e-10)

    def incompatibility(self, parts: dict[str, Any]) -> str | None:
        if self.preconditioner == "schwarz" and self.solver == "lsqr":
            # LSQR needs a right preconditioner M T; additive Schwarz gives P⁻¹ but no cheap
            # factor T with T Tᵀ = P⁻¹, so it only preconditions CG on the normal equations.
            return ('lstsq: preconditioner = "schwarz" works with solver = "cg" (or "auto"), '
                    'not "lsqr" (additive Schwarz has no square-root factor for LSQR\'s right '
                    'preconditioning)')
        model, problem = parts.get("model"), parts.get("problem")
        if model is not None and not has(model, LINEAR_SYSTEM):
            return ("lstsq needs a model that is linear in its output weights (the "
                    f"linear_system capability, e.g. elm_fbpinn); got {component_name(model)}")
        if problem is not None and not has(problem, LINEAR) and not self.gauss_newton:
            return (f"lstsq solves linear problems; {component_name(problem)} is nonlinear "
                    "(set gauss_newton = true for Gauss-Newton iterations)")
        return None

    def init(self, params: Any) -> LstsqState:
        dtype = params["out"].dtype
        nan = jnp.asarray(jnp.nan, dtype)
        return LstsqState(
            done=jnp.asarray(False), rows=jnp.asarray(0, jnp.int32),
            cols=jnp.asarray(0, jnp.int32), nnz=jnp.asarray(0, jnp.int32), cond=nan,
            iterations=jnp.asarray(0, jnp.int32), total_iterations=jnp.asarray(0, jnp.int32),
            solves=jnp.asarray(0, jnp.int32), solver=jnp.asarray(-1, jnp.int32),
            rank=jnp.asarray(-1, jnp.int32), patch=jnp.asarray(-1, jnp.int32),
            patch_cut=jnp.asarray(-1, jnp.int32), last_loss=jnp.asarray(jnp.inf, dtype))

    def _choice(self, cols: int) -> str:
        if self.solver != "auto":
            return self.solver
        if cols <= self.dense_max:
            return "dense"
        return "cg" if self.preconditioner == "schwarz" else "lsqr"

    def solve(self, op: Operator, r: jax.Array, decomposition: Any = None
              ) -> tuple[jax.Array, dict[str, jax.Array]]:
        """d (J, b) minimising ||M d + r||, and facts about the solve. ``decomposition`` (the
        model's, if any) bounds the Schwarz patches (``patch_size``)."""
        solver = self._choice(op.shape[1])
        facts = {"solver": jnp.asarray(SOLVER_CODES[solver], jnp.int32)}
        if solver == "dense":
            d, _, rank, sv = jnp.linalg.lstsq(op.dense(), -r, rcond=self.rcond)
            facts.update(iterations=jnp.asarray(0, jnp.int32), rank=rank.astype(jnp.int32),
                         cond=sv[0] / sv[-1])
            return d.reshape(op.blocks, op.width), facts
        if self.preconditioner == "schwarz":
            if solver != "cg":  # incompatibility() rejects this in a suite
                raise ValueError('preconditioner = "schwarz" needs solver = "cg"')
            m = patch_size(op, self.patch_max, decomposition)
            pre = schwarz(op, self.block_rcond, m)
            out = cgls(op.matvec, op.rmatvec, -r, (op.blocks, op.width), self.tol,
                       self.max_iters, precondition=pre.apply)
            facts.update(iterations=out.iterations, rank=jnp.asarray(-1, jnp.int32),
                         cond=out.cond, patch=pre.largest.astype(jnp.int32),
                         patch_cut=pre.cut.astype(jnp.int32))
            return out.x, facts
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

    def step(self, state: LstsqState, step: jax.Array, objective: Objective,
             params: Any) -> tuple[Any, LstsqState, dict[str, Any]]:
        linear = has(objective.problem, LINEAR)
        out = params["out"]

        def with_out(a):
            return {**params, "out": a}

        def iterate(operand):
            out, state = operand
            blocks, r = objective.model.linear_system(objective, with_out(out))
            op = Operator([BlockRows(v, i) for v, i in blocks], out.shape[0],
                          out.shape[1] * out.shape[2])
            loss = r @ r
            d, facts = self.solve(op, r, objective.model.solver_geometry())
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
            # The facts name the fields they set (solver, iterations, rank, cond and, for
            # schwarz, patch and patch_cut); the others keep their values.
            new_state = state._replace(**{
                **facts, "done": finished,
                "rows": jnp.asarray(rows, jnp.int32),
                "cols": jnp.asarray(cols, jnp.int32),
                "nnz": op.nnz().astype(jnp.int32),
                "cond": facts["cond"].astype(out.dtype),
                "total_iterations": state.total_iterations + facts["iterations"],
                "solves": state.solves + 1,
                "last_loss": new_loss.astype(out.dtype)})
            return new, new_state, loss

        (out, state, loss), ran = unless_done(iterate, (out, state), state)
        info = {"loss": loss, "done": state.done,
                "work": work(jacobian=ran, hvp=ran * state.iterations)}
        return with_out(out), state, info

    def summary(self, state: LstsqState) -> dict[str, Any]:
        names = {v: k for k, v in SOLVER_CODES.items()}
        return {"solver": names.get(int(state.solver), "none"),
                "rows": int(state.rows), "cols": int(state.cols), "nnz": int(state.nnz),
                "cond": float(state.cond), "iterations": int(state.iterations),
                "total_iterations": int(state.total_iterations),
                "solves": int(state.solves), "rank": int(state.rank),
                "patch": int(state.patch), "patch_cut": int(state.patch_cut)}
