"""PINN Balls: local MLP experts gated by compactly supported radial basis functions.

u(x) = sum_j lambda_j(x) U_j(x), lambda_j = phi_j / sum_k phi_k, with the quartic Wendland
function phi_j(x) = (1 - rho)_+^4 (4 rho + 1), rho = |x - c_j| / r_j (C^2 at rho = 1, so the
gated Laplacian is continuous). Centres c_j and radii r_j are parameters; expert j only sees the
points inside its ball, which is what makes the residual Jacobian block-sparse
(``pinnbench.optim.sparse_lm``).

Points covered by no ball take the expert of the nearest ball (smallest rho) alone, with
lambda = 1: u stays defined everywhere, and such a point still belongs to exactly one block of
the Jacobian. Initialisation covers the domain, so this only happens where balls have moved or
shrunk away.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from pinnbench.derivatives import Jet, JetMode
from pinnbench.models.base import ACTIVATIONS, InputMap
from pinnbench.models.mlp import MLP
from pinnbench.protocols import BLOCK_JACOBIAN, DENSITY, JET, SNAPSHOT, Blocks
from pinnbench.registry import models, non_negative, option, positive

# Density weights stay within this factor of each other, so no ball can swallow the sample.
WEIGHT_RANGE = 4.0


def quartic(rho: jax.Array) -> jax.Array:
    """Wendland's C^2 function (1 - rho)_+^4 (4 rho + 1)."""
    t = jnp.maximum(1.0 - rho, 0.0)
    return t**4 * (4.0 * rho + 1.0)


def scaled_distance(x: jax.Array, centres: jax.Array, radii: jax.Array) -> jax.Array:
    """rho_ij = |x_i - c_j| / r_j, (N, M); the norm is floored so it is differentiable at 0."""
    s = jnp.sum((x[:, None, :] - centres[None]) ** 2, axis=-1)
    return jnp.sqrt(jnp.maximum(s, jnp.finfo(x.dtype).tiny)) / radii


class Gates(NamedTuple):
    """Normalised gates and their input derivatives at a batch, ball-major for gathering."""

    lam: jax.Array     # (N, M)
    grad: jax.Array    # (N, d, M)
    diag: jax.Array    # (N, d, M): d^2 lambda / dx_i^2
    member: jax.Array  # (N, M) bool: the point belongs to the ball's block


def gates(x: jax.Array, centres: jax.Array, radii: jax.Array) -> Gates:
    """lambda_j(x) and its gradient and Hessian diagonal in closed form.

    With y = (x - c) / r: grad phi = -20 (1 - rho)^3 y / r and
    d^2 phi / dx_i^2 = (-20 (1 - rho)^3 + 60 (1 - rho)^2 y_i^2 / rho) / r^2; the quotient rule
    gives lambda = phi / S: grad lambda = (grad phi - lambda grad S) / S and
    d_ii lambda = (d_ii phi - 2 d_i lambda d_i S - lambda d_ii S) / S.
    """
    y = (x[:, None, :] - centres[None]) / radii[None, :, None]  # (N, M, d)
    rho = jnp.sqrt(jnp.maximum(jnp.sum(y * y, -1), jnp.finfo(x.dtype).tiny))
    t = jnp.maximum(1.0 - rho, 0.0)
    r2 = (radii**2)[None, :, None]
    phi = t**4 * (4.0 * rho + 1.0)
    dphi = -20.0 * (t**3)[..., None] * y / radii[None, :, None]
    d2phi = (-20.0 * (t**3)[..., None] + 60.0 * (t**2)[..., None] * y * y / rho[..., None]) / r2
    s = jnp.sum(phi, axis=1)
    covered = s > 0
    s_safe = jnp.where(covered, s, 1.0)[:, None]
    lam = phi / s_safe
    ds = jnp.sum(dphi, axis=1, keepdims=True)
    d2s = jnp.sum(d2phi, axis=1, keepdims=True)
    dlam = (dphi - lam[..., None] * ds) / s_safe[..., None]
    d2lam = (d2phi - 2 * dlam * ds - lam[..., None] * d2s) / s_safe[..., None]
    # Uncovered points: the nearest ball's expert alone, with constant gate 1.
    nearest = jax.nn.one_hot(jnp.argmin(rho, axis=1), centres.shape[0], dtype=x.dtype)
    lam = jnp.where(covered[:, None], lam, nearest)
    keep = covered[:, None, None]
    dlam = jnp.where(keep, dlam, 0.0)
    d2lam = jnp.where(keep, d2lam, 0.0)
    member = jnp.where(covered[:, None], rho < 1.0, nearest > 0)
    return Gates(lam, jnp.swapaxes(dlam, 1, 2), jnp.swapaxes(d2lam, 1, 2), member)


