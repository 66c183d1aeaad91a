"""Fourier pseudo-spectral references on a doubly periodic square, ETDRK4 in time.

The state is the real FFT (``numpy.fft.rfft2``) of F fields on the N × N grid
x_j = lower + period·j/N, shape (F, N, N//2 + 1). An equation is its diagonal linear part L (real:
diffusion and decay) and a nonlinear part N(v, t), possibly time dependent; the stepping is
Cox & Matthews' ETDRK4 with N evaluated at t, t + h/2 and t + h.

Evaluation at arbitrary times never re-solves from scratch for each time: :func:`march` steps the
solve's own trajectory (the same steps as the stored solve, so values at its step times are
identical) and, for every requested time, branches off the last step time before it with one
partial step. A requested time therefore costs one step, and the result does not depend on which
other times were requested.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from pinnbench.references.etdrk4 import etdrk4_coefficients_phi

Nonlinear = Callable[[np.ndarray, float], np.ndarray]


@dataclasses.dataclass(frozen=True)
class Grid:
    """An N × N periodic grid of one period starting at ``lower`` in both directions."""

    n: int
    lower: float
    period: float

    @property
    def x(self) -> np.ndarray:
        return self.lower + self.period * np.arange(self.n) / self.n

    @property
    def kx(self) -> np.ndarray:
        """Wavenumbers along the first axis (full FFT), shape (N, 1)."""
        return (2 * math.pi / self.period * np.fft.fftfreq(self.n, 1.0 / self.n))[:, None]

    @property
    def ky(self) -> np.ndarray:
        """Wavenumbers along the second axis (real FFT), shape (1, N//2 + 1)."""
        return (2 * math.pi / self.period * np.fft.rfftfreq(self.n, 1.0 / self.n))[None, :]

    @property
    def k2(self) -> np.ndarray:
        return self.kx**2 + self.ky**2

    def derivative_factors(self) -> tuple[np.ndarray, np.ndarray]:
        """i·kx and i·ky with the Nyquist modes dropped (their derivative is not real)."""
        ikx = 1j * self.kx.copy()
        ikx[self.n // 2] = 0.0
        iky = 1j * self.ky.copy()
        iky[:, -1] = 0.0
        return ikx, iky

    def mesh(self) -> tuple[np.ndarray, np.ndarray]:
        return np.meshgrid(self.x, self.x, indexing="ij")

    def forward(self, u: np.ndarray) -> np.ndarray:
        return np.fft.rfft2(u, axes=(-2, -1))

    def inverse(self, v: np.ndarray) -> np.ndarray:
        return np.fft.irfft2(v, s=(self.n, self.n), axes=(-2, -1))


def _step(v: np.ndarray, t: float, h: float, coef: tuple, nonlinear: Nonlinear) -> np.ndarray:
    """One non-autonomous ETDRK4 step of v_t = L·v + N(v, t) from t to t + h."""
    e, e2, q, f1, f2, f3 = coef
    nv = nonlinear(v, t)
    a = e2 * v + q * nv
    na = nonlinear(a, t + h / 2)
    b = e2 * v + q * na
    nb = nonlinear(b, t + h / 2)
    c = e2 * a + q * (2 * nb - nv)
    nc = nonlinear(c, t + h)
    return e * v + nv * f1 + 2 * (na + nb) * f2 + nc * f3


@dataclasses.dataclass(frozen=True)
class Solve:
    """A time-stepping solve: the grid, the equation, the step and the stored times, which are
    step times (every ``per``-th)."""

    grid: Grid
    linear: np.ndarray  # (F, N, N//2 + 1) real
    nonlinear: Nonlinear
    v0: np.ndarray  # the state at t = 0
    t_end: float
    steps: int  # steps over [0, t_end]

    @property
    def h(self) -> float:
        return self.t_end / self.steps


def march(s: Solve, times: np.ndarray, visit: Callable[[int, np.ndarray], None],
          bases: dict[int, np.ndarray] | None = None) -> None:
    """Step from 0 to the last requested time with the solve's steps; for each requested time
    (any order, each >= 0) call ``visit(index, state)`` with the state there: the step state
    itself on a step time, else one partial ETDRK4 step from the step time before it.

    ``bases`` (step index -> step state) is read first and filled with the step states this
    march branched from, so a second march near the same times needs no stepping."""
    times = np.asarray(times, np.float64)
    h = s.h
    # Index of the step time at or before each time (a time within rounding of a step time is
    # that step time).
    base = np.clip(np.floor(times / h + 1e-9).astype(int), 0, s.steps)
    gap = times - base * h
    gap[np.abs(gap) < 1e-12 * max(1.0, s.t_end)] = 0.0
    order = np.argsort(base, kind="stable")
    bases = {} if bases is None else bases
    coef = etdrk4_coefficients_phi(s.linear, h)
    v, j = np.asarray(s.v0, complex), 0
    for i in order:
        b = int(base[i])
        if b in bases:
            start = bases[b]
        else:
            # Times come in increasing order of b, so j <= b: start from the latest step state
            # known before b when it is ahead of the march.
            known = max([k for k in bases if j < k < b], default=None)
            if known is not None:
                j, v = known, bases[known]
            while j < b:
                v = _step(v, j * h, h, coef, s.nonlinear)
                j += 1
            bases[b] = start = v
        if gap[i] == 0.0:
            visit(int(i), start)
        else:
            partial = etdrk4_coefficients_phi(s.linear, gap[i])
            visit(int(i), _step(start, b * h, gap[i], partial, s.nonlinear))


class Evaluator:
    """Values of a solve at arbitrary points, remembering the step states it branched from and
    the states at the last set of times asked for: finite differences ask for the same times
    at many shifted points (a spatial stencil), and for times a few 1e-3 apart (a time stencil),
    which share their step states."""

    def __init__(self, solve: Solve, max_bases: int = 128) -> None:
        self.solve = solve
        self.max_bases = max_bases
        self._bases: dict[int, np.ndarray] = {}
        self._last: tuple[bytes, np.ndarray] | None = None

    def states(self, ts: np.ndarray) -> np.ndarray:
        key = ts.tobytes()
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        if len(self._bases) > self.max_bases:
            self._bases.clear()
        out = np.empty((len(ts), *np.shape(self.solve.v0)), complex)

        def keep(i: int, v: np.ndarray) -> None:
            out[i] = v

        march(self.solve, ts, keep, self._bases)
        self._last = (key, out)
        return out

    def __call__(self, x: np.ndarray, y: np.ndarray, t: np.ndarray) -> np.ndarray:
        """All fields at points (x, y, t), (M, F)."""
        x, y, t = (np.asarray(a, np.float64).ravel() for a in (x, y, t))
        ts, inverse = np.unique(t, return_inverse=True)
        states = self.states(ts)
        out = np.empty((x.size, np.shape(self.solve.v0)[0]))
        for k in range(len(ts)):
            idx = np.flatnonzero(inverse == k)
            out[idx] = interpolate(states[k], self.solve.grid, x[idx], y[idx]).T
        return out


def states_at(s: Solve, times: np.ndarray) -> np.ndarray:
    """States at the given times, (len(times), F, N, N//2 + 1)."""
    out = np.empty((len(times), *np.shape(s.v0)), complex)

    def keep(i: int, v: np.ndarray) -> None:
        out[i] = v

    march(s, times, keep)
    return out


def interpolate(v: np.ndarray, grid: Grid, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The Fourier interpolant of one state (F, N, N//2 + 1) at points (x, y): (F, M).

    Sums over the full spectrum in x and the half spectrum in y (interior y modes count twice,
    the mean and Nyquist columns once), so it is real and reproduces the grid values exactly."""
    n = grid.n
    dx = np.asarray(x, np.float64) - grid.lower
    dy = np.asarray(y, np.float64) - grid.lower
    ex = np.exp(1j * grid.kx[:, 0][None, :] * dx[:, None])  # (M, N)
    ex[:, n // 2] = np.cos(grid.kx[n // 2, 0] * dx)  # the Nyquist row as a cosine
    ey = np.exp(1j * grid.ky[0][None, :] * dy[:, None])  # (M, N//2 + 1)
    weight = np.full(grid.ky.shape[1], 2.0)
    weight[0] = 1.0
    weight[-1] = 1.0
    ey[:, -1] = np.cos(grid.ky[0, -1] * dy)
    rows = np.einsum("mk,fkl->fml", ex, v)  # (F, M, N//2 + 1)
    return np.real(np.einsum("fml,ml->fm", rows, ey * weight)) / n**2


def stored(s: Solve, every: int, stride: int) -> np.ndarray:
    """Grid values at every ``every``-th step time (0 included), subsampled by ``stride`` in
    both directions: (T, F, N/stride, N/stride)."""
    count = s.steps // every + 1
    times = np.arange(count) * every * s.h
    out = np.empty((count, np.shape(s.v0)[0], s.grid.n // stride, s.grid.n // stride))

    def keep(i: int, v: np.ndarray) -> None:
        out[i] = s.grid.inverse(v)[:, ::stride, ::stride]

    march(s, times, keep)
    return out
