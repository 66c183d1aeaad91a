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


@dataclasses.dataclass(frozen=True)
class _Pair(Geometry):
    """An operation on two geometries of one dimension; its boundary draws on both's leaves."""

    a: Geometry
    b: Geometry
    operation = ""

    def __post_init__(self) -> None:
        if self.a.dim != self.b.dim:
            raise GeometryError(f"{self.operation}: operands of dimension {self.a.dim} and "
                                f"{self.b.dim}")

    def leaves(self) -> tuple[tuple[Any, float], ...]:
        return self.a.leaves() + self.b.leaves()


@dataclasses.dataclass(frozen=True)
class Difference(_Pair):
    """a minus b (b's boundary inside a becomes a hole's boundary)."""

    operation = "difference"

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.a.bounds()

    def sdf(self, x: Any, xp: Any = jnp) -> Any:
        return xp.maximum(self.a.sdf(x, xp), -self.b.sdf(x, xp))

    def leaves(self) -> tuple[tuple[Any, float], ...]:
        return self.a.leaves() + tuple((leaf, -s) for leaf, s in self.b.leaves())

    def proposal(self) -> Any:
        return self.a.proposal()


@dataclasses.dataclass(frozen=True)
class Union(_Pair):
    operation = "union"

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        (la, ha), (lb, hb) = self.a.bounds(), self.b.bounds()
        return np.minimum(la, lb), np.maximum(ha, hb)

    def sdf(self, x: Any, xp: Any = jnp) -> Any:
        return xp.minimum(self.a.sdf(x, xp), self.b.sdf(x, xp))

    def proposal(self) -> Any:
        lo, hi = self.bounds()
        return Box(tuple(lo), tuple(hi))


@dataclasses.dataclass(frozen=True)
class Intersection(_Pair):
    operation = "intersection"

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        (la, ha), (lb, hb) = self.a.bounds(), self.b.bounds()
        return np.maximum(la, lb), np.minimum(ha, hb)

    def sdf(self, x: Any, xp: Any = jnp) -> Any:
        return xp.maximum(self.a.sdf(x, xp), self.b.sdf(x, xp))

    def proposal(self) -> Any:
        return self.a.proposal()