class Layout(NamedTuple):
    """Which points each ball evaluates: a fixed capacity C per ball (static shape)."""

    idx: jax.Array     # (M, C) point indices, the members first (largest gate first)
    mask: jax.Array    # (M, C) bool: a real member (False: padding)
    count: jax.Array   # (M,) members of each ball; above C the weakest members are dropped
    lam: jax.Array     # (M, C) gate at the gathered points
    grad: jax.Array    # (M, C, d)
    diag: jax.Array    # (M, C, d)


@models.register("balls")
@dataclasses.dataclass(frozen=True)
class Balls:
    """PINN Balls (Bonfanti et al.): M MLP experts gated by learnable quartic RBF balls.

    Centres start from k-means (Lloyd) over ``kmeans_points`` uniform points of the domain, drawn
    inside ``init`` from the seed (the model is bound to the box; it never sees the collocation
    points). Initial radii give the balls a total volume of ``overlap`` times the box, enlarged
    where needed so every k-means sample point is covered; radii stay within a factor
    ``max_radius`` of that. Each ball evaluates at most ``capacity`` x N of a batch of N points
    (0: 2 * overlap * max_radius^d / M); a fuller ball drops its weakest members.
    Experts see the box mapped to [-1, 1]^d, so moving a ball changes the gating only.
    ``density`` is the adaptive sampler's density sum_j w_j phi_j + floor.
    """

    n_balls: int = positive("number of balls (experts) M", 16)
    width: int = positive("hidden units per expert layer", 20)
    depth: int = positive("hidden layers per expert", 2)
    activation: str = option("tanh", "expert activation", check=lambda v: v in ACTIVATIONS,
                             expect=f"one of {sorted(ACTIVATIONS)}")
    overlap: float = positive("total ball volume at initialisation, in box volumes", 2.0)
    max_radius: float = option(1.5, "radii stay within this factor of the initial scale",
                               check=lambda v: v >= 1, expect=">= 1")
    capacity: float = option(0.0, "points per ball as a fraction of the batch (0: automatic)",
                             check=lambda v: 0 <= v <= 1, expect="in [0, 1]")
    kmeans_points: int = positive("uniform points for the k-means initialisation", 2048)
    kmeans_iters: int = non_negative("Lloyd iterations of the k-means initialisation", 20)
    # The quartic falls to 0.19 at half the radius: without a floor, the density would starve
    # the regions between centres of points.
    density_floor: float = non_negative("uniform floor of the sampling density, relative to the "
                                        "mean weight", 0.5)
    local_init: bool = option(True, "initialise each expert's first layer on its own ball "
                              "(as if it saw the ball as [-1, 1]^d) rather than on the box")
    inputs: InputMap = dataclasses.field(default=InputMap(), metadata={"internal": True})

    capabilities = frozenset({JET, SNAPSHOT, BLOCK_JACOBIAN, DENSITY})

    # ---- construction ---------------------------------------------------------------------
    def bind(self, lower: tuple[float, ...], upper: tuple[float, ...]) -> Balls:
        return dataclasses.replace(self, inputs=InputMap(tuple(lower), tuple(upper)))

    @property
    def expert(self) -> MLP:
        return MLP(width=self.width, depth=self.depth, activation=self.activation,
                   inputs=self.inputs)

    def box(self, d: int, dtype: Any) -> tuple[jax.Array, jax.Array]:
        if self.inputs.lower:
            return jnp.asarray(self.inputs.lower, dtype), jnp.asarray(self.inputs.upper, dtype)
        return -jnp.ones((d,), dtype), jnp.ones((d,), dtype)

    def radius_scale(self, d: int) -> float:
        """r0 with M balls of radius r0 filling ``overlap`` box volumes."""
        lo, hi = (self.inputs.lower, self.inputs.upper) if self.inputs.lower else (
            (-1.0,) * d, (1.0,) * d)
        volume = math.prod(h - l for l, h in zip(lo, hi, strict=True))
        unit_ball = math.pi ** (d / 2) / math.gamma(d / 2 + 1)
        return (self.overlap * volume / (self.n_balls * unit_ball)) ** (1.0 / d)

    def radius_bounds(self, d: int) -> tuple[float, float]:
        r0 = self.radius_scale(d)
        return r0 / self.max_radius, r0 * self.max_radius

    def capacity_of(self, n: int, d: int) -> int:
        """Static per-ball capacity for a batch of n points (small batches: exact)."""
        if n <= 64:
            return n
        frac = self.capacity or 2 * self.overlap * self.max_radius**d / self.n_balls
        return max(1, min(n, math.ceil(min(frac, 1.0) * n)))

    def init(self, key: jax.Array, in_dim: int, out_dim: int, dtype: Any) -> dict[str, Any]:
        k_pts, k_pick, k_experts = jax.random.split(key, 3)
        lo, hi = self.box(in_dim, dtype)
        pts = lo + (hi - lo) * jax.random.uniform(k_pts, (self.kmeans_points, in_dim), dtype)
        centres = kmeans(pts, jax.random.choice(k_pick, pts, (self.n_balls,), replace=False),
                         self.kmeans_iters)
        # Radius: the scale r0, or enough to cover the ball's farthest k-means member.
        dist = jnp.sqrt(jnp.sum((pts[:, None] - centres[None]) ** 2, -1))
        owner = jax.nn.one_hot(jnp.argmin(dist, 1), self.n_balls, dtype=dtype)
        farthest = jnp.max(owner * jnp.min(dist, 1, keepdims=True), axis=0)
        r_lo, r_hi = self.radius_bounds(in_dim)
        radii = jnp.clip(jnp.maximum(self.radius_scale(in_dim), 1.05 * farthest), r_lo, r_hi)
        keys = jax.random.split(k_experts, self.n_balls)
        experts = jax.vmap(lambda k: self.expert.init(k, in_dim, out_dim, dtype))(keys)
        if self.local_init:
            experts = self._localise(experts, centres, radii)
        return {"centres": centres, "log_radii": jnp.log(radii),
                "log_weights": jnp.zeros((self.n_balls,), dtype), "experts": experts}

    def _localise(self, experts: list[dict], centres: jax.Array, radii: jax.Array
                  ) -> list[dict]:
        """First layers acting on (h - c_j) / r_j, with h the input mapped to [-1, 1]^d and c_j,
        r_j the ball in those coordinates: at initialisation each expert spans its own ball as a
        whole-box network spans the box, instead of seeing a nearly linear slice of its
        features. A change of the initial weights only; the model stays the same function of
        the parameters."""
        d = centres.shape[1]
        scale = self.inputs.scale(d, centres.dtype)
        c = self.inputs.forward(centres)  # (M, d)
        r = radii[:, None] * scale[None]  # (M, d)
        first = experts[0]
        w = first["w"] / r[:, :, None]  # (M, d, width)
        b = first["b"] - jnp.einsum("md,mdw->mw", c, w)
        return [{"w": w, "b": b}, *experts[1:]]

    # ---- geometry ---------------------------------------------------------------------------
    def radii(self, params: dict[str, Any]) -> jax.Array:
        d = params["centres"].shape[1]
        r_lo, r_hi = self.radius_bounds(d)
        return jnp.clip(jnp.exp(params["log_radii"]), r_lo, r_hi)

    def weights(self, params: dict[str, Any]) -> jax.Array:
        bound = math.log(WEIGHT_RANGE) / 2
        return jnp.exp(jnp.clip(params["log_weights"], -bound, bound))

    def project(self, params: dict[str, Any]) -> dict[str, Any]:
        """Centres into the box, radii and weights into their ranges (after an ascent step)."""
        d = params["centres"].shape[1]
        lo, hi = self.box(d, params["centres"].dtype)
        r_lo, r_hi = self.radius_bounds(d)
        bound = math.log(WEIGHT_RANGE) / 2
        return {**params, "centres": jnp.clip(params["centres"], lo, hi),
                "log_radii": jnp.clip(params["log_radii"], math.log(r_lo), math.log(r_hi)),
                "log_weights": jnp.clip(params["log_weights"], -bound, bound)}

    def density(self, params: dict[str, Any], x: jax.Array) -> jax.Array:
        """Unnormalised sampling density sum_j w_j phi_j(x) + floor * mean(w), (N,)."""
        w = self.weights(params)
        phi = quartic(scaled_distance(x, params["centres"], self.radii(params)))
        return phi @ w + self.density_floor * jnp.mean(w)

    def layout(self, params: dict[str, Any], x: jax.Array) -> Layout:
        """Gather each ball's members (largest gate first) into a fixed capacity."""
        g = gates(x, params["centres"], self.radii(params))
        cap = self.capacity_of(x.shape[0], x.shape[1])
        # Members rank above non-members; among members the larger gate ranks first.
        priority = jnp.where(g.member, 1.0 + g.lam, 0.0).T  # (M, N)
        _, idx = jax.lax.top_k(priority, cap)
        mask = jnp.take_along_axis(g.member.T, idx, axis=1)

        def at(a):  # (N, ..., M) -> (M, C, ...)
            return jnp.moveaxis(a, -1, 0)[jnp.arange(a.shape[-1])[:, None], idx]

        return Layout(idx, mask, jnp.sum(g.member, axis=0), at(g.lam) * mask,
                      at(g.grad) * mask[..., None], at(g.diag) * mask[..., None])

    # ---- evaluation -------------------------------------------------------------------------
    def contributions(self, params: dict[str, Any], x: jax.Array,
                      layout: Layout | None = None) -> tuple[Layout, Jet]:
        """Each ball's term lambda_j U_j at its gathered points, value / grad / Hessian diagonal
        (each (M, C, ...)), by the product rule over the expert's jet and the gate's."""
        layout = self.layout(params, x) if layout is None else layout
        xs = x[layout.idx]  # (M, C, d)
        jets = jax.vmap(lambda p, xj: self.expert.jet(p, xj, "diag"))(params["experts"], xs)
        return layout, combine(jets, layout.lam, layout.grad, layout.diag)

    def apply(self, params: dict[str, Any], x: jax.Array) -> jax.Array:
        layout = self.layout(params, x)
        xs = x[layout.idx]
        u = jax.vmap(self.expert.apply)(params["experts"], xs)  # (M, C, m)
        return _scatter(layout.idx, layout.lam[..., None] * u, x.shape[0])

    def jet(self, params: dict[str, Any], x: jax.Array, mode: JetMode) -> Jet:
        """Value, input gradient and Laplacian / Hessian diagonal, summed over the balls."""
        layout, c = self.contributions(params, x)
        return total(layout.idx, c, x.shape[0], mode)

    def snapshot(self, params: dict[str, Any]) -> dict[str, jax.Array]:
        return {"centres": params["centres"], "radii": self.radii(params),
                "weights": self.weights(params)}

    # ---- what a block-sparse solver and an adaptive sampler ask of it ----------------------
    # (pinnbench.models.balls_jacobian imports this module, hence the imports inside.)
    def block_system(self, objective: Any, params: dict[str, Any]) -> Blocks:
        from pinnbench.models.balls_jacobian import block_system

        return block_system(self, objective, params)

    def expert_vectors(self, params: dict[str, Any]) -> tuple[jax.Array, Any]:
        from pinnbench.models.balls_jacobian import expert_vectors

        return expert_vectors(params)

    def ascend_density(self, params: dict[str, Any], x: jax.Array, sq_residual: jax.Array,
                       lr: jax.Array) -> dict[str, Any]:
        from pinnbench.models.balls_jacobian import ascend

        return ascend(self, params, x, sq_residual, lr)


