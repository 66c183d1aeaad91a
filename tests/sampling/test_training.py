"""Every sampler composes with first- and second-order optimizers in the engine's compiled step."""

import numpy as np
import pytest

from pinnbench.engine.train import Trainer, train

SMALL = {"n_interior": 128, "n_boundary": 32}
CASES = [
    ({"type": "rad", "n_candidates": 1024, "every": 5}, {"type": "adam", "lr": 1e-2}),
    ({"type": "glf", "every": 5}, {"type": "lbfgs"}),
    ({"type": "glf_d", "every": 5}, {"type": "adam", "lr": 1e-2}),
    ({"type": "rsmote", "every": 5}, {"type": "adam", "lr": 1e-2}),
    ({"type": "rar_d", "n_candidates": 1024, "every": 5, "n_add": 16, "rounds": 2},
     {"type": "adam", "lr": 1e-2}),
    ({"type": "rar", "n_candidates": 1024, "every": 5, "n_add": 16, "rounds": 2},
     {"type": "adam", "lr": 1e-2}),
    ({"type": "region"}, {"type": "adam", "lr": 1e-2}),
    ({"type": "region"}, {"type": "lbfgs"}),
    ({"type": "sobol"}, {"type": "adam", "lr": 1e-2}),
]


@pytest.mark.parametrize(("sampler", "optimizer"), CASES,
                         ids=[f"{s['type']}-{o['type']}" for s, o in CASES])
def test_short_training_run_stays_finite(spec_factory, sampler, optimizer):
    spec = spec_factory(problem={"type": "helmholtz2d", "a1": 1, "a2": 1},
                        sampler={**SMALL, **sampler}, optimizer=optimizer,
                        steps=30, eval_every=15, precision="float32", weights={"bc": 10.0})
    result = train(spec)
    assert result.row["status"] == "ok"
    assert result.row["steps"] == 30
    for key in ("loss", "rel_l2"):
        assert np.all(np.isfinite([h[key] for h in result.history]))


def test_region_run_calibrates_during_training(spec_factory):
    spec = spec_factory(problem={"type": "helmholtz2d", "a1": 1, "a2": 1},
                        sampler={**SMALL, "type": "region", "past": 5},
                        optimizer={"type": "adam", "lr": 1e-2}, steps=20, eval_every=20)
    trainer = Trainer(spec)
    carry = trainer.initial_state()
    carry = trainer.compiled_chunk(carry, 20)(carry)[0]
    state = carry[2]
    assert int(state["count"]) == 20
    assert float(state["sigma"]) != 1.0
    points = np.asarray(state["points"]["interior"])
    shift = points - np.asarray(state["base"])
    size = min(trainer.sampler.region / float(state["sigma"]), trainer.sampler.max_region)
    assert float(state["size"]) == pytest.approx(size, rel=1e-12)
    # The last step's perturbation used the region size of the sigma before it, so only bound it
    # by the cap here (reflected at the walls, a shift may point back inwards).
    assert np.abs(shift).max() < trainer.sampler.max_region and size > 0
    lo, hi = trainer.problem.lower, trainer.problem.upper
    assert points.min(0).tolist() >= list(lo) and (points <= np.asarray(hi)).all()
