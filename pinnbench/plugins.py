"""Importing this module registers every built-in problem, model, optimizer, sampler and loss."""

import pinnbench.losses  # noqa: F401
import pinnbench.models  # noqa: F401
import pinnbench.optim  # noqa: F401
import pinnbench.problems  # noqa: F401
import pinnbench.sampling  # noqa: F401
