"""Closed-form problems: the exact solution satisfies every constraint, checked twice — by AD
through the same residual code the network trains on, and by finite differences of the numpy
reference (no AD at all)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pinnbench.derivatives import Field
from pinnbench.registry import problems

from .helpers import ExactModel, FDField, RefModel, residuals_at, smoke_train

CASES = [
    ("heat", {}),
    ("heat", {"dims": 2, "n": 2}),
    ("poisson_multiscale", {}),
    ("poisson_multiscale", {"n": 4}),
    ("oscillator", {}),
    ("oscillator", {"omega0": 80.0}),
    ("convection", {}),
    ("reaction", {}),
    ("wave", {}),
    ("helmholtz2d", {}),
    ("helmholtz2d", {"a1": 16.0, "a2": 16.0, "k": 4.0}),
    ("kovasznay", {}),
    ("kovasznay", {"re": 40.0}),
    ("taylor_green", {}),
    ("allen_cahn2d", {}),
]


def build(name, options):
    return problems.get(name)(**options)


@pytest.mark.parametrize(("name", "options"), CASES)
def test_exact_solution_satisfies_constraints_by_ad(name, options):
    problem = build(name, options)
    model = ExactModel(problem)
    res = residuals_at(problem, lambda x: Field(model, None, jnp.asarray(x)), n=300,
                      jit=True)
    for cname, r in res.items():
        assert np.max(np.abs(r)) < 1e-10, cname


@pytest.mark.parametrize(("name", "options"), CASES)
def test_exact_solution_satisfies_constraints_by_finite_differences(name, options):
    problem = build(name, options)
    # Fourth-order differences; h is a fraction of the finest wavelength present.
    fast = name in ("convection", "oscillator") or options.get("a1", 0) > 4
    h = 1e-4 if fast else 1e-3
    model = RefModel(problem.reference, h=h)
    res = residuals_at(problem, lambda x: FDField(model, None, x), n=300)
    for cname, r in res.items():
        assert np.max(np.abs(r)) < 1e-6, cname


def test_closed_forms_are_what_the_papers_state():
    # Spot values computed by hand from the formulas in the docstrings.
    conv = build("convection", {})
    assert conv.reference(np.array([[1.0, 0.1]]))[0, 0] == pytest.approx(math.sin(1 - 5))
    react = build("reaction", {})
    assert react.reference(np.array([[math.pi, 1.0]]))[0, 0] == pytest.approx(1.0)
    h = math.exp(-8.0)
    g = h * math.exp(5.0)
    assert react.reference(np.array([[0.0, 1.0]]))[0, 0] == pytest.approx(g / (g + 1 - h))
    wave = build("wave", {})
    assert wave.reference(np.array([[0.5, 0.5]]))[0, 0] == pytest.approx(
        math.sin(math.pi / 2) * math.cos(math.pi) + 0.5 * math.sin(1.5 * math.pi) * math.cos(
            3 * math.pi))
    osc = build("oscillator", {"delta": 2.0, "omega0": 20.0})
    w = math.sqrt(396.0)
    assert osc.reference(np.array([[0.3]]))[0, 0] == pytest.approx(
        math.exp(-0.6) * (math.cos(0.3 * w) + 2 / w * math.sin(0.3 * w)))


def test_oscillator_refuses_overdamped():
    with pytest.raises(ValueError, match="omega0"):
        build("oscillator", {"delta": 5.0, "omega0": 4.0})


def test_kovasznay_lambda_and_fields():
    # lambda = Re/2 - sqrt(Re^2/4 + 4 pi^2) = -0.96374 at Re = 40 (the NSFnets case).
    problem = build("kovasznay", {"re": 40.0})
    assert problem.lam == pytest.approx(-0.96374, abs=1e-5)
    result = smoke_train({"type": "kovasznay"})
    assert {"rel_l2.u", "rel_l2.v", "rel_l2.p"} <= set(result.row)
    assert all(np.isfinite(result.row[f"rel_l2.{k}"]) for k in "uvp")


def test_eval_grids():
    assert build("convection", {}).eval_points().shape == (101 * 101, 2)
    assert build("heat", {"dims": 2}).eval_points().shape == (41**3, 3)
    assert build("oscillator", {}).eval_points().shape == (1001, 1)
    assert build("poisson_multiscale", {"n": 6}).eval_points().shape == (513**2, 2)


# One smoke run per problem (and heat in 2D): compiling dominates their cost.
SMOKE = [c for i, c in enumerate(CASES) if c[0] not in [n for n, _ in CASES[:i]]
         and c[0] not in ("helmholtz2d", "kovasznay", "allen_cahn2d")] + [("heat", {"dims": 2})]


@pytest.mark.parametrize(("name", "options"), SMOKE)
def test_smoke_train(name, options):
    result = smoke_train({"type": name, **options})
    assert result.row["status"] == "ok"
    assert np.isfinite(result.row["loss"]) and np.isfinite(result.row["rel_l2"])


@pytest.mark.parametrize("name,params", [("poisson1d", {}), ("heat", {}),
                                         ("reaction_diffusion_nd", {"d": 3})])
def test_box_boundary_points_cover_every_face_in_proportion_to_its_measure(name, params):
    """Faces get floor or ceil of n times their share, whatever the key: with n = 2 both ends
    of an interval are constrained (independent draws would miss one half the time)."""
    problem = problems.get(name)(**params)
    space = problem.dim - 1 if problem.time_dependent else problem.dim
    lo, hi = np.asarray(problem.lower), np.asarray(problem.upper)
    width = hi - lo
    measure = np.repeat([np.prod(np.delete(width, i)) for i in range(space)], 2)
    share = measure / measure.sum()
    for n in (2 * space, 2 * space + 3, 101):
        for seed in range(20):
            x = np.asarray(problem.sample("boundary", jax.random.PRNGKey(seed), n, jnp.float64))
            counts = [int(np.sum(np.isclose(x[:, a], (lo if s == 0 else hi)[a])))
                      for a in range(space) for s in (0, 1)]
            assert sum(counts) == n  # every point on exactly one face (corners have measure 0)
            assert all(np.floor(n * p) <= c <= np.ceil(n * p) for c, p in
                       zip(counts, share, strict=True)), (name, n, seed, counts)
