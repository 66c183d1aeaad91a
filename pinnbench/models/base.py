"""Pieces shared by models: activations, initialisers, the input map to [-1, 1]."""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from pinnbench.derivatives import JetMode, elementwise_derivatives

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "tanh": jnp.tanh,
    "sin": jnp.sin,
    "gelu": jax.nn.gelu,
    "silu": jax.nn.silu,
    "softplus": jax.nn.softplus,
}



def _tanh_derivatives(z: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    s = jnp.tanh(z)
    s1 = 1 - s * s
    return s, s1, -2 * s * s1


def _sin_derivatives(z: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    s = jnp.sin(z)
    return s, jnp.cos(z), -s


# Closed forms of (s, s', s'') where they share work; other activations use forward mode.
ACTIVATION_DERIVATIVES: dict[str, Callable[[jax.Array], tuple[jax.Array, jax.Array, jax.Array]]] = {
    "tanh": _tanh_derivatives,
    "sin": _sin_derivatives,
}


def activation_derivatives(name: str) -> Callable[[jax.Array], tuple[jax.Array, jax.Array,
                                                                     jax.Array]]:
    """z -> (s(z), s'(z), s''(z)) for the named activation."""
    return ACTIVATION_DERIVATIVES.get(name) or functools.partial(elementwise_derivatives,
                                                                 ACTIVATIONS[name])


# Up to this many input directions, products and sums over them are written out term by term.
# A per-point factor broadcast over a short leading direction axis turns into a reduction over
# that axis in the backward pass, and XLA's CPU backend runs such reductions as a slow generic
# reduce (about half of a Helmholtz step's op time); per-direction products and adds fuse with
# their neighbours instead. Larger input dimensions keep the broadcast and the reduction.
UNROLLED_DIRECTIONS = 8


def _directions(t: jax.Array, axis: int) -> list[jax.Array] | None:
    """``t`` cut into its directions along ``axis`` when there are few, else None."""
    n = t.shape[axis]
    if n == 1 or n > UNROLLED_DIRECTIONS:
        return None
    return [jax.lax.index_in_dim(t, i, axis, keepdims=True) for i in range(n)]


def sum_of_squares(grad: jax.Array, axis: int) -> jax.Array:
    """sum_i grad_i^2 over the directions along ``axis``, which is kept with size 1."""
    parts = _directions(grad, axis)
    if parts is None:
        return jnp.sum(grad * grad, axis=axis, keepdims=True)
    total = parts[0] * parts[0]
    for part in parts[1:]:
        total = total + part * part
    return total


def per_direction(f: Callable[..., jax.Array], axis: int, *tangents: jax.Array) -> jax.Array:
    """f applied to the tangents direction by direction (they share ``axis``), or all at once."""
    parts = [_directions(t, axis) for t in tangents]
    if any(p is None for p in parts):
        return f(*tangents)
    return jnp.concatenate([f(*ts) for ts in zip(*parts, strict=True)], axis=axis)


def activation_jet(derivatives: Callable, z: jax.Array, grad: jax.Array, second: jax.Array,
                   mode: JetMode, axis: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The activation applied to a jet: (s(z), s'(z) grad, s'(z) second + s''(z) grad^2).

    ``grad`` and ``second`` carry the input directions along ``axis``; in "laplacian" mode
    ``second`` has one entry there and grad^2 is summed over the directions.
    """
    s, s1, s2 = derivatives(z)
    if mode == "laplacian":
        second = s1 * second + s2 * sum_of_squares(grad, axis)
    else:
        second = per_direction(lambda g, q: s1 * q + s2 * g * g, axis, grad, second)
    return s, per_direction(lambda g: s1 * g, axis, grad), second


def glorot_normal(key: jax.Array, shape: tuple[int, int], dtype: jnp.dtype) -> jax.Array:
    fan_in, fan_out = shape
    std = math.sqrt(2.0 / (fan_in + fan_out))
    return std * jax.random.normal(key, shape, dtype)


@dataclasses.dataclass(frozen=True)
class InputMap:
    """Affine map of the box [lower, upper] onto [-1, 1]^d (identity when unbound)."""

    lower: tuple[float, ...] = ()
    upper: tuple[float, ...] = ()

    def scale(self, d: int, dtype: jnp.dtype) -> jax.Array:
        if not self.lower:
            return jnp.ones((d,), dtype)
        return jnp.asarray([2.0 / (u - l) for l, u in zip(self.lower, self.upper, strict=True)],
                           dtype)

    def forward(self, x: jax.Array) -> jax.Array:
        if not self.lower:
            return x
        lo = jnp.asarray(self.lower, x.dtype)
        return (x - lo) * self.scale(x.shape[1], x.dtype) - 1.0
