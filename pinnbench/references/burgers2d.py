"""2D viscous Burgers on the periodic square [0, L)²: Fourier pseudo-spectral in space, ETDRK4
in time (:mod:`pinnbench.references.spectral2d`).

    u_t + u·u_x + v·u_y = ν·Δu,   v_t + u·v_x + v·v_y = ν·Δv.

L = -ν·k² on both fields; the advection, in the form above (the velocity is not divergence free,
so it is no flux divergence), is the nonlinear part, formed on the grid from spectral
derivatives with their Nyquist modes dropped.
"""

from __future__ import annotations

import math

import numpy as np

from pinnbench.references import spectral2d

SOLVER_VERSION = "burgers2d-etdrk4-1"

# The initial velocity: a few of the lowest Fourier modes of the period-L square with fixed
# amplitudes and phases (wavenumbers m·2π/L), so it is smooth, periodic and reproducible.
# (m, n, amplitude, phase) of a_mn·sin(2π(m·x + n·y)/L + phase) for u, then for v. The
# amplitudes put the inviscid gradient blow-up at t = 2.06 (1 / the most negative eigenvalue
# of ∇u at t = 0): fronts steepen over [0, 1] but stay resolvable at ν = 1e-3.
MODES_U = ((1, 0, 0.225, 0.3), (0, 1, 0.15, 1.1), (1, 1, 0.1125, -0.7), (2, -1, 0.06, 2.0))
MODES_V = ((0, 1, 0.225, -0.4), (1, 0, 0.15, 0.9), (1, -1, 0.1125, 1.6), (1, 2, 0.06, -2.3))


def initial(x, y, length: float, xp=np):
    """(u, v) at t = 0 (numpy or jax.numpy as ``xp``)."""
    w = 2 * math.pi / length

    def field(modes):
        return sum(a * xp.sin(w * (m * x + n * y) + p) for m, n, a, p in modes)

    return field(MODES_U), field(MODES_V)


def setup(nu: float, length: float, n: int, t_end: float, dt: float) -> spectral2d.Solve:
    grid = spectral2d.Grid(n, 0.0, length)
    linear = np.broadcast_to(-nu * grid.k2, (2, *grid.k2.shape)).copy()
    ikx, iky = grid.derivative_factors()

    def nonlinear(w: np.ndarray, t: float) -> np.ndarray:
        u, v = grid.inverse(w)
        dx, dy = grid.inverse(ikx * w), grid.inverse(iky * w)
        return -grid.forward(u * dx + v * dy)

    xx, yy = grid.mesh()
    v0 = grid.forward(np.stack(initial(xx, yy, length)))
    steps = max(1, int(np.ceil(t_end / dt - 1e-9)))
    return spectral2d.Solve(grid, linear, nonlinear, v0, t_end, steps)
