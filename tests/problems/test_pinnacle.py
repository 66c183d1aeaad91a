"""PINNacle's problems: the finite-element reference's convergence order on a manufactured
solution (same mesh generator and solver as the problems), each problem's reference against its
own constraints, boundary conditions on named parts, and bad input."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats
from scipy.stats import qmc
from typer.testing import CliRunner

from pinnbench.cli import app
from pinnbench.derivatives import Field
from pinnbench.geometry import Disk, GeometryError, Rectangle
from pinnbench.problems.geometric import GeometryProblem, constant
from pinnbench.problems.pinnacle import (
    Heat2DComplexGeometry,
    Heat2DMultiscale,
    HeatND,
    Poisson2DClassic,
    PoissonBoltzmann2D,
    PoissonND,
)
from pinnbench.references import fem
from pinnbench.references.verify import verify_problem

from .helpers import ExactModel

DISKS = [(0.3, 0.2, 0.25, "holes"), (-0.4, -0.3, 0.2, "holes")]


def exact(x):
    return np.sin(2 * x[0]) * np.cos(3 * x[1]) + x[0] * x[1] ** 2


def forcing(x, c):
    # -Δ(sin 2x cos 3y + x y²) + c u
    return 13 * np.sin(2 * x[0]) * np.cos(3 * x[1]) - 2 * x[0] + c * exact(x)


def test_p2_converges_at_order_three_on_a_manufactured_solution():
    """-Δu + 4u = f on [-1, 1]² minus two disks, u exact on both parts: L2 error at h, h/2, h/4
    (order ~3 needs the curved isoparametric boundary), and point evaluation at its level."""
    errors = []
    for h in (0.2, 0.1, 0.05):
        mesh = fem.rectangle_minus_disks((-1, -1), (1, 1), DISKS, h)
        u = fem.solve_screened_poisson(mesh, 4.0, lambda x: forcing(x, 4.0),
                                       {"outer": exact, "holes": exact})
        errors.append(fem.l2_error(mesh, u, exact))
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 2.7) & (orders < 3.6)), (errors, orders)
    assert errors[-1] < 4e-5   # measured 1.9e-5
    x = np.random.default_rng(0).uniform(-1, 1, (400, 2))
    geom = (Rectangle((-1, -1), (1, 1)) - Disk((0.3, 0.2), 0.25)) - Disk((-0.4, -0.3), 0.2)
    x = x[np.asarray(geom.contains(x, np))]
    values = fem.evaluate(mesh, u, x)
    assert np.all(np.isfinite(values))
    assert np.max(np.abs(values - exact(x.T))) < 1.5e-4   # measured 6.5e-5


@pytest.mark.parametrize("cls", [Poisson2DClassic, PoissonBoltzmann2D])
def test_fem_references_converge_and_meet_their_boundary_data(cls):
    """verify: mesh refinement 4h -> 2h -> h at order ~3 with a small last difference; the
    Dirichlet data on the square and on the circles by differences of the reference."""
    checks = {c.name.split()[0]: c for c in verify_problem(cls(), n=60, seed=2)}
    assert all(c.ok for c in checks.values()), checks
    pde = checks["pde"]
    assert 2.7 < pde.order < 3.6 and pde.fd < 1e-4, pde
    assert checks["bc_outer"].fd < 1e-12 and checks["bc_holes"].fd < 1e-6


def test_heat_complex_reference_converges_and_starts_at_zero():
    """Space and time refined together (P2, BDF2): order ~2.8, last change 5.7e-4; u = 0 at
    t = 0; values between the stored times (Hermite) join the stored ones; u stays within the
    data's range [0, 5] (maximum principle for the Robin problem)."""
    p = Heat2DComplexGeometry()
    checks = {c.name.split()[0]: c for c in verify_problem(p, n=40, seed=2)}
    assert all(c.ok for c in checks.values()), checks
    assert 2.3 < checks["pde"].order < 3.6 and checks["pde"].fd < 1e-3
    assert checks["ic"].fd == 0
    x = p.eval_points()
    u = p.reference(x)[:, 0]
    assert np.all(np.isfinite(u)) and u.min() >= -1e-6 and u.max() <= 5
    later = x[:, 2] > 0      # at t = 0 the boundary layer grows like sqrt(t): no continuity
    near = x[later] - [0, 0, 1e-4]
    assert np.max(np.abs(p.reference(near)[:, 0] - u[later])) < 5e-3


