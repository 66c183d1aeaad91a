"""Lid-driven cavity reference against Ghia, Ghia & Shin (1982), J. Comput. Phys. 48:387-411,
Tables I and II (Re = 100), and its own convergence order."""

import numpy as np

from pinnbench.problems.navier_stokes import LidCavity
from pinnbench.references import cavity

from .helpers import smoke_train

# Table I: u along the vertical centre line x = 0.5.
GHIA_Y = [1.0000, 0.9766, 0.9688, 0.9609, 0.9531, 0.8516, 0.7344, 0.6172, 0.5000, 0.4531, 0.2813,
          0.1719, 0.1016, 0.0703, 0.0625, 0.0547, 0.0000]
GHIA_U = [1.00000, 0.84123, 0.78871, 0.73722, 0.68717, 0.23151, 0.00332, -0.13641, -0.20581,
          -0.21090, -0.15662, -0.10150, -0.06434, -0.04775, -0.04192, -0.03717, 0.00000]
# Table II: v along the horizontal centre line y = 0.5.
GHIA_X = [1.0000, 0.9688, 0.9609, 0.9531, 0.9453, 0.9063, 0.8594, 0.8047, 0.5000, 0.2344, 0.2266,
          0.1563, 0.0938, 0.0781, 0.0703, 0.0625, 0.0000]
GHIA_V = [0.00000, -0.05906, -0.07391, -0.08864, -0.10313, -0.16914, -0.22445, -0.24533, 0.05454,
          0.17527, 0.17507, 0.16077, 0.12317, 0.10890, 0.10091, 0.09233, 0.00000]


def test_centre_lines_match_ghia_within_one_percent_of_lid_speed():
    problem = LidCavity()
    u = problem.reference(np.array([[0.5, y] for y in GHIA_Y]))[:, 0]
    v = problem.reference(np.array([[x, 0.5] for x in GHIA_X]))[:, 1]
    assert np.max(np.abs(u - GHIA_U)) < 0.01
    assert np.max(np.abs(v - GHIA_V)) < 0.01


def test_second_order_convergence():
    # Centre-line extrema on 32, 64, 128 cells: successive differences shrink ~4x.
    ext = []
    for n in (32, 64, 128):
        f = cavity.fields(n, 100.0)
        ext.append(np.array([f["u"][n // 2].min(), f["v"][:, n // 2].min(),
                             f["v"][:, n // 2].max()]))
    ratio = np.abs(ext[0] - ext[1]) / np.abs(ext[1] - ext[2])
    assert np.all((ratio > 3.0) & (ratio < 5.5)), ratio


def test_boundary_values_and_gauge():
    problem = LidCavity()
    pts = problem.eval_points()
    ref = problem.reference(pts).reshape(101, 101, 3)
    u, v = ref[..., 0], ref[..., 1]
    assert np.all(u[:, -1] == 1.0) and np.all(u[:, 0] == 0) and np.all(v[0] == 0)
    assert abs(problem.reference(np.array([[0.5, 0.5]]))[0, 2]) < 1e-12


def test_smoke_train():
    result = smoke_train({"type": "lid_cavity"})
    assert result.row["status"] == "ok"
    assert all(np.isfinite(result.row[f"rel_l2.{k}"]) for k in "uvp")
