"""The wave equation u_tt = c(x, y) Δu on [-1, 1]² with ∂u/∂n = 0 on the sides, and the seeded
coefficient field c of the ``wave_hetero`` problem.

Coefficient: c = exp(log(contrast)·g) with g a Gaussian random field on [-1, 1]² written as a
finite cosine series,

    g(x, y) = Σ_{k, l < modes, (k, l) ≠ 0} a_kl cos(kπ(x + 1)/2) cos(lπ(y + 1)/2),
    a_kl ~ N(0, (π²(k² + l²) + τ²)^(-α)),

drawn from ``numpy.random.default_rng(seed)`` and shifted and scaled so that g spans [-½, ½] on a
129² node grid: c then spans [contrast^(-½), contrast^(½)] there (a factor ``contrast`` over the
domain). Every term has zero normal derivative on the sides, and c is a closed form (numpy or
jax.numpy), so a network's residual reads it exactly. This is pinnbench's own field, not the data
file of PINNacle's Wave2D_Heterogeneous (not available here).

Solver: second-order central differences on the (n + 1)² nodes of spacing h = 2/n, the Neumann
condition by mirror ghost nodes (u_{-1} = u_1), Störmer-Verlet (leapfrog) in time with the first
step u¹ = u⁰ + ½dt²·cΔ_h u⁰ (second order for u_t(0) = 0), dt = CFL·h/√(2 max c) with CFL ≤ 0.8
and a whole number of steps between stored times.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

SOLVER_VERSION = "1"
CFL = 0.8


@functools.lru_cache(maxsize=32)
def field_coefficients(seed: int, modes: int, alpha: float, tau: float) -> np.ndarray:
    """The cosine coefficients (modes × modes) of g, normalised to span [-½, ½] on 129² nodes."""
    k = np.arange(modes)
    kk, ll = np.meshgrid(k, k, indexing="ij")
    var = (math.pi**2 * (kk**2 + ll**2) + tau**2) ** (-alpha)
    a = np.random.default_rng(seed).standard_normal((modes, modes)) * np.sqrt(var)
    a[0, 0] = 0.0
    s = np.linspace(-1.0, 1.0, 129)
    basis = np.cos(np.outer(s + 1.0, k) * math.pi / 2)  # (129, modes)
    g = basis @ a @ basis.T
    lo, hi = float(g.min()), float(g.max())
    a = a / (hi - lo)
    a[0, 0] = -0.5 - lo / (hi - lo)
    a.setflags(write=False)
    return a


def field(coef: np.ndarray, x, y, xp=np):
    """g at points (x, y), arrays of one shape (numpy or jax.numpy by ``xp``)."""
    k = np.arange(coef.shape[0]) * (math.pi / 2)
    shape = x.shape
    cx = xp.cos((xp.reshape(x, (-1, 1)) + 1.0) * k)
    cy = xp.cos((xp.reshape(y, (-1, 1)) + 1.0) * k)
    return xp.reshape(xp.sum((cx @ coef) * cy, axis=1), shape)


def coefficient(coef: np.ndarray, contrast: float, x, y, xp=np):
    """c = contrast^g at points (x, y)."""
    return xp.exp(math.log(contrast) * field(coef, x, y, xp))


def gaussian_pulse(x, y, mu=(-0.5, 0.0), sigma=0.3, images=False, xp=np):
    """PINNacle's initial displacement exp(-|(x, y) - μ|² / (2σ²)); with ``images`` plus its
    mirror images across the four sides (the pulse's even 4-periodic extension, truncated where
    the terms fall below 1e-30 on the square), which has ∂u/∂n = 0 on the sides."""
    if not images:
        return xp.exp(-((x - mu[0]) ** 2 + (y - mu[1]) ** 2) / (2 * sigma**2))

    def centres(m):
        return [c + 4 * j for j in (-2, -1, 0, 1, 2) for c in (m, -2.0 - m)]

    gx = sum(xp.exp(-((x - a) ** 2) / (2 * sigma**2)) for a in centres(mu[0]))
    gy = sum(xp.exp(-((y - b) ** 2) / (2 * sigma**2)) for b in centres(mu[1]))
    return gx * gy


def _laplacian(u: np.ndarray, h: float) -> np.ndarray:
    """5-point Laplacian with mirror ghost nodes (∂u/∂n = 0) on all four sides."""
    p = np.pad(u, 1, mode="reflect")  # reflect: ghost u_{-1} = u_1 (the face node not repeated)
    return (p[2:, 1:-1] + p[:-2, 1:-1] + p[1:-1, 2:] + p[1:-1, :-2] - 4 * u) / (h * h)


def leapfrog(c: np.ndarray, u0: np.ndarray, h: float, t_end: float, times: int,
             cfl: float = CFL) -> tuple[np.ndarray, np.ndarray, float]:
    """u on the nodes at ``times`` equally spaced times on [0, t_end], (times, n + 1, n + 1),
    from u(0) = u0, u_t(0) = 0; also the times and the step."""
    dt_max = cfl * h / math.sqrt(2 * float(np.max(c)))
    interval = t_end / (times - 1)
    per = max(1, math.ceil(interval / dt_max - 1e-12))
    dt = interval / per
    k = c * dt * dt
    out = np.empty((times, *u0.shape))
    out[0] = u0
    prev = u0
    cur = u0 + 0.5 * k * _laplacian(u0, h)
    step = 1
    for j in range(1, times):
        while step < j * per:
            prev, cur = cur, 2 * cur - prev + k * _laplacian(cur, h)
            step += 1
        out[j] = cur
    return out, np.linspace(0.0, t_end, times), dt


def solve(n: int, t_end: float, times: int, stride: int,
          c_fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
          u0_fn: Callable[[np.ndarray, np.ndarray], np.ndarray] = gaussian_pulse,
          cfl: float = CFL) -> dict[str, np.ndarray]:
    """Solve on n × n cells of [-1, 1]², store every ``stride``-th node at ``times`` times."""
    s = np.linspace(-1.0, 1.0, n + 1)
    x, y = np.meshgrid(s, s, indexing="ij")
    u, t, _ = leapfrog(c_fn(x, y), u0_fn(x, y), 2.0 / n, t_end, times, cfl)
    # stored as (x, y, t)
    return {"x": s[::stride], "y": s[::stride], "t": t,
            "u": np.ascontiguousarray(np.moveaxis(u[:, ::stride, ::stride], 0, -1))}


def refinement(grids: tuple[int, ...], images: bool = False, t_end: float = 5.0,
               times: int = 51) -> dict[str, list[float]]:
    """Differences of u between successive grids (each a multiple of 64) on the 65 × 65 common
    nodes at ``times`` times: max and rms, with the observed orders (default field: seed 0,
    contrast 4, α = 3, τ = 3, 8 modes)."""
    import time

    coef = field_coefficients(0, 8, 3.0, 3.0)
    runs, seconds = [], []
    for n in grids:
        t0 = time.perf_counter()
        runs.append(solve(n, t_end, times, n // 64, lambda x, y: coefficient(coef, 4.0, x, y),
                          lambda x, y: gaussian_pulse(x, y, images=images))["u"])
        seconds.append(time.perf_counter() - t0)
    pairs = list(zip(runs, runs[1:], strict=False))
    big = [float(np.max(np.abs(a - b))) for a, b in pairs]
    rms = [float(np.sqrt(np.mean((a - b) ** 2))) for a, b in pairs]
    return {"grids": list(grids), "seconds": seconds, "max": big, "rms": rms,
            "order_max": [math.log2(a / b) for a, b in zip(big, big[1:], strict=False)],
            "order_rms": [math.log2(a / b) for a, b in zip(rms, rms[1:], strict=False)],
            "rms_u": float(np.sqrt(np.mean(runs[-1] ** 2)))}


if __name__ == "__main__":  # the study quoted in docs/problems.md
    import json
    import sys

    args = [a for a in sys.argv[1:] if a != "--images"]
    print(json.dumps(refinement(tuple(int(a) for a in args) or (128, 256, 512),
                                images="--images" in sys.argv), indent=1))
