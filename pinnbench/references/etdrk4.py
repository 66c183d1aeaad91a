"""Exponential time differencing, fourth order (ETDRK4; Cox & Matthews 2002), for semilinear
equations written in Fourier space, v_t = L·v + N(v) with L diagonal: every Fourier-spectral
reference here (Allen-Cahn, Kuramoto-Sivashinsky, Gray-Scott) is one such L and N.

The coefficients are evaluated by contour integrals (Kassam & Trefethen 2005, SIAM J. Sci.
Comput. 26:1214), which avoids the cancellation of the closed forms for small L·h, or, for real L,
through phi-functions with Taylor series near zero (cheap enough to form for many step sizes at
once, which evaluation at arbitrary times needs).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

Nonlinear = Callable[[np.ndarray], np.ndarray]


def etdrk4_coefficients(lin: np.ndarray, h: np.ndarray | float, contour: int = 64):
    """E, E2, Q, f1, f2, f3 for step(s) h; ``h`` may be an array of shape (B, 1) for B different
    step sizes at once."""
    lh = lin * h
    r = np.exp(1j * math.pi * (np.arange(1, contour + 1) - 0.5) / contour)
    lr = lh[..., None] + r
    e = np.exp(lr)
    q = h * np.real(np.mean((np.exp(lr / 2) - 1) / lr, axis=-1))
    f1 = h * np.real(np.mean((-4 - lr + e * (4 - 3 * lr + lr**2)) / lr**3, axis=-1))
    f2 = h * np.real(np.mean((2 + lr + e * (lr - 2)) / lr**3, axis=-1))
    f3 = h * np.real(np.mean((-4 - 3 * lr - lr**2 + e * (4 - lr)) / lr**3, axis=-1))
    return np.exp(lh), np.exp(lh / 2), q, f1, f2, f3


def _phi(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """phi_1..3(z) = sum_k z^k / (k + j)! for real z: Taylor series where |z| < 1 (where the closed
    forms cancel), closed forms elsewhere."""
    small = np.abs(z) < 1.0
    zs = np.where(small, z, 0.0)
    series = []
    for j in (1, 2, 3):
        total, term = np.zeros_like(zs), np.full_like(zs, 1.0 / math.factorial(j))
        for k in range(1, 22):
            total = total + term
            term = term * zs / (k + j)
        series.append(total)
    zb = np.where(small, 1.0, z)
    ez = np.exp(zb)
    closed = [(ez - 1) / zb, (ez - 1 - zb) / zb**2, (ez - 1 - zb - zb**2 / 2) / zb**3]
    return tuple(np.where(small, a, b) for a, b in zip(series, closed, strict=True))


def etdrk4_coefficients_phi(lin: np.ndarray, h: np.ndarray | float):
    """The same coefficients as :func:`etdrk4_coefficients` through phi-functions for real L:
    f1 = h(phi1 - 3 phi2 + 4 phi3), f2 = h(phi2 - 2 phi3), f3 = h(4 phi3 - phi2),
    Q = h/2 phi1(z/2). No contour, so cheap enough to form for every requested time."""
    z = lin * h
    p1, p2, p3 = _phi(z)
    q = h / 2 * _phi(z / 2)[0]
    return (np.exp(z), np.exp(z / 2), q, h * (p1 - 3 * p2 + 4 * p3), h * (p2 - 2 * p3),
            h * (4 * p3 - p2))


def step(v: np.ndarray, coef: tuple, nonlinear: Nonlinear) -> np.ndarray:
    """One ETDRK4 step of v_t = L·v + N(v) (coefficients of L and the step from the above)."""
    e, e2, q, f1, f2, f3 = coef
    nv = nonlinear(v)
    a = e2 * v + q * nv
    na = nonlinear(a)
    b = e2 * v + q * na
    nb = nonlinear(b)
    c = e2 * a + q * (2 * nb - nv)
    nc = nonlinear(c)
    return e * v + nv * f1 + 2 * (na + nb) * f2 + nc * f3


def steps_between(t: np.ndarray, dt: float) -> int:
    """Steps per stored interval: the fewest that keep the step at most ``dt``."""
    return max(1, math.ceil((t[1] - t[0]) / dt - 1e-9))


def integrate(v0: np.ndarray, lin: np.ndarray, nonlinear: Nonlinear, t: np.ndarray,
              dt: float) -> tuple[np.ndarray, float]:
    """States at the equispaced times ``t`` (t[0] is v0's time), stepping with (at most) ``dt``:
    (len(t), *v0.shape) and the step used."""
    per = steps_between(t, dt)
    h = (t[1] - t[0]) / per
    coef = etdrk4_coefficients(lin, h)
    v = np.asarray(v0, complex)
    out = np.empty((len(t), *v.shape), complex)
    out[0] = v
    for k in range(1, len(t)):
        for _ in range(per):
            v = step(v, coef, nonlinear)
        out[k] = v
    return out, h


def advance(t_stored: np.ndarray, spectra: np.ndarray, dt: float, lin: np.ndarray,
            nonlinear: Nonlinear, t: np.ndarray) -> np.ndarray:
    """States at arbitrary times t (unique values), each integrated exactly from the last stored
    time before it with steps of at most ``dt`` (one batch of states, one step size each): (len(t),
    *state shape)."""
    k0 = np.clip(np.searchsorted(t_stored, t, side="right") - 1, 0, len(t_stored) - 1)
    gap = t - t_stored[k0]
    per = steps_between(t_stored, dt)
    v = spectra[k0].copy()
    moving = gap > 0
    if moving.any():
        h = (gap[moving] / per).reshape((-1,) + (1,) * (v.ndim - 1))
        coef = etdrk4_coefficients_phi(lin, h)
        w = v[moving]
        for _ in range(per):
            w = step(w, coef, nonlinear)
        v[moving] = w
    return v


def fourier_interpolate(coeffs: np.ndarray, k: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Sum of the 1D Fourier series with coefficients ``coeffs`` (M, N) (numpy's FFT of the grid
    values), wavenumbers ``k``, at distances ``offset`` (M,) from the grid's first point. The
    Nyquist mode enters as a cosine, so the interpolant of real data is real."""
    n = coeffs.shape[-1]
    nyq = n // 2
    terms = coeffs * np.exp(1j * k[None, :] * offset[:, None])
    terms[:, nyq] = coeffs[:, nyq] * np.cos(k[nyq] * offset)
    return np.real(np.sum(terms, axis=1)) / n
