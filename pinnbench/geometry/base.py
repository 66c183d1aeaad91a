"""What every geometry provides, and the samplers built on primitives' direct samplers.

A geometry is a frozen dataclass (hashable, so problems holding one can be static under
``jax.jit``). It defines ``sdf(x, xp)`` (negative inside, zero on the boundary; for combinations
only its sign and zero set are meaningful), ``bounds()``, ``leaves()`` (the primitives whose
boundaries make up its own, each with the sign that turns the primitive's outward normal into the
geometry's: -1 for a hole) and ``proposal()`` (a primitive containing it, whose direct interior
sampler feeds rejection).

Every primitive maps uniform variates to uniform points of its interior (by volume) and of its
boundary (by arc length or area) with array code written once for numpy and jax.numpy. So the
host estimates, by Monte Carlo on numpy, what fraction of a proposal's points (and of each
leaf's boundary points) survive in the combination, keeps a pool of surviving points, and the
JAX samplers draw enough candidates that at least ``n`` survive except with probability far below
1e-6; the pool fills any shortfall, so every returned point is always in the domain.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

HOST_CANDIDATES = 40_000   # Monte Carlo draws per estimate on the host
POOL_SIZE = 2048           # surviving points kept per region, the samplers' fallback
EVAL_SEED = 20242          # the evaluation set of a domain that fills almost none of its box
ALL = None                 # ``part=ALL``: the whole boundary


class GeometryError(ValueError):
    """A geometry that cannot be used: empty, degenerate, or asked for a part it lacks."""


@dataclasses.dataclass(frozen=True)
class HostStats:
    acceptance: float                    # fraction of the proposal's volume inside
    interior_pool: np.ndarray            # (<= POOL_SIZE, d) points inside
    survival: tuple[float, ...]          # per leaf: fraction of its boundary on the boundary
    boundary_pools: dict[str | None, np.ndarray]  # per part name (None: all parts)


def enough(n: int, fraction: float) -> int:
    """Candidates to draw so that at least n of them survive at the given rate, except with
    probability below ~1e-7 (n + 5.3 standard deviations + a margin for small n)."""
    if fraction >= 1.0:
        return n
    return int(math.ceil((n + 5.3 * math.sqrt(n) + 12) / fraction))


def pick(key: jax.Array, candidates: jax.Array, valid: jax.Array, pool: np.ndarray,
         n: int) -> jax.Array:
    """n distinct valid candidates in random order; points of the pool where too few were valid.
    Random scores rank valid candidates above pool points above invalid ones (static shapes)."""
    k_score, k_pool = jax.random.split(key)
    dtype = candidates.dtype
    score = jnp.where(valid, 1 + jax.random.uniform(k_score, valid.shape, dtype), 0)
    fill = jnp.asarray(pool, dtype)[jax.random.randint(k_pool, (n,), 0, pool.shape[0])]
    everything = jnp.concatenate([candidates, fill])
    ranks = jnp.concatenate([score, jnp.full((n,), 0.5, dtype)])
    return everything[jax.lax.top_k(ranks, n)[1]]


class Geometry:
    """Base of primitives and combinations (see the module docstring)."""

    # ---- what subclasses define ----------------------------------------------------------
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def sdf(self, x: Any, xp: Any = jnp) -> Any:
        raise NotImplementedError

    def leaves(self) -> tuple[tuple[Any, float], ...]:
        raise NotImplementedError

    def proposal(self) -> Any:
        raise NotImplementedError

    # ---- combinations ----------------------------------------------------------------------
    def __sub__(self, other: Geometry) -> Geometry:
        from pinnbench.geometry.csg import Difference

        return Difference(self, other)

    def __or__(self, other: Geometry) -> Geometry:
        from pinnbench.geometry.csg import Union

        return Union(self, other)

    def __and__(self, other: Geometry) -> Geometry:
        from pinnbench.geometry.csg import Intersection

        return Intersection(self, other)

    # ---- derived ---------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return len(self.bounds()[0])

    @property
    def diameter(self) -> float:
        lo, hi = self.bounds()
        return float(np.linalg.norm(hi - lo))

    def tolerance(self, dtype: Any) -> float:
        """How far from the zero set of ``sdf`` a point still counts as on the boundary."""
        return 100 * float(jnp.finfo(dtype).eps) * self.diameter

    def contains(self, x: Any, xp: Any = jnp) -> Any:
        """True for points in the closed domain (boundary included, up to the tolerance)."""
        return self.sdf(x, xp) <= self.tolerance(x.dtype)

    def parts(self) -> tuple[str, ...]:
        """Names of the boundary parts, in the order of their first leaf (empty parts dropped)."""
        names: list[str] = []
        for (leaf, _), alive in zip(self.leaves(), self.stats.survival, strict=True):
            if alive > 0 and leaf.name not in names:
                names.append(leaf.name)
        return tuple(names)

    def check_part(self, part: str | None) -> None:
        if part is not None and part not in self.parts():
            raise GeometryError(f"no boundary part {part!r}; parts: {', '.join(self.parts())}")

    def _selected(self, part: str | None) -> list[int]:
        self.check_part(part)
        return [i for i, ((leaf, _), alive) in enumerate(zip(self.leaves(), self.stats.survival,
                                                             strict=True))
                if alive > 0 and (part is None or leaf.name == part)]

    def volume(self) -> float:
        """Area (2D) or volume, exact for primitives, Monte Carlo (~0.5 %) for combinations."""
        return self.proposal().volume() * self.stats.acceptance

    def boundary_measure(self, part: str | None = ALL) -> float:
        """Length (2D) or area of a boundary part (exact where no leaf is cut)."""
        leaves = self.leaves()
        return float(sum(leaves[i][0].surface_measure() * self.stats.survival[i]
                         for i in self._selected(part)))

    def validate(self) -> Geometry:
        """Raise GeometryError for an empty domain; return self."""
        if self.stats.acceptance <= 0:
            raise GeometryError("the domain is empty (no point of it survives the combination)")
        return self

    @functools.cached_property
    def stats(self) -> HostStats:
        rng = np.random.default_rng(0)
        prop = self.proposal()
        x = prop.volume_map(rng.random((HOST_CANDIDATES, prop.volume_uniforms)), np)
        inside = x[self.sdf(x, np) < 0]
        survival, points = [], []
        tol = self.tolerance(np.float64)
        for leaf, _ in self.leaves():
            y = leaf.surface_map(rng.random((HOST_CANDIDATES // 4, leaf.surface_uniforms)), np)
            on = np.abs(self.sdf(y, np)) <= tol
            survival.append(float(on.mean()))
            points.append(y[on])
        pools: dict[str | None, np.ndarray] = {}
        names = {leaf.name for leaf, _ in self.leaves()}
        for name in [None, *sorted(names)]:
            chosen = [p for (leaf, _), p in zip(self.leaves(), points, strict=True)
                      if name is None or leaf.name == name]
            pools[name] = rng.permutation(np.concatenate(chosen))[:POOL_SIZE]
        return HostStats(len(inside) / HOST_CANDIDATES, inside[:POOL_SIZE], tuple(survival),
                         pools)

    # ---- samplers (JAX, static shapes, usable inside jit) ---------------------------------
    def sample_interior(self, key: jax.Array, n: int, dtype: Any) -> jax.Array:
        """n points uniformly distributed over the interior."""
        prop = self.proposal()
        k_u, k_pick = jax.random.split(key)
        if prop is self:
            return prop.volume_map(jax.random.uniform(k_u, (n, prop.volume_uniforms), dtype), jnp)
        self.validate()
        m = enough(n, self.stats.acceptance)
        x = prop.volume_map(jax.random.uniform(k_u, (m, prop.volume_uniforms), dtype), jnp)
        return pick(k_pick, x, self.sdf(x, jnp) < 0, self.stats.interior_pool, n)

    def sample_boundary(self, key: jax.Array, n: int, dtype: Any,
                        part: str | None = ALL) -> jax.Array:
        """n points uniformly distributed (by arc length or area) over a boundary part (None:
        the whole boundary): each leaf gets candidates in proportion to its full measure, and
        those on the geometry's boundary are kept."""
        chosen = self._selected(part)
        leaves = self.leaves()
        measures = np.array([leaves[i][0].surface_measure() for i in chosen])
        alive = float(sum(measures * np.array([self.stats.survival[i] for i in chosen]))
                      / measures.sum())
        m = enough(n, 1.0 if all(self.stats.survival[i] == 1 for i in chosen) else alive)
        counts = np.maximum(1, np.ceil(m * measures / measures.sum())).astype(int)
        if len(chosen) == 1 or alive == 1.0:
            # No cut leaf: stratified counts by measure are already uniform; random order
            # and the exact count come from the same pick.
            m = int(counts.sum())
        keys = jax.random.split(key, len(chosen) + 1)
        x = jnp.concatenate([
            leaves[i][0].surface_map(jax.random.uniform(k, (c, leaves[i][0].surface_uniforms),
                                                        dtype), jnp)
            for i, c, k in zip(chosen, counts, keys[1:], strict=True)])
        valid = jnp.abs(self.sdf(x, jnp)) <= self.tolerance(dtype)
        return pick(keys[0], x, valid, self.stats.boundary_pools[part], n)

    # ---- boundary geometry at points -------------------------------------------------------
    def _nearest(self, x: Any, part: str | None, xp: Any) -> tuple[list[int], Any]:
        chosen = self._selected(part)
        leaves = self.leaves()
        dist = xp.stack([xp.abs(leaves[i][0].sdf(x, xp)) for i in chosen], axis=1)
        return chosen, xp.argmin(dist, axis=1)

    def normal(self, x: Any, part: str | None = ALL, xp: Any = jnp) -> Any:
        """Outward unit normal (N, d) at boundary points x: that of the nearest leaf (among the
        part's), turned inward-out for holes."""
        chosen, nearest = self._nearest(x, part, xp)
        leaves = self.leaves()
        normals = xp.stack([leaves[i][1] * leaves[i][0].outward(x, xp) for i in chosen], axis=1)
        return xp.take_along_axis(normals, nearest[:, None, None], axis=1)[:, 0]

    def on_part(self, x: Any, part: str, xp: Any = jnp) -> Any:
        """True for boundary points x whose nearest leaf belongs to ``part``."""
        self.check_part(part)
        chosen, nearest = self._nearest(x, ALL, xp)
        names = np.array([self.leaves()[i][0].name == part for i in chosen])
        return xp.asarray(names)[nearest]

    def part_fraction(self, part: str) -> float:
        """The part's share of the whole boundary's measure."""
        return self.boundary_measure(part) / self.boundary_measure(ALL)

    def eval_points(self, n: int = 10_000) -> np.ndarray:
        """A deterministic evaluation set of about n points of the closed domain: a tensor grid
        over the bounding box (dim <= 2) or the first Halton points (dim > 2), kept if inside;
        where the domain fills less than 1e-3 of its box, seeded uniform points of its
        proposal shape, kept if inside."""
        lo, hi = self.bounds()
        d = self.dim
        box = float(np.prod(hi - lo))
        share = min(1.0, max(self.volume() / box, 1e-3)) if box > 0 else 1.0
        if d <= 2:
            r = max(3, int(round((n / share) ** (1 / d))))
            mesh = np.meshgrid(*[np.linspace(lo[i], hi[i], r) for i in range(d)], indexing="ij")
            x = np.stack([g.ravel() for g in mesh], axis=1)
            return x[self.sdf(x, np) <= self.tolerance(np.float64)]
        if box > 0 and self.volume() / box < 1e-3:
            # A high-dimensional ball fills a vanishing share of its box (2e-28 at d = 50):
            # draw from the proposal shape itself, seeded, so no box rejection is needed.
            prop = self.proposal()
            rng = np.random.default_rng(EVAL_SEED)
            m = int(1.5 * n / self.stats.acceptance) + 100
            x = prop.volume_map(rng.random((m, prop.volume_uniforms)), np)
            return x[self.sdf(x, np) < 0][:n]
        from scipy.stats import qmc

        x = lo + qmc.Halton(d, scramble=False).random(int(1.5 * n / share) + 100) * (hi - lo)
        return x[self.sdf(x, np) < 0][:n]
