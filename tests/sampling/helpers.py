"""A stand-in for the network probe: a known residual field, and a record of where it was asked."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp


class FieldProbe:
    """Answers ``magnitude`` with a fixed function of the points instead of a network's residual,
    so a sampler's output can be compared with the density that field implies."""

    def __init__(self, field: Callable[[jax.Array], jax.Array]) -> None:
        self.field = field
        self.asked: list[jax.Array] = []

    def magnitude(self, region: str, x: jax.Array) -> jax.Array:
        self.asked.append(x)
        return self.field(x)


def linear_in_x0(x: jax.Array) -> jax.Array:
    """(x0 + 1) / 2 on [-1, 1]^d: uniform on [0, 1] under uniform points."""
    return (x[:, 0] + 1.0) / 2.0


def key(seed: int = 0) -> jax.Array:
    return jax.random.PRNGKey(seed)


def inside(x: jax.Array, problem) -> bool:
    lo, hi = jnp.asarray(problem.lower), jnp.asarray(problem.upper)
    return bool(jnp.all((x >= lo) & (x <= hi)))
