"""Models u_theta(x). Importing this package registers them."""

from pinnbench.models import mlp  # noqa: F401
