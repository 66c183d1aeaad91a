import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pinnbench.derivatives import Field
from pinnbench.models.mlp import MLP


class WithoutJet:
    """The same network seen only through apply(): forces the nested-jvp path."""

    capabilities = frozenset()  # no jet

    def __init__(self, model):
        self.model = model

    def apply(self, params, x):
        return self.model.apply(params, x)


@pytest.fixture(params=["tanh", "sin", "gelu"])
def setup(request):
    model = MLP(width=12, depth=3, activation=request.param).bind((-1.0, 0.0, 2.0),
                                                                  (1.0, 3.0, 2.5))
    params = model.init(jax.random.PRNGKey(0), 3, 2, jnp.float64)
    x = jax.random.uniform(jax.random.PRNGKey(1), (7, 3), jnp.float64)
    return model, params, x


def per_point_hessian(model, params, x):
    """Reference derivatives by reverse-over-forward autodiff, one point at a time."""
    def u(p):
        return model.apply(params, p[None, :])[0]

    grad = jax.vmap(jax.jacfwd(u))(x)  # (N, m, d)
    hess = jax.vmap(jax.hessian(u))(x)  # (N, m, d, d)
    return grad, hess


def test_jet_matches_autodiff(setup):
    model, params, x = setup
    grad, hess = per_point_hessian(model, params, x)
    field = Field(model, params, x)
    np.testing.assert_allclose(field.grad, np.swapaxes(grad, 1, 2), rtol=1e-10, atol=1e-12)
    lap = np.trace(hess, axis1=2, axis2=3)
    np.testing.assert_allclose(field.laplacian, lap, rtol=1e-10, atol=1e-12)
    for i in range(3):
        np.testing.assert_allclose(field.d2(i), hess[:, :, i, i], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(field.d2(0, 2), hess[:, :, 0, 2], rtol=1e-10, atol=1e-12)


def test_nested_jvp_path_matches_jet(setup):
    model, params, x = setup
    with_jet, without = Field(model, params, x), Field(WithoutJet(model), params, x)
    np.testing.assert_allclose(without.laplacian, with_jet.laplacian, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(without.grad, with_jet.grad, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(without.laplacian_over((0, 1)),
                               with_jet.d2(0) + with_jet.d2(1), rtol=1e-10, atol=1e-12)
