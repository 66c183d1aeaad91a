"""Helmholtz equation with a Gaussian point-like source: no closed form, a numerical reference."""

from __future__ import annotations

import dataclasses
import functools

import jax.numpy as jnp
import numpy as np

from pinnbench.derivatives import Field
from pinnbench.problems.base import BoxProblem, Constraint
from pinnbench.protocols import LINEAR
from pinnbench.references import helmholtz as fd
from pinnbench.references.cache import cached
from pinnbench.registry import option, positive, problems


@problems.register("helmholtz_gaussian")
@dataclasses.dataclass(frozen=True)
class HelmholtzGaussian(BoxProblem):
    """Δu + k²u = exp(-|x - (½, ½)|² / (2σ²)) on [0, 1]², u = 0 on the boundary.

    The Gaussian-source Helmholtz problem of multilevel FBPINN studies (Dolean, Heinlein, Mishra &
    Moseley, 2024), which scale k ~ 2^L and σ ~ 2^-L together. k² must stay away from the Dirichlet
    eigenvalues π²(m² + n²), where the problem has no unique solution. Reference: second-order
    finite differences on 2 grids, Richardson-extrapolated to fourth order (``grid`` interior points
    per axis on the coarse grid), cached on disk, cubic interpolation between nodes.
    """

    k: float = positive("wavenumber", 12.0)
    sigma: float = positive("width of the Gaussian source", 0.1)
    grid: int = option(255, "interior points per axis of the coarse reference grid",
                       check=lambda v: 15 <= v <= 1023, expect="15..1023")
    bc_weight: float = positive("weight of the boundary term", 1.0)

    capabilities = frozenset({LINEAR})  # the residuals are affine in u
    lower = (0.0, 0.0)
    # `pinnbench verify`: between grid nodes the reference is a cubic interpolant, whose second
    # derivatives carry the interpolation error: a relative PDE residual of 1.1e-4 (grid = 255).
    reference_tolerance = 3e-4
    upper = (1.0, 1.0)

    def constraints(self) -> tuple[Constraint, ...]:
        def pde(f: Field):
            x, y = f.x[:, 0], f.x[:, 1]
            source = jnp.exp(-((x - 0.5) ** 2 + (y - 0.5) ** 2) / (2 * self.sigma**2))
            return f.laplacian[:, 0] + self.k**2 * f.value[:, 0] - source

        def bc(f: Field):
            return f.value[:, 0]

        return (Constraint("pde", "interior", pde),
                Constraint("bc", "boundary", bc, self.bc_weight))

    @functools.cached_property
    def _grid_values(self) -> np.ndarray:
        params = {"k": self.k, "sigma": self.sigma, "grid": self.grid}
        ref = cached("helmholtz_gaussian", fd.VERSION, params,
                     lambda: {"u": fd.extrapolated(self.grid, self.k,
                                                    fd.gaussian(self.sigma))})
        return ref.arrays["u"]

    def reference(self, x: np.ndarray) -> np.ndarray:
        axis = np.linspace(0.0, 1.0, self.grid + 2)
        from scipy.interpolate import RegularGridInterpolator  # slow to import; rarely used

        interp = RegularGridInterpolator((axis, axis), self._grid_values, method="cubic")
        return interp(np.clip(x, 0.0, 1.0))[:, None]
