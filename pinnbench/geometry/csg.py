"""Constructive operations: difference, union, intersection.

The combined ``sdf`` is the min / max composition of the operands' (exact in sign and zero set,
not a true distance). The boundary of a combination is made of pieces of its leaves'
boundaries; which pieces survive is decided point by point (|sdf| below the tolerance), so
boundary sampling draws on the leaves by arc length and keeps the survivors. A leaf of the
subtracted operand is a hole: its outward normal is turned around.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax.numpy as jnp
import numpy as np

from pinnbench.geometry.base import Geometry, GeometryError
from pinnbench.geometry.primitives import Box


def _same_dim(a: Geometry, b: Geometry, what: str) -> None:
    if a.dim != b.dim:
        raise GeometryError(f"{what}: operands of dimension {a.dim} and {b.dim}")


@dataclasses.dataclass(frozen=True)
class Difference(Geometry):
    """a minus b (b's boundary inside a becomes a hole's boundary)."""

    a: Geometry
    b: Geometry

    def __post_init__(self) -> None:
        _same_dim(self.a, self.b, "difference")

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.a.bounds()

    def sdf(self, x: Any, xp: Any = jnp) -> Any:
        return xp.maximum(self.a.sdf(x, xp), -self.b.sdf(x, xp))

    def leaves(self) -> tuple[tuple[Any, float], ...]:
        return self.a.leaves() + tuple((leaf, -s) for leaf, s in self.b.leaves())

    def proposal(self) -> Any:
        return self.a.proposal()


@dataclasses.dataclass(frozen=True)
class Union(Geometry):
    a: Geometry
    b: Geometry

    def __post_init__(self) -> None:
        _same_dim(self.a, self.b, "union")

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        (la, ha), (lb, hb) = self.a.bounds(), self.b.bounds()
        return np.minimum(la, lb), np.maximum(ha, hb)

    def sdf(self, x: Any, xp: Any = jnp) -> Any:
        return xp.minimum(self.a.sdf(x, xp), self.b.sdf(x, xp))

    def leaves(self) -> tuple[tuple[Any, float], ...]:
        return self.a.leaves() + self.b.leaves()

    def proposal(self) -> Any:
        lo, hi = self.bounds()
        return Box(tuple(lo), tuple(hi))


@dataclasses.dataclass(frozen=True)
class Intersection(Geometry):
    a: Geometry
    b: Geometry

    def __post_init__(self) -> None:
        _same_dim(self.a, self.b, "intersection")

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        (la, ha), (lb, hb) = self.a.bounds(), self.b.bounds()
        return np.maximum(la, lb), np.minimum(ha, hb)

    def sdf(self, x: Any, xp: Any = jnp) -> Any:
        return xp.maximum(self.a.sdf(x, xp), self.b.sdf(x, xp))

    def leaves(self) -> tuple[tuple[Any, float], ...]:
        return self.a.leaves() + self.b.leaves()

    def proposal(self) -> Any:
        return self.a.proposal()
