"""Periodicity on a box (values and first derivatives agree on opposite faces), and the base of
problems on a periodic square with a Fourier-spectral reference."""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np

from pinnbench.derivatives import Field
from pinnbench.problems.base import BoxProblem, field_at, tensor_grid
from pinnbench.references import spectral2d
from pinnbench.references.cache import cached


def periodic_box(f: Field, lower: tuple[float, ...], upper: tuple[float, ...]) -> jnp.ndarray:
    """For each space axis i (the first len(lower) inputs): every output and its derivative along
    i at x_i = lower_i minus the same at x_i = upper_i, the other coordinates being the batch's.
    Both conditions of a second-order equation, on every axis at every boundary point (a point
    on one face constrains the other axes' pairs along that face too): (N, 2·axes·outputs)."""
    parts = []
    for i, (lo, hi) in enumerate(zip(lower, upper, strict=True)):
        left = field_at(f, f.x.at[:, i].set(lo))
        right = field_at(f, f.x.at[:, i].set(hi))
        parts += [left.value - right.value, left.d(i) - right.d(i)]
    return jnp.concatenate(parts, axis=1)


class SpectralSquare(BoxProblem):
    """A time-dependent problem on a periodic square [lo, hi]² × [0, t_end] with a Fourier-
    spectral reference (:mod:`pinnbench.references.spectral2d`): stored on the ``grid``² nodes
    x = lo + (hi - lo)·j/grid (every modes/grid-th solver node) at ``times`` equispaced times,
    evaluated elsewhere by the solver's march and Fourier interpolation, and by the initial data
    itself at t = 0.

    Subclasses provide ``solve()`` (steps a multiple of times - 1), ``initial_data(x, y, xp)``
    and ``cache_params()`` (what the stored values depend on), and name ``solver_name`` and
    ``solver_version``."""

    grid: int = 128
    times: int = 21
    solver_name: str = ""
    solver_version: str = ""
    time_dependent = True

    def solve(self) -> spectral2d.Solve:
        raise NotImplementedError

    def initial_data(self, x, y, xp):
        raise NotImplementedError

    def cache_params(self) -> dict:
        raise NotImplementedError

    def stored(self) -> np.ndarray:
        """(times, fields, grid, grid): the reference on the evaluation grid."""
        params = {**self.cache_params(), "grid": self.grid, "times": self.times}

        def compute():
            s = self.solve()
            return {"values": spectral2d.stored(s, s.steps // (self.times - 1),
                                                s.grid.n // self.grid)}

        return cached(self.solver_name, self.solver_version, params, compute).arrays["values"]

    @functools.cached_property
    def _evaluator(self) -> spectral2d.Evaluator:
        return spectral2d.Evaluator(self.solve())

    def eval_axes(self) -> list[np.ndarray]:
        lo, hi = self.lower[0], self.upper[0]
        x = lo + (hi - lo) * np.arange(self.grid) / self.grid
        return [x, x, np.linspace(0.0, self.upper[2], self.times)]

    def reference(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)
        fields = len(self.outputs)
        if (x.shape == (self.grid**2 * self.times, 3)
                and np.array_equal(x, tensor_grid(self.eval_axes()))):
            return np.moveaxis(self.stored(), (0, 1), (3, 0)).reshape(fields, -1).T
        out = np.empty((len(x), fields))
        start = x[:, 2] == 0  # the data itself at t = 0
        out[start] = np.stack(self.initial_data(x[start, 0], x[start, 1], np), axis=1)
        if (~start).any():
            rest = x[~start]
            out[~start] = self._evaluator(rest[:, 0], rest[:, 1], rest[:, 2])
        return out

    def periodic(self, f: Field) -> jnp.ndarray:
        return periodic_box(f, self.lower[:2], self.upper[:2])

    def initial_residual(self, f: Field) -> jnp.ndarray:
        return f.value - jnp.stack(self.initial_data(f.x[:, 0], f.x[:, 1], jnp), axis=1)
