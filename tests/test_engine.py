"""The training engine on small Helmholtz runs: accuracy, budgets, divergence, bookkeeping."""

import pickle

import jax
import numpy as np
import pytest

from pinnbench.engine.train import Trainer, leaf_paths, train

EASY = {"type": "helmholtz2d", "a1": 1, "a2": 1}


def test_lbfgs_trains_to_stated_accuracy_and_reports_iterations(spec_factory):
    spec = spec_factory(problem=EASY, optimizer={"type": "lbfgs"}, steps=300,
                        eval_every=100, weights={"bc": 10.0})
    result = train(spec)
    row = result.row
    assert row["status"] == "ok" and row["stop"] == "steps"
    assert result.history[0]["rel_l2"] > 0.9  # an untrained network is O(1) wrong
    assert row["rel_l2"] < 0.1
    assert row["opt_stop_reason"] == "budget"
    assert row["opt_iterations"] == 300
    # Each iteration needs at least one loss evaluation in its line search.
    assert row["opt_evaluations"] >= 300
    assert [h["step"] for h in result.history] == [0, 100, 200, 300]
    # Compilation is timed on its own and never counted as training time.
    assert row["compile_s"] > 0 and row["train_s"] > 0 and row["eval_s"] > 0
    assert row["steps_per_s"] == pytest.approx(300 / row["train_s"])


def test_adam_loss_decreases_and_error_improves(spec_factory):
    spec = spec_factory(problem=EASY, optimizer={"type": "adam", "lr": 1e-2}, steps=1000,
                        eval_every=250, weights={"bc": 10.0})
    history = train(spec).history
    losses = [h["loss"] for h in history]
    assert losses[-1] < 1e-2 * losses[0]
    assert history[-1]["rel_l2"] < 0.15
    # The logged loss is the weighted sum of the per-term mean squares.
    last = history[-1]
    assert last["loss"] == pytest.approx(last["loss.pde"] + 10.0 * last["loss.bc"])


def test_non_finite_loss_is_a_diverged_result_not_a_crash(spec_factory):
    spec = spec_factory(optimizer={"type": "adam", "lr": 1e30}, precision="float32",
                        steps=200, eval_every=100)
    row = train(spec).row
    assert row["status"] == "diverged" and row["stop"] == "diverged"
    assert "non-finite loss at step" in row["message"]
    assert np.isnan(row["rel_l2"]) or np.isinf(row["rel_l2"])


def test_lbfgs_stops_itself_and_engine_ends_the_run(spec_factory):
    spec = spec_factory(optimizer={"type": "lbfgs", "gtol": 1e12}, steps=500, eval_every=50)
    result = train(spec)
    assert result.row["stop"] == "optimizer"
    assert result.row["opt_stop_reason"] == "gtol"
    assert result.row["opt_iterations"] == 0
    assert result.row["steps"] == 50  # the first chunk, then the run ends


def test_wall_time_budget(spec_factory):
    spec = spec_factory(steps=None, time_s=0.5, eval_every=20)
    spec.budget.pop("steps")
    row = train(spec).row
    assert row["stop"] == "time"
    assert row["train_s"] >= 0.5
    assert row["steps"] % 2 == 0 and row["steps"] > 0  # pieces of a tenth of eval_every


def test_time_limit_is_checked_within_an_evaluation_interval(spec_factory):
    # One interval of 20,000 steps would run far past the limit; pieces of 2,000 stop near it.
    spec = spec_factory(steps=None, time_s=0.2, eval_every=20_000)
    spec.budget.pop("steps")
    result = train(spec)
    row = result.row
    assert row["stop"] == "time" and row["train_s"] >= 0.2
    assert 0 < row["steps"] < 20_000 and row["steps"] % 2_000 == 0
    assert result.history[-1]["step"] == row["steps"]


def test_time_piece_divides_the_interval():
    from pinnbench.engine.train import time_piece

    assert [time_piece(n) for n in (1, 7, 20, 100, 250, 1000)] == [1, 1, 2, 10, 25, 100]


def test_data_seed_is_separate_from_init_seed(spec_factory):
    import dataclasses

    base = spec_factory(seed=0)
    other_init = dataclasses.replace(base, seed=1)  # same data_seed
    other_data = dataclasses.replace(base, data_seed=5)
    p0, _, s0, *_ = Trainer(base).initial_state()
    p1, _, s1, *_ = Trainer(other_init).initial_state()
    _, _, s2, *_ = Trainer(other_data).initial_state()
    assert np.array_equal(s0["points"]["interior"], s1["points"]["interior"])
    assert not np.array_equal(s0["points"]["interior"], s2["points"]["interior"])
    assert not np.array_equal(p0[0]["w"], p1[0]["w"])


