"""Collocation-point samplers. Importing this package registers them."""

from pinnbench.sampling import aas, curriculum, glf, quasi, region, residual, uniform  # noqa: F401
