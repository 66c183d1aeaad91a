"""RoPINN region optimization (Wu et al., 2024) as a sampler.

Every step the interior points are the fixed collocation points x_i shifted by ξ_i ~ U[0, ρ)^d,
a one-sample Monte Carlo estimate of the loss averaged over the region x_i + [0, ρ)^d (the
paper's Algorithm 1, step ①). Shifted points that leave the box are folded back into it by
mirror reflection, the fold GLF uses (``pinnbench.sampling.base.reflect``): the region is then
x_i + [0, ρ)^d reflected at the walls, and no collocation point lies outside the domain, where
the PDE does not hold. ``reflect = false`` gives the reference code's unfolded shift.

The region size follows the paper's trust-region calibration (Algorithm 1, step ②; Theorem 3.9,
eq. (11), and Theorem 3.11, eq. (14)):

    ρ_t = clip(r / σ_t, 0, max_region),   σ_t = ||σ(g)||_2,

σ(g) the per-parameter standard deviation over the last T0 gradients g and ||·||_2 its Euclidean
norm over the parameters (``sigma_norm = "paper"``, the default). ``sigma_norm = "relative"`` is
the normalisation of the reference code instead, the mean over parameters of
std(g) / (mean |g| + 1e-6): scale-free, but not the quantity eq. (11) bounds. Either way σ = 1
until two gradients differ. A noisier gradient history (the region's estimate is less
trustworthy) shrinks the region; a stable one lets it grow. ``state["sigma"]`` holds σ_t and
``state["size"]`` the region size ρ it gives.

The gradients are those of the loss at the perturbed points with the step's parameters, the same
gradient a first-order optimizer then takes. The sampler computes it itself through the probe,
which costs one extra loss gradient per step but works unchanged for every optimizer
(Adam, L-BFGS with its line search, least-squares methods that never form that gradient).
The sampler state must have its shape before the network exists, so the window holds a fixed
number of gradient entries (``tracked``): every parameter for networks up to that size, else a
fixed random subset of them, from which the norm over all P parameters is estimated as
sqrt(P / tracked) times the norm over the subset (and the relative spread by its mean).
``calibrate = false`` skips it: a fixed region of size ``region``, at no extra cost.
Boundary and initial points stay fixed, as in the reference code.

The perturbation is a mixin over the sampler that owns the anchor points, so it composes without
copying either side: ``region`` perturbs points drawn once, ``rar_region`` perturbs RAR's growing
set (RoPINN's +RAR+region).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from pinnbench.registry import option, positive, samplers
from pinnbench.sampling.base import PointCounts, Probe, box_of
from pinnbench.sampling.base import reflect as mirror  # the name reflect is an option here
from pinnbench.sampling.residual import RAR

SIGMA_NORMS = ("paper", "relative")


def calibrated_sigma(grads: jax.Array, count: jax.Array, columns: jax.Array | None = None,
                     norm: str = "relative", parameters: int | None = None) -> jax.Array:
    """σ from a ring buffer of flattened gradients (T0, P) of which ``count`` rows are filled,
    over the parameters marked True in ``columns`` (default all); 1 while it is still zero.

    ``norm = "paper"``: ||std(g)||_2, the Euclidean norm of the per-parameter standard deviation
    (RoPINN, Algorithm 1), scaled by sqrt(parameters / columns) when the columns are a sample
    of ``parameters`` entries. ``"relative"``: the mean of std / (mean |g| + 1e-6) (the
    reference code)."""
    t0 = grads.shape[0]
    n = jnp.minimum(count, t0).astype(grads.dtype)
    mask = (jnp.arange(t0) < count)[:, None].astype(grads.dtype)
    n_safe = jnp.maximum(n, 1)
    mean = jnp.sum(mask * grads, axis=0) / n_safe
    std = jnp.sqrt(jnp.sum(mask * (grads - mean) ** 2, axis=0) / n_safe)
    if columns is None:
        columns = jnp.ones(grads.shape[1], bool)
    kept = jnp.maximum(jnp.sum(columns), 1)
    if norm == "paper":
        total = kept if parameters is None else parameters
        sigma = jnp.sqrt(jnp.sum(jnp.where(columns, std**2, 0)) * total / kept)
    else:
        mean_abs = jnp.sum(mask * jnp.abs(grads), axis=0) / n_safe
        sigma = jnp.sum(jnp.where(columns, std / (mean_abs + 1e-6), 0)) / kept
    return jnp.where(sigma > 0, sigma, jnp.ones_like(sigma))


@dataclasses.dataclass(frozen=True)
class RegionOptimization:
    """Region perturbation on top of another sampler (a mixin, listed before that sampler).

    The inner sampler owns the anchor points: it draws them at ``init`` and may move or grow them
    in its own ``update`` (RAR adds points). Every step the anchors are restored as the inner
    sampler's interior points, the inner sampler updates, and the interior the objective sees is
    its anchors shifted by U[0, ρ)^d (``samples`` copies each). The anchors live in
    ``state["base"]``, so the inner sampler never sees a perturbed point.
    """

    region: float = positive("initial region size r", 1e-4)
    max_region: float = positive("upper bound of the calibrated region size", 1e-2)
    past: int = positive("gradients T0 in the calibration window (the paper: 10; 5 for "
                         "convection)", 10)
    samples: int = positive("perturbed copies of each interior point per step", 1)
    calibrate: bool = option(True, "calibrate the region size from gradient variance (one "
                                   "extra gradient per step); false: a fixed region",
                             check=lambda v: isinstance(v, bool), expect="true or false")
    tracked: int = positive("gradient entries kept per step for the calibration (all of them "
                            "for networks up to this size, else a fixed random subset)", 4096)
    sigma_norm: str = option("paper", "σ of the calibration: paper = ||std(g)||_2 over the "
                             "parameters (Algorithm 1); relative = mean std(g) / (mean |g| + "
                             "1e-6) (the reference code)", check=lambda v: v in SIGMA_NORMS,
                             expect=f"one of {list(SIGMA_NORMS)}")
    reflect: bool = option(True, "fold perturbed points back into the box by mirror reflection "
                                 "(false: the reference code's unfolded shift)",
                           check=lambda v: isinstance(v, bool), expect="true or false")

    @property
    def fixed(self) -> bool:
        return False

    def init(self, problem: Any, key: jax.Array, dtype: Any) -> dict[str, Any]:
        state = super().init(problem, key, dtype)  # type: ignore[misc]
        base = state["points"]["interior"]
        points = {**state["points"], "interior": jnp.tile(base, (self.samples, 1))}
        return {**state, "points": points, "base": base, "sigma": jnp.ones((), dtype),
                "size": self.size(jnp.ones((), dtype)),
                "grads": jnp.zeros((self.past, self.tracked), dtype),
                "count": jnp.zeros((), jnp.int32)}

    def size(self, sigma: jax.Array) -> jax.Array:
        return jnp.clip(self.region / sigma, 0.0, self.max_region)

    def update(self, state: dict[str, Any], step: jax.Array, problem: Any,
               probe: Probe | None = None) -> dict[str, Any]:
        inner = {**state, "points": {**state["points"], "interior": state["base"]}}
        state = super().update(inner, step, problem, probe)  # type: ignore[misc]
        base = state["points"]["interior"]
        key, sub = jax.random.split(state["key"])
        xi = jax.random.uniform(sub, (self.samples, *base.shape), base.dtype)
        moved = (base + self.size(state["sigma"]) * xi).reshape(-1, base.shape[1])
        if self.reflect:
            moved = mirror(moved, *box_of(problem, moved.dtype))
        points = {**state["points"], "interior": moved}
        new = {**state, "points": points, "base": base, "key": key}
        if not self.calibrate:
            return new
        if probe is None:
            raise ValueError("region calibration needs a probe for the loss gradient")
        flat = ravel_pytree(probe.loss_and_grad(points)[1])[0]
        g, columns = self.track(flat)
        grads = state["grads"]
        grads = grads.at[state["count"] % self.past].set(g.astype(grads.dtype))
        count = state["count"] + 1
        sigma = calibrated_sigma(grads, count, columns, self.sigma_norm, flat.size)
        sigma = sigma.astype(state["sigma"].dtype)
        return {**new, "grads": grads, "count": count, "sigma": sigma, "size": self.size(sigma)}

    def track(self, g: jax.Array) -> tuple[jax.Array, jax.Array]:
        """The tracked entries of a flat gradient and which of them are real (the rest pad)."""
        if g.size <= self.tracked:
            columns = jnp.arange(self.tracked) < g.size
            return jnp.pad(g, (0, self.tracked - g.size)), columns
        # The subset is a trace-time constant: the same parameters at every step of a run.
        subset = np.random.default_rng(0).choice(g.size, self.tracked, replace=False)
        return g[jnp.asarray(np.sort(subset))], jnp.ones(self.tracked, bool)


@dataclasses.dataclass(frozen=True)
class FixedAnchors(PointCounts):
    """Uniform points drawn once: the anchors of plain region optimization."""

    def init(self, problem: Any, key: jax.Array, dtype: Any) -> dict[str, Any]:
        key, sub = jax.random.split(key)
        return {"points": self.draw(problem, sub, dtype), "key": key}

    def update(self, state: dict[str, Any], step: jax.Array, problem: Any,
               probe: Probe | None = None) -> dict[str, Any]:
        return state


@samplers.register("region")
@dataclasses.dataclass(frozen=True)
class Region(RegionOptimization, FixedAnchors):
    """RoPINN region optimization: fixed points perturbed by U[0, ρ) every step, ρ calibrated
    from the variance of the last ``past`` loss gradients."""


@samplers.register("rar_region")
@dataclasses.dataclass(frozen=True)
class RARRegion(RegionOptimization, RAR):
    """RAR's growing point set as the anchors of region optimization: every ``every`` steps RAR
    adds the ``n_add`` candidates with the largest residuals to the anchors, and every step the
    objective sees the anchors perturbed by U[0, ρ) (RoPINN's +RAR+region)."""
