"""Loss strategies: how residuals become the training loss. Importing this package registers
them (plain, gpinn, causal, ntk)."""

from pinnbench.losses import causal, gpinn, ntk, plain  # noqa: F401
