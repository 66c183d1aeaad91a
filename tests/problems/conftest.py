import jax
import pytest


@pytest.fixture(autouse=True, scope="session")
def reference_cache(tmp_path_factory):
    """A cache folder of the test session's own: tests never read or fill the user's cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("PINNBENCH_CACHE", str(tmp_path_factory.mktemp("reference-cache")))
    yield
    mp.undo()


@pytest.fixture(autouse=True)
def float64():
    """References are checked to 1e-10 and beyond: float64 throughout, restored afterwards."""
    before = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", before)
