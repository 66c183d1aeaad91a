"""Trust-region Newton with Steihaug's truncated conjugate gradient, on flat parameter vectors.

The pieces (``steihaug_cg``, ``curvature``, ``update_radius``, ``trust_region_step``) are shared
by ``newton_cg`` (one global trust-region step per iteration) and ``apts`` (local steps on data
partitions, then a global step).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from pinnbench.objective import Objective
from pinnbench.optim.base import work
from pinnbench.protocols import RANDOM
from pinnbench.registry import non_negative, optimizers, option, positive

Vector = jax.Array
CURVATURES = ("hessian", "gauss_newton")


class CGResult(NamedTuple):
    step: Vector
    predicted: jax.Array  # m(0) - m(step) >= 0
    iterations: jax.Array


def _to_boundary(s: Vector, d: Vector, radius: jax.Array) -> jax.Array:
    """tau >= 0 with ||s + tau d|| = radius."""
    a, b, c = d @ d, 2 * s @ d, s @ s - radius**2
    return (-b + jnp.sqrt(jnp.maximum(b * b - 4 * a * c, 0.0))) / (2 * a)


def steihaug_cg(g: Vector, hvp: Callable[[Vector], Vector], radius: jax.Array, max_iter: int,
                damping: float = 0.0, rtol: float = 1e-6) -> CGResult:
    """Approximately minimise m(s) = g.s + s.(B + damping I)s / 2 subject to ||s|| <= radius.

    CG from s = 0 until the residual falls by ``rtol``, negative curvature is met, the boundary is
    crossed (both end on the boundary), or ``max_iter`` iterations. The residual r = g + B s is
    carried along, so the model decrease needs no extra product: m(s) = (g.s + r.s) / 2.
    """
    g_norm = jnp.linalg.norm(g)

    def cond(state):
        i, _, _, _, done = state
        return (i < max_iter) & ~done

    def body(state):
        i, s, r, d, _ = state
        Bd = hvp(d) + damping * d
        dBd = d @ Bd
        alpha = (r @ r) / dBd
        s_next = s + alpha * d
        leave = (dBd <= 0) | (jnp.linalg.norm(s_next) >= radius)
        tau = _to_boundary(s, d, radius)
        step = jnp.where(leave, tau, alpha)
        s_new = s + step * d
        r_new = r + step * Bd
        beta = (r_new @ r_new) / (r @ r)
        done = leave | (jnp.linalg.norm(r_new) <= rtol * g_norm)
        return i + 1, s_new, r_new, -r_new + beta * d, done

    zero = jnp.zeros_like(g)
    init = (jnp.asarray(0, jnp.int32), zero, g, -g, g_norm == 0)
    i, s, r, _, _ = jax.lax.while_loop(cond, body, init)
    return CGResult(s, -(g @ s + r @ s) / 2, i)


def curvature(loss: Callable[[Vector], jax.Array], residual: Callable[[Vector], Vector],
              x: Vector, kind: str) -> Callable[[Vector], Vector]:
    """v -> B v: the Hessian (forward over reverse) or the Gauss-Newton matrix 2 J^T J."""
    if kind == "gauss_newton":
        _, pullback = jax.vjp(residual, x)

        def gn(v):
            return 2 * pullback(jax.jvp(residual, (x,), (v,))[1])[0]

        return gn
    grad = jax.grad(loss)
    return lambda v: jax.jvp(grad, (x,), (v,))[1]


@dataclasses.dataclass(frozen=True)
class RadiusRule:
    """Standard acceptance test and radius update (Conn, Gould & Toint, 2000)."""

    eta1: float = 0.1
    eta2: float = 0.5
    shrink: float = 0.5
    expand: float = 2.0
    min_radius: float = 1e-10
    max_radius: float = 10.0

    def update(self, radius, rho, on_boundary):
        """(accept, new radius) for gain ratio rho."""
        accept = rho >= self.eta1
        grow = (rho > self.eta2) & on_boundary
        new = jnp.where(accept, jnp.where(grow, radius * self.expand, radius),
                        radius * self.shrink)
        return accept, jnp.clip(new, self.min_radius, self.max_radius)


class TRStep(NamedTuple):
    x: Vector
    radius: jax.Array
    accepted: jax.Array
    loss: jax.Array  # at the returned x
    hvps: jax.Array
    loss_before: jax.Array


def trust_region_step(loss: Callable[[Vector], jax.Array], residual: Callable[[Vector], Vector],
                      x: Vector, radius: jax.Array, rule: RadiusRule, *, cg_iters: int,
                      damping: float, kind: str) -> TRStep:
    """One trust-region trial: solve the subproblem, test the gain ratio, update the radius."""
    f, g = jax.value_and_grad(loss)(x)
    cg = steihaug_cg(g, curvature(loss, residual, x, kind), radius, cg_iters, damping)
    f_new = loss(x + cg.step)
    rho = (f - f_new) / jnp.maximum(cg.predicted, jnp.finfo(f.dtype).tiny)
    rho = jnp.where(jnp.isfinite(f_new), rho, -jnp.inf)
    on_boundary = jnp.linalg.norm(cg.step) >= 0.99 * radius
    accept, new_radius = rule.update(radius, rho, on_boundary)
    return TRStep(jnp.where(accept, x + cg.step, x), new_radius, accept,
                  jnp.where(accept, f_new, f), cg.iterations, f)


class NewtonCGState(NamedTuple):
    """The trust-region method's state."""

    radius: jax.Array  # trust-region radius for the next step
    accepted: jax.Array  # int32: trial steps taken
    rejected: jax.Array  # int32: trial steps refused
    hvps: jax.Array  # int32: Hessian- (or Gauss-Newton-) vector products over all steps


