"""The training engine: one run from a resolved spec."""
