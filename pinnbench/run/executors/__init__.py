"""Where the runs of a suite execute: this machine, or a cluster's job array through submitit.

An executor takes the runs still to do and a results folder. ``local`` runs them here (one
worker process per run, ``jobs`` at a time; see :mod:`pinnbench.run.runner`). The submitit executors
(``slurm``; ``submitit_local`` — real subprocesses on this machine, for tests; ``debug`` — in
this process) submit one job per run as a job array; each job claims its run, trains it in a
worker and writes its own result files into the (shared) results folder, so the submitting
process may exit. Options come from the suite's ``[executor]`` table and the command line; the
resource options may be overridden per method (``[executor.methods.NAME]``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pinnbench.spec import RunSpec

# option -> (type, check, expectation); `type` and `methods` are handled on their own.
OPTIONS: dict[str, tuple[type, Callable[[Any], bool] | None, str, str]] = {
    "jobs": (int, lambda v: v >= 1, ">= 1", "runs at once on this machine (local)"),
    "timeout": (float, lambda v: v > 0, "> 0", "seconds of wall time before a run is killed"),
    "checkpoint": (bool, None, "", "save the training state at every evaluation and resume "
                                   "from it"),
    "partition": (str, None, "", "SLURM partition"),
    "gpus": (int, lambda v: v >= 0, ">= 0", "GPUs per job"),
    "cpus": (int, lambda v: v >= 1, ">= 1", "CPUs per job"),
    "mem_gb": (float, lambda v: v > 0, "> 0", "memory per job (GB)"),
    "time": (int, lambda v: v >= 1, ">= 1", "time limit per job (minutes, default 60)"),
    "array_parallelism": (int, lambda v: v >= 1, ">= 1", "jobs of an array running at once"),
    "folder": (str, None, "", "folder for job scripts and logs (default <results>/jobs)"),
}
# Options a method may override: what its jobs ask the scheduler for.
RESOURCE_KEYS = ("partition", "gpus", "cpus", "mem_gb", "time")
EXECUTOR_TYPES = ("local", "slurm", "submitit_local", "debug")


@dataclasses.dataclass(frozen=True)
class ExecutorConfig:
    type: str = "local"
    jobs: int = 1
    timeout: float | None = None
    checkpoint: bool = False
    partition: str | None = None
    gpus: int | None = None
    cpus: int | None = None
    mem_gb: float | None = None
    time: int = 60  # submitit's own default (5 minutes) is shorter than most runs
    array_parallelism: int | None = None
    folder: str | None = None
    methods: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_tables(cls, *tables: dict[str, Any]) -> ExecutorConfig:
        """Later tables win (the suite's, then the command line's); None means not set."""
        merged: dict[str, Any] = {}
        methods: dict[str, dict[str, Any]] = {}
        for table in tables:
            for k, v in table.items():
                if k == "methods":
                    for label, res in v.items():
                        methods.setdefault(label, {}).update(
                            {rk: rv for rk, rv in res.items() if rv is not None})
                elif v is not None:
                    merged[k] = v
        return cls(**merged, methods=methods)

    def resources(self, method_label: str) -> dict[str, Any]:
        """What one job of this method asks for: the defaults, then the method's overrides."""
        out = {k: getattr(self, k) for k in RESOURCE_KEYS}
        out.update(self.methods.get(method_label, {}))
        return {k: v for k, v in out.items() if v is not None}


@dataclasses.dataclass
class Submission:
    """What a submitting executor started: the jobs, and how many runs they cover."""

    runs: int
    skipped: int
    jobs: list[Any]
    folder: Path


def submit(config: ExecutorConfig, specs: list[RunSpec], out_dir: Path) -> Submission:
    """Submit the runs not yet finished to a submitit executor (``config.type`` != local)."""
    from pinnbench.run.executors.submitit_jobs import submit_runs

    return submit_runs(config, specs, out_dir)
