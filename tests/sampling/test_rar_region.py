"""RAR + region optimization: RAR grows the anchors, region perturbs them, neither drifts."""

import jax
import jax.numpy as jnp
import numpy as np

from pinnbench.engine.train import train
from pinnbench.problems.helmholtz import Helmholtz2D
from pinnbench.sampling.region import RARRegion, Region

from .helpers import FieldProbe, key

PROBLEM = Helmholtz2D()


def norm2(x):
    return jnp.sum(x**2, axis=1)


def test_rar_region_adds_highest_residual_points_and_perturbs_within_the_region():
    rho = 1e-2
    sampler = RARRegion(n_interior=300, n_boundary=16, n_candidates=2000, every=10, n_add=50,
                        rounds=2, region=rho, calibrate=False, reflect=False)
    # Unfolded: RAR's points of largest |x|^2 sit at the corners, where the fold would mirror
    # their shifts (tests/sampling/test_region_fold.py checks the fold).
    state = sampler.init(PROBLEM, key(3), jnp.float64)
    first = np.asarray(state["base"][:300])
    probe = FieldProbe(norm2)
    with jax.disable_jit():  # run the branch eagerly, so the probe records concrete candidates
        state = sampler.update(state, jnp.asarray(10), PROBLEM, probe)
    cand = np.asarray(probe.asked[-1])
    top = cand[np.argsort(-np.sum(cand**2, axis=1))[:50]]
    base = np.asarray(state["base"])
    assert int(state["active"]) == 350 and base.shape == (400, 2)
    np.testing.assert_array_equal(base[:300], first)
    # The anchors gained exactly the 50 candidates of largest residual.
    assert {tuple(p) for p in base[300:350]} == {tuple(p) for p in top}
    # The interior the objective sees is every anchor (new ones included) shifted by U[0, ρ)^2.
    shift = np.asarray(state["points"]["interior"]) - base
    assert shift.min() >= 0 and shift.max() < rho
    assert abs(shift.mean() - rho / 2) < 1e-3
    np.testing.assert_array_equal(state["points"]["boundary"],
                                  sampler.init(PROBLEM, key(3), jnp.float64)["points"]["boundary"])

    # Between adaptations the anchors stay put (perturbations never accumulate) while the
    # perturbations are drawn afresh.
    later = sampler.update(state, jnp.asarray(11), PROBLEM, probe)
    np.testing.assert_array_equal(later["base"], state["base"])
    assert not np.allclose(later["points"]["interior"], state["points"]["interior"])
    shift = np.asarray(later["points"]["interior"]) - base
    assert shift.min() >= 0 and shift.max() < rho
    # RAR only ever scores its candidate pool, never the perturbed training points.
    assert all(a.shape == (2000, 2) for a in probe.asked)


def test_region_alone_keeps_its_anchors_fixed():
    sampler = Region(n_interior=500, n_boundary=16, region=1e-3, calibrate=False)
    state = sampler.init(PROBLEM, key(1), jnp.float64)
    base = np.asarray(state["base"])
    for step in range(3):
        state = sampler.update(state, jnp.asarray(step), PROBLEM)
    np.testing.assert_array_equal(state["base"], base)
    shift = np.asarray(state["points"]["interior"]) - base
    # U[0, ρ) shifts, mirrored (so pointing inwards) for anchors within ρ of an upper wall.
    near = np.any(base > np.asarray(PROBLEM.upper) - 1e-3, axis=1)
    assert shift[~near].min() >= 0 and np.abs(shift).max() < 1e-3


def test_rar_region_trains_with_calibration(spec_factory):
    sampler = {"type": "rar_region", "n_interior": 128, "n_boundary": 32, "n_candidates": 512,
               "every": 20, "n_add": 32, "rounds": 2}
    spec = spec_factory(problem={"type": "helmholtz2d", "a1": 1, "a2": 1},
                        optimizer={"type": "adam", "lr": 1e-2}, sampler=sampler, steps=100,
                        eval_every=50, weights={"bc": 10.0})
    result = train(spec)
    assert result.row["status"] == "ok"
    assert result.history[-1]["loss"] < 0.2 * result.history[0]["loss"]
