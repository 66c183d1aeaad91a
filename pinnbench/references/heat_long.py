"""PINNacle's Heat2D_LongTime on [0, 1]² with u = 0 on the sides: a sine series in space,
ETDRK4 in time.

    u_t = α·Δu + A·sin(k·u²)·(1 + 2·sin(πt/4))·sin(m1πx)·sin(m2πy),
    u(x, y, 0) = sin(4πx)·sin(3πy).

The source is odd in x and in y whenever u is (sin(k·u²) is even in u, the sines are odd), and
so are the data, so the solution continued oddly to [-1, 1]² and periodically beyond solves the
periodic problem; its Fourier series is a sine series, zero on the sides. The state is the 2D
type-I discrete sine transform (``scipy.fft.dstn``) of the values at the interior nodes
(i/n, j/n), 0 < i, j < n: the pseudo-spectral method of the odd extension with 2n modes, at a
quarter of its cost. The stepping is :mod:`pinnbench.references.spectral2d`'s (its march and
ETDRK4 step only need a diagonal linear part and a nonlinear function of the state): the
diffusion -α·π²(p² + q²) is the linear part, the whole source the nonlinear one.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import fft

from pinnbench.references import spectral2d

SOLVER_VERSION = "heat_long-dst-etdrk4-1"
IC_X, IC_Y = 4, 3  # PINNacle's initial data sin(4πx)·sin(3πy)


@dataclasses.dataclass(frozen=True)
class Coefficients:
    alpha: float = 1e-3
    amplitude: float = 5.0
    k: float = 1.0
    m1: int = 4
    m2: int = 2


def initial(x, y, xp=np):
    """PINNacle's initial data (numpy or jax.numpy as ``xp``)."""
    return xp.sin(IC_X * math.pi * x) * xp.sin(IC_Y * math.pi * y)


def forcing_in_time(t, xp=np):
    return 1.0 + 2.0 * xp.sin(math.pi * t / 4.0)


def source(c: Coefficients, u, x, y, t, xp=np):
    """The reaction term: A·sin(k·u²)·(1 + 2 sin(πt/4))·sin(m1πx)·sin(m2πy)."""
    return (c.amplitude * xp.sin(c.k * u * u) * forcing_in_time(t, xp)
            * xp.sin(c.m1 * math.pi * x) * xp.sin(c.m2 * math.pi * y))


@dataclasses.dataclass(frozen=True)
class SineGrid:
    """n intervals per side of [0, 1]; the state lives on the (n - 1)² interior nodes."""

    n: int

    @property
    def x(self) -> np.ndarray:
        return np.arange(1, self.n) / self.n

    @property
    def modes(self) -> np.ndarray:
        return np.arange(1, self.n)

    def forward(self, u: np.ndarray) -> np.ndarray:
        return fft.dstn(u, type=1, axes=(-2, -1))

    def inverse(self, v: np.ndarray) -> np.ndarray:
        return fft.idstn(v, type=1, axes=(-2, -1))

    def nodes(self, v: np.ndarray) -> np.ndarray:
        """Values at all (n + 1)² nodes of [0, 1]², the sides (zero) included."""
        return np.pad(self.inverse(v), [(0, 0)] * (v.ndim - 2) + [(1, 1), (1, 1)])

    def interpolate(self, v: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The sine series of one state (F, n-1, n-1) at points (x, y): (F, M). DST-I of values
        given by Σ b_pq sin(pπx) sin(qπy) is n²·b_pq, hence the division."""
        sx = np.sin(math.pi * np.outer(x, self.modes))
        sy = np.sin(math.pi * np.outer(y, self.modes))
        return np.einsum("mp,fpq,mq->fm", sx, np.real(v), sy) / self.n**2


def setup(c: Coefficients, n: int, t_end: float, steps: int) -> spectral2d.Solve:
    """The solve with n intervals per side and ``steps`` equal steps over [0, t_end]."""
    grid = SineGrid(n)
    p = grid.modes
    linear = (-c.alpha * math.pi**2 * (p[:, None] ** 2 + p[None, :] ** 2))[None].astype(float)
    xx, yy = np.meshgrid(grid.x, grid.x, indexing="ij")
    shape = (c.amplitude * np.sin(c.m1 * math.pi * xx) * np.sin(c.m2 * math.pi * yy))[None]

    def nonlinear(w: np.ndarray, t: float) -> np.ndarray:
        u = grid.inverse(np.real(w))
        return grid.forward(np.sin(c.k * u * u) * shape * forcing_in_time(t))

    v0 = grid.forward(initial(xx, yy)[None])
    return spectral2d.Solve(grid, linear, nonlinear, v0, t_end, steps)  # type: ignore[arg-type]


def stored(s: spectral2d.Solve, every: int, stride: int) -> np.ndarray:
    """Node values at every ``every``-th step time (0 included), every ``stride``-th node of
    [0, 1] (both ends included): (T, 1, n/stride + 1, n/stride + 1)."""
    count = s.steps // every + 1
    side = s.grid.n // stride + 1
    out = np.empty((count, 1, side, side))

    def keep(i: int, v: np.ndarray) -> None:
        out[i] = s.grid.nodes(np.real(v))[:, ::stride, ::stride]

    spectral2d.march(s, np.arange(count) * every * s.h, keep)
    return out


class Evaluator(spectral2d.Evaluator):
    """spectral2d's evaluator (shared step states per time) with the sine series in space."""

    def __call__(self, x: np.ndarray, y: np.ndarray, t: np.ndarray) -> np.ndarray:
        x, y, t = (np.asarray(a, np.float64).ravel() for a in (x, y, t))
        ts, inverse = np.unique(t, return_inverse=True)
        states = self.states(ts)
        out = np.empty((x.size, 1))
        for k in range(len(ts)):
            idx = np.flatnonzero(inverse == k)
            out[idx] = self.solve.grid.interpolate(states[k], x[idx], y[idx]).T
        return out