class APTSState(NamedTuple):
    """APTS's state: ``newton_cg``'s fields, then the partitions' key and the outer iterations.

    The parent's fields are repeated rather than nested in a ``NewtonCGState``, so that the
    inherited ``summary`` reads them by name on either state."""

    radius: jax.Array  # trust-region radius for the next outer iteration
    accepted: jax.Array  # int32: global trial steps taken
    rejected: jax.Array  # int32: global trial steps refused
    hvps: jax.Array  # int32: Hessian-vector products, local (all replicas) and global
    key: jax.Array  # PRNG key of the next iteration's partitions (set from the run's seed)
    preconditioner_accepted: jax.Array  # int32: iterations whose averaged correction was kept
    iterations: jax.Array  # int32: outer iterations


def flat_problem(objective: Objective, unravel) -> tuple[Callable, Callable]:
    def residual(x):
        return objective.residual_vector(unravel(x))

    def loss(x):
        return objective.loss(unravel(x))

    return loss, residual


@optimizers.register("newton_cg")
@dataclasses.dataclass(frozen=True)
class NewtonCG:
    """Trust-region Newton: Steihaug CG on Hessian (or Gauss-Newton) vector products.

    One step is one trial step; it is accepted when the gain ratio is at least ``eta1``. The radius
    halves on rejection and doubles after a good step (ratio > ``eta2``) that reached the boundary.
    """

    radius: float = positive("initial trust-region radius", 1.0)
    max_radius: float = positive("largest radius", 10.0)
    min_radius: float = positive("smallest radius", 1e-10)
    eta1: float = option(0.1, "accept when the gain ratio is at least this",
                         check=lambda v: 0 <= v < 1, expect="in [0, 1)")
    eta2: float = option(0.5, "grow the radius above this gain ratio",
                         check=lambda v: 0 < v < 1, expect="in (0, 1)")
    shrink: float = option(0.5, "radius factor on rejection", check=lambda v: 0 < v < 1,
                           expect="in (0, 1)")
    expand: float = option(2.0, "radius factor after a good step", check=lambda v: v > 1,
                           expect="> 1")
    cg_iters: int = positive("CG iterations per subproblem", 50)
    damping: float = non_negative("added to the curvature: B + damping I", 0.0)
    curvature: str = option("hessian", "curvature matrix", check=lambda v: v in CURVATURES,
                            expect=f"one of {list(CURVATURES)}")

    @property
    def rule(self) -> RadiusRule:
        return RadiusRule(self.eta1, self.eta2, self.shrink, self.expand, self.min_radius,
                          self.max_radius)

    def init(self, params: Any) -> NewtonCGState:
        dtype = jax.tree.leaves(params)[0].dtype
        return NewtonCGState(radius=jnp.asarray(self.radius, dtype),
                             accepted=jnp.asarray(0, jnp.int32),
                             rejected=jnp.asarray(0, jnp.int32),
                             hvps=jnp.asarray(0, jnp.int32))

    def global_step(self, x: Vector, radius: jax.Array, objective: Objective, unravel) -> TRStep:
        loss, residual = flat_problem(objective, unravel)
        return trust_region_step(loss, residual, x, radius, self.rule, cg_iters=self.cg_iters,
                                 damping=self.damping, kind=self.curvature)

    def step(self, state: NewtonCGState, step: jax.Array, objective: Objective,
             params: Any) -> tuple[Any, NewtonCGState, dict[str, Any]]:
        x, unravel = ravel_pytree(params)
        tr = self.global_step(x, state.radius, objective, unravel)
        state = state._replace(radius=tr.radius,
                               accepted=state.accepted + tr.accepted.astype(jnp.int32),
                               rejected=state.rejected + (~tr.accepted).astype(jnp.int32),
                               hvps=state.hvps + tr.hvps)
        info = {"loss": tr.loss_before, "done": jnp.asarray(False), "radius": tr.radius,
                "work": work(grad=1, loss=1, hvp=tr.hvps)}
        return unravel(tr.x), state, info

    def summary(self, state: NewtonCGState | APTSState) -> dict[str, Any]:
        return {"accepted": int(state.accepted), "rejected": int(state.rejected),
                "hvps": int(state.hvps), "radius": float(state.radius)}


