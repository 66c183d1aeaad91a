"""The point-count curriculum: distinct counts per stage, the loss of the distinct points."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pinnbench.models.mlp import MLP
from pinnbench.objective import Objective
from pinnbench.problems.classic import Heat
from pinnbench.sampling.curriculum import Curriculum

from .helpers import key

PROBLEM = Heat()


def distinct(x: jax.Array) -> int:
    return len(np.unique(np.asarray(x), axis=0))


def sampler(**kw) -> Curriculum:
    opts = dict(n_interior=64, n_initial=8, n_boundary=16, first_initial=32, first_boundary=4,
                switch_step=6, resample_every=2)
    return Curriculum(**{**opts, **kw})


def run(s: Curriculum, steps: int) -> list[dict]:
    state = s.init(PROBLEM, key(), jnp.float64)
    states = [state]
    update = jax.jit(lambda st, i: s.update(st, i, PROBLEM))
    for i in range(1, steps):
        state = update(state, jnp.asarray(i))
        states.append(state)
    return states


def test_stage_counts_switch_once_at_the_switch_step():
    states = run(sampler(), 10)
    for step, st in enumerate(states):
        pts = st["points"]
        assert pts["initial"].shape == (32, 2) and pts["boundary"].shape == (16, 2)
        first = step < 6
        assert distinct(pts["initial"]) == (32 if first else 8)
        assert distinct(pts["boundary"]) == (4 if first else 16)
        assert distinct(pts["interior"]) == 64


def test_interior_resampled_on_schedule_boundary_only_at_the_switch():
    states = run(sampler(), 9)
    same = [bool(jnp.array_equal(a["points"]["interior"], b["points"]["interior"]))
            for a, b in zip(states, states[1:], strict=False)]
    # updates at steps 1..8: new interior points on steps 2, 4, 6, 8
    assert same == [True, False, True, False, True, False, True, False]
    boundary_same = [bool(jnp.array_equal(a["points"]["boundary"], b["points"]["boundary"]))
                     for a, b in zip(states, states[1:], strict=False)]
    assert boundary_same == [True, True, True, True, True, False, True, True]


def test_repeated_rows_give_the_loss_of_the_distinct_points():
    s = sampler()
    pts = s.init(PROBLEM, key(), jnp.float64)["points"]
    jax.config.update("jax_enable_x64", True)
    model = MLP(width=8, depth=2).bind(PROBLEM.lower, PROBLEM.upper)
    params = model.init(key(1), 2, 1, jnp.float64)
    tiled = Objective(PROBLEM, model, pts)
    unique = {r: jnp.asarray(np.unique(np.asarray(x), axis=0)) for r, x in pts.items()}
    plain = Objective(PROBLEM, model, unique)
    np.testing.assert_allclose(tiled.loss(params), plain.loss(params), rtol=1e-12)
    g1, g2 = jax.grad(tiled.loss)(params), jax.grad(plain.loss)(params)
    for a, b in zip(jax.tree.leaves(g1), jax.tree.leaves(g2), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)


def test_counts_that_do_not_divide_are_refused():
    with pytest.raises(ValueError, match="multiple"):
        sampler(first_initial=12).init(PROBLEM, key(), jnp.float64)
