"""Train one run: compiled chunks of steps, evaluation between chunks with the clock paused.

The step (sampler update -> optimizer step on the current points) is traced once; ``lax.scan`` fuses
``eval_every`` of them into one compiled chunk, so no Python runs between steps. Chunks are compiled
ahead of time (``jit(...).lower(...).compile()``) so compile time is measured on its own and never
counted as training time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from pinnbench.losses.base import ConstraintView
from pinnbench.machine import machine_info, peak_device_mb, peak_host_rss_mb
from pinnbench.metrics import all_metrics, coefficient_rel_l2, rel_l2_per_field
from pinnbench.objective import Objective
from pinnbench.problems.inverse import coefficient_truth, coefficient_values, with_unknowns
from pinnbench.protocols import RANDOM, SNAPSHOT, UNKNOWNS, bound, check_step_info, has
from pinnbench.sampling.base import Probe
from pinnbench.spec import RunSpec

DTYPES = {"float32": jnp.float32, "float64": jnp.float64}
ProgressFn = Callable[[dict[str, Any]], None]


@dataclasses.dataclass
class RunResult:
    """The row for the runs table and the rows for the history table."""

    row: dict[str, Any]
    history: list[dict[str, Any]]
    params: Any = None  # final parameters (host arrays), saved beside the run for field plots


class Carry(NamedTuple):
    """Everything one training step reads and writes: the state of every stateful axis."""

    params: Any
    optimizer: Any
    sampler: dict[str, Any]
    step: jax.Array
    loss: Any


@dataclasses.dataclass
class Clock:
    train_s: float = 0.0
    compile_s: float = 0.0
    eval_s: float = 0.0


def _cell(value: Any) -> float | list[float]:
    """A history cell: a float, or a flat list for array-valued entries (model snapshots)."""
    value = np.asarray(value)
    return float(value) if value.ndim == 0 else value.ravel().tolist()


def precision(name: str) -> contextlib.AbstractContextManager:
    """JAX's 64-bit types on for a float64 run and off for a float32 one, for the work inside
    the block only: a float32 run after a float64 one in the same process computes what it
    computes in a fresh worker, with no default type silently widened to 64 bits."""
    return jax.enable_x64(name == "float64")


def _in_run_precision(method: Callable) -> Callable:
    """A Trainer method that works in its run's precision (see :func:`precision`)."""
    @functools.wraps(method)
    def scoped(self: Trainer, *args: Any, **kwargs: Any) -> Any:
        with precision(self.spec.precision):
            return method(self, *args, **kwargs)

    return scoped


def leaf_paths(tree: Any) -> list[str]:
    """The path of every leaf of ``tree``, in leaf order (``.optimizer.radius``,
    ``.sampler['points']['interior']``): what a checkpoint's list of leaves stands for, whatever
    pytrees the states are (NamedTuples, dicts, a plugin's own)."""
    return [jax.tree_util.keystr(path) for path, _ in jax.tree_util.tree_flatten_with_path(tree)[0]]


