"""A plugin model (docs/extending.md): an MLP on random Fourier features of the input.

u(x) = MLP([cos(2 pi B z), sin(2 pi B z)]) with z the input mapped to [-1, 1]^d and B a fixed
Gaussian matrix of scale ``sigma`` (Tancik et al. 2020; Wang, Wang and Perdikaris 2021). B is
drawn at ``init`` from the seed and kept in the parameters, but the optimizer must not move it:
``apply`` stops its gradient. The model declares no capability: input derivatives come from the
engine's generic forward-mode path (nested jvp over the batch).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp

from pinnbench.models.base import InputMap
from pinnbench.models.mlp import MLP
from pinnbench.registry import models, positive


@models.register("fourier_mlp")
@dataclasses.dataclass(frozen=True)
class FourierMLP:
    """``features`` random Fourier features of scale ``sigma``, then a tanh MLP."""

    features: int = positive("number of Fourier frequencies (2x as many features)", 32)
    sigma: float = positive("standard deviation of the frequencies", 1.0)
    width: int = positive("hidden units per layer", 64)
    depth: int = positive("hidden layers", 3)
    inputs: InputMap = dataclasses.field(default=InputMap(), metadata={"internal": True})

    def bind(self, lower: tuple[float, ...], upper: tuple[float, ...]) -> FourierMLP:
        return dataclasses.replace(self, inputs=InputMap(tuple(lower), tuple(upper)))

    def init(self, key: jax.Array, in_dim: int, out_dim: int, dtype: Any) -> dict[str, Any]:
        k_b, k_net = jax.random.split(key)
        b = self.sigma * jax.random.normal(k_b, (in_dim, self.features), dtype)
        net = MLP(self.width, self.depth).init(k_net, 2 * self.features, out_dim, dtype)
        return {"B": b, "net": net}

    def apply(self, params: dict[str, Any], x: jax.Array) -> jax.Array:
        z = self.inputs.forward(x) @ jax.lax.stop_gradient(params["B"])
        features = jnp.concatenate([jnp.cos(2 * math.pi * z), jnp.sin(2 * math.pi * z)], axis=1)
        return MLP(self.width, self.depth).apply(params["net"], features)
