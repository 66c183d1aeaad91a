"""Collocation-point samplers. Importing this package registers them."""

from pinnbench.sampling import uniform  # noqa: F401
