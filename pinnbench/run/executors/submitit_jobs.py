"""Runs as submitit jobs: one job per run, submitted as arrays, each writing its own result.

A job claims its run (:mod:`pinnbench.run.executors.claims`), trains it in a worker process (so a
worker that the kernel's or the scheduler's memory limit kills still leaves a ``crashed`` row
written by the job) and releases the claim. When the scheduler warns the job (SIGUSR2, before a
time limit or a preemption), submitit calls :meth:`RunJob.checkpoint`: the worker is stopped, the
run recorded as ``timeout`` or ``preempted`` with its history so far, and the job requeued; with
checkpointing on, the requeued job resumes at the run's last evaluation.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import submitit

from pinnbench.run.executors import ExecutorConfig, Submission
from pinnbench.run.executors.claims import try_claim
from pinnbench.run.runner import RunOptions, Worker
from pinnbench.run.store import finished_ids, is_finished
from pinnbench.spec import RunSpec

# Our executor names -> submitit's AutoExecutor clusters.
CLUSTERS = {"slurm": "slurm", "submitit_local": "local", "debug": "debug"}


class RunJob(submitit.helpers.Checkpointable):
    """The callable a job runs: train one run into ``out_dir``; returns its status."""

    def __init__(self, spec_json: str, out_dir: str, options: RunOptions,
                 time_min: int | None = None) -> None:
        self.spec_json, self.out_dir = spec_json, out_dir
        self.options, self.time_min = options, time_min
        self._worker: Any = None
        self._claim: Any = None
        self._started = time.time()

    def __getstate__(self) -> dict[str, Any]:  # what a requeue pickles: no live handles
        state = dict(self.__dict__)
        state.update(_worker=None, _claim=None)
        return state

    def __call__(self) -> str:
        self._started = time.time()
        spec, out = RunSpec.from_json(self.spec_json), Path(self.out_dir)
        if is_finished(out, spec.run_id):
            return "skipped (already finished)"
        claim = try_claim(out, spec.run_id)
        if claim is None:
            return "skipped (claimed by another live process)"
        self._claim = claim
        try:
            self._worker = Worker(spec, out, self.options, on_event=lambda e: claim.refresh())
            status = self._worker.wait()
            print(f"{spec.problem_label}/{spec.method_label} seed {spec.seed}: {status}",
                  flush=True)
            return status
        finally:
            claim.release()
            self._worker = self._claim = None

    def checkpoint(self, *args: Any, **kwargs: Any) -> submitit.helpers.DelayedSubmission | None:
        """The scheduler's warning: record the run, then requeue (or not, see the module)."""
        # submitit's own rule: a warning after 80% of the time limit is the time limit.
        timed_out = (self.time_min is not None
                     and time.time() - self._started >= 0.8 * 60 * self.time_min)
        status = "timeout" if timed_out else "preempted"
        resumes = self.options.checkpoint
        requeue = resumes or not timed_out
        why = (f"job {'reached its time limit' if timed_out else 'was preempted'} (SIGUSR2); "
               + ("requeued" + (", resuming from the last checkpoint" if resumes else "")
                  if requeue else "not requeued (no checkpoints)"))
        if self._worker is not None:
            self._worker.stop(status, why)
        if self._claim is not None:
            self._claim.release()
        self._worker = self._claim = None
        if not requeue:
            return None
        return submitit.helpers.DelayedSubmission(
            RunJob(self.spec_json, self.out_dir, self.options, self.time_min))


def _parameters(config: ExecutorConfig, resources: dict[str, Any], name: str) -> dict[str, Any]:
    params: dict[str, Any] = {"name": name}
    mapping = {"time": "timeout_min", "gpus": "gpus_per_node", "cpus": "cpus_per_task",
               "mem_gb": "mem_gb", "partition": "slurm_partition"}
    params.update({mapping[k]: v for k, v in resources.items()})
    if config.array_parallelism is not None:
        params["slurm_array_parallelism"] = config.array_parallelism
    return params


def make_executor(config: ExecutorConfig, folder: Path,
                  resources: dict[str, Any], name: str) -> submitit.AutoExecutor:
    executor = submitit.AutoExecutor(folder=folder / "%j", cluster=CLUSTERS[config.type])
    executor.update_parameters(**_parameters(config, resources, name))
    return executor


def submit_runs(config: ExecutorConfig, specs: list[RunSpec], out_dir: Path) -> Submission:
    """One job per run not yet finished; runs asking for the same resources share an array."""
    out_dir = Path(out_dir)
    done = finished_ids(out_dir)
    todo = [s for s in specs if s.run_id not in done]
    folder = Path(config.folder) if config.folder else out_dir / "jobs"
    groups: dict[tuple, list[RunSpec]] = {}
    for spec in todo:
        key = tuple(sorted(config.resources(spec.method_label).items()))
        groups.setdefault(key, []).append(spec)
    jobs: list[Any] = []
    # One job, one run in one worker: of the options, only those a worker acts on.
    options = RunOptions(timeout_s=config.timeout, checkpoint=config.checkpoint)
    for key, group in groups.items():
        executor = make_executor(config, folder, dict(key), f"pinnbench-{group[0].suite}")
        with executor.batch():
            for spec in group:
                jobs.append(executor.submit(RunJob(spec.to_json(), str(out_dir), options,
                                                   dict(key).get("time"))))
    return Submission(len(todo), len(specs) - len(todo), jobs, folder)
