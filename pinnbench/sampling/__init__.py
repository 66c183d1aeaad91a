"""Collocation-point samplers. Importing this package registers them."""

from pinnbench.sampling import (  # noqa: F401
    aas,
    curriculum,
    glf,
    quasi,
    region,
    residual,
    rsmote,
    uniform,
)
