"""A run's precision is scoped to the run: set from its spec for the JAX work inside it only."""

import jax
import jax.numpy as jnp
import pandas as pd

from pinnbench.engine.train import train
from pinnbench.run.runner import execute, execute_isolated

POISSON = {"type": "poisson1d", "k": 1}
SMALL = {"type": "mlp", "width": 8, "depth": 2}
FEW = {"type": "uniform", "n_interior": 32, "n_boundary": 2}


def _row(folder) -> pd.Series:
    return pd.read_parquet(next((folder / "runs").glob("*.parquet"))).iloc[0]


def test_a_float32_run_in_process_computes_what_a_fresh_worker_computes(tmp_path, spec_factory):
    # The test process has 64-bit types on (tests/conftest.py) and has run float64 runs; a
    # fresh worker has them off. The float32 run must not see the difference, bit for bit.
    spec = spec_factory(problem=POISSON, model=SMALL, sampler=FEW, precision="float32",
                        steps=60, eval_every=30)
    assert jax.config.jax_enable_x64
    assert execute(spec, tmp_path / "in_process") == "ok"
    assert execute_isolated(spec, tmp_path / "worker") == "ok"
    here, there = _row(tmp_path / "in_process"), _row(tmp_path / "worker")
    for column in ("loss", "rel_l2", "max_abs"):
        assert here[column] == there[column], (column, here[column], there[column])


def test_a_float64_run_leaves_the_precision_around_it_as_it_was(spec_factory):
    spec = spec_factory(problem=POISSON, model=SMALL, sampler=FEW, precision="float64",
                        steps=20, eval_every=10)
    with jax.enable_x64(False):
        result = train(spec)
        assert result.row["status"] == "ok"
        assert result.params is not None
        assert all(leaf.dtype == "float64" for leaf in jax.tree.leaves(result.params))
        assert not jax.config.jax_enable_x64 and jnp.asarray(1.0).dtype == jnp.float32
