"""Recording and reading results."""
