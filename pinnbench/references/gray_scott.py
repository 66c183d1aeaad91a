"""Gray-Scott reaction-diffusion on the periodic square [-1, 1)²: Fourier pseudo-spectral in
space, ETDRK4 in time (:mod:`pinnbench.references.spectral2d`).

    u_t = ε1·Δu + b·(1 - u) - u·v²,   v_t = ε2·Δv - d·v + u·v².

The linear part is L = (-ε1·k² - b, -ε2·k² - d) (diffusion and the linear decay), the rest,
b - u·v² and u·v², is the nonlinear part; the diffusivities are so small (ε·k_max² ≈ 6.5 at 512
modes) that the step is set by the reaction, not by stiffness.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pinnbench.references import spectral2d

SOLVER_VERSION = "gray_scott-etdrk4-1"
GRID_LOWER, PERIOD = -1.0, 2.0


@dataclasses.dataclass(frozen=True)
class Coefficients:
    b: float = 0.04
    d: float = 0.1
    eps_u: float = 1e-5
    eps_v: float = 5e-6


def initial(x, y, xp=np):
    """PINNacle's data: a hole in u and a bump in v, slightly offset from each other (numpy or
    jax.numpy as ``xp``)."""
    u = 1.0 - xp.exp(-80.0 * ((x + 0.05) ** 2 + (y + 0.02) ** 2))
    v = xp.exp(-80.0 * ((x - 0.05) ** 2 + (y - 0.02) ** 2))
    return u, v


def setup(c: Coefficients, n: int, t_end: float, dt: float) -> spectral2d.Solve:
    grid = spectral2d.Grid(n, GRID_LOWER, PERIOD)
    k2 = grid.k2
    linear = np.stack([-c.eps_u * k2 - c.b, -c.eps_v * k2 - c.d])
    # The constant b enters only the mean: b·N² in numpy's unnormalised FFT.
    source = np.zeros(linear.shape[1:], complex)
    source[0, 0] = c.b * n * n

    def nonlinear(w: np.ndarray, t: float) -> np.ndarray:
        u, v = grid.inverse(w)
        r = grid.forward(u * v * v)
        return np.stack([source - r, r])

    xx, yy = grid.mesh()
    v0 = grid.forward(np.stack(initial(xx, yy)))
    steps = max(1, int(np.ceil(t_end / dt - 1e-9)))
    return spectral2d.Solve(grid, linear, nonlinear, v0, t_end, steps)
