"""NS2D_BackStep (PINNacle's backward-facing step): the Taylor-Hood Newton solver against closed
forms (plane Poiseuille flow exactly, Kovasznay flow at order 3 with data on an outflow), the
point evaluation against scikit-fem's, the problem's geometry and parts, and on the reference
(``cells`` = 16 keeps each test fast; the default's study is in docs/problems.md): mesh
refinement, mass conservation, the constraints by `verify`, and a training smoke run."""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from pinnbench.problems.ns_backstep import NSBackStep, corner_levels
from pinnbench.references import navier_stokes_fem as ns
from pinnbench.references.verify import verify_problem

from .helpers import smoke_train

RE = 40.0
LAM = RE / 2 - math.sqrt(RE**2 / 4 + 4 * math.pi**2)


def kovasznay(x):
    e = np.exp(LAM * x[0])
    y = 2 * math.pi * x[1]
    return np.stack([1 - e * np.cos(y), LAM / (2 * math.pi) * e * np.sin(y), 0.5 * (1 - e * e)])


def kovasznay_dvdx(x):
    return LAM**2 / (2 * math.pi) * np.exp(LAM * x[0]) * np.sin(2 * math.pi * x[1])


def rectangle(cells, box, outlet=None):
    parts = {"walls": lambda m: np.ones(m.shape[1], bool)}
    if outlet is not None:
        parts = {"outlet": lambda m: np.isclose(m[0], outlet), **parts}
    return ns.straight_l_mesh(cells, None, 0, 0.0, box, None, parts)


def test_plane_poiseuille_flow_is_exact():
    """u = 4y(1 - y), v = 0, p = 8ν(2 - x) on [0, 2] × [0, 1] is in P2 × P1: the solve with
    p = 0, ∂v/∂x = 0 at x = 2 reproduces it to rounding, from a coarse mesh."""
    nu = 0.01
    mesh = ns.straight_l_mesh(4, None, 0, 0.0, (0.0, 2.0, 0.0, 1.0), None,
                              {"inlet": lambda m: np.isclose(m[0], 0.0),
                               "outlet": lambda m: np.isclose(m[0], 2.0),
                               "walls": lambda m: np.ones(m.shape[1], bool)})
    sol = ns.solve(mesh, nu, {"inlet": lambda x: np.stack([4 * x[1] * (1 - x[1]), 0 * x[1]]),
                              "walls": lambda x: 0 * x},
                   {"outlet": (lambda x: 0 * x[0], lambda x: 0 * x[0])})
    err = ns.l2_errors(mesh, sol, lambda x: np.stack([4 * x[1] * (1 - x[1]), 0 * x[1],
                                                      8 * nu * (2 - x[0])]))
    assert err["velocity"] < 1e-12 and err["p"] < 1e-12, err      # measured 1.5e-14, 1.3e-14
    assert sol["residual"] < 1e-12


def test_kovasznay_flow_converges_at_order_three():
    """Kovasznay flow (Re = 40) on [-0.5, 1] × [-0.5, 1.5] with its velocity on three sides and
    an outflow x = 1 carrying its p and ∂v/∂x (the form the backstep uses, with data): velocity
    L2 errors fall at order 3 (P2), pressure at order 2 (P1); Newton from Stokes converges."""
    errors = []
    for cells in (4, 8, 16):
        mesh = rectangle(cells, (-0.5, 1.0, -0.5, 1.5), outlet=1.0)
        sol = ns.solve(mesh, 1 / RE, {"walls": lambda x: kovasznay(x)[:2]},
                       {"outlet": (lambda x: kovasznay(x)[2], kovasznay_dvdx)})
        assert sol["residual"] < 1e-11
        errors.append(ns.l2_errors(mesh, sol, kovasznay))
    vel = [e["velocity"] for e in errors]
    p = [e["p"] for e in errors]
    vel_order = [math.log2(a / b) for a, b in zip(vel, vel[1:], strict=False)]
    p_order = [math.log2(a / b) for a, b in zip(p, p[1:], strict=False)]
    # measured: velocity 2.56e-2, 3.04e-3, 3.80e-4 (orders 3.07, 3.00); p orders 2.60, 2.15
    assert all(2.8 < o < 3.4 for o in vel_order), (vel, vel_order)
    assert all(1.9 < o < 2.9 for o in p_order), (p, p_order)
    assert vel[-1] < 5e-4


def test_closed_domain_pins_the_pressure():
    """Without an outflow the pressure is fixed up to a constant: Kovasznay with velocity on
    every side, the solver's pressure (pinned at one node) minus its mean matches the exact
    one's deviation from its mean."""
    mesh = rectangle(8, (-0.5, 1.0, -0.5, 1.5))
    sol = ns.solve(mesh, 1 / RE, {"walls": lambda x: kovasznay(x)[:2]})
    ev = ns.Evaluator(mesh)
    x = np.random.default_rng(0).uniform([-0.5, -0.5], [1.0, 1.5], (300, 2))
    p = ev({"p": ("p1", sol["p"])}, x)["p"]
    exact = kovasznay(x.T)[2]
    assert np.abs((p - p.mean()) - (exact - exact.mean())).max() < 0.05   # P1, h = 1/8