@optimizers.register("apts")
@dataclasses.dataclass(frozen=True)
class APTS(NewtonCG):
    """Data-parallel additively preconditioned trust region (Capriqi, Likaj, Trotti & Krause).

    One step is one outer iteration. Preconditioning stage: the interior points are split at
    random into ``subdomains`` partitions; one replica per partition (boundary and initial points
    shared) takes ``local_steps`` trust-region steps of radius at most Delta / local_steps from the
    current parameters. The average of the replicas' corrections is kept only if it lowers the
    full loss; the radius then grows (accepted) or shrinks (rejected). Global stage: trust-region
    steps on the full loss, shrinking the radius until one is accepted (at most
    ``global_retries``). Replicas run vectorised (vmap), sharded over the devices when several are
    present (``on_devices``). With ``local_steps = 0`` the method is exactly ``newton_cg``.

    The partitions are random (Algorithm 1, line 7): their key is the state's, which the engine
    sets from the run's seed (capability ``random``), so seeds differ in their partitions as they
    do in their initial network; ``init`` alone gives the key of seed 0.
    """

    capabilities = frozenset({RANDOM})

    subdomains: int = positive("number of data partitions (replicas) D", 4)
    local_steps: int = non_negative("local trust-region steps J per replica", 3)
    local_cg_iters: int = positive("CG iterations per local subproblem", 12)
    local_damping: float = non_negative("damping of the local subproblems", 1e-3)
    global_retries: int = positive("global trust-region trials per outer iteration", 20)
    region: str = option("interior", "region whose points are partitioned",
                         check=lambda v: v in ("interior", "boundary", "initial"),
                         expect="interior, boundary or initial")
    shard: bool = option(True, "spread the replicas over the devices when there are several "
                               "(and their number divides D)")

    def init(self, params: Any) -> APTSState:
        return APTSState(**super().init(params)._asdict(), key=jax.random.PRNGKey(0),
                         preconditioner_accepted=jnp.asarray(0, jnp.int32),
                         iterations=jnp.asarray(0, jnp.int32))

    def seed_state(self, state: APTSState, key: jax.Array) -> APTSState:
        return state._replace(key=key)

    def partitions(self, objective: Objective, key: jax.Array) -> jax.Array:
        """(D, N // D, d) random disjoint subsets of the partitioned region's points."""
        x = objective.points[self.region]
        size = x.shape[0] // self.subdomains
        order = jax.random.permutation(key, x.shape[0])[: size * self.subdomains]
        return x[order].reshape(self.subdomains, size, x.shape[1])

    def on_devices(self, partitions: jax.Array) -> jax.Array:
        """Lay the replicas' partitions out one block per device (leading axis), so that XLA runs
        the vmapped replicas device-parallel and averages their corrections with an all-reduce.
        On one device, or when the devices do not divide D, the replicas stay vectorised."""
        n = jax.device_count()
        if not self.shard or n == 1 or self.subdomains % n:
            return partitions
        mesh = jax.sharding.Mesh(jax.devices(), ("replicas",))
        spec = jax.sharding.PartitionSpec("replicas")
        return jax.lax.with_sharding_constraint(partitions,
                                                jax.sharding.NamedSharding(mesh, spec))

    def precondition(self, x: Vector, radius: jax.Array, objective: Objective, unravel, key):
        """The averaged local correction and the number of local Hessian-vector products."""
        # Delta / J is both the initial and the largest local radius, so ||s_d|| <= Delta.
        local_radius = radius / self.local_steps
        local_rule = dataclasses.replace(self.rule, max_radius=local_radius)

        def replica(points):
            local = dataclasses.replace(objective,
                                        points={**objective.points, self.region: points})
            loss, residual = flat_problem(local, unravel)

            def one(_, carry):
                y, r, hvps = carry
                tr = trust_region_step(loss, residual, y, r, local_rule,
                                       cg_iters=self.local_cg_iters, damping=self.local_damping,
                                       kind=self.curvature)
                return tr.x, tr.radius, hvps + tr.hvps

            start = (x, local_radius, jnp.asarray(0, jnp.int32))
            y, _, hvps = jax.lax.fori_loop(0, self.local_steps, one, start)
            return y - x, hvps

        corrections, hvps = jax.vmap(replica)(self.on_devices(self.partitions(objective, key)))
        return jnp.mean(corrections, axis=0), jnp.sum(hvps).astype(jnp.int32)

    def step(self, state: APTSState, step: jax.Array, objective: Objective,
             params: Any) -> tuple[Any, APTSState, dict[str, Any]]:
        x, unravel = ravel_pytree(params)
        loss, _ = flat_problem(objective, unravel)
        f = loss(x)
        radius, hvps = state.radius, state.hvps
        # Local steps run on 1/D of the partitioned points each: D replicas' work together is
        # about that of one full evaluation, so they are counted per replica step (J per stage).
        local = {"grad": 0, "loss": 1, "hvp": 0}
        key, sub = jax.random.split(state.key)
        pre_accept = jnp.asarray(False)
        if self.local_steps > 0:
            s, local_hvps = self.precondition(x, radius, objective, unravel, sub)
            f_trial = loss(x + s)
            pre_accept = jnp.isfinite(f_trial) & (f_trial < f)
            x = jnp.where(pre_accept, x + s, x)
            rule = self.rule
            radius = jnp.clip(jnp.where(pre_accept, radius * rule.expand, radius * rule.shrink),
                              rule.min_radius, rule.max_radius)
            hvps = hvps + local_hvps
            local = {"grad": self.local_steps, "loss": self.local_steps + 2,
                     "hvp": local_hvps // self.subdomains}

        def retry(carry):
            i, tr = carry
            new = self.global_step(tr.x, tr.radius, objective, unravel)
            return i + 1, new._replace(hvps=tr.hvps + new.hvps)

        def not_yet(carry):
            i, tr = carry
            return (i < self.global_retries) & ~tr.accepted & (tr.radius > self.min_radius)

        first = self.global_step(x, radius, objective, unravel)
        n, tr = jax.lax.while_loop(not_yet, retry, (jnp.asarray(1, jnp.int32), first))
        state = state._replace(
            radius=tr.radius,
            accepted=state.accepted + tr.accepted.astype(jnp.int32),
            rejected=state.rejected + (n - tr.accepted.astype(jnp.int32)),
            hvps=hvps + tr.hvps,
            key=key,
            preconditioner_accepted=state.preconditioner_accepted
            + pre_accept.astype(jnp.int32),
            iterations=state.iterations + 1,
        )
        info = {"loss": f, "done": jnp.asarray(False), "radius": tr.radius,
                "work": work(grad=local["grad"] + n, loss=local["loss"] + n,
                             hvp=local["hvp"] + tr.hvps)}
        return unravel(tr.x), state, info

    def summary(self, state: APTSState) -> dict[str, Any]:
        iterations = max(int(state.iterations), 1)
        return {**super().summary(state),
                "preconditioner_acceptance": int(state.preconditioner_accepted) / iterations}
