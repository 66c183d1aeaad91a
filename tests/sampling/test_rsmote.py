"""RSmote and GLF-D, the GLF paper's competitor and ablation, on known residual fields."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pinnbench.problems.helmholtz import Helmholtz2D
from pinnbench.sampling.glf import GLF, GLFD
from pinnbench.sampling.rsmote import RSmote, smote

from .helpers import FieldProbe, inside, key

PROBLEM = Helmholtz2D()
PEAK = jnp.asarray([0.5, -0.3])


def peak(x: jax.Array) -> jax.Array:
    """A residual field with one sharp peak: exp(-|x - PEAK|^2 / 0.01)."""
    return jnp.exp(-jnp.sum((x - PEAK) ** 2, axis=1) / 0.01)


def near_peak(x) -> float:
    return float(np.mean(np.linalg.norm(np.asarray(x) - np.asarray(PEAK), axis=1) < 0.3))


def test_rsmote_moves_points_to_the_residual_peak_keeping_the_best_and_the_count():
    sampler = RSmote(n_interior=1000, n_boundary=16, every=5, top=0.05, replace=0.3)
    state = sampler.init(PROBLEM, key(0), jnp.float64)
    x0 = state["points"]["interior"]
    probe = FieldProbe(peak)
    update = jax.jit(lambda s, t: sampler.update(s, t, PROBLEM, probe))
    assert jnp.array_equal(update(state, jnp.asarray(4))["points"]["interior"], x0)  # not due
    new = update(state, jnp.asarray(5))["points"]["interior"]
    assert new.shape == x0.shape and inside(new, PROBLEM)
    # Uniform points put pi 0.3^2 / 4 ~ 7.1% of the set within 0.3 of the peak; the 300 new
    # points lie between the top 5% (50 points, within ~0.25 of it) and their neighbours.
    share = near_peak(x0)
    assert 0.05 < share < 0.09
    assert near_peak(new) > share + 0.25
    r0, r1 = np.asarray(peak(x0)), np.asarray(peak(new))
    order = np.argsort(-r0)
    kept = order[: 1000 - 300]
    np.testing.assert_array_equal(np.asarray(new)[kept], np.asarray(x0)[kept])
    # The replaced ones were the lowest residuals, and the new set's mean residual grew.
    assert set(order[1000 - 300:]) == set(np.flatnonzero(np.any(np.asarray(new)
                                                               != np.asarray(x0), axis=1)))
    assert r1.mean() > 5 * r0.mean()


def test_synthetic_points_lie_on_segments_between_minority_neighbours():
    minority = jnp.asarray([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    new = np.asarray(smote(key(1), minority, 4000, neighbours=1))
    # With one neighbour each: 0-1 (or 0-2: both at distance 1), 1-0, 2-0, 3-1 or 3-2 (equal).
    m = np.asarray(minority)
    # Distance of every new point to every segment [m_i, m_j] (i != j), (points, i, j).
    a, b = m[None, :, None, :], m[None, None, :, :]
    ab = b - a
    t = np.clip(np.sum((new[:, None, None, :] - a) * ab, axis=-1)
                / np.maximum(np.sum(ab * ab, axis=-1), 1e-300), 0, 1)
    dist = np.linalg.norm(new[:, None, None, :] - (a + t[..., None] * ab), axis=-1)
    dist[:, np.arange(4), np.arange(4)] = np.inf
    on_segment = dist.min(axis=(1, 2))
    assert max(on_segment) < 1e-12
    # No segment between the far point and the origin (not its nearest neighbour).
    along_diagonal = np.abs(new[:, 0] - new[:, 1]) < 1e-9
    assert not np.any(along_diagonal & (new[:, 0] > 1.0))


def test_rsmote_refuses_a_problem_without_a_box():
    class Disk:
        geometry = object()
        lower, upper = (-1.0, -1.0), (1.0, 1.0)

    with pytest.raises(ValueError, match="needs a box domain"):
        RSmote(n_interior=16, n_boundary=4).init(Disk(), key(0), jnp.float64)


def test_glf_d_weights_each_candidate_by_its_own_residual():
    """Anchors on both sides of x0 = 0 with candidates spread over the whole box (large α):
    GLF weights a candidate by its anchor's residual, GLF-D by its own; with a residual that
    is high for x0 < 0, GLF-D's draw follows the candidates' side, GLF's the anchors'."""
    field = FieldProbe(lambda p: jnp.where(p[:, 0] < 0, 10.0, 0.0))
    shares = {}
    for cls in (GLF, GLFD):
        sampler = cls(n_interior=1000, n_boundary=16, every=1, m=10, alpha=1.0, c=0.0)
        state = sampler.init(PROBLEM, key(2), jnp.float64)
        new = jax.jit(lambda s, smp=sampler: smp.update(s, jnp.asarray(1), PROBLEM, field))(
            state)["points"]["interior"]
        shares[cls] = float(np.mean(np.asarray(new[:, 0]) < 0))
    # h = 1/(r + ε) scatters the candidates of zero-residual anchors over the box, so half of
    # them are on the high side; GLF never draws them (weight 0), GLF-D does.
    assert shares[GLFD] == 1.0
    # GLF: only the few candidates of anchors within h = 0.1 of x0 = 0 cross to the low side.
    assert shares[GLF] < 0.99
    assert len(field.asked) == 2 + 1  # GLF asks on the anchors; GLF-D also on the candidates
    assert field.asked[-1].shape == (1000 * 10, 2)