def test_evaluator_matches_scikit_fem():
    """The barycentric P2 / P1 evaluation (element search and dof layout) against scikit-fem's
    own basis functions, at three random points of every element of a graded mesh (the
    corner's elements are 2^-4 times smaller than the rest)."""
    from skfem import Basis, ElementTriP1, ElementTriP2

    mesh = NSBackStep(cells=16).mesh(8)
    rng = np.random.default_rng(3)
    ref = rng.dirichlet([1, 1, 1], 3)[:, 1:].T              # (2, 3) inside the reference cell
    quadrature = (ref, np.ones(3))
    b2 = Basis(mesh, ElementTriP2(), quadrature=quadrature)
    b1 = Basis(mesh, ElementTriP1(), quadrature=quadrature)
    u2, u1 = rng.standard_normal(b2.N), rng.standard_normal(b1.N)
    x = np.asarray(b2.global_coordinates()).reshape(2, -1).T
    mine = ns.Evaluator(mesh)({"a": ("p2", u2), "b": ("p1", u1)}, x)
    assert np.abs(mine["a"] - np.asarray(b2.interpolate(u2)).ravel()).max() < 1e-10
    assert np.abs(mine["b"] - np.asarray(b1.interpolate(u1)).ravel()).max() < 1e-10
    assert np.hypot(x[:, 0] - 2, x[:, 1] - 1).min() < 5e-3     # elements of side 1/128 there


def test_geometry_parts_and_normals():
    p = NSBackStep(cells=16)
    g = p.geometry
    assert p.lower == (0.0, 0.0) and p.upper == (4.0, 2.0)
    assert set(g.parts()) == {"inlet", "outlet", "walls"}
    for part, length in (("inlet", 1.0), ("outlet", 2.0), ("walls", 9.0)):
        assert abs(g.boundary_measure(part) - length) < 0.05 * length   # Monte Carlo
    x = np.array([[0.0, 0.5], [4.0, 1.5], [1.0, 0.0], [1.0, 1.0], [2.0, 1.5], [3.0, 2.0]])
    for part, rows in (("inlet", [0]), ("outlet", [1]), ("walls", [2, 3, 4, 5])):
        on = np.asarray(g.on_part(jnp.asarray(x), part))
        assert np.array_equal(np.flatnonzero(on), rows), (part, on)
    n = np.asarray(g.normal(jnp.asarray(x)))
    assert np.allclose(n, [[-1, 0], [1, 0], [0, -1], [0, 1], [-1, 0], [0, 1]])
    y = np.asarray(g.sample_boundary(jax.random.PRNGKey(0), 2000, jnp.float64))
    assert np.abs(np.asarray(g.sdf(y, np))).max() < 1e-9
    x = p.eval_points()
    assert not np.any((x[:, 0] == 2) & (x[:, 1] == 1)) and len(x) > 9000
    assert np.all(np.isfinite(p.reference(x)))
    assert np.all(np.isnan(p.reference(np.array([[1.0, 1.5], [4.05, 1.0]]))))


def test_reference_converges_and_conserves_mass():
    """Mesh refinement 4, 8, 16 cells per unit length (corner grading included): the relative
    change of (u, v, p) falls at order > 3; the outflow carries the inflow's 2/3 exactly (the
    constant is a pressure test function) and the flux through the section x = 3 converges to
    it; p = 0 on the outflow."""
    p = NSBackStep(cells=16)
    coarse, fine = p.mesh_refinement()["pde"]
    assert fine < 6e-4 and math.log2(coarse / fine) > 3, (coarse, fine)   # 5.7e-3, 4.4e-4
    from skfem import ElementTriP2, FacetBasis, Functional, asm

    _, arrays = p.solved()
    mesh = ns.mesh_from(arrays)

    @Functional
    def flux(w):
        return w["u"]

    fluxes = {}
    for part in ("inlet", "outlet"):
        fb = FacetBasis(mesh, ElementTriP2(), facets=mesh.boundaries[part], intorder=5)
        fluxes[part] = asm(flux, fb, u=fb.interpolate(arrays["u"]))
    assert abs(fluxes["inlet"] - 2 / 3) < 1e-14 and abs(fluxes["outlet"] - 2 / 3) < 1e-12
    y = np.linspace(0.0, 2.0, 4001)
    u = p.reference(np.c_[np.full_like(y, 3.0), y])[:, 0]
    section = np.sum((u[1:] + u[:-1]) / 2 * np.diff(y))
    assert abs(section - 2 / 3) < 2e-6                 # measured 2.8e-7 (1.5e-8 at 32 cells)
    out = p.reference(np.c_[np.full_like(y, 4.0), y])
    assert np.sqrt(np.mean(out[:, 2] ** 2)) < 1e-4     # measured 4.1e-5
    assert out[:, 0].min() < -0.05                     # the recirculation crosses the outflow


def test_verify_checks_every_constraint():
    """`pinnbench verify` at cells = 16: the PDE by refinement, the Dirichlet data exactly
    (the parabola is in P2), the outflow's p = 0 and ∂v/∂x = 0 (natural conditions) by
    differences of the element polynomials continued past x = 4."""
    checks = {c.name.split()[0]: c for c in verify_problem(NSBackStep(cells=16), n=60, seed=2)}
    assert all(c.ok for c in checks.values()), checks
    assert checks["pde"].order > 2.8
    assert checks["bc_inlet"].fd < 1e-12 and checks["bc_walls"].fd < 1e-12
    assert checks["outlet"].fd < 1e-2                  # measured 7.6e-3 (first order in h)


def test_corner_grading_and_options():
    assert [corner_levels(c) for c in (4, 8, 16, 32)] == [0, 4, 8, 12]
    check = {f.name: f.metadata["check"] for f in dataclasses.fields(NSBackStep)}["cells"]
    assert check(32) and check(16) and check(24)
    assert not (check(18) or check(8) or check(32.0))


def test_smoke_train():
    result = smoke_train({"type": "ns_backstep", "cells": 16})
    assert result.row["status"] == "ok"
    assert all(np.isfinite(result.row[f"rel_l2.{k}"]) for k in "uvp")
