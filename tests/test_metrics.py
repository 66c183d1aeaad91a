import jax.numpy as jnp
import numpy as np
import pytest

from pinnbench.metrics import all_metrics, max_abs, rel_l1, rel_l2, rel_l2_per_field, rel_rmse


def test_known_values_single_field():
    ref = np.array([[3.0], [4.0]])
    pred = np.array([[3.0], [1.0]])  # error (0, -3); ||ref||_2 = 5, ||ref||_1 = 7
    assert rel_l2(pred, ref) == pytest.approx(3.0 / 5.0)
    assert rel_l1(pred, ref) == pytest.approx(3.0 / 7.0)
    assert max_abs(pred, ref) == pytest.approx(3.0)
    # For one field the relative RMSE is the relative L2 error: the point count cancels.
    assert rel_rmse(pred, ref) == pytest.approx(3.0 / 5.0)


def test_multi_field_weighs_fields_equally_in_rel_rmse():
    ref = np.array([[1.0, 100.0], [1.0, 100.0]])
    pred = ref + np.array([[1.0, 1.0], [1.0, 1.0]])
    per_field = rel_l2_per_field(pred, ref)
    np.testing.assert_allclose(per_field, [1.0, 0.01])
    assert rel_rmse(pred, ref) == pytest.approx(0.505)
    # The combined error is dominated by the large field.
    assert rel_l2(pred, ref) == pytest.approx(np.sqrt(4 / (2 + 2e4)))


def test_zero_error_and_jax_arrays_agree_with_numpy():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(50, 2))
    pred = ref + 1e-3 * rng.normal(size=(50, 2))
    np_values = all_metrics(pred, ref)
    jax_values = all_metrics(jnp.asarray(pred), jnp.asarray(ref))
    for name, value in np_values.items():
        assert float(jax_values[name]) == pytest.approx(float(value), rel=1e-6)
    assert all(float(v) == 0.0 for v in all_metrics(ref, ref).values())
