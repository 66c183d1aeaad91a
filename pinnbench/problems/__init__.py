"""PDE problems. Importing this package registers them."""

from pinnbench.problems import (  # noqa: F401
    allen_cahn,
    burgers,
    burgers2d,
    classic,
    gray_scott,
    heat_long,
    helmholtz,
    helmholtz_gaussian,
    inverse,
    kuramoto_sivashinsky,
    laplace,
    navier_stokes,
    ns_backstep,
    ns_long,
    pinnacle,
    pinnacle_coef,
    poisson3d_complex,
    reaction_diffusion,
    wave2d_long,
    wave_hetero,
)
from pinnbench.problems.base import BoxProblem, ClosedFormProblem, Constraint

__all__ = ["BoxProblem", "ClosedFormProblem", "Constraint"]