def combine(expert: Jet, lam: jax.Array, dlam: jax.Array, d2lam: jax.Array) -> Jet:
    """(lambda U, grad, Hessian diagonal) by the product rule; leading axes are broadcast.

    expert: value (..., m), grad (..., d, m), second (..., d, m) (the Hessian diagonal);
    lam (...), dlam / d2lam (..., d)."""
    u, du, d2u = expert
    value = lam[..., None] * u
    grad = dlam[..., None] * u[..., None, :] + lam[..., None, None] * du
    diag = (d2lam[..., None] * u[..., None, :] + 2 * dlam[..., None] * du
            + lam[..., None, None] * d2u)
    return Jet(value, grad, diag)


def _scatter(idx: jax.Array, values: jax.Array, n: int) -> jax.Array:
    """Sum (M, C, ...) per-ball values into (n, ...) per-point values."""
    out = jnp.zeros((n,) + values.shape[2:], values.dtype)
    return out.at[idx.reshape(-1)].add(values.reshape((-1,) + values.shape[2:]))


def total(idx: jax.Array, c: Jet, n: int, mode: JetMode) -> Jet:
    """The model's jet at n points from the balls' gathered contributions."""
    value, grad, diag = (_scatter(idx, a, n) for a in c)
    return Jet(value, grad, jnp.sum(diag, axis=1) if mode == "laplacian" else diag)


def kmeans(points: jax.Array, centres: jax.Array, iters: int) -> jax.Array:
    """Lloyd's iterations; a centre that loses all its points stays where it is."""
    m = centres.shape[0]

    def body(_, c):
        d2 = jnp.sum((points[:, None] - c[None]) ** 2, -1)
        owner = jax.nn.one_hot(jnp.argmin(d2, 1), m, dtype=points.dtype)  # (P, M)
        n = jnp.sum(owner, 0)
        mean = (owner.T @ points) / jnp.maximum(n, 1)[:, None]
        return jnp.where((n > 0)[:, None], mean, c)

    return jax.lax.fori_loop(0, iters, body, centres)
