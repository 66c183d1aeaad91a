"""Global-local fusion sampling (GLF; Luo, Xu & Yang, 2025).

Every ``every`` steps each interior training point x_i (an anchor) spawns M candidates
x_i + h_i·ξ, ξ ~ N(0, I), with h_i = α / (r(x_i) + ε): tight clusters where the residual is high
(local refinement), wide exploration where it is low (global coverage). Candidates inherit their
anchor's residual instead of being evaluated, so one adaptation costs one residual evaluation on
the N training points, against the large candidate pool RAD scores; that is the method's memory
and time advantage in high dimension. Candidates that leave the box are reflected back into it.
The next training set is a draw of N candidates (without replacement) weighted by
r^k / mean(r^k) + c, RAD's density on the inherited residuals.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from pinnbench.registry import non_negative, positive, samplers
from pinnbench.sampling.base import (
    Adaptive,
    Density,
    Probe,
    box_of,
    draw_by_weights,
    reflect,
    residual_weights,
)

LOW_DIMENSION = 3  # inputs, time included; the paper's α is 1e-4 up to here and 1e-3 above


def spawn(key: jax.Array, anchors: jax.Array, r: jax.Array, m: int, alpha: float, eps: float,
          lo: jax.Array, hi: jax.Array) -> jax.Array:
    """M candidates per anchor, (N, M, d), at anchor + α/(r + ε)·ξ reflected into [lo, hi]."""
    h = alpha / (r + eps)
    xi = jax.random.normal(key, (anchors.shape[0], m, anchors.shape[1]), anchors.dtype)
    return reflect(anchors[:, None, :] + h[:, None, None] * xi, lo, hi)


@samplers.register("glf")
@dataclasses.dataclass(frozen=True)
class GLF(Density, Adaptive):
    """Global-local fusion: Gaussian candidates around every training point with a scale
    inversely proportional to its residual, weighted by inherited residuals and resampled."""

    m: int = positive("candidates per anchor M", 3)
    alpha: float = non_negative("scale α of the perturbation α / (r + ε); 0: 1e-4 for up to "
                                f"{LOW_DIMENSION} inputs, 1e-3 above", 0.0)
    eps: float = positive("ε in α / (r + ε): bounds the scale where the residual vanishes", 1e-6)

    def scale(self, dim: int) -> float:
        if self.alpha > 0:
            return self.alpha
        return 1e-4 if dim <= LOW_DIMENSION else 1e-3

    def candidate_residuals(self, probe: Probe, cand: jax.Array, r: jax.Array) -> jax.Array:
        """|r| of the N·M candidates (flattened, anchor-major): inherited from the anchors."""
        return jnp.repeat(r, self.m)

    def adapt(self, state: dict[str, Any], problem: Any, probe: Probe) -> dict[str, Any]:
        key, k_spawn, k_draw = jax.random.split(state["key"], 3)
        x = state["points"]["interior"]
        lo, hi = box_of(problem, x.dtype)
        r = probe.magnitude("interior", x)
        cand = spawn(k_spawn, x, r, self.m, self.scale(x.shape[1]), self.eps, lo, hi)
        cand = cand.reshape(-1, x.shape[1])
        p = residual_weights(self.candidate_residuals(probe, cand, r), self.k, self.c)
        chosen = cand[draw_by_weights(k_draw, p, x.shape[0])]
        return {**state, "points": {**state["points"], "interior": chosen}, "key": key}


@samplers.register("glf_d")
@dataclasses.dataclass(frozen=True)
class GLFD(GLF):
    """GLF-D, the paper's exact-residual ablation: the same candidates, each weighted by its
    own residual (N·M more residual evaluations per adaptation, the memory the surrogate
    saves)."""

    def candidate_residuals(self, probe: Probe, cand: jax.Array, r: jax.Array) -> jax.Array:
        return probe.magnitude("interior", cand)
