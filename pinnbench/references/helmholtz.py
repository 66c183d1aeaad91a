"""Finite-difference reference for the Helmholtz equation with a Gaussian source on the unit square.

Δu + k²u = f on (0, 1)², u = 0 on the boundary, 5-point stencil on an n x n interior grid
(h = 1/(n+1)), sparse direct solve. Second order in h; two grids combined by Richardson
extrapolation give a fourth-order reference on the coarse grid, which is what is cached.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

Source = Callable[[np.ndarray, np.ndarray], np.ndarray]

VERSION = "1"


def gaussian_source(x: np.ndarray, y: np.ndarray, sigma: float) -> np.ndarray:
    return np.exp(-((x - 0.5) ** 2 + (y - 0.5) ** 2) / (2 * sigma**2))


def solve(n: int, k: float, source: Source) -> np.ndarray:
    """u on the (n+2) x (n+2) grid including the zero boundary, indexed [i_x, i_y]."""
    h = 1.0 / (n + 1)
    second = sp.diags([1.0, -2.0, 1.0], [-1, 0, 1], shape=(n, n)) / h**2
    eye = sp.identity(n)
    operator = (sp.kron(second, eye) + sp.kron(eye, second) + k**2 * sp.identity(n * n)).tocsc()
    t = np.linspace(h, 1 - h, n)
    gx, gy = np.meshgrid(t, t, indexing="ij")
    u = spla.spsolve(operator, source(gx, gy).ravel())
    full = np.zeros((n + 2, n + 2))
    full[1:-1, 1:-1] = u.reshape(n, n)
    return full


def extrapolated(n: int, k: float, source: Source) -> np.ndarray:
    """(4 u_{h/2} - u_h) / 3 at the nodes of the grid with n interior points per axis."""
    coarse = solve(n, k, source)
    fine = solve(2 * n + 1, k, source)  # h/2: every other fine node is a coarse node
    return (4 * fine[::2, ::2] - coarse) / 3


def gaussian(sigma: float) -> Source:
    return lambda x, y: gaussian_source(x, y, sigma)
