import jax
import pytest


@pytest.fixture(autouse=True)
def float64():
    """References are checked to 1e-10 and beyond: float64 throughout, restored afterwards."""
    before = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", before)
