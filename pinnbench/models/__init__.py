"""Models u_theta(x). Importing this package registers them."""

from pinnbench.models import balls, elm_fbpinn, fbpinn, mlp  # noqa: F401
