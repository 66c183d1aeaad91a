"""Fully connected network with a forward-mode jet for cheap input derivatives."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from pinnbench.derivatives import Jet, JetMode, elementwise_derivatives
from pinnbench.models.base import ACTIVATIONS, InputMap, glorot_normal
from pinnbench.registry import models, option, positive


@models.register("mlp")
@dataclasses.dataclass(frozen=True)
class MLP:
    """Multilayer perceptron: ``depth`` hidden layers of ``width`` units, Glorot-normal weights.

    Inputs are mapped affinely from the problem's domain to [-1, 1] before the first layer.
    """

    width: int = positive("hidden units per layer", 64)
    depth: int = positive("number of hidden layers", 4)
    activation: str = option("tanh", "hidden activation", check=lambda v: v in ACTIVATIONS,
                             expect=f"one of {sorted(ACTIVATIONS)}")
    inputs: InputMap = dataclasses.field(default=InputMap(), metadata={"internal": True})

    def bind(self, lower: tuple[float, ...], upper: tuple[float, ...]) -> MLP:
        return dataclasses.replace(self, inputs=InputMap(tuple(lower), tuple(upper)))

    def init(self, key: jax.Array, in_dim: int, out_dim: int, dtype: jnp.dtype) -> list[dict]:
        sizes = [in_dim] + [self.width] * self.depth + [out_dim]
        keys = jax.random.split(key, len(sizes) - 1)
        return [
            {"w": glorot_normal(k, (a, b), dtype), "b": jnp.zeros((b,), dtype)}
            for k, a, b in zip(keys, sizes[:-1], sizes[1:], strict=True)
        ]

    def apply(self, params: list[dict], x: jax.Array) -> jax.Array:
        act = ACTIVATIONS[self.activation]
        h = self.inputs.forward(x)
        for layer in params[:-1]:
            h = act(h @ layer["w"] + layer["b"])
        return h @ params[-1]["w"] + params[-1]["b"]

    def jet(self, params: list[dict], x: jax.Array, mode: JetMode) -> Jet:
        """Propagate value, input gradient and Laplacian (or Hessian diagonal) layer by layer.

        Affine layers act linearly on the derivative terms; an activation s applied to z maps
        grad -> s'(z) grad and second -> s'(z) second + s''(z) grad^2 (summed over inputs in
        "laplacian" mode).
        """
        act = ACTIVATIONS[self.activation]
        n, d = x.shape
        h = self.inputs.forward(x)
        scale = self.inputs.scale(d, x.dtype)
        g = jnp.broadcast_to(jnp.diag(scale), (n, d, d))  # dh/dx, (N, d, width)
        sec = jnp.zeros((n, d) if mode == "laplacian" else (n, d, d), x.dtype)
        for layer in params[:-1]:
            w, b = layer["w"], layer["b"]
            z, g, sec = h @ w + b, g @ w, sec @ w
            s, s1, s2 = elementwise_derivatives(act, z)
            if mode == "laplacian":
                sec = s1 * sec + s2 * jnp.sum(g * g, axis=1)
            else:
                sec = s1[:, None, :] * sec + s2[:, None, :] * g * g
            h, g = s, s1[:, None, :] * g
        w, b = params[-1]["w"], params[-1]["b"]
        return Jet(h @ w + b, g @ w, sec @ w)