def _all_finite(tree: Any) -> jax.Array:
    return jnp.all(jnp.asarray([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


class Trainer:
    """Holds the compiled pieces of one run; ``run`` drives them until the budget ends."""

    def __init__(self, spec: RunSpec) -> None:
        with precision(spec.precision):  # components may make arrays as they are built
            self._build(spec)

    def _build(self, spec: RunSpec) -> None:
        self.spec = spec
        self.dtype = DTYPES[spec.precision]
        self.problem = spec.build("problem")
        # An inverse problem's unknown coefficients train as part of the parameters.
        self.model = with_unknowns(bound(spec.build("model"), self.problem), self.problem)
        self.optimizer = spec.build("optimizer")
        self.sampler = spec.build("sampler")
        self.loss = spec.build("loss")
        # The problem as the loss strategy sees it: its constraints are the terms trained on, and
        # the objective and the samplers' probe both read them from here.
        self.terms = ConstraintView(self.problem, self.loss.constraints(self.problem))
        self.weights = dict(spec.method.get("weights", {}))
        # Samplers draw points for the sampled regions only: data constraints bring their own.
        sampled = tuple(c for c in self.problem.constraints()
                        if getattr(c, "points", None) is None)
        self.sampled = (self.problem if len(sampled) == len(self.problem.constraints())
                        else ConstraintView(self.problem, sampled))
        self.clock = Clock()
        self._chunks: dict[int, Any] = {}
        self.outputs = self.problem.outputs

    @functools.cached_property
    def _eval_points(self) -> np.ndarray:
        return self.problem.eval_points()

    @functools.cached_property
    @_in_run_precision
    def x_eval(self) -> jax.Array:
        return jnp.asarray(self._eval_points, self.dtype)

    @functools.cached_property
    @_in_run_precision
    def ref(self) -> jax.Array:
        """The reference on the evaluation points (computed when first needed: a numerical
        reference may take a while, and tracing a step does not need it)."""
        return jnp.asarray(self.problem.reference(self._eval_points), self.dtype)

    @functools.cached_property
    @_in_run_precision
    def coef_ref(self) -> dict[str, jax.Array]:
        """An inverse problem's true coefficients on the evaluation points."""
        return {k: jnp.asarray(v, self.dtype)
                for k, v in coefficient_truth(self.problem, self._eval_points).items()}

    # ---- state -----------------------------------------------------------------------------
    @_in_run_precision
    def initial_state(self) -> Carry:
        init_key = jax.random.PRNGKey(self.spec.seed)
        data_key = jax.random.fold_in(jax.random.PRNGKey(self.spec.data_seed), 1)
        params = self.model.init(init_key, self.problem.dim, len(self.outputs), self.dtype)
        sampler_state = self.sampler.init(self.sampled, data_key, self.dtype)
        opt_state = self.optimizer.init(params)
        if has(self.optimizer, RANDOM):  # its random choices follow the run's seed
            opt_state = self.optimizer.seed_state(opt_state, jax.random.fold_in(init_key, 2))
        loss_state = self.loss.init(self.terms.constraints(), self.dtype)
        return Carry(params, opt_state, sampler_state, jnp.asarray(0, jnp.int32), loss_state)

    def loss_weights(self, loss_state: Any) -> dict[str, Any]:
        """The method's weights, overridden by those the loss strategy sets."""
        return {**self.weights, **self.loss.weights(loss_state)}

    def objective(self, points: dict[str, jax.Array], loss_state: Any) -> Objective:
        return Objective(self.terms, self.model, points, self.loss_weights(loss_state),
                         self.sampler.fixed and self.loss.fixed)

    # ---- compiled pieces ---------------------------------------------------------------------
    def _step(self, carry: Carry, _: Any) -> tuple[Carry, tuple]:
        params, opt_state, sampler_state, step, loss_state = carry
        probe = Probe(self.terms, self.model, params, self.loss_weights(loss_state))
        sampler_state = self.sampler.update(sampler_state, step, self.sampled, probe)
        points = sampler_state["points"]
        loss_state = self.loss.update(loss_state, step, self.objective(points, loss_state), params)
        objective = self.objective(points, loss_state)
        params, opt_state, info = self.optimizer.step(opt_state, step, objective, params)
        check_step_info(info, self.optimizer)
        work = info.get("work", {})
        carry = Carry(params, opt_state, sampler_state, step + 1, loss_state)
        return carry, (info["loss"], info["done"], work)

    def _chunk(self, carry: Carry, length: int) -> tuple:
        carry, (losses, done, work) = jax.lax.scan(self._step, carry, None, length=length)
        work = {k: jnp.sum(v) for k, v in work.items()}
        return carry, losses, done[-1], _all_finite(carry.params), work

    def _evaluate(self, params: Any, sampler_state: dict, loss_state: Any) -> dict[str, jax.Array]:
        pred = self.model.apply(params, self.x_eval)
        out = dict(all_metrics(pred, self.ref))
        if len(self.outputs) > 1:
            per_field = rel_l2_per_field(pred, self.ref)
            out.update({f"rel_l2.{f}": per_field[i] for i, f in enumerate(self.outputs)})
        if has(self.problem, UNKNOWNS):  # the recovered coefficients against the truth
            coef = coefficient_values(self.model, params, self.x_eval)
            out["coef_rel_l2"] = coefficient_rel_l2(coef, self.coef_ref)
            if len(coef) > 1:
                out.update({f"coef_rel_l2.{k}": coefficient_rel_l2({k: v}, self.coef_ref)
                            for k, v in coef.items()})
        objective = self.objective(sampler_state["points"], loss_state)
        terms = objective.terms(params)
        out.update({f"loss.{k}": v for k, v in terms.items()})
        out["loss"] = objective.weighted(terms)
        # Weights a loss strategy sets as it trains (NTK), to follow them over time.
        out.update({f"weight.{k}": v for k, v in self.loss.weights(loss_state).items()})
        if has(self.model, SNAPSHOT):  # e.g. ball centres and radii, to plot over time
            out.update({f"model.{k}": v for k, v in self.model.snapshot(params).items()})
        return out

    @_in_run_precision
    def compiled_chunk(self, carry: Carry, length: int) -> Any:
        if length not in self._chunks:
            t0 = time.perf_counter()
            fn = jax.jit(lambda c: self._chunk(c, length))
            self._chunks[length] = fn.lower(carry).compile()
            self.clock.compile_s += time.perf_counter() - t0
        return self._chunks[length]

    # ---- driver -----------------------------------------------------------------------------
    @_in_run_precision
    def run(self, on_progress: ProgressFn | None = None, checkpoint: Any = None) -> RunResult:
        """Train until the budget ends. ``checkpoint`` (optional) has ``load() -> dict | None``
        and ``save(dict)``: the state is saved at every evaluation and a run that finds one
        resumes from it, computing exactly what the uninterrupted run would have. The state is
        saved as its list of leaves with their paths (:func:`leaf_paths`) and read back into
        the structure of a fresh initial state; a checkpoint whose paths differ is refused."""
        budget = self.spec.budget
        max_steps = budget.get("steps")
        max_time = budget.get("time_s")
        eval_every = budget["eval_every"]

        carry = self.initial_state()
        history: list[dict[str, Any]] = []
        work: dict[str, int] = {}  # cumulative work counts of the optimizer (see optim/base.py)
        layout = leaf_paths(carry)
        saved = checkpoint.load() if checkpoint is not None else None
        if saved is not None:  # resume: the fresh state gives the structure and dtypes
            if saved.get("layout") != layout:
                # Leaves are matched to the state by position: a state whose fields were
                # reordered or renamed (another pinnbench or plugin version) would take another
                # field's values without any error.
                raise ValueError("the checkpoint does not match this run's training state "
                                 "(written by another version of pinnbench or of a plugin); "
                                 "the run starts afresh when it is tried again")
            like = jax.tree.leaves(carry)
            carry = jax.tree.unflatten(jax.tree.structure(carry), [
                jnp.asarray(v, dtype=x.dtype) for v, x in zip(saved["carry"], like, strict=True)])
            self.clock = Clock(**saved["clock"])
            history, work = list(saved["history"]), dict(saved["work"])
        t0 = time.perf_counter()
        evaluate = jax.jit(self._evaluate).lower(carry.params, carry.sampler,
                                                 carry.loss).compile()
        self.clock.compile_s += time.perf_counter() - t0

        def record(step: int) -> dict[str, Any]:
            t = time.perf_counter()
            values = jax.device_get(evaluate(carry.params, carry.sampler, carry.loss))
            self.clock.eval_s += time.perf_counter() - t
            row = {"step": step, "train_s": self.clock.train_s,
                   **{f"work.{k}": v for k, v in work.items()},
                   **{k: _cell(v) for k, v in values.items()}}
            history.append(row)
            if on_progress:
                on_progress({**row, "max_steps": max_steps, "max_time": max_time})
            return row

        if saved is None:
            record(0)
        step, status, stop, message = saved["step"] if saved else 0, "ok", "steps", ""
        while True:
            if max_steps is not None and step >= max_steps:
                stop = "steps"
                break
            if max_time is not None and self.clock.train_s >= max_time:
                stop = "time"
                break
            interval = eval_every if max_steps is None else min(eval_every, max_steps - step)
            # Under a time limit the interval runs as pieces, so the limit is checked every
            # piece and a run with slow steps stops near it rather than an interval later.
            piece = interval if max_time is None else time_piece(eval_every)
            ran = 0
            while ran < interval:  # at least one piece: interval >= 1
                length = min(piece, interval - ran)
                chunk = self.compiled_chunk(carry, length)
                t = time.perf_counter()
                carry, losses, done, finite, chunk_work = chunk(carry)
                losses = np.asarray(jax.device_get(losses))  # waits for the chunk to finish
                finite = bool(finite)
                self.clock.train_s += time.perf_counter() - t
                for k, v in jax.device_get(chunk_work).items():
                    work[k] = work.get(k, 0) + int(v)
                bad = np.flatnonzero(~np.isfinite(losses))
                ran += length
                if bad.size or not finite or bool(done):
                    break
                if max_time is not None and self.clock.train_s >= max_time:
                    break
            if bad.size or not finite:
                where = step + ran - length + int(bad[0]) if bad.size else step + ran
                status, stop = "diverged", "diverged"
                message = f"non-finite {'loss' if bad.size else 'parameters'} at step {where}"
                record(step + ran)  # the state the chunk ended in, as the history shows it
                step = where  # the row's steps: how far training got, as the message says
                break
            step += ran
            record(step)
            if checkpoint is not None:
                checkpoint.save({"step": step, "clock": dataclasses.asdict(self.clock),
                                 "history": history, "work": work, "layout": layout,
                                 "carry": [np.asarray(x) for x in
                                           jax.tree.leaves(jax.device_get(carry))]})
            if bool(done):
                stop = "optimizer"
                break

        row = self._row(carry, history, step, status, stop, message)
        return RunResult(row, history, jax.device_get(carry.params))

    def _row(self, carry: Carry, history, steps, status, stop, message) -> dict[str, Any]:
        final = history[-1]
        c = self.clock
        row: dict[str, Any] = {
            "status": status,
            "stop": stop,
            "message": message,
            "steps": steps,
            "train_s": c.train_s,
            "compile_s": c.compile_s,
            "eval_s": c.eval_s,
            "steps_per_s": steps / c.train_s if c.train_s > 0 else float("nan"),
            "n_params": int(sum(x.size for x in jax.tree.leaves(carry.params))),
            **{k: v for k, v in final.items()
               if k not in ("step", "train_s") and not isinstance(v, list)},
            "peak_host_rss_mb": peak_host_rss_mb(),
            "peak_device_mb": peak_device_mb(),
        }
        summary = self.optimizer.summary(jax.device_get(carry.optimizer))
        row.update({f"opt_{k}": v for k, v in summary.items()})
        row.update(machine_info())
        return row


def trace_step(spec: RunSpec) -> None:
    """Build the run's components and trace one training step abstractly (no arithmetic, no
    compilation): a component that breaks its protocol fails here, before anything trains."""
    trainer = Trainer(spec)
    with precision(spec.precision):
        jax.eval_shape(lambda carry: trainer._step(carry, None), trainer.initial_state())


def time_piece(eval_every: int) -> int:
    """Steps per compiled piece under a time limit: the largest divisor of ``eval_every`` that
    is at most a tenth of it, so every interval is whole pieces (one compiled length)."""
    top = max(1, eval_every // 10)
    return max(k for k in range(1, top + 1) if eval_every % k == 0)


def train(spec: RunSpec, on_progress: ProgressFn | None = None) -> RunResult:
    return Trainer(spec).run(on_progress)
