"""PDE problems. Importing this package registers them."""

from pinnbench.problems import helmholtz  # noqa: F401
from pinnbench.problems.base import BoxProblem, Constraint

__all__ = ["BoxProblem", "Constraint"]
