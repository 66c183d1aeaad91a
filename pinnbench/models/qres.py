"""QRes: quadratic residual layers (Bu and Karpatne 2021), one of RoPINN's base models."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from pinnbench.models.ansatz import hard_option, problem_field
from pinnbench.models.base import ACTIVATIONS, InputMap, glorot_normal
from pinnbench.models.layers import Backbone, affine, dense
from pinnbench.registry import models, option, positive


@models.register("qres")
@dataclasses.dataclass(frozen=True)
class QRes(Backbone):
    """Quadratic residual network (QRes, Bu and Karpatne 2021): h' = s(W1 h ⊙ W2 h + W1 h + b).

    Hidden layers as in that paper's eq. (2). The Hadamard product of two linear maps of a layer's
    input adds a quadratic term to the usual affine one, so a layer can represent products of its
    inputs. Glorot-normal W1 and W2, zero b; a linear output layer. Inputs are mapped to [-1, 1];
    derivatives by forward-mode autodiff (no jet).
    """

    width: int = positive("hidden units per layer", 64)
    depth: int = positive("number of quadratic residual layers", 4)
    activation: str = option("tanh", "hidden activation", check=lambda v: v in ACTIVATIONS,
                             expect=f"one of {sorted(ACTIVATIONS)}")
    inputs: InputMap = dataclasses.field(default=InputMap(), metadata={"internal": True})
    hard: bool = hard_option()
    problem: Any = problem_field()

    def init(self, key: jax.Array, in_dim: int, out_dim: int, dtype: jnp.dtype) -> dict:
        k_layers, k_out = jax.random.split(key)
        layers = []
        fan_in = in_dim
        for k in jax.random.split(k_layers, self.depth):
            k1, k2 = jax.random.split(k)
            layers.append({**dense(k1, fan_in, self.width, dtype),
                           "w2": glorot_normal(k2, (fan_in, self.width), dtype)})
            fan_in = self.width
        return {"layers": layers, "out": dense(k_out, self.width, out_dim, dtype)}

    def apply(self, params: dict, x: jax.Array) -> jax.Array:
        act = ACTIVATIONS[self.activation]
        h = self.inputs.forward(x)
        for layer in params["layers"]:
            linear = h @ layer["w"]
            h = act(linear * (h @ layer["w2"]) + linear + layer["b"])
        return self.constrain(x, affine(params["out"], h))
