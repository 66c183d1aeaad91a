"""Optimizers. Importing this package registers them."""

from pinnbench.optim import adam, adam_lbfgs, lbfgs  # noqa: F401
