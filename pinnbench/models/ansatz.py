"""Hard-constraint ansatz: u(x) = g(x) + D(x) * N(x), an output transform that satisfies the
problem's Dirichlet and initial data exactly whatever the network N is.

g and D come from the problem (capability ``ansatz``): g carries the data, D vanishes on the part
of the boundary where it is imposed (Lagaris, Likas and Fotiadis 1998, eq. (12); Lu et al. 2021,
"Physics-informed neural networks with hard constraints for inverse design", section 2.3). A
model with the option ``hard = true`` declares the capability ``reads_problem``, so the engine
hands it its problem (``pinnbench.protocols.bound``) and it keeps the problem as internal data.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from pinnbench.derivatives import Field, Jet, JetMode
from pinnbench.protocols import ANSATZ, READS_PROBLEM, has
from pinnbench.registry import component_name, option


def hard_option() -> Any:
    """The ``hard`` option every model with the ansatz declares (off: the model as it was)."""
    return option(False, "hard-constraint ansatz u = g + D*N from the problem's Dirichlet and "
                  "initial data (needs a problem with capability 'ansatz')", id_at_default=False)


def problem_field() -> Any:
    """The internal field that holds the bound problem."""
    return dataclasses.field(default=None, metadata={"internal": True})


class _Closed:
    """g and D side by side, seen as a model without jet: Field differentiates it by jvp."""

    capabilities = frozenset()

    def __init__(self, problem: Any) -> None:
        self.problem = problem

    def apply(self, params: Any, x: jax.Array) -> jax.Array:
        g, d = self.problem.ansatz(x)
        return jnp.concatenate([g, d], axis=1)


class HardConstraint:
    """Methods of the ansatz for a model dataclass with fields ``hard`` and ``problem``.

    The model computes its network output N and calls ``constrain`` (and ``constrain_jet`` in a
    jet); with ``hard`` off both return N unchanged, so results are those of the plain model.
    """

    hard: bool
    problem: Any
    capabilities = frozenset({READS_PROBLEM})

    def bind_problem(self, problem: Any) -> Any:
        if not self.hard:
            return self
        if not has(problem, ANSATZ):
            raise ValueError(self._refusal(problem))
        return dataclasses.replace(self, problem=problem)

    def incompatibility(self, parts: dict[str, Any]) -> str | None:
        problem = parts.get("problem")
        if self.hard and problem is not None and not has(problem, ANSATZ):
            return self._refusal(problem)
        return None

    def _refusal(self, problem: Any) -> str:
        return (f"model {component_name(self)}: hard = true needs a problem with capability "
                f"'ansatz' (its Dirichlet/initial data as u = g + D*N); "
                f"{component_name(problem)} has none")

    def _active(self) -> bool:
        if self.hard and self.problem is None:
            raise ValueError(f"model {component_name(self)}: hard = true, but no problem was "
                             "bound (build it with pinnbench.protocols.bound)")
        return self.hard

    def constrain(self, x: jax.Array, out: jax.Array) -> jax.Array:
        if not self._active():
            return out
        g, d = self.problem.ansatz(x)
        return g + d * out

    def constrain_jet(self, x: jax.Array, jet: Jet, mode: JetMode) -> Jet:
        """The product rule on u = g + D N, with g and D differentiated by forward mode."""
        if not self._active():
            return jet
        m = jet.value.shape[1]
        f = Field(_Closed(self.problem), None, x)
        g, d = f.value[:, :m], f.value[:, m:]
        grad_g, grad_d = f.grad[..., :m], f.grad[..., m:]
        n, grad_n = jet.value, jet.grad
        value = g + d * n
        grad = grad_g + grad_d * n[:, None, :] + d[:, None, :] * grad_n
        if mode == "laplacian":
            lap = f.laplacian
            second = (lap[:, :m] + lap[:, m:] * n + 2 * jnp.sum(grad_d * grad_n, axis=1)
                      + d * jet.second)
        else:
            diag = jnp.stack([f.d2(i) for i in range(x.shape[1])], axis=1)
            second = (diag[..., :m] + diag[..., m:] * n[:, None, :] + 2 * grad_d * grad_n
                      + d[:, None, :] * jet.second)
        return Jet(value, grad, second)
