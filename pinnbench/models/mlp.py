"""Fully connected network with a forward-mode jet for cheap input derivatives."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from pinnbench.derivatives import Jet, JetMode
from pinnbench.models.base import (
    ACTIVATIONS,
    InputMap,
    activation_derivatives,
    activation_jet,
    glorot_normal,
)
from pinnbench.protocols import JET
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

    capabilities = frozenset({JET})

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

        Derivative terms are laid out direction-major, (d, N, width), and multiplied as one
        (d*N, width) matrix: the weight gradients of the backward pass are then plain matrix
        products. A point-major (N, d, width) layout made XLA transpose every layer's tangents
        in the backward pass and cost 1.5x more per training step (benchmarks/jet_layouts.py).
        """
        derivatives = activation_derivatives(self.activation)
        n, d = x.shape
        h = self.inputs.forward(x)
        scale = self.inputs.scale(d, x.dtype)
        # dh/dx_i for each input direction i: (d, N, d) with row i = scale_i e_i.
        g = jnp.broadcast_to((jnp.eye(d, dtype=x.dtype) * scale)[:, None, :], (d, n, d))
        sec = jnp.zeros((1 if mode == "laplacian" else d, n, d), x.dtype)

        def linear(t, w):  # (k, N, a) @ (a, b) as one matrix product
            k, m, a = t.shape
            return (t.reshape(k * m, a) @ w).reshape(k, m, w.shape[1])

        for layer in params[:-1]:
            w, b = layer["w"], layer["b"]
            h, g, sec = activation_jet(derivatives, h @ w + b, linear(g, w), linear(sec, w),
                                       mode, axis=0)
        w, b = params[-1]["w"], params[-1]["b"]
        grad = jnp.moveaxis(linear(g, w), 0, 1)  # (N, d, m)
        second = linear(sec, w)
        second = second[0] if mode == "laplacian" else jnp.moveaxis(second, 0, 1)
        return Jet(h @ w + b, grad, second)
