"""Quasi-random collocation points (Sobol, Halton, Latin hypercube), drawn once with scipy.

Low-discrepancy points cover the box more evenly than independent uniform draws, which lowers the
quadrature error of the mean squared residual for smooth integrands. The sequences are drawn on
the host at ``init`` (outside the compiled step) and never change.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from pinnbench.registry import option, samplers
from pinnbench.sampling.base import PointCounts, Probe, regions_of

if TYPE_CHECKING:  # scipy.stats takes ~0.4 s to import: every worker would pay it
    from scipy.stats import qmc


def unit_to_region(problem: Any, region: str, u: np.ndarray) -> np.ndarray:
    """Map points of the unit cube [0, 1)^(d+1) onto a region of the problem's box.

    The last coordinate picks a boundary face (with probability proportional to its measure, as
    ``BoxProblem.sample`` does), so the d coordinates that place the point on the face are not
    reused for that choice and keep their low discrepancy.
    """
    lo, hi = np.asarray(problem.lower, float), np.asarray(problem.upper, float)
    x = lo + u[:, :-1] * (hi - lo)
    if region == "interior":
        return x
    if region == "initial":
        x[:, -1] = lo[-1]
        return x
    space = problem.dim - 1 if problem.time_dependent else problem.dim
    width = hi - lo
    measure = np.repeat([np.prod(np.delete(width, i)) for i in range(space)], 2)
    edges = np.cumsum(measure / measure.sum())
    face = np.minimum(np.searchsorted(edges, u[:, -1], side="right"), 2 * space - 1)
    axis, side = face // 2, face % 2
    rows = np.arange(len(x))
    x[rows, axis] = np.where(side == 1, hi[axis], lo[axis])
    return x


def _scramble(doc: str) -> Any:
    """The ``scramble`` option, described as what it does for one sequence."""
    return option(True, doc, check=lambda v: isinstance(v, bool), expect="true or false")


@dataclasses.dataclass(frozen=True)
class QuasiRandom(PointCounts):
    """Base of the three quasi-random samplers; ``engine`` builds the scipy generator."""

    scramble: bool = _scramble("randomise the sequence with the data seed; false: the same "
                               "points for every seed")

    @property
    def fixed(self) -> bool:
        return True

    def engine(self, dim: int, seed: int) -> qmc.QMCEngine:
        raise NotImplementedError

    def init(self, problem: Any, key: jax.Array, dtype: Any) -> dict[str, Any]:
        points = {}
        for region, sub in zip(regions_of(problem),
                               jax.random.split(key, len(regions_of(problem))), strict=True):
            seed = int(jax.random.randint(sub, (), 0, np.iinfo(np.int32).max))
            with warnings.catch_warnings():
                # Sobol's balance properties hold for powers of two; other counts are still
                # far more even than random points, so scipy's warning is noise here.
                warnings.simplefilter("ignore", UserWarning)
                u = self.engine(problem.dim + 1, seed).random(self.count(region))
            points[region] = jnp.asarray(unit_to_region(problem, region, u), dtype)
        return {"points": points}

    def update(self, state: dict[str, Any], step: jax.Array, problem: Any,
               probe: Probe | None = None) -> dict[str, Any]:
        return state


@samplers.register("sobol")
@dataclasses.dataclass(frozen=True)
class Sobol(QuasiRandom):
    """Sobol sequence points per region (fixed)."""

    scramble: bool = _scramble("Owen-scramble the sequence with the data seed; false: the same "
                               "points for every seed")

    def engine(self, dim: int, seed: int) -> qmc.QMCEngine:
        from scipy.stats import qmc

        return qmc.Sobol(dim, scramble=self.scramble, seed=seed)


@samplers.register("halton")
@dataclasses.dataclass(frozen=True)
class Halton(QuasiRandom):
    """Halton sequence points per region (fixed)."""

    scramble: bool = _scramble("permute the sequence's digits at random with the data seed; "
                               "false: the same points for every seed")

    def engine(self, dim: int, seed: int) -> qmc.QMCEngine:
        from scipy.stats import qmc

        return qmc.Halton(dim, scramble=self.scramble, seed=seed)


@samplers.register("lhs")
@dataclasses.dataclass(frozen=True)
class LatinHypercube(QuasiRandom):
    """Latin hypercube points per region (fixed): one point in every 1/N slab of every axis.
    ``scramble`` false centres each point in its cell."""

    scramble: bool = _scramble("place each point at random inside its cell; false: at the "
                               "cell's centre (which cells, per axis, still follows the data "
                               "seed)")

    def engine(self, dim: int, seed: int) -> qmc.QMCEngine:
        from scipy.stats import qmc

        return qmc.LatinHypercube(dim, scramble=self.scramble, seed=seed)
