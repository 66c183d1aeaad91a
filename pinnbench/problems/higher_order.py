"""Derivatives beyond second order along one input axis: Kuramoto-Sivashinsky's u_xxxx and the
third derivative in its periodicity conditions.

``Field`` stops at second derivatives. On a network, ``along`` nests forward-mode jvps of the
model with a unit tangent (one extra pass per order, the whole batch at once); on the
finite-difference stand-in that ``pinnbench verify`` uses it takes central differences of the
reference's values, fourth-order accurate, so the check stays free of autodiff.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from pinnbench.derivatives import Field
from pinnbench.problems.base import field_at


@functools.cache
def central_weights(order: int) -> tuple[tuple[int, float], ...]:
    """(offset, weight) of the central stencil for the ``order``-th derivative on the fewest
    points that make it fourth-order accurate (2·⌊(order + 1)/2⌋ + 3 points), from the moment
    conditions sum_j w_j j^m = m!·[m = order]."""
    half = (order + 1) // 2 + 1
    offsets = np.arange(-half, half + 1)
    powers = np.vander(offsets, increasing=True).T  # row m: j^m
    target = np.zeros(len(offsets))
    target[order] = math.factorial(order)
    w = np.linalg.solve(powers.astype(float), target)
    return tuple((int(j), float(c)) for j, c in zip(offsets, w, strict=True) if abs(c) > 1e-12)


def along(f, axis: int, order: int) -> jax.Array:
    """d^order u / dx_axis^order, shape (N, m)."""
    if isinstance(f, Field):
        fn = functools.partial(f.model.apply, f.params)
        e = jnp.zeros_like(f.x).at[:, axis].set(1.0)
        for _ in range(order):
            fn = functools.partial(lambda x, g: jax.jvp(g, (x,), (e,))[1], g=fn)
        return fn(f.x)
    h = f.h
    total = 0.0
    for j, w in central_weights(order):
        total = total + w * field_at(f, f.x.at[:, axis].add(j * h)).value
    return total / h**order
