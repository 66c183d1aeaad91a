"""Fully connected network with a forward-mode jet for cheap input derivatives."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from pinnbench.derivatives import Jet, JetMode
from pinnbench.models.ansatz import HardConstraint, hard_option, problem_field
from pinnbench.models.base import (
    ACTIVATIONS,
    InputMap,
    activation_derivatives,
    activation_jet,
)
from pinnbench.models.fourier import fourier_features, fourier_jet, fourier_matrix
from pinnbench.models.layers import dense
from pinnbench.protocols import JET
from pinnbench.registry import models, option, positive


@models.register("mlp")
@dataclasses.dataclass(frozen=True)
class MLP(HardConstraint):
    """Multilayer perceptron: ``depth`` hidden layers of ``width`` units, Glorot-normal weights.

    Inputs are mapped affinely from the problem's domain to [-1, 1] before the first layer; with
    ``fourier`` > 0 that mapped input is first embedded as random Fourier features
    (``pinnbench.models.fourier``). ``hard`` puts the output through the problem's ansatz.
    """

    width: int = positive("hidden units per layer", 64)
    depth: int = positive("number of hidden layers", 4)
    activation: str = option("tanh", "hidden activation", check=lambda v: v in ACTIVATIONS,
                             expect=f"one of {sorted(ACTIVATIONS)}")
    inputs: InputMap = dataclasses.field(default=InputMap(), metadata={"internal": True})
    fourier: int = option(0, "random Fourier features before the first layer: this many "
                          "frequencies (2x as many features); 0: none",
                          check=lambda v: v >= 0, expect=">= 0", id_at_default=False)
    fourier_scale: float = positive("standard deviation of the Fourier frequencies", 1.0,
                                    id_at_default=False)
    hard: bool = hard_option()
    problem: Any = problem_field()

    capabilities = frozenset({JET})

    def bind(self, lower: tuple[float, ...], upper: tuple[float, ...]) -> MLP:
        return dataclasses.replace(self, inputs=InputMap(tuple(lower), tuple(upper)))

    def activations(self) -> tuple[str, ...]:
        """The activation of each hidden layer, first to last."""
        return (self.activation,) * self.depth

    def init(self, key: jax.Array, in_dim: int, out_dim: int,
             dtype: jnp.dtype) -> list[dict] | dict[str, Any]:
        if self.fourier:  # the embedding's own key, so the layers' keys stay those of no embedding
            key, k_b = jax.random.split(key)
            b = fourier_matrix(k_b, in_dim, self.fourier, self.fourier_scale, dtype)
            return {"fourier": b, "layers": self._layers(key, 2 * self.fourier, out_dim, dtype)}
        return self._layers(key, in_dim, out_dim, dtype)

    def _layers(self, key: jax.Array, in_dim: int, out_dim: int, dtype: jnp.dtype) -> list[dict]:
        sizes = [in_dim] + [self.width] * self.depth + [out_dim]
        keys = jax.random.split(key, len(sizes) - 1)
        return [dense(k, a, b, dtype) for k, a, b in zip(keys, sizes[:-1], sizes[1:], strict=True)]

    def apply(self, params: list[dict] | dict[str, Any], x: jax.Array) -> jax.Array:
        h = self.inputs.forward(x)
        if self.fourier:
            h, params = fourier_features(params["fourier"], h), params["layers"]
        for layer, name in zip(params[:-1], self.activations(), strict=True):
            h = ACTIVATIONS[name](h @ layer["w"] + layer["b"])
        return self.constrain(x, h @ params[-1]["w"] + params[-1]["b"])

    def jet(self, params: list[dict] | dict[str, Any], x: jax.Array, mode: JetMode) -> Jet:
        """Propagate value, input gradient and Laplacian (or Hessian diagonal) layer by layer.

        Affine layers act linearly on the derivative terms; an activation s applied to z maps
        grad -> s'(z) grad and second -> s'(z) second + s''(z) grad^2 (summed over inputs in
        "laplacian" mode).

        Derivative terms are laid out direction-major, (d, N, width), and multiplied as one
        (d*N, width) matrix: the weight gradients of the backward pass are then plain matrix
        products. A point-major (N, d, width) layout made XLA transpose every layer's tangents
        in the backward pass and cost 1.5x more per training step (benchmarks/jet_layouts.py).
        """
        n, d = x.shape
        h = self.inputs.forward(x)
        scale = self.inputs.scale(d, x.dtype)
        # dh/dx_i for each input direction i: (d, N, d) with row i = scale_i e_i.
        g = jnp.broadcast_to((jnp.eye(d, dtype=x.dtype) * scale)[:, None, :], (d, n, d))
        sec = jnp.zeros((1 if mode == "laplacian" else d, n, d), x.dtype)

        def linear(t, w):  # (k, N, a) @ (a, b) as one matrix product
            k, m, a = t.shape
            return (t.reshape(k * m, a) @ w).reshape(k, m, w.shape[1])

        if self.fourier:
            h, g, sec = fourier_jet(params["fourier"], h, g, sec, mode, linear)
            params = params["layers"]
        for layer, name in zip(params[:-1], self.activations(), strict=True):
            w, b = layer["w"], layer["b"]
            h, g, sec = activation_jet(activation_derivatives(name), h @ w + b, linear(g, w),
                                       linear(sec, w), mode, axis=0)
        w, b = params[-1]["w"], params[-1]["b"]
        grad = jnp.moveaxis(linear(g, w), 0, 1)  # (N, d, m)
        second = linear(sec, w)
        second = second[0] if mode == "laplacian" else jnp.moveaxis(second, 0, 1)
        return self.constrain_jet(x, Jet(h @ w + b, grad, second), mode)