def test_classic_reference_is_harmonic_in_the_mean_and_symmetric():
    """Independent of the mesh: the square's symmetries map the solution to itself (the mesh is
    not symmetric), and the mean over a circle inside the domain equals the value at its centre
    (harmonic), to the reference's accuracy."""
    p = Poisson2DClassic()
    rng = np.random.default_rng(1)
    x = np.asarray(p.geometry.sample_interior(jax.random.PRNGKey(3), 300, jnp.float64))
    u = p.reference(x)[:, 0]
    for image in (x[:, ::-1], x * [-1, 1], x * [1, -1]):
        assert np.max(np.abs(p.reference(image)[:, 0] - u)) < 2e-4   # measured 8.6e-5
    angle = rng.uniform(0, 2 * math.pi, 1) + np.linspace(0, 2 * math.pi, 64, endpoint=False)
    circle = 0.12 * np.c_[np.cos(angle), np.sin(angle)]      # around the centre, inside
    mean = p.reference(circle)[:, 0].mean()
    assert abs(mean - p.reference(np.zeros((1, 2)))[0, 0]) < 1e-5
    assert 0 < p.reference(np.zeros((1, 2)))[0, 0] < 1   # maximum principle


@pytest.mark.parametrize("cls", [PoissonND, HeatND, Heat2DMultiscale])
def test_closed_forms_satisfy_their_constraints(cls):
    checks = verify_problem(cls(), n=60, seed=1)
    assert all(c.ok for c in checks), checks
    assert max(c.ad for c in checks) < 1e-12


def test_poisson_nd_in_high_dimension_has_fixed_random_evaluation_points():
    p = PoissonND(dims=50)
    checks = verify_problem(p, n=20, seed=1)
    assert all(c.ok for c in checks) and max(c.ad for c in checks) < 1e-12, checks
    x = p.eval_points()
    assert p.eval_axes() is None and x.shape == (10_000, 50)
    assert np.array_equal(x, p.eval_points()) and x.min() >= 0 and x.max() <= 1
    # Up to d = 10 the evaluation set stays PINNacle's grid.
    assert PoissonND(dims=5).eval_points().shape == (7**5, 5)


def test_heat_nd_in_high_dimension_evaluates_on_uniform_points_of_the_ball():
    d = 50
    p = HeatND(dims=d)
    checks = verify_problem(p, n=20, seed=1)
    assert all(c.ok for c in checks) and max(c.ad for c in checks) < 1e-12, checks
    x = p.eval_points()
    space = np.linalg.norm(x[:, :d], axis=1)
    assert x.shape == (p.eval_count * p.eval_times, d + 1) and space.max() < 1
    assert np.array_equal(x, p.eval_points())
    # Uniform in the ball: |x|^d is uniform on [0, 1] (the box's Halton points kept inside
    # would be none: the ball fills 2e-28 of its box).
    first = space[:p.eval_count] ** d
    assert stats.kstest(first, "uniform").pvalue > 0.01
    # Up to d = 10 the evaluation set stays the box's Halton points kept inside the ball.
    five = HeatND(dims=5).eval_points()[:HeatND().eval_count, :5]
    lo, hi = -np.ones(5), np.ones(5)
    halton = lo + qmc.Halton(5, scramble=False).random(20 * HeatND().eval_count) * (hi - lo)
    assert np.array_equal(five, halton[np.linalg.norm(halton, axis=1) < 1][:len(five)])


