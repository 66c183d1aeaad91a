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


def activation_jet(derivatives: Callable, z: jax.Array, grad: jax.Array, second: jax.Array,
                   mode: JetMode, axis: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The activation applied to a jet: (s(z), s'(z) grad, s'(z) second + s''(z) grad^2).

    ``grad`` and ``second`` carry the input directions along ``axis``; in "laplacian" mode
    ``second`` has one entry there and grad^2 is summed over the directions.
    """
    s, s1, s2 = derivatives(z)
    if mode == "laplacian":
        second = s1 * second + s2 * jnp.sum(grad * grad, axis=axis, keepdims=True)
    else:
        second = s1 * second + s2 * grad * grad
    return s, s1 * grad, second


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
