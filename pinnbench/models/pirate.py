"""PirateNet: physics-informed residual adaptive network (Wang, Li, Chen and Perdikaris 2024),
the default architecture of jaxpi."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from pinnbench.models.ansatz import hard_option, problem_field
from pinnbench.models.base import ACTIVATIONS, InputMap
from pinnbench.models.fourier import fourier_features, fourier_matrix
from pinnbench.models.layers import Backbone, affine, dense
from pinnbench.registry import models, option, positive


@models.register("pirate")
@dataclasses.dataclass(frozen=True)
class PirateNet(Backbone):
    """PirateNet: residual adaptive blocks on random Fourier features (Wang et al. 2024).

    Each block is gated by two encodings of the input and skipped at initialisation (PirateNets,
    section 4, eqs. (4.1)-(4.7)). Phi = [cos(B z), sin(B z)] (``fourier`` frequencies of scale
    ``fourier_scale``, fixed) is the stream x^(1); U = s(W_u Phi + b_u), V = s(W_v Phi + b_v). Block
    l: f = s(W1 x + b1), z1 = f U + (1 - f) V, g = s(W2 z1 + b2), z2 = g U + (1 - g) V, h = s(W3 z2
    + b3), x^(l+1) = alpha_l h + (1 - alpha_l) x^(l) with a trainable alpha_l starting at ``alpha``
    (0: every block is the identity at first, so the network starts as a linear model of the Fourier
    features and grows deep as the alphas move). Output: a linear layer of the stream. Not done: the
    paper's physics-informed initialisation of the last layer (a least-squares fit to initial data)
    and jaxpi's random weight factorisation; the last layer is Glorot-normal. Derivatives by
    forward-mode autodiff (no jet).
    """

    width: int = positive("hidden units of each block and of the gates U, V", 64)
    blocks: int = positive("residual adaptive blocks (three dense layers each)", 3)
    fourier: int = positive("Fourier frequencies; the stream has twice as many features", 32)
    fourier_scale: float = positive("standard deviation of the Fourier frequencies", 1.0)
    alpha: float = option(0.0, "initial value of every block's skip weight alpha")
    activation: str = option("tanh", "activation", check=lambda v: v in ACTIVATIONS,
                             expect=f"one of {sorted(ACTIVATIONS)}")
    inputs: InputMap = dataclasses.field(default=InputMap(), metadata={"internal": True})
    hard: bool = hard_option()
    problem: Any = problem_field()

    def init(self, key: jax.Array, in_dim: int, out_dim: int, dtype: jnp.dtype) -> dict:
        k_b, k_u, k_v, k_blocks, k_out = jax.random.split(key, 5)
        stream = 2 * self.fourier
        blocks = []
        for k in jax.random.split(k_blocks, self.blocks):
            k1, k2, k3 = jax.random.split(k, 3)
            blocks.append({"d1": dense(k1, stream, self.width, dtype),
                           "d2": dense(k2, self.width, self.width, dtype),
                           "d3": dense(k3, self.width, stream, dtype),
                           "alpha": jnp.full((), self.alpha, dtype)})
        return {"fourier": fourier_matrix(k_b, in_dim, self.fourier, self.fourier_scale, dtype),
                "u": dense(k_u, stream, self.width, dtype),
                "v": dense(k_v, stream, self.width, dtype),
                "blocks": blocks, "out": dense(k_out, stream, out_dim, dtype)}

    def apply(self, params: dict, x: jax.Array) -> jax.Array:
        act = ACTIVATIONS[self.activation]
        h = fourier_features(params["fourier"], self.inputs.forward(x))
        u, v = act(affine(params["u"], h)), act(affine(params["v"], h))
        for block in params["blocks"]:
            f = act(affine(block["d1"], h))
            g = act(affine(block["d2"], f * u + (1 - f) * v))
            z = act(affine(block["d3"], g * u + (1 - g) * v))
            h = block["alpha"] * z + (1 - block["alpha"]) * h
        return self.constrain(x, affine(params["out"], h))