def test_resampling_changes_points_every_r_steps_and_chunks_compile_once(spec_factory):
    spec = spec_factory(sampler={"type": "uniform", "n_interior": 64, "n_boundary": 16,
                                 "resample_every": 10}, steps=30, eval_every=10)
    trainer = Trainer(spec)
    carry = trainer.initial_state()
    seen = [np.asarray(carry[2]["points"]["interior"])]
    for _ in range(3):
        carry = trainer.compiled_chunk(carry, 10)(carry)[0]
        seen.append(np.asarray(carry[2]["points"]["interior"]))
    # Steps 0-9 use the first draw; steps 10, 20 draw anew (state after a chunk holds the
    # points its last step used).
    assert np.array_equal(seen[0], seen[1])
    assert not np.array_equal(seen[1], seen[2]) and not np.array_equal(seen[2], seen[3])
    assert list(trainer._chunks) == [10]

    fixed = Trainer(spec_factory(steps=30, eval_every=10))
    carry = fixed.initial_state()
    before = np.asarray(carry[2]["points"]["interior"])
    carry = fixed.compiled_chunk(carry, 10)(carry)[0]
    assert np.array_equal(before, np.asarray(carry[2]["points"]["interior"]))


def test_float32_and_float64_runs_use_their_precision(spec_factory):
    for precision, dtype in (("float32", np.float32), ("float64", np.float64)):
        trainer = Trainer(spec_factory(precision=precision))
        params = trainer.initial_state()[0]
        assert all(leaf.dtype == dtype for leaf in jax.tree.leaves(params))


def test_history_counts_the_work_each_method_did(spec_factory):
    adam = train(spec_factory(steps=40, eval_every=20))
    # Counts are cumulative; the evaluation before training has none yet.
    assert [h.get("work.grad", 0) for h in adam.history] == [0, 20, 40]
    lbfgs = train(spec_factory(optimizer={"type": "lbfgs"}, steps=40, eval_every=20)).row
    assert lbfgs["work.grad"] == lbfgs["opt_evaluations"] >= 40
    lm = train(spec_factory(optimizer={"type": "lm"}, steps=10, eval_every=10)).row
    assert lm["work.jacobian"] == 10 and lm["work.loss"] == 10
    tr = train(spec_factory(optimizer={"type": "newton_cg"}, steps=10, eval_every=10)).row
    assert tr["work.grad"] == 10 and tr["work.hvp"] == tr["opt_hvps"] >= 10


class MemoryCheckpoint:
    """A checkpoint kept in memory, pickled as the run store pickles it."""

    def __init__(self, blob: bytes | None = None) -> None:
        self.blob = blob

    def load(self):
        return None if self.blob is None else pickle.loads(self.blob)

    def save(self, state) -> None:
        self.blob = pickle.dumps(state)


@pytest.mark.parametrize("optimizer", [{"type": "lbfgs"}, {"type": "apts", "subdomains": 2}])
def test_optimizer_state_resumes_from_a_checkpoint_exactly(spec_factory, optimizer):
    def spec(steps):
        return spec_factory(problem={"type": "poisson1d"}, optimizer=optimizer, steps=steps,
                            eval_every=3, model={"type": "mlp", "width": 4, "depth": 1},
                            sampler={"type": "uniform", "n_interior": 32, "n_boundary": 2})

    straight = Trainer(spec(6)).run()
    saved = MemoryCheckpoint()
    Trainer(spec(3)).run(checkpoint=saved)
    assert saved.load()["step"] == 3
    resumed = Trainer(spec(6)).run(checkpoint=MemoryCheckpoint(saved.blob))
    assert [h["step"] for h in resumed.history] == [0, 3, 6]
    assert resumed.row["loss"] == straight.row["loss"]
    for key in (k for k in straight.row if k.startswith("opt_")):
        assert resumed.row[key] == straight.row[key], key
    for a, b in zip(jax.tree.leaves(straight.params), jax.tree.leaves(resumed.params),
                    strict=True):
        np.testing.assert_array_equal(a, b)


def test_checkpoint_of_another_state_layout_is_refused(spec_factory):
    spec = spec_factory(optimizer={"type": "lm"}, steps=2, eval_every=1)
    trainer = Trainer(spec)
    paths = leaf_paths(trainer.initial_state())
    assert ".optimizer.mu" in paths and ".optimizer.last_loss" in paths
    # The same leaves with two fields in another order: positions alone would swap their values.
    swapped = list(paths)
    i, j = swapped.index(".optimizer.mu"), swapped.index(".optimizer.nu")
    swapped[i], swapped[j] = swapped[j], swapped[i]
    for layout in ({"layout": swapped}, {}):
        stale = {"step": 1, "clock": {}, "history": [], "work": {}, "carry": [], **layout}
        with pytest.raises(ValueError, match="does not match this run's training state"):
            Trainer(spec).run(checkpoint=MemoryCheckpoint(pickle.dumps(stale)))
