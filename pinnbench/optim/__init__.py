"""Optimizers. Importing this package registers them."""

from pinnbench.optim import (  # noqa: F401
    adam,
    adam_lbfgs,
    lbfgs,
    least_squares,
    lm,
    sparse_lm,
    trust_region,
)