def test_heat_nd_neumann_points_lie_on_the_sphere_and_a_wrong_flux_fails():
    p = HeatND()
    x = np.asarray(p.sample("boundary", jax.random.PRNGKey(0), 200, jnp.float64))
    np.testing.assert_allclose(np.linalg.norm(x[:, :5], axis=1), 1.0, atol=1e-12)
    field = Field(ExactModel(p), None, jnp.asarray(x))
    bc = {c.name: c for c in p.constraints()}["bc"]
    assert np.max(np.abs(bc.residual(field))) < 1e-12
    wrong = p.neumann(lambda y: 2 * p.solution(y, jnp)[:, 0])
    assert np.min(np.abs(wrong(field))) > 0.1


class Manufactured(GeometryProblem):
    """u = x² - y + 2 on [0, 2] x [0, 1] minus a disk: Dirichlet on the outer part, and Neumann
    or Robin on the hole, with data from u."""

    def domain(self):
        return Rectangle((0, 0), (2, 1), "outer") - Disk((1.0, 0.5), 0.25, "hole")

    def solution(self, x, xp):
        return (x[:, 0] ** 2 - x[:, 1] + 2)[:, None]

    def grad(self, x):
        return jnp.stack([2 * x[:, 0], -jnp.ones_like(x[:, 0])], axis=1)


def test_dirichlet_neumann_robin_on_named_parts():
    p = Manufactured()
    g = p.geometry
    x = jnp.asarray(p.sample("boundary", jax.random.PRNGKey(1), 4000, jnp.float64))
    field = Field(ExactModel(p), None, x)
    u = p.solution(x, jnp)[:, 0]
    flux = jnp.sum(g.normal(x, "hole") * p.grad(x), axis=1)          # du/dn on the hole
    on_hole = np.asarray(g.on_part(x, "hole"))
    assert 0 < on_hole.mean() < 1
    neumann = p.on_part("hole", p.neumann(lambda y: jnp.sum(g.normal(y, "hole") * p.grad(y),
                                                            axis=1), part="hole"))
    robin = p.on_part("hole", p.robin(2.0, 0.5, lambda y: 2 * p.solution(y, jnp)[:, 0]
                                      + 0.5 * jnp.sum(g.normal(y, "hole") * p.grad(y), axis=1),
                                      part="hole"))
    dirichlet = p.on_part("outer", p.dirichlet(lambda y: p.solution(y, jnp)[:, 0]))
    for r in (neumann, robin, dirichlet):
        assert np.max(np.abs(r(field))) < 1e-12
    # Outward from the domain is towards the hole's centre: du/dn there is -(∇u · radial).
    radial = (x - jnp.asarray([1.0, 0.5])) / 0.25
    np.testing.assert_allclose(np.asarray(flux)[on_hole],
                               -np.sum(np.asarray(radial * p.grad(x)), axis=1)[on_hole],
                               atol=1e-10)
    # A wrong Robin datum is seen on the hole only, scaled so its mean square is the part's.
    off = p.on_part("hole", p.robin(2.0, 0.5, constant(0.0), part="hole"))(field)
    assert np.all(np.asarray(off)[~on_hole] == 0)
    direct = 2 * u + 0.5 * flux
    ms = float(np.mean(np.asarray(direct)[on_hole] ** 2))
    assert float(np.mean(np.asarray(off) ** 2)) == pytest.approx(ms, rel=0.1)


def test_unknown_boundary_part_is_one_line_naming_it():
    p = Manufactured()
    with pytest.raises(GeometryError) as e:
        p.on_part("holes", p.dirichlet(constant(0.0)))
    assert str(e.value) == "no boundary part 'holes'; parts: outer, hole"


def test_bad_geometry_parameters_exit_2_naming_the_key():
    r = CliRunner().invoke(app, ["verify", "poisson2d_classic", "--param", "radius=0.3"])
    assert r.exit_code == 2 and "radius" in r.output and "(0, 0.2)" in r.output, r.output
    assert len(r.output.strip().splitlines()) == 1
    with pytest.raises(GeometryError, match="empty"):
        (Rectangle((0, 0), (1, 1)) - Disk((0.5, 0.5), 1.0)).validate()


