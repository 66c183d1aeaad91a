"""Optimizers. Importing this package registers them."""

from pinnbench.optim import adam, adam_lbfgs, lbfgs, lm, trust_region  # noqa: F401
