"""Incompressible Navier-Stokes in the channel [0, 2] × [0, 1] (PINNacle's NS2D_LongTime):

    u_t + u·∇u + ∇p - ν Δu + f = 0,  ∇·u = 0,  f = sin(πx) sin(πy) sin(πt) in both components,

u = g(y, t) = sin(πy)·(sin πt + sin 3πt + sin 5πt), v = 0 at the inflow x = 0; u = v = 0 on the
walls y = 0, 1; u = v = 0 at t = 0. At the outflow x = 2 PINNacle states only p = 0; a solve
needs a condition on the velocity too: here ∂v/∂x = 0 (with p = 0), and u there is what the
momentum and continuity equations make it. ∂u/∂x = 0 cannot be asked as well: with continuity
it makes ∂v/∂y = 0 along the outflow, so v = 0 there (the walls' value), one condition too many
(imposing v = 0 instead of ∂v/∂x = 0 puts a layer of width ~ν/u in v against the outflow).

Space: a staggered (MAC) grid of 2n × n square cells of side h = 1/n: u on the vertical faces,
v on the horizontal faces, p at the centres; second-order central differences for advection
(advective form, the other velocity averaged from its four neighbours) and for diffusion. Ghost
values carry the boundary conditions: u = -u_adjacent beyond the walls (zero on the wall),
v = -v_adjacent beyond the inflow (zero there), v = v_adjacent beyond the outflow (∂v/∂x = 0);
u on the outflow face is an unknown of the x-momentum equation there, with one-sided
differences (u extrapolated quadratically beyond the face).

Time: the semi-discrete system du/dt = F(u, t) - G p, D u = 0 (D the cell divergence, G the
face gradient with p = 0 at the outflow, Neumann elsewhere since those velocities are given) is
integrated with the three-stage strong-stability-preserving Runge-Kutta method (SSP-RK3), each
stage projected onto D u = 0 with the Dirichlet faces set to their values at the stage's time:
one Poisson solve L φ = D u*, L = D G, by a sparse LU factorised once. Pressure is not taken
from the projection: at each stored time it solves L p = D(F(u, t), g_t), the condition that
the velocity stays divergence-free (g_t, the inflow's time derivative, on the inflow faces), so
it carries no splitting error. The step is fixed and inside the stability region of SSP-RK3 for
the advective speed bound ``SPEED`` (checked at every stored time) and the diffusion limit.

Output: values at the nodes (i h, j h) (u and v averaged from the two faces beside a node, p
from the four cells around it, linearly extrapolated to the walls and the inflow; the boundary
data exactly, v at the outflow from the parabola through the last two cells with zero slope)
on every ``stride``-th node, at the stored times.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

SOLVER_VERSION = "ns-channel-mac-ssprk3-1"
LENGTH, HEIGHT = 2.0, 1.0
SPEED = 4.0  # bound on |u| + |v| used for the step, checked at the stored times


def inflow(y, t):
    """u at x = 0: sin(πy)·(sin πt + sin 3πt + sin 5πt) (numpy or jax.numpy arrays)."""
    xp = _namespace(y, t)
    pi = math.pi
    return xp.sin(pi * y) * (xp.sin(pi * t) + xp.sin(3 * pi * t) + xp.sin(5 * pi * t))


def inflow_rate(y, t):
    """∂g/∂t at x = 0."""
    pi = math.pi
    return np.sin(pi * y) * pi * (np.cos(pi * t) + 3 * np.cos(3 * pi * t)
                                  + 5 * np.cos(5 * pi * t))


def forcing(x, y, t):
    """f = sin(πx)·sin(πy)·sin(πt), added to both momentum equations."""
    xp = _namespace(x, y, t)
    return xp.sin(math.pi * x) * xp.sin(math.pi * y) * xp.sin(math.pi * t)


@dataclasses.dataclass(frozen=True)
class Data:
    """The problem's data as functions of numpy arrays: inflow u and its time derivative (of
    y, t), forcing of the x- and y-momentum equations (of x, y, t). PINNacle's by default; tests
    put others in (a manufactured flow with a closed form)."""

    inflow: Callable = inflow
    inflow_rate: Callable = inflow_rate
    force_u: Callable = forcing
    force_v: Callable = forcing


PINNACLE = Data()


def _namespace(*arrays):
    if any(type(a).__module__.startswith("jax") for a in arrays):
        import jax.numpy as jnp

        return jnp
    return np


class Channel:
    """The discrete operators on 2n × n cells and the time step."""

    def __init__(self, n: int, nu: float = 0.01, data: Data = PINNACLE) -> None:
        if n < 2:
            raise ValueError("ns_channel: at least 2 cells per unit length")
        self.n, self.nu, self.data = n, nu, data
        self.nx, self.ny = int(round(LENGTH * n)), int(round(HEIGHT * n))
        self.h = 1.0 / n
        h, nx, ny = self.h, self.nx, self.ny
        self.xu, self.yu = np.arange(nx + 1) * h, (np.arange(ny) + 0.5) * h
        self.xv, self.yv = (np.arange(nx) + 0.5) * h, np.arange(ny + 1) * h
        # The moving faces' coordinates, for the forcing.
        self._at_u = np.meshgrid(self.xu[1:], self.yu, indexing="ij")
        self._at_v = np.meshgrid(self.xv, self.yv[1:-1], indexing="ij")
        # L = D G on the cells: D over the faces that move (u faces 1..nx, v faces 1..ny-1), G
        # with p = 0 at the outflow (ghost -p) and nothing through the faces with given velocity.
        dx = sp.diags([np.full(nx, 1 / h), np.full(nx - 1, -1 / h)], [0, -1], (nx, nx))
        gx = sp.diags([np.full(nx, -1 / h), np.full(nx - 1, 1 / h)], [0, 1], (nx, nx)).tolil()
        gx[nx - 1, nx - 1] = -2 / h
        dy = sp.diags([np.full(ny - 1, 1 / h), np.full(ny - 1, -1 / h)], [0, -1], (ny, ny - 1))
        gy = sp.diags([np.full(ny - 1, -1 / h), np.full(ny - 1, 1 / h)], [0, 1], (ny - 1, ny))
        lap = sp.kron(dx @ gx.tocsr(), sp.eye(ny)) + sp.kron(sp.eye(nx), dy @ gy)
        self._lu = splu(sp.csc_matrix(lap))

    # ---- operators ------------------------------------------------------------------------
    def divergence(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return (u[1:] - u[:-1] + v[:, 1:] - v[:, :-1]) / self.h

    def _poisson(self, rhs: np.ndarray) -> np.ndarray:
        return self._lu.solve(rhs.ravel()).reshape(self.nx, self.ny)

    def project(self, u: np.ndarray, v: np.ndarray) -> None:
        """Make (u, v) divergence-free in place, moving only the faces without given data."""
        phi = self._poisson(self.divergence(u, v))
        h = self.h
        u[1:-1] -= (phi[1:] - phi[:-1]) / h
        u[-1] -= -2 * phi[-1] / h
        v[:, 1:-1] -= (phi[:, 1:] - phi[:, :-1]) / h

    def set_boundary(self, u: np.ndarray, v: np.ndarray, t: float) -> None:
        u[0] = self.data.inflow(self.yu, t)
        v[:, 0] = 0.0
        v[:, -1] = 0.0

    def accelerations(self, u: np.ndarray, v: np.ndarray,
                      t: float) -> tuple[np.ndarray, np.ndarray]:
        """F = -(u·∇)u + νΔu - f at the moving faces: (nx, ny) for u faces 1..nx, (nx, ny - 1)
        for v faces 1..ny-1."""
        h, nu, nx, ny = self.h, self.nu, self.nx, self.ny
        big = np.empty((nx + 3, ny + 2))  # u with ghosts, [i + 1, j + 1] = u[i, j]
        big[1:nx + 2, 1:ny + 1] = u
        big[0, 1:ny + 1] = u[0]  # never read for a moving face
        # The outflow face is a boundary point of the x-momentum equation: one-sided
        # differences, through the quadratic extrapolation of u beyond it.
        big[nx + 2, 1:ny + 1] = 3 * u[nx] - 3 * u[nx - 1] + u[nx - 2]
        big[:, 0] = -big[:, 1]
        big[:, ny + 1] = -big[:, ny]
        c = big[2:nx + 2, 1:ny + 1]
        e, w = big[3:nx + 3, 1:ny + 1], big[1:nx + 1, 1:ny + 1]
        no, so = big[2:nx + 2, 2:ny + 2], big[2:nx + 2, 0:ny]
        vg = np.empty((nx + 2, ny + 1))  # v with ghosts, [i + 1, j] = v[i, j]
        vg[1:nx + 1] = v
        vg[0] = -v[0]  # v = 0 at the inflow
        vg[nx + 1] = v[nx - 1]  # dv/dx = 0 at the outflow
        vbar = 0.25 * (vg[1:nx + 1, :-1] + vg[1:nx + 1, 1:] + vg[2:nx + 2, :-1] + vg[2:nx + 2, 1:])
        fu = (-(c * (e - w) + vbar * (no - so)) / (2 * h)
              + nu * (e + w + no + so - 4 * c) / (h * h) - self.data.force_u(*self._at_u, t))
        cv = vg[1:nx + 1, 1:ny]
        ev, wv = vg[2:nx + 2, 1:ny], vg[0:nx, 1:ny]
        nv, sv = vg[1:nx + 1, 2:ny + 1], vg[1:nx + 1, 0:ny - 1]
        ubar = 0.25 * (u[:-1, :-1] + u[:-1, 1:] + u[1:, :-1] + u[1:, 1:])
        fv = (-(ubar * (ev - wv) + cv * (nv - sv)) / (2 * h)
              + nu * (ev + wv + nv + sv - 4 * cv) / (h * h) - self.data.force_v(*self._at_v, t))
        return fu, fv

    def pressure(self, u: np.ndarray, v: np.ndarray, t: float) -> np.ndarray:
        """p at the cell centres: L p = D(du/dt) with du/dt = F at the moving faces and the
        data's rate of change at the others."""
        fu, fv = self.accelerations(u, v, t)
        du, dv = np.zeros_like(u), np.zeros_like(v)
        du[0] = self.data.inflow_rate(self.yu, t)
        du[1:] = fu
        dv[:, 1:-1] = fv
        return self._poisson(self.divergence(du, dv))

    def max_step(self, speed: float = SPEED) -> float:
        """A step inside SSP-RK3's stability region: the advective (imaginary, |z| <= √3) and
        diffusive (real, z >= -2.5) parts together use at most 80% of it."""
        h = self.h
        return 0.8 / (speed / (math.sqrt(3) * h) + 8 * self.nu / (2.5 * h * h))

    def step(self, u: np.ndarray, v: np.ndarray, t: float,
             dt: float) -> tuple[np.ndarray, np.ndarray]:
        """One SSP-RK3 step, every stage projected."""
        def stage(a: float, u0, v0, b: float, ub, vb, tb: float, ts: float):
            fu, fv = self.accelerations(ub, vb, tb)
            un, vn = a * u0 + b * ub, a * v0 + b * vb
            un[1:] += b * dt * fu
            vn[:, 1:-1] += b * dt * fv
            self.set_boundary(un, vn, ts)
            self.project(un, vn)
            return un, vn

        u1, v1 = stage(0.0, u, v, 1.0, u, v, t, t + dt)
        u2, v2 = stage(0.75, u, v, 0.25, u1, v1, t + dt, t + 0.5 * dt)
        return stage(1 / 3, u, v, 2 / 3, u2, v2, t + 0.5 * dt, t + dt)

    # ---- output -----------------------------------------------------------------------------
    def nodes(self, u: np.ndarray, v: np.ndarray, p: np.ndarray,
              t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """u, v, p at the nodes (i h, j h), arrays (nx + 1, ny + 1)."""
        nx, ny = self.nx, self.ny
        un = np.zeros((nx + 1, ny + 1))
        un[:, 1:-1] = 0.5 * (u[:, :-1] + u[:, 1:])
        un[0] = self.data.inflow(self.yv, t)
        un[:, [0, -1]] = 0.0
        vn = np.zeros((nx + 1, ny + 1))
        vn[1:-1] = 0.5 * (v[:-1] + v[1:])
        vn[-1] = (9 * v[-1] - v[-2]) / 8  # the parabola with dv/dx = 0 at the outflow
        vn[:, [0, -1]] = 0.0
        px = np.concatenate([2 * p[:1] - p[1:2], p, -p[-1:]], axis=0)  # p = 0 at the outflow
        pp = np.concatenate([2 * px[:, :1] - px[:, 1:2], px, 2 * px[:, -1:] - px[:, -2:-1]],
                            axis=1)
        pn = 0.25 * (pp[:-1, :-1] + pp[1:, :-1] + pp[:-1, 1:] + pp[1:, 1:])
        pn[-1] = 0.0
        return un, vn, pn


def solve(n: int, nu: float, t_end: float, times: int, stride: int = 1,
          speed: float = SPEED, data: Data = PINNACLE) -> dict[str, np.ndarray]:
    """u, v, p (arrays [x, y, t]) on every ``stride``-th node of the 2n × n grid at ``times``
    equally spaced times in [0, t_end], with the coordinates ``x``, ``y``, ``t`` and the number
    of ``steps``."""
    ch = Channel(n, nu, data)
    if ch.nx % stride or ch.ny % stride:
        raise ValueError(f"ns_channel: stride {stride} does not divide {ch.nx} × {ch.ny}")
    interval = t_end / (times - 1)
    per = max(1, math.ceil(interval / ch.max_step(speed) - 1e-9))
    dt = interval / per
    u = np.zeros((ch.nx + 1, ch.ny))
    v = np.zeros((ch.nx, ch.ny + 1))
    out = {k: np.empty((ch.nx // stride + 1, ch.ny // stride + 1, times)) for k in "uvp"}

    def store(k: int, t: float) -> None:
        fields = ch.nodes(u, v, ch.pressure(u, v, t), t)
        fast = float(np.max(np.abs(fields[0]) + np.abs(fields[1])))
        if not np.isfinite(fast) or fast > speed:
            raise RuntimeError(f"ns_channel: |u| + |v| reached {fast:.3g} > {speed} at t = {t}")
        for name, a in zip("uvp", fields, strict=True):
            out[name][..., k] = a[::stride, ::stride]

    store(0, 0.0)
    for k in range(1, times):
        t0 = (k - 1) * interval
        for s in range(per):
            u, v = ch.step(u, v, t0 + s * dt, dt)
        store(k, k * interval)
    h = ch.h * stride
    return {"x": np.arange(ch.nx // stride + 1) * h, "y": np.arange(ch.ny // stride + 1) * h,
            "t": np.linspace(0.0, t_end, times), **out, "steps": np.asarray(per * (times - 1))}


def refinement(grids: tuple[int, ...] = (32, 64, 128), nu: float = 0.01, t_end: float = 5.0,
               times: int = 51) -> dict[str, list[float]]:
    """Differences of the velocity between successive grids on the coarsest grid's nodes at the
    stored times (max and rms over nodes and times, u and v together), their observed orders,
    and each solve's seconds."""
    import time

    runs, seconds = [], []
    for n in grids:
        t0 = time.perf_counter()
        runs.append(solve(n, nu, t_end, times))
        seconds.append(time.perf_counter() - t0)
    m = 2 * grids[0] + 1
    common = [np.stack([r[k][::(r["x"].size - 1) // (m - 1), ::(r["x"].size - 1) // (m - 1)]
                        for k in "uv"]) for r in runs]
    diff = [float(np.max(np.abs(a - b))) for a, b in zip(common, common[1:], strict=False)]
    rms = [float(np.sqrt(np.mean((a - b) ** 2)) * math.sqrt(2))
           for a, b in zip(common, common[1:], strict=False)]
    return {"grids": list(grids), "seconds": seconds, "max": diff, "rms": rms,
            "order_max": [math.log2(a / b) for a, b in zip(diff, diff[1:], strict=False)],
            "order_rms": [math.log2(a / b) for a, b in zip(rms, rms[1:], strict=False)],
            "max_abs_u": [float(np.max(np.abs(r["u"]))) for r in runs]}


if __name__ == "__main__":  # the study quoted in docs/problems.md
    import json
    import sys

    grids = tuple(int(a) for a in sys.argv[1:]) or (32, 64, 128)
    print(json.dumps(refinement(grids), indent=1))
