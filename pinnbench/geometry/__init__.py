"""Domains beyond axis-aligned boxes: primitives and their constructive combinations.

A geometry answers, for arrays of points, whether they lie in it (``contains``), draws uniform
points of its interior and of each named part of its boundary (``sample_interior``,
``sample_boundary``), gives the outward normal at boundary points (``normal``) and tells which
part a boundary point lies on (``on_part``). Samplers are written in JAX with static shapes, so a
residual-based sampler can draw from a geometry inside the compiled training step (see
docs/geometry.md for how: direct samplers for primitives, oversampled rejection with a host-drawn
pool as the fallback for combinations). Box problems do not use this package; they keep
``BoxProblem``'s own samplers.
"""

from pinnbench.geometry.base import Geometry, GeometryError
from pinnbench.geometry.csg import Difference, Intersection, Union
from pinnbench.geometry.primitives import Ball, Box, Disk, Interval, Polygon, Rectangle

__all__ = ["Ball", "Box", "Difference", "Disk", "Geometry", "GeometryError", "Intersection",
           "Interval", "Polygon", "Rectangle", "Union"]
