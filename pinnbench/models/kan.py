"""KAN: a compact Kolmogorov-Arnold network with a Chebyshev basis on every edge."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp

from pinnbench.models.ansatz import hard_option, problem_field
from pinnbench.models.base import InputMap, glorot_normal
from pinnbench.models.layers import Backbone
from pinnbench.registry import models, option, positive


def chebyshev(t: jax.Array, degree: int) -> jax.Array:
    """T_0(t) .. T_degree(t) by the three-term recurrence, stacked on a new last axis."""
    polys = [jnp.ones_like(t), t]
    for _ in range(2, degree + 1):
        polys.append(2 * t * polys[-1] - polys[-2])
    return jnp.stack(polys[: degree + 1], axis=-1)


@models.register("kan")
@dataclasses.dataclass(frozen=True)
class KAN(Backbone):
    """Kolmogorov-Arnold network with a Chebyshev basis on every edge (after Liu et al. 2024).

    Every edge i -> j carries its own learned function
    phi_ij(h) = w_ij silu(h) + sum_k c_ijk T_k(tanh h), and a unit sums its incoming edges. This
    follows Liu et al. 2024 (KAN, eq. (2.10): a SiLU base function plus a learned basis
    expansion per edge) with Chebyshev polynomials T_0..T_degree of tanh(h) in place of their
    B-splines (the ChebyKAN variant): smooth to every order, so second derivatives for the PDE
    residual need no spline grid, and no grid to update as activations move. ``depth`` hidden
    KAN layers of ``width`` units, then a KAN layer to the outputs; inputs are mapped to
    [-1, 1]; derivatives by forward-mode autodiff (no jet).
    """

    width: int = positive("units per hidden KAN layer", 16)
    depth: int = positive("number of hidden KAN layers", 2)
    degree: int = option(5, "highest Chebyshev degree of each edge function",
                         check=lambda v: v >= 1, expect=">= 1")
    inputs: InputMap = dataclasses.field(default=InputMap(), metadata={"internal": True})
    hard: bool = hard_option()
    problem: Any = problem_field()

    def init(self, key: jax.Array, in_dim: int, out_dim: int, dtype: jnp.dtype) -> list[dict]:
        sizes = [in_dim] + [self.width] * self.depth + [out_dim]
        layers = []
        for k, a, b in zip(jax.random.split(key, len(sizes) - 1), sizes[:-1], sizes[1:],
                           strict=True):
            k_c, k_w = jax.random.split(k)
            # Variance 1/(a (degree + 1)): a unit's sum over its a (degree + 1) basis terms of
            # order one starts at order one.
            std = 1.0 / math.sqrt(a * (self.degree + 1))
            layers.append({"c": std * jax.random.normal(k_c, (a, self.degree + 1, b), dtype),
                           "w": glorot_normal(k_w, (a, b), dtype)})
        return layers

    def apply(self, params: list[dict], x: jax.Array) -> jax.Array:
        h = self.inputs.forward(x)
        for layer in params:
            basis = chebyshev(jnp.tanh(h), self.degree)  # (N, a, degree + 1)
            h = jnp.einsum("nak,akb->nb", basis, layer["c"]) + jax.nn.silu(h) @ layer["w"]
        return self.constrain(x, h)
