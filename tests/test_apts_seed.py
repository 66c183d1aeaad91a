"""APTS's random partitions follow the run's seed; Adam and L-BFGS with several steps per step."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pinnbench.engine.train import Trainer
from pinnbench.objective import Objective
from pinnbench.optim.adam import Adam
from pinnbench.optim.lbfgs import LBFGS
from pinnbench.problems.classic import Poisson1D

APTS = {"type": "apts", "subdomains": 4, "local_steps": 1, "cg_iters": 4, "local_cg_iters": 2,
        "curvature": "gauss_newton", "global_retries": 1}
POINTS = {"type": "uniform", "n_interior": 64, "n_boundary": 2}


def partitions(spec_factory, seed):
    # The same collocation points (data_seed 0) for every seed, so only the optimizer's key
    # can make the partitions differ.
    spec = dataclasses.replace(spec_factory(problem={"type": "poisson1d"}, optimizer=APTS,
                                            sampler=POINTS, model={"type": "mlp", "width": 4,
                                                                   "depth": 1}, seed=seed),
                               data_seed=0)
    trainer = Trainer(spec)
    carry = trainer.initial_state()
    objective = trainer.objective(carry.sampler["points"], carry.loss)
    # The key the first step partitions with (APTS.step splits the state's key).
    key = jax.random.split(carry.optimizer.key)[1]
    return np.asarray(trainer.optimizer.partitions(objective, key)), carry.sampler["points"]


def test_apts_partitions_follow_the_run_seed(spec_factory):
    a, points_a = partitions(spec_factory, 0)
    again, _ = partitions(spec_factory, 0)
    b, points_b = partitions(spec_factory, 1)
    np.testing.assert_array_equal(np.asarray(points_a["interior"]),
                                  np.asarray(points_b["interior"]))
    np.testing.assert_array_equal(a, again)
    assert a.shape == (4, 16, 1)
    # Same points, different split: the subsets of seed 0 and seed 1 are not the same sets.
    same = [np.array_equal(np.sort(a[d], axis=0), np.sort(b[d], axis=0)) for d in range(4)]
    assert not all(same)
    # Each is a partition of the same 64 points.
    np.testing.assert_array_equal(np.sort(a.ravel()), np.sort(b.ravel()))
    np.testing.assert_array_equal(np.sort(a.ravel()), np.sort(np.asarray(
        points_a["interior"]).ravel()))


def poisson_objective():
    problem = Poisson1D()
    from pinnbench.models.mlp import MLP

    model = MLP(width=6, depth=1).bind(problem.lower, problem.upper)
    params = model.init(jax.random.PRNGKey(3), 1, 1, jnp.float64)
    points = {"interior": problem.sample("interior", jax.random.PRNGKey(1), 32, jnp.float64),
              "boundary": problem.sample("boundary", jax.random.PRNGKey(2), 2, jnp.float64)}
    return Objective(problem, model, points), params


@pytest.mark.parametrize("make", [lambda n: Adam(lr=1e-2, schedule="exponential",
                                                 decay_steps=1, decay_rate=0.5,
                                                 steps_per_iteration=n),
                                  lambda n: LBFGS(memory=5, steps_per_iteration=n)])
def test_two_steps_per_iteration_are_two_single_steps(make):
    objective, params = poisson_objective()
    zero = jnp.asarray(0)
    one, two = make(1), make(2)
    p1, s1 = params, one.init(params)
    first, grads = None, 0
    for _ in range(2):
        p1, s1, info = jax.jit(lambda p, s: one.step(s, zero, objective, p))(p1, s1)
        first = info["loss"] if first is None else first
        grads += int(info["work"]["grad"])
    p2, s2, info2 = jax.jit(lambda p, s: two.step(s, zero, objective, p))(params,
                                                                        two.init(params))
    for a, b in zip(jax.tree.leaves(p1), jax.tree.leaves(p2), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-14)
    # The loss reported is the one before the (double) step; the work is both steps'.
    assert float(info2["loss"]) == float(first)
    assert float(objective.loss(p2)) < float(first)
    assert int(info2["work"]["grad"]) == grads >= 2
    if isinstance(one, LBFGS):
        assert int(s2.iterations) == int(s1.iterations) == 2
