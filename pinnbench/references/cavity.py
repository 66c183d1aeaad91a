"""Steady lid-driven cavity on [0, 1]², lid y = 1 moving at u = 1: stream function-vorticity
finite differences (second order, Thom's wall vorticity), solved for the steady state directly by
Newton's method with sparse LU, continuing in Re from 100 when a higher Re is asked for.

Unknown: psi at the interior nodes of an (n + 1)² grid (psi = 0 on the walls). Vorticity
omega = -Lap(psi) inside and omega_wall = -2 psi_adjacent / h² (- 2 U / h on the lid) on the
walls; the steady transport equation u omega_x + v omega_y = Lap(omega) / Re, u = psi_y,
v = -psi_x, is the nonlinear system. Pressure follows from the momentum equations: grad p is
formed on the grid and p is its least-squares potential, gauged to p(0.5, 0.5) = 0.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

SOLVER_VERSION = "cavity-psi-omega-newton-1"


def _operators(n: int):
    h = 1.0 / n
    m = n + 1  # nodes per side
    full = m * m
    idx = np.arange(full).reshape(m, m)  # idx[i, j]: x index i, y index j
    inner = idx[1:-1, 1:-1].ravel()
    ni = inner.size

    def stencil(offsets):
        rows, cols, vals = [], [], []
        ii, jj = np.meshgrid(np.arange(1, n), np.arange(1, n), indexing="ij")
        r = np.arange(ni)
        for (di, dj), c in offsets.items():
            rows.append(r)
            cols.append(idx[ii + di, jj + dj].ravel())
            vals.append(np.full(ni, c))
        return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                             shape=(ni, full))

    dx = stencil({(1, 0): 0.5 / h, (-1, 0): -0.5 / h})
    dy = stencil({(0, 1): 0.5 / h, (0, -1): -0.5 / h})
    lap = stencil({(1, 0): 1 / h**2, (-1, 0): 1 / h**2, (0, 1): 1 / h**2, (0, -1): 1 / h**2,
                   (0, 0): -4 / h**2})
    place = sp.csr_matrix((np.ones(ni), (inner, np.arange(ni))), shape=(full, ni))
    # omega on the full grid = W psi_inner + w0 (corners are never used by the stencils).
    rows, cols, vals = [], [], []
    lap_p = (lap @ place).tocoo()
    rows.append(inner[lap_p.row])
    cols.append(lap_p.col)
    vals.append(-lap_p.data)
    pos = {k: v for v, k in enumerate(inner)}
    w0 = np.zeros(full)
    for k in range(1, n):
        for wall, adj, lid in ((idx[k, 0], idx[k, 1], False), (idx[k, n], idx[k, n - 1], True),
                               (idx[0, k], idx[1, k], False), (idx[n, k], idx[n - 1, k], False)):
            rows.append([wall])
            cols.append([pos[adj]])
            vals.append([-2.0 / h**2])
            if lid:
                w0[wall] = -2.0 / h
    w = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(full, ni))
    return dict(dx=dx, dy=dy, lap=lap, place=place, w=w, w0=w0, m=m)


def solve_psi(n: int, re: float, tol: float = 1e-12, max_iter: int = 30) -> np.ndarray:
    """Stream function on the (n + 1)² grid, indexed [i (x), j (y)]."""
    ops = _operators(n)
    dx, dy, lap, place, w, w0 = (ops[k] for k in ("dx", "dy", "lap", "place", "w", "w0"))
    psi = np.zeros(place.shape[1])
    schedule = [r for r in (100.0, 400.0, 1000.0, 2500.0, 5000.0) if r < re] + [re]
    for r in schedule:
        for _ in range(max_iter):
            pf = place @ psi
            om = w @ psi + w0
            u, v = dy @ pf, -(dx @ pf)
            res = u * (dx @ om) + v * (dy @ om) - (lap @ om) / r
            jac = (sp.diags(dx @ om) @ dy @ place - sp.diags(dy @ om) @ dx @ place
                   + sp.diags(u) @ dx @ w + sp.diags(v) @ dy @ w - (lap @ w) / r)
            step = spsolve(jac.tocsc(), res)
            psi = psi - step
            # The residual carries 1/h^4 factors; the Newton step is on psi's own scale (~0.1).
            if np.max(np.abs(step)) < tol:
                break
        else:
            raise RuntimeError(f"cavity: Newton did not converge at Re = {r}")
    return (place @ psi).reshape(ops["m"], ops["m"])


def fields(n: int, re: float) -> dict[str, np.ndarray]:
    """u, v, p on the (n + 1)² grid ([i (x), j (y)]) and the grid coordinates."""
    h = 1.0 / n
    psi = solve_psi(n, re)
    u = np.zeros_like(psi)
    v = np.zeros_like(psi)
    u[1:-1, 1:-1] = (psi[1:-1, 2:] - psi[1:-1, :-2]) / (2 * h)
    v[1:-1, 1:-1] = -(psi[2:, 1:-1] - psi[:-2, 1:-1]) / (2 * h)
    u[:, -1] = 1.0
    p = pressure(u, v, h, re)
    x = np.linspace(0.0, 1.0, n + 1)
    return {"x": x, "y": x, "u": u, "v": v, "p": p, "psi": psi}


def pressure(u: np.ndarray, v: np.ndarray, h: float, re: float) -> np.ndarray:
    """Least-squares potential of grad p = -(u.grad)u + Lap(u)/Re (second-order differences,
    one-sided at the walls), p(0.5, 0.5) = 0."""
    def d(a, axis):
        return np.gradient(a, h, axis=axis, edge_order=2)

    def lap(a):
        return d(d(a, 0), 0) + d(d(a, 1), 1)

    gx = -(u * d(u, 0) + v * d(u, 1)) + lap(u) / re
    gy = -(u * d(v, 0) + v * d(v, 1)) + lap(v) / re
    m = u.shape[0]
    idx = np.arange(m * m).reshape(m, m)
    # One equation per grid edge: (p_b - p_a) / h = mean of the two nodal gradients.
    a_x, b_x = idx[:-1, :].ravel(), idx[1:, :].ravel()
    a_y, b_y = idx[:, :-1].ravel(), idx[:, 1:].ravel()
    rhs = np.concatenate([0.5 * (gx[:-1, :] + gx[1:, :]).ravel(),
                          0.5 * (gy[:, :-1] + gy[:, 1:]).ravel()])
    a = np.concatenate([a_x, a_y])
    b = np.concatenate([b_x, b_y])
    k = np.arange(a.size)
    g = sp.csr_matrix((np.concatenate([np.full(a.size, -1 / h), np.full(a.size, 1 / h)]),
                       (np.concatenate([k, k]), np.concatenate([a, b]))), shape=(a.size, m * m))
    centre = idx[m // 2, m // 2]
    normal = (g.T @ g).tolil()
    normal[centre, :] = 0
    normal[centre, centre] = 1
    f = g.T @ rhs
    f[centre] = 0.0
    p = spsolve(normal.tocsc(), f).reshape(m, m)
    return p - p[m // 2, m // 2]
