"""Loss strategies: how residuals become the training loss. Importing this package registers
them (plain, gpinn, causal, ntk)."""

from pinnbench.losses import causal, gpinn, interface, ntk, plain  # noqa: F401
