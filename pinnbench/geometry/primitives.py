"""Primitives: box (interval, rectangle), ball (disk), simple polygon.

Each maps uniform variates u in [0, 1)^k to uniform points of its interior (``volume_map``, by
volume) and of its boundary (``surface_map``, by arc length or area), with array code written
once for numpy and jax.numpy (``xp``), so the same map runs on the host and inside jit.
``name`` is the boundary part the primitive's boundary belongs to in a combination.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import jax.numpy as jnp
import numpy as np

from pinnbench.geometry.base import Geometry, GeometryError


class Primitive(Geometry):
    name: str
    volume_uniforms: int
    surface_uniforms: int

    def leaves(self) -> tuple[tuple[Any, float], ...]:
        return ((self, 1.0),)

    def proposal(self) -> Primitive:
        return self

    def volume_map(self, u: Any, xp: Any = jnp) -> Any:
        raise NotImplementedError

    def surface_map(self, u: Any, xp: Any = jnp) -> Any:
        raise NotImplementedError

    def outward(self, x: Any, xp: Any = jnp) -> Any:
        raise NotImplementedError

    def surface_measure(self) -> float:
        raise NotImplementedError


def _choose(cumulative: np.ndarray, u: Any, xp: Any) -> Any:
    """Index i with probability (cumulative[i] - cumulative[i-1]) for u ~ U[0, 1)."""
    idx = xp.searchsorted(xp.asarray(cumulative, u.dtype), u, side="right")
    return xp.minimum(idx, len(cumulative) - 1)


@dataclasses.dataclass(frozen=True)
class Box(Primitive):
    """The axis-aligned box [lower, upper] in any dimension (1: an interval; its boundary is
    its two end points, each of measure 1)."""

    lower: tuple[float, ...]
    upper: tuple[float, ...]
    name: str = "boundary"

    def __post_init__(self) -> None:
        if len(self.lower) != len(self.upper) or not self.lower:
            raise GeometryError(f"box: lower {self.lower} and upper {self.upper} differ in length")
        if any(hi <= lo for lo, hi in zip(self.lower, self.upper, strict=True)):
            raise GeometryError(f"box: upper {self.upper} must exceed lower {self.lower} on "
                                "every axis (the box is empty or flat)")

    @property
    def volume_uniforms(self) -> int:
        return self.dim

    @property
    def surface_uniforms(self) -> int:
        return self.dim + 1

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.lower, float), np.asarray(self.upper, float)

    def _centre_half(self, dtype: Any, xp: Any) -> tuple[Any, Any]:
        lo, hi = self.bounds()
        return xp.asarray((lo + hi) / 2, dtype), xp.asarray((hi - lo) / 2, dtype)

    def sdf(self, x: Any, xp: Any = jnp) -> Any:
        c, h = self._centre_half(x.dtype, xp)
        q = xp.abs(x - c) - h
        outside = xp.sqrt(xp.sum(xp.maximum(q, 0) ** 2, axis=1))
        return outside + xp.minimum(xp.max(q, axis=1), 0)

    def outward(self, x: Any, xp: Any = jnp) -> Any:
        c, h = self._centre_half(x.dtype, xp)
        axis = xp.argmax(xp.abs(x - c) - h, axis=1)
        onehot = xp.arange(self.dim)[None, :] == axis[:, None]
        return xp.where(onehot, xp.where(x >= c, 1.0, -1.0), 0.0).astype(x.dtype)

    def _faces(self) -> np.ndarray:
        lo, hi = self.bounds()
        width = hi - lo
        return np.repeat([np.prod(np.delete(width, i)) for i in range(self.dim)], 2)

    def volume_map(self, u: Any, xp: Any = jnp) -> Any:
        lo, hi = self.bounds()
        return xp.asarray(lo, u.dtype) + u * xp.asarray(hi - lo, u.dtype)

    def surface_map(self, u: Any, xp: Any = jnp) -> Any:
        faces = self._faces()
        face = _choose(np.cumsum(faces) / faces.sum(), u[:, 0], xp)
        axis, side = face // 2, face % 2
        lo, hi = self.bounds()
        x = self.volume_map(u[:, 1:], xp)
        onehot = xp.arange(self.dim)[None, :] == axis[:, None]
        wall = xp.where(side == 1, xp.asarray(hi, u.dtype)[axis], xp.asarray(lo, u.dtype)[axis])
        return xp.where(onehot, wall[:, None], x)

    def surface_measure(self) -> float:
        return float(self._faces().sum())

    def volume(self) -> float:
        lo, hi = self.bounds()
        return float(np.prod(hi - lo))


def Interval(a: float, b: float, name: str = "boundary") -> Box:
    """[a, b] as a one-dimensional box."""
    return Box((float(a),), (float(b),), name)


def Rectangle(lower: tuple[float, float], upper: tuple[float, float],
              name: str = "boundary") -> Box:
    """An axis-aligned rectangle as a two-dimensional box."""
    if len(lower) != 2 or len(upper) != 2:
        raise GeometryError(f"rectangle: lower {lower} and upper {upper} must be 2D points")
    return Box(tuple(map(float, lower)), tuple(map(float, upper)), name)


@dataclasses.dataclass(frozen=True)
class Ball(Primitive):
    """The closed ball |x - centre| <= radius in any dimension (2: a disk)."""

    centre: tuple[float, ...]
    radius: float
    name: str = "boundary"

    def __post_init__(self) -> None:
        if not self.centre:
            raise GeometryError("ball: the centre has no coordinates")
        if not self.radius > 0:
            raise GeometryError(f"ball: radius = {self.radius} must be > 0")

    @property
    def _pairs(self) -> int:
        return (self.dim + 1) // 2

    @property
    def volume_uniforms(self) -> int:
        return 2 * self._pairs + 1

    @property
    def surface_uniforms(self) -> int:
        return 2 * self._pairs

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        c = np.asarray(self.centre, float)
        return c - self.radius, c + self.radius

    def sdf(self, x: Any, xp: Any = jnp) -> Any:
        return xp.sqrt(xp.sum((x - xp.asarray(self.centre, x.dtype)) ** 2, axis=1)) - self.radius

    def outward(self, x: Any, xp: Any = jnp) -> Any:
        r = x - xp.asarray(self.centre, x.dtype)
        return r / xp.sqrt(xp.sum(r**2, axis=1, keepdims=True))

    def _directions(self, u: Any, xp: Any) -> Any:
        # Box-Muller: uniform pairs -> independent normals; a normal vector's direction is
        # uniform on the sphere.
        k = self._pairs
        rho = xp.sqrt(-2 * xp.log(1 - u[:, :k]))
        angle = 2 * math.pi * u[:, k:2 * k]
        z = xp.concatenate([rho * xp.cos(angle), rho * xp.sin(angle)], axis=1)[:, :self.dim]
        return z / xp.sqrt(xp.sum(z**2, axis=1, keepdims=True))

    def surface_map(self, u: Any, xp: Any = jnp) -> Any:
        return xp.asarray(self.centre, u.dtype) + self.radius * self._directions(u, xp)

    def volume_map(self, u: Any, xp: Any = jnp) -> Any:
        r = self.radius * u[:, -1:] ** (1 / self.dim)
        return xp.asarray(self.centre, u.dtype) + r * self._directions(u, xp)

    def surface_measure(self) -> float:
        d = self.dim
        return 2 * math.pi ** (d / 2) / math.gamma(d / 2) * self.radius ** (d - 1)

    def volume(self) -> float:
        d = self.dim
        return math.pi ** (d / 2) / math.gamma(d / 2 + 1) * self.radius**d


def Disk(centre: tuple[float, float], radius: float, name: str = "boundary") -> Ball:
    """A disk as a two-dimensional ball."""
    if len(centre) != 2:
        raise GeometryError(f"disk: centre {centre} must be a 2D point")
    return Ball(tuple(map(float, centre)), float(radius), name)


@dataclasses.dataclass(frozen=True)
class Polygon(Primitive):
    """A simple polygon (no self-intersection) given by its vertices in either orientation.
    Validity, orientation and the triangulation that samples its interior come from shapely
    (constrained Delaunay triangles)."""

    vertices: tuple[tuple[float, float], ...]
    name: str = "boundary"

    volume_uniforms = 3
    surface_uniforms = 2

    def __post_init__(self) -> None:
        import shapely

        if len(self.vertices) < 3 or any(len(v) != 2 for v in self.vertices):
            raise GeometryError(f"polygon vertices: needs at least 3 two-dimensional points, got "
                                f"{len(self.vertices)}")
        shape = shapely.Polygon(self.vertices)
        if not shape.is_valid:
            raise GeometryError(f"polygon vertices: not a simple polygon "
                                f"({shapely.is_valid_reason(shape)})")
        if shape.area <= 0:
            raise GeometryError("polygon: zero area")

    @functools.cached_property
    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        import shapely
        from shapely.geometry.polygon import orient

        shape = orient(shapely.Polygon(self.vertices), 1.0)  # counter-clockwise
        ring = np.asarray(shape.exterior.coords)[:-1]
        tris = np.array([np.asarray(t.exterior.coords)[:3] for t in
                         shapely.constrained_delaunay_triangles(shape).geoms])
        return ring, np.roll(ring, -1, axis=0), tris

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        v = np.asarray(self.vertices, float)
        return v.min(axis=0), v.max(axis=0)

    def _edge_distances(self, x: Any, xp: Any) -> Any:
        a, b, _ = self._arrays
        a, ab = xp.asarray(a, x.dtype), xp.asarray(b - a, x.dtype)
        ax = x[:, None, :] - a[None]
        t = xp.clip(xp.sum(ax * ab[None], axis=2) / xp.sum(ab**2, axis=1)[None], 0, 1)
        return xp.sqrt(xp.sum((ax - t[..., None] * ab[None]) ** 2, axis=2))  # (N, E)

    def sdf(self, x: Any, xp: Any = jnp) -> Any:
        a, b, _ = self._arrays
        dist = xp.min(self._edge_distances(x, xp), axis=1)
        ax, ay = xp.asarray(a[:, 0], x.dtype), xp.asarray(a[:, 1], x.dtype)
        bx, by = xp.asarray(b[:, 0], x.dtype), xp.asarray(b[:, 1], x.dtype)
        px, py = x[:, :1], x[:, 1:2]
        # Crossing number of a ray towards +x: odd inside.
        straddle = (ay > py) != (by > py)
        safe = xp.where(by == ay, 1.0, by - ay)
        cross = straddle & (px < ax + (bx - ax) * (py - ay) / safe)
        inside = xp.sum(cross, axis=1) % 2 == 1
        return xp.where(inside, -dist, dist)

    def outward(self, x: Any, xp: Any = jnp) -> Any:
        a, b, _ = self._arrays
        d = b - a
        normals = np.stack([d[:, 1], -d[:, 0]], axis=1) / np.linalg.norm(d, axis=1)[:, None]
        nearest = xp.argmin(self._edge_distances(x, xp), axis=1)
        return xp.asarray(normals, x.dtype)[nearest]

    def volume_map(self, u: Any, xp: Any = jnp) -> Any:
        _, _, tris = self._arrays
        e1, e2 = tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0]
        area = np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
        k = _choose(np.cumsum(area) / area.sum(), u[:, 0], xp)
        t = xp.asarray(tris, u.dtype)[k]
        s = xp.sqrt(u[:, 1:2])
        return t[:, 0] * (1 - s) + t[:, 1] * s * (1 - u[:, 2:3]) + t[:, 2] * s * u[:, 2:3]

    def surface_map(self, u: Any, xp: Any = jnp) -> Any:
        a, b, _ = self._arrays
        length = np.linalg.norm(b - a, axis=1)
        k = _choose(np.cumsum(length) / length.sum(), u[:, 0], xp)
        a, b = xp.asarray(a, u.dtype)[k], xp.asarray(b, u.dtype)[k]
        return a + u[:, 1:2] * (b - a)

    def surface_measure(self) -> float:
        a, b, _ = self._arrays
        return float(np.linalg.norm(b - a, axis=1).sum())

    def volume(self) -> float:
        import shapely

        return float(shapely.Polygon(self.vertices).area)
