"""What every problem provides: geometry, constraints as residual vectors, a reference solution.

A problem is a frozen dataclass whose fields are its parameters. Its loss is never a scalar it
computes itself: it exposes one residual vector per constraint (interior PDE, boundary, initial),
and the engine derives the scalar loss sum_k w_k mean(r_k^2) from them. Least-squares optimizers
use the same vectors directly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from pinnbench.derivatives import Field
from pinnbench.protocols import SOLUTION

# "observation": the fixed points a constraint carries itself (data), never drawn by a sampler.
Region = Literal["interior", "boundary", "initial", "observation"]


@dataclasses.dataclass(frozen=True)
class Constraint:
    """One residual term: where its points live, how it is weighted, how its residual is formed."""

    name: str
    region: Region
    residual: Callable[[Field], jax.Array]
    weight: float = 1.0
    # True when residual row i depends on point i alone (the usual case): its Jacobian is then
    # built point by point, at about the cost of one gradient. False forces a dense Jacobian.
    pointwise: bool = True
    # Data constraints (observations of the solution): fixed points of their own, (N, dim), and
    # the values observed there, (N * outputs,). ``residual`` then returns the prediction of the
    # observed quantity (one row per point, so its Jacobian is built point by point) and the
    # objective subtracts ``values``. Samplers never draw points for such a region.
    points: Any = dataclasses.field(default=None, compare=False, hash=False, repr=False)
    values: Any = dataclasses.field(default=None, compare=False, hash=False, repr=False)


class BoxProblem:
    """Base for problems on an axis-aligned box [lower, upper] (time, if any, is the last axis).

    Subclasses set ``lower``/``upper``/``outputs``/``time_dependent`` and implement
    ``constraints``, ``reference`` and (optionally) ``eval_points``.
    """

    lower: tuple[float, ...]
    upper: tuple[float, ...]
    outputs: tuple[str, ...] = ("u",)
    time_dependent: bool = False
    eval_resolution: int = 101
    capabilities: frozenset[str] = frozenset()  # see pinnbench.protocols

    @property
    def dim(self) -> int:
        return len(self.lower)

    def constraints(self) -> tuple[Constraint, ...]:
        raise NotImplementedError

    def reference(self, x: np.ndarray) -> np.ndarray:
        """Reference solution at points x (M, d) -> (M, n_outputs), float64 numpy."""
        raise NotImplementedError

    # ---- geometry -------------------------------------------------------------------------
    def sample(self, region: Region, key: jax.Array, n: int, dtype: jnp.dtype) -> jax.Array:
        """n points uniformly distributed over a region of the box."""
        lo = jnp.asarray(self.lower, dtype)
        hi = jnp.asarray(self.upper, dtype)
        k_pts, k_face, k_side = jax.random.split(key, 3)
        u = jax.random.uniform(k_pts, (n, self.dim), dtype)
        if region == "interior":
            return lo + u * (hi - lo)
        if region == "initial":
            x = lo + u * (hi - lo)
            return x.at[:, -1].set(lo[-1])
        # Boundary: a face chosen with probability proportional to its measure (the time axis of a
        # time-dependent problem has no boundary faces: its ends are the initial/final times).
        space = self.dim - 1 if self.time_dependent else self.dim
        width = np.asarray(self.upper) - np.asarray(self.lower)
        face_measure = np.array([np.prod(np.delete(width, i)) for i in range(space)])
        # Systematic sampling of the faces: each gets floor or ceil of n times its share of the
        # measure (one random offset), so every face is constrained whenever n allows it. An
        # independent draw per point would leave an end of a 1-D interval unconstrained half
        # the time with n = 2.
        cdf = np.cumsum(np.repeat(face_measure, 2) / (2 * face_measure.sum()))
        ticks = (jnp.arange(n, dtype=dtype) + jax.random.uniform(k_face, (), dtype)) / n
        face = jnp.minimum(jnp.searchsorted(jnp.asarray(cdf[:-1], dtype), ticks, side="right"),
                           2 * space - 1)
        axis, side = face // 2, face % 2
        x = lo + u * (hi - lo)
        onehot = jax.nn.one_hot(axis, self.dim, dtype=dtype)
        value = jnp.where(side == 1, hi[axis], lo[axis])
        return x * (1 - onehot) + onehot * value[:, None]

    def eval_axes(self) -> list[np.ndarray] | None:
        """Coordinates of the evaluation tensor grid per axis, or None where it is no grid."""
        return [np.linspace(l, u, self.eval_resolution) for l, u in zip(self.lower, self.upper,
                                                                       strict=True)]

    def eval_points(self) -> np.ndarray:
        """A uniform tensor grid of ``eval_resolution`` points per axis over the box."""
        axes = self.eval_axes()
        if axes is None:
            raise NotImplementedError(f"{type(self).__name__} must define eval_points()")
        return tensor_grid(axes)


def tensor_grid(axes: list[np.ndarray]) -> np.ndarray:
    """All combinations of the axis coordinates, (prod n_i, d), first axis slowest."""
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=1)


def field_at(f: Field, x: jax.Array) -> Field:
    """The same network at other points: periodic and gauge constraints compare u at points that
    are not the constraint's own batch. Built through ``type(f)`` so that any Field-like object
    (e.g. a finite-difference stand-in in tests) is preserved."""
    return type(f)(f.model, f.params, x)


class ClosedFormProblem(BoxProblem):
    """A problem whose exact solution is known in closed form.

    ``solution(x, xp)`` is written once against an array namespace (numpy or jax.numpy): numpy
    gives the float64 reference, jax.numpy lets tests differentiate the exact solution with the
    same residuals the network is trained on, and boundary data are taken from it.
    """

    capabilities = frozenset({SOLUTION})

    def solution(self, x, xp):
        raise NotImplementedError

    def reference(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.solution(np.asarray(x, np.float64), np), np.float64)
