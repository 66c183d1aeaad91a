"""Convergence of the Kuramoto-Sivashinsky reference (``kuramoto_sivashinsky1d``): time step,
number of Fourier modes, and how fast the chaotic dynamics amplify a small perturbation, on the
problem's own setting (t in [0, 1], evaluation grid 512 x 201).

Every error is the maximum over the evaluation grid within a time window, against a finer solve
(the time-step study at 512 modes against dt_min / 2; the modes study at the default dt against
2048 modes). The perturbation study adds 1e-10·cos(3x) to the initial data: the growth factor
over each window says how much of an error made early (rounding, the time step) is magnified by
the time it is measured, i.e. how far in time the reference can be trusted.

    python benchmarks/ks_reference.py            # Markdown tables, a few minutes on one core
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from pinnbench.problems.kuramoto_sivashinsky import DT, GRID, KuramotoSivashinsky1D
from pinnbench.references import etdrk4
from pinnbench.references import kuramoto_sivashinsky as ks

WINDOWS = ((0.0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0))
TIMES = 201


def on_grid(n: int, dt: float, bump: float = 0.0) -> np.ndarray:
    """(201, 512) values on the evaluation grid from an n-mode solve with steps of at most dt."""
    c = KuramotoSivashinsky1D().coefficients
    x = ks.PERIOD * np.arange(n) / n
    v0 = np.fft.fft(ks.initial(x) + bump * np.cos(3 * x))
    t = np.linspace(0.0, 1.0, TIMES)
    spectra, _ = etdrk4.integrate(v0, ks.linear(n, c), ks.nonlinear(c, n), t, dt)
    if n < GRID:  # trigonometric interpolation onto the grid: zero-pad, Nyquist mode split
        padded = np.zeros((TIMES, GRID), complex)
        half = n // 2
        padded[:, :half] = spectra[:, :half]
        padded[:, GRID - half + 1:] = spectra[:, half + 1:]
        padded[:, half] = padded[:, GRID - half] = spectra[:, half] / 2
        return np.real(np.fft.ifft(padded, axis=1)) * (GRID / n)
    return np.real(np.fft.ifft(spectra, axis=1))[:, :: n // GRID]


def by_window(err: np.ndarray) -> list[float]:
    t = np.linspace(0.0, 1.0, TIMES)
    return [float(np.max(err[(t >= a) & (t <= b)])) for a, b in WINDOWS]


def row(label: str, values: list[float]) -> str:
    return "| " + label + " | " + " | ".join(f"{v:.1e}" for v in values) + " |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dts", default="4e-4,2e-4,1e-4,5e-5,2.5e-5")
    ap.add_argument("--modes", default="256,512,1024")
    args = ap.parse_args()
    dts = [float(d) for d in args.dts.split(",")]
    start = time.perf_counter()
    header = "| | " + " | ".join(f"t in [{a}, {b}]" for a, b in WINDOWS) + " |"
    rule = "|---" * (len(WINDOWS) + 1) + "|"

    fine = on_grid(512, min(dts) / 2)
    print(f"Time step (512 modes), max error against dt = {min(dts) / 2:g}:\n")
    print(header.replace("| |", "| dt | order |", 1))
    print(rule + "---|")
    previous = None
    for dt in dts:
        err = by_window(np.abs(on_grid(512, dt) - fine))
        order = "" if previous is None else f"{math.log(previous / err[-1]) / math.log(2):.2f}"
        print(f"| {dt:g} | {order} | " + " | ".join(f"{v:.1e}" for v in err) + " |")
        previous = err[-1]

    ref = on_grid(2048, DT)
    print(f"\nModes (dt = {DT:g}), max error against 2048 modes:\n")
    print(header.replace("| |", "| modes |", 1))
    print(rule)
    for n in (int(m) for m in args.modes.split(",")):
        print(row(str(n), by_window(np.abs(on_grid(n, DT) - ref))))

    base = on_grid(512, DT)
    bumped = on_grid(512, DT, bump=1e-10)
    print("\nGrowth of a 1e-10·cos(3x) perturbation of u(x, 0) (512 modes): max |δu| / 1e-10\n")
    print(header)
    print(rule)
    print(row("growth", [g / 1e-10 for g in by_window(np.abs(bumped - base))]))
    print(f"\nmax |u| = {np.max(np.abs(base)):.2f}; {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