def robin_series(length, x, t, terms=200):
    """θ(x, t) on [0, L]: θ_t = θ_xx, θ = 1 at t = 0, ∂θ/∂n = -θ at both ends, as the series of
    its eigenfunctions μ cos μx + sin μx with tan μL = 2μ / (μ² - 1) (roots by bisection)."""
    from scipy.optimize import brentq

    def f(m):
        return (m**2 - 1) * np.sin(m * length) - 2 * m * np.cos(m * length)

    grid = np.linspace(1e-6, (terms + 2) * np.pi / length, 40 * terms)
    values = f(grid)
    pairs = zip(grid[:-1], grid[1:], values[:-1], values[1:], strict=True)
    roots = [brentq(f, a, b) for a, b, fa, fb in pairs if fa * fb < 0][:terms]
    s = np.linspace(0, length, 4001)
    out = 0.0
    for m in roots:
        shape = m * np.cos(m * s) + np.sin(m * s)
        c = np.trapezoid(shape, s) / np.trapezoid(shape**2, s)
        out = out + c * np.exp(-m**2 * t) * (m * np.cos(m * x) + np.sin(m * x))
    return out


def test_robin_heat_matches_the_series_solution_on_a_rectangle():
    """u_t = Δu on [0, 2] x [0, 1] from 0 with ∂u/∂n = 1 - u: u = 1 - θ_2(x, t) θ_1(y, t)
    (products of 1D series). The solver (P2, BDF2) converges to it at order ~2 (time step)."""
    x = np.random.default_rng(0).uniform([0, 0], [2, 1], (300, 2))
    exact = 1 - robin_series(2.0, x[:, 0], 0.5) * robin_series(1.0, x[:, 1], 0.5)
    errors = []
    for h, dt in ((0.2, 0.02), (0.1, 0.01)):
        mesh = fem.rectangle_minus_disks((0, 0), (2, 1), [], h)
        a = fem.robin_heat(mesh, {"outer": (1.0, 1.0)}, 0.5, dt, 0.1)
        found, dofs, phi = fem.locate(mesh, x)
        assert len(found) == len(x)
        u = fem.hermite_in_time(a, dofs, phi, np.full(len(x), 0.5))
        errors.append(np.sqrt(np.mean((u - exact) ** 2)) / np.sqrt(np.mean(exact**2)))
        between = fem.hermite_in_time(a, dofs, phi, np.full(len(x), 0.45))
        series = 1 - robin_series(2.0, x[:, 0], 0.45) * robin_series(1.0, x[:, 1], 0.45)
        assert np.sqrt(np.mean((between - series) ** 2)) < 2 * errors[-1] * np.sqrt(
            np.mean(exact**2)) + 1e-6
    order = np.log2(errors[0] / errors[1])
    assert 1.7 < order < 3.5 and errors[1] < 2e-4, (errors, order)


def test_heat2d_multiscale_decays_at_the_rate_of_its_slow_mode_and_its_grid_resolves_the_fast_one():
    p = Heat2DMultiscale()
    # The exact solution's decay over t = 5 from the two diffusivities: 20²/500² + 1 per unit time.
    start = p.reference(np.array([[0.025, 0.5, 0.0]]))[0, 0]
    end = p.reference(np.array([[0.025, 0.5, 5.0]]))[0, 0]
    assert start == pytest.approx(1.0, abs=1e-12)
    assert end / start == pytest.approx(math.exp(-5 * (1 + 400 / 250000)), rel=1e-12)
    # The evaluation grid resolves the 20 half waves across x (at least 8 points each), and the
    # mean square of u(., ., 0) on it is the exact 1/4 (sin² averages to 1/2 per axis).
    x, y, t = p.eval_axes()
    assert t[0] == 0.0 and t[-1] == 5.0
    assert len(x) - 1 >= 8 * p.mode_x
    grid = np.stack(np.meshgrid(x, y, [0.0], indexing="ij"), -1).reshape(-1, 3)
    u0 = p.reference(grid).reshape(len(x), len(y))
    mean_square = np.trapezoid(np.trapezoid(u0 ** 2, y, axis=1), x)
    assert mean_square == pytest.approx(0.25, rel=1e-3)
