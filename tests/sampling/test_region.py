"""RoPINN region sampling: perturbations inside the region, calibration from gradient spread."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pinnbench.models.mlp import MLP
from pinnbench.problems.helmholtz import Helmholtz2D
from pinnbench.sampling.base import Probe
from pinnbench.sampling.region import Region, calibrated_sigma

from .helpers import key

PROBLEM = Helmholtz2D()


def probe_for(width: int = 8) -> Probe:
    model = MLP(width=width, depth=2).bind(PROBLEM.lower, PROBLEM.upper)
    params = model.init(key(5), 2, 1, jnp.float64)
    return Probe(PROBLEM, model, params)


def test_perturbations_stay_within_the_region():
    # Unfolded (reflect = false), so every shift is the drawn one.
    region = Region(n_interior=4000, n_boundary=16, region=1e-2, calibrate=False, samples=2,
                    reflect=False)
    state = region.init(PROBLEM, key(0), jnp.float64)
    base = np.asarray(state["base"])
    a = region.update(state, jnp.asarray(0), PROBLEM)
    b = region.update(a, jnp.asarray(1), PROBLEM)
    for s in (a, b):
        shift = np.asarray(s["points"]["interior"]).reshape(2, 4000, 2) - base
        assert shift.min() >= 0 and shift.max() < 1e-2
        # U[0, ρ): mean ρ/2, variance ρ²/12 per coordinate.
        assert abs(shift.mean() - 5e-3) < 1e-4 and abs(shift.var() - 1e-4 / 12) < 5e-7
    assert not np.allclose(a["points"]["interior"], b["points"]["interior"])
    np.testing.assert_array_equal(a["points"]["boundary"], state["points"]["boundary"])


def test_calibration_value_on_a_hand_computed_window():
    grads = jnp.asarray([[1.0, -2.0], [3.0, -2.0], [0.0, 0.0]])
    # Two rows filled: parameter 0 has std 1, mean |g| 2; parameter 1 is constant.
    assert float(calibrated_sigma(grads, jnp.asarray(2))) == pytest.approx(0.25, rel=1e-5)
    assert float(calibrated_sigma(grads, jnp.asarray(1))) == 1.0  # one gradient: no spread yet
    cols = jnp.asarray([True, False])
    assert float(calibrated_sigma(grads, jnp.asarray(2), cols)) == pytest.approx(0.5, rel=1e-5)


def test_region_shrinks_when_gradient_variance_grows():
    rng = np.random.default_rng(0)
    mean = rng.normal(size=200)
    region = Region()
    sizes = []
    for noise in (0.001, 0.1, 1.0):
        window = mean + noise * rng.normal(size=(10, 200))
        sigma = calibrated_sigma(jnp.asarray(window), jnp.asarray(10))
        sizes.append(float(region.size(sigma)))
    assert sizes[0] > sizes[1] > sizes[2]
    assert sizes[0] == region.max_region  # a steady gradient lets the region reach its cap


def test_calibration_inside_a_compiled_step_uses_the_networks_gradients():
    probe = probe_for()
    region = Region(n_interior=256, n_boundary=64, past=4)
    state = region.init(PROBLEM, key(1), jnp.float64)
    # The probe is rebuilt inside the trace from traced parameters, as the engine's step does.
    update = jax.jit(lambda s, t, params: region.update(
        s, t, PROBLEM, Probe(PROBLEM, probe.model, params)))
    grad = jax.jit(lambda pts: jax.flatten_util.ravel_pytree(probe.loss_and_grad(pts)[1])[0])
    window = []
    for step in range(6):
        points = state["points"]
        state = update(state, jnp.asarray(step), probe.params)
        window.append(np.asarray(grad(state["points"])))
        assert not np.array_equal(points["interior"], state["points"]["interior"])
    assert int(state["count"]) == 6
    last = np.stack(window[-4:])
    expected = np.linalg.norm(last.std(0))  # the paper's ||std(g)||_2
    assert float(state["sigma"]) == pytest.approx(expected, rel=1e-6)
    # The region the next step perturbs by: r / σ, under the cap.
    assert float(state["size"]) == pytest.approx(min(region.region / expected,
                                                     region.max_region), rel=1e-6)


def test_only_a_subset_of_gradient_entries_is_tracked_for_large_networks():
    probe = probe_for(width=32)  # 1 185 parameters
    region = Region(n_interior=64, n_boundary=16, tracked=100)
    state = region.init(PROBLEM, key(2), jnp.float64)
    update = jax.jit(lambda s, t: region.update(s, t, PROBLEM, probe))
    for step in range(3):
        state = update(state, jnp.asarray(step))
    assert state["grads"].shape == (10, 100) and np.isfinite(float(state["sigma"]))
    assert float(state["sigma"]) != 1.0
