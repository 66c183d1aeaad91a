"""Random Fourier features of the (mapped) input: the embedding jaxpi puts in front of its networks.

gamma(z) = [cos(B z), sin(B z)] with B a (d, m) matrix of N(0, sigma^2) entries drawn at ``init``
(Tancik et al. 2020; Wang, Wang and Perdikaris 2021, "On the eigenvector bias of Fourier feature
networks", eq. (3.2)). B is stored in the parameters, so a run's saved parameters reproduce it,
but it is read through ``stop_gradient``: the frequencies stay where they were drawn, as in those
papers (jaxpi's ``FourierEmbs`` lets the optimizer move them; that is not done here).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from pinnbench.derivatives import JetMode
from pinnbench.models.base import activation_derivatives, activation_jet


def fourier_matrix(key: jax.Array, in_dim: int, frequencies: int, scale: float,
                   dtype: jnp.dtype) -> jax.Array:
    """B: (in_dim, frequencies), entries N(0, scale^2)."""
    return scale * jax.random.normal(key, (in_dim, frequencies), dtype)


def fourier_features(b: jax.Array, z: jax.Array) -> jax.Array:
    """[cos(z B), sin(z B)]: (N, 2 * frequencies)."""
    y = z @ jax.lax.stop_gradient(b)
    return jnp.concatenate([jnp.cos(y), jnp.sin(y)], axis=-1)


def _cos_derivatives(z: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    c = jnp.cos(z)
    return c, -jnp.sin(z), -c


def fourier_jet(b: jax.Array, z: jax.Array, grad: jax.Array, second: jax.Array, mode: JetMode,
                linear) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The embedding applied to a direction-major jet (z (N, d); grad, second (k, N, d)).

    ``linear(t, w)`` multiplies a (k, N, a) tangent by an (a, b) matrix. The map is affine then
    elementwise, so it is one more "layer" of the MLP jet with cos and sin as activations.
    """
    b = jax.lax.stop_gradient(b)
    y, gy, sy = z @ b, linear(grad, b), linear(second, b)
    c = activation_jet(_cos_derivatives, y, gy, sy, mode, axis=0)
    s = activation_jet(activation_derivatives("sin"), y, gy, sy, mode, axis=0)
    return tuple(jnp.concatenate([p, q], axis=-1) for p, q in zip(c, s, strict=True))
