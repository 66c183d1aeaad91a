"""Forward-mode derivatives of a model over a whole batch of points.

A :class:`Field` is u_theta evaluated at a batch ``x`` of shape (N, d); problems ask it for the
derivatives their residual needs. Derivatives are built at trace time, on demand, and cached, so a
residual that asks for ``laplacian`` twice traces it once.

Models that implement ``jet`` propagate (value, gradient, second-order term) through the network in
one forward pass (forward-Laplacian style): for d inputs that costs about d + 2 matrix products
per layer, against roughly 4d for nested ``jvp`` calls. Other models fall back to nested
``jax.jvp`` over the batch. Per-point ``vmap(hessian)`` is never used: it is several times slower
(docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp

from pinnbench.protocols import JET, has

Array = jax.Array
JetMode = Literal["laplacian", "diag"]


class Jet(NamedTuple):
    """u and its input derivatives at a batch of points.

    value (N, m); grad (N, d, m); second: the Laplacian (N, m) in "laplacian" mode or the diagonal
    of the Hessian (N, d, m) in "diag" mode.
    """

    value: Array
    grad: Array
    second: Array


def elementwise_derivatives(fn: Callable[[Array], Array], z: Array) -> tuple[Array, Array, Array]:
    """fn(z), fn'(z), fn''(z) for an elementwise function, by forward mode."""
    ones = jnp.ones_like(z)

    def first(z):
        return jax.jvp(fn, (z,), (ones,))

    (s, s1), (_, s2) = jax.jvp(first, (z,), (ones,))
    return s, s1, s2


def _unit(x: Array, i: int) -> Array:
    return jnp.zeros_like(x).at[:, i].set(1.0)


class Field:
    """A model evaluated at a batch of points, with derivatives on demand."""

    def __init__(self, model: Any, params: Any, x: Array) -> None:
        self.model = model
        self.params = params
        self.x = x
        self._fn = functools.partial(model.apply, params)
        self._has_jet = has(model, JET)

    @property
    def dim(self) -> int:
        return self.x.shape[1]

    @functools.cached_property
    def _diag_jet(self) -> Jet:
        return self.model.jet(self.params, self.x, "diag")

    @functools.cached_property
    def _lap_jet(self) -> Jet:
        return self.model.jet(self.params, self.x, "laplacian")

    @functools.cached_property
    def value(self) -> Array:
        """u, shape (N, m)."""
        for jet in ("_lap_jet", "_diag_jet"):  # a jet already traced carries the value
            if jet in self.__dict__:
                return self.__dict__[jet].value
        return self._fn(self.x)

    @functools.cache  # noqa: B019 - a Field lives for one trace
    def d(self, i: int) -> Array:
        """du/dx_i, shape (N, m)."""
        if self._has_jet:
            return self.grad[:, i, :]
        return jax.jvp(self._fn, (self.x,), (_unit(self.x, i),))[1]

    @functools.cache  # noqa: B019
    def d2(self, i: int, j: int | None = None) -> Array:
        """d^2u/dx_i dx_j (j defaults to i), shape (N, m)."""
        j = i if j is None else j
        if i == j and self._has_jet:
            return self._diag_jet.second[:, i, :]

        def first(x):
            return jax.jvp(self._fn, (x,), (_unit(x, i),))[1]

        return jax.jvp(first, (self.x,), (_unit(self.x, j),))[1]

    @functools.cached_property
    def grad(self) -> Array:
        """Gradient with respect to the inputs, shape (N, d, m)."""
        if self._has_jet:
            return self._lap_jet.grad
        return jnp.stack([self.d(i) for i in range(self.dim)], axis=1)

    @functools.cached_property
    def laplacian(self) -> Array:
        """Sum of the unmixed second derivatives over all inputs, shape (N, m)."""
        if self._has_jet:
            return self._lap_jet.second
        return sum(self.d2(i) for i in range(self.dim))

    def laplacian_over(self, axes: tuple[int, ...]) -> Array:
        """Laplacian over a subset of the inputs (e.g. space only in a space-time problem)."""
        return sum(self.d2(i) for i in axes)
