"""Allen-Cahn u_t = eps·u_xx + 5u - 5u³ on [-1, 1), periodic: Fourier pseudo-spectral in space,
ETDRK4 in time (:mod:`pinnbench.references.etdrk4`, coefficients by contour integrals).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from pinnbench.references import etdrk4
from pinnbench.references.etdrk4 import (  # noqa: F401 - part of this module's interface
    etdrk4_coefficients,
    etdrk4_coefficients_phi,
)

SOLVER_VERSION = "allen_cahn-etdrk4-1"


@dataclasses.dataclass(frozen=True)
class Spectral:
    """Fourier spectra of the solution at stored times: enough to evaluate it anywhere."""

    t: np.ndarray  # (T,)
    spectra: np.ndarray  # (T, N) complex, FFT of the grid values
    eps: float
    dt: float

    @property
    def n(self) -> int:
        return self.spectra.shape[1]

    @property
    def x(self) -> np.ndarray:
        return -1.0 + 2.0 * np.arange(self.n) / self.n

    def grid_values(self) -> np.ndarray:
        """(T, N) values on the grid x = -1 + 2j/N."""
        return np.real(np.fft.ifft(self.spectra, axis=1))


def wavenumbers(n: int) -> np.ndarray:
    return math.pi * np.fft.fftfreq(n, d=1.0 / n)  # period 2


def _linear(n: int, eps: float) -> np.ndarray:
    return -eps * wavenumbers(n) ** 2 + 5.0


def _nonlinear(v: np.ndarray) -> np.ndarray:
    u = np.real(np.fft.ifft(v, axis=-1))
    return -5.0 * np.fft.fft(u**3, axis=-1)


def initial(x: np.ndarray) -> np.ndarray:
    return x**2 * np.cos(math.pi * x)


def solve(n: int = 512, times: int = 201, t_end: float = 1.0, eps: float = 1e-4,
          dt: float = 2.5e-4) -> Spectral:
    """Spectra at ``times`` equispaced times in [0, t_end], stepping with (at most) ``dt``."""
    x = -1.0 + 2.0 * np.arange(n) / n
    t = np.linspace(0.0, t_end, times)
    spectra, h = etdrk4.integrate(np.fft.fft(initial(x)), _linear(n, eps), _nonlinear, t, dt)
    return Spectral(t, spectra, eps, h)


def evaluate(sol: Spectral, x: np.ndarray, t: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """u at arbitrary (x, t): integrate from the last stored time before t to t exactly (same
    ETDRK4, several steps of at most the solve's dt), then sum the Fourier series at x (spectral
    interpolation)."""
    x = np.asarray(x, np.float64).ravel()
    t = np.asarray(t, np.float64).ravel()
    ts, inverse = np.unique(t, return_inverse=True)
    v = etdrk4.advance(sol.t, sol.spectra, sol.dt, _linear(sol.n, sol.eps), _nonlinear, ts)
    k = wavenumbers(sol.n)
    out = np.empty_like(x)
    for s in range(0, x.size, chunk):
        # The grid starts at x = -1.
        out[s:s + chunk] = etdrk4.fourier_interpolate(v[inverse[s:s + chunk]], k,
                                                      x[s:s + chunk] + 1.0)
    return out
