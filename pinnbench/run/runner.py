"""Run the cells of a suite, one process per run, recording every outcome.

Each run trains in a fresh worker process, forked from a server process that has imported
pinnbench and JAX but started no JAX backend (so JAX starts clean in every run, and no run pays
the seconds of imports again): peak memory is the run's own, and a run that crashes the
interpreter, is killed or runs out of memory becomes a status row instead of taking the suite
down. Statuses:

- ``ok``, ``diverged`` (from the engine): final, a rerun skips them;
- ``error`` (an exception in the run, message and traceback kept), ``oom`` (``MemoryError`` or
  XLA's ``RESOURCE_EXHAUSTED``), ``crashed`` (the worker died; the signal is in the message),
  ``timeout`` (killed after ``timeout_s`` of wall time), ``interrupted`` (Ctrl-C), ``preempted``
  (a scheduler took the job back): recorded, and tried again by the next ``run``.

The worker rewrites the run's history file at every evaluation, so every one of these rows keeps
the curve up to where the run stopped; with checkpointing on, the next attempt resumes from the
last evaluation. Up to ``jobs`` workers run at once, each run claimed first (see
:mod:`pinnbench.run.executors.claims`) so that two suite processes on one folder never train the
same run twice.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import multiprocessing as mp
import os
import queue as queue_mod
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pinnbench.registry import BUILTIN_PACKAGES
from pinnbench.run.executors.claims import Claim, try_claim
from pinnbench.run.store import (
    checkpoint_path,
    finished_ids,
    is_finished,
    read_checkpoint,
    read_history,
    remove_checkpoint,
    remove_temporaries,
    write_checkpoint,
    write_history,
    write_run,
)
from pinnbench.spec import RunSpec

Event = dict[str, Any]
EventFn = Callable[[Event], None]

# Statuses a worker that was stopped from outside gets; its checkpoint is kept for the next try.
EXTERNAL_STATUSES = ("crashed", "timeout", "interrupted", "preempted")
_POLL_S = 0.05
_WATCH_S = 0.5  # how often a worker checks that its suite process is still there
# The cores a worker is pinned to, comma-separated; set by the runner for CPU workers.
CPUS_ENV = "PINNBENCH_WORKER_CPUS"
# Set to 1 to pin CPU workers to disjoint cores (by default they share every core: faster for
# suites of small runs, whose time is mostly single-threaded compilation; BENCHMARKS.md).
PIN_ENV = "PINNBENCH_PIN_CPUS"

# "spawn" starts every worker as a fresh interpreter (the default forks them from a server).
START_ENV = "PINNBENCH_START_METHOD"
START_METHODS = ("forkserver", "spawn")

# Row values a "done" event carries, for a progress display's line about the finished run.
DONE_COLUMNS = ("rel_l2", "train_s", "steps")


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """How runs are carried out, the same for every run of one :func:`run_suite` call: built
    once by the command line and passed whole through :func:`run_suite`, :class:`Worker` and
    the worker process down to :func:`execute`; each level reads the fields it acts on. Plain
    values only, since it is pickled into every worker; the callbacks, which watch from this
    process, stay arguments."""

    isolate: bool = True
    """Each run in a worker process of its own (:class:`Worker`); False trains in this
    process, where a crash takes the suite down and no timeout can be enforced."""
    jobs: int = 1
    """Worker processes at once (with ``isolate``), each with its own device where there are
    several GPUs (:func:`worker_env`)."""
    timeout_s: float | None = None
    """Seconds of wall time (start-up and compilation included) after which a worker is
    killed and its run recorded as ``timeout``; None never. Needs ``isolate``."""
    checkpoint: bool = False
    """Save the training state at every evaluation and resume from it on the next attempt;
    without it, an attempt always starts afresh."""


@dataclasses.dataclass
class SuiteOutcome:
    total: int
    skipped: int
    statuses: dict[str, int]
    elsewhere: int = 0  # runs another live process had claimed


def host_columns() -> dict[str, Any]:
    """Versions and machine, for rows written by a process that never started JAX's backend
    (initialising it here would grab device memory the workers need)."""
    from pinnbench import __version__
    from pinnbench.machine import cpu_columns, git_commit

    def version(name: str) -> str | None:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return None

    return {"pinnbench_version": __version__, "git_commit": git_commit(),
            "python": sys.version.split()[0], "jax": version("jax"), "jaxlib": version("jaxlib"),
            **cpu_columns(), "host": socket.gethostname()}


def failure_row(status: str, message: str, detail: str = "", steps: int = 0) -> dict[str, Any]:
    return {"status": status, "stop": status, "message": message, "traceback": detail,
            "steps": steps, **host_columns()}


def is_oom(error: BaseException) -> bool:
    text = str(error)
    return (isinstance(error, MemoryError) or "RESOURCE_EXHAUSTED" in text
            or "out of memory" in text.lower())


class _Recorder:
    """Inside a run: flushes the history at every evaluation, saves and loads checkpoints."""

    def __init__(self, out_dir: Path, run_id: str, options: RunOptions) -> None:
        self.out_dir, self.run_id, self.enabled = out_dir, run_id, options.checkpoint
        self.history: list[dict[str, Any]] = []

    def progress(self, event: dict[str, Any]) -> None:
        self.history.append({k: v for k, v in event.items() if k not in ("max_steps",
                                                                          "max_time")})
        write_history(self.out_dir, self.run_id, self.history)

    def load(self) -> dict[str, Any] | None:
        saved = read_checkpoint(self.out_dir, self.run_id) if self.enabled else None
        if saved is not None:
            self.history = list(saved["history"])
        return saved

    def save(self, state: dict[str, Any]) -> None:
        write_checkpoint(self.out_dir, self.run_id, state)


def execute(spec: RunSpec, out_dir: Path, on_event: EventFn | None = None,
            options: RunOptions = RunOptions()) -> str:
    """Train one run in this process and record it, whatever happens; returns its status.
    Of ``options`` only ``checkpoint`` applies here: the others are about worker processes."""
    from pinnbench import plugins
    from pinnbench.engine.train import Trainer

    emit = on_event or (lambda e: None)
    checkpoint = options.checkpoint
    rec = _Recorder(out_dir, spec.run_id, options)
    if not (checkpoint and checkpoint_path(out_dir, spec.run_id).is_file()):
        # A fresh start: a partial curve left by an earlier attempt is not this attempt's.
        (out_dir / "history" / f"{spec.run_id}.parquet").unlink(missing_ok=True)

    def progress(p: dict[str, Any]) -> None:
        rec.progress(p)
        emit({"kind": "progress", "run_id": spec.run_id, **p})

    params = None
    try:
        plugins.load(spec.plugins)  # a worker's own interpreter: the suite's plugins again
        result = Trainer(spec).run(progress, checkpoint=rec if checkpoint else None)
        row, history, params = result.row, result.history, result.params
    except KeyboardInterrupt:  # only when running in-process: workers ignore SIGINT
        steps = int(rec.history[-1]["step"]) if rec.history else 0
        write_run(out_dir, spec, failure_row("interrupted", "interrupted (Ctrl-C)", steps=steps),
                  rec.history)
        emit({"kind": "done", "run_id": spec.run_id, "status": "interrupted", "message": ""})
        raise
    except Exception as e:
        status = "oom" if is_oom(e) else "error"
        steps = int(rec.history[-1]["step"]) if rec.history else 0
        row = failure_row(status, f"{type(e).__name__}: {e}", traceback.format_exc(), steps)
        history = rec.history
    write_run(out_dir, spec, row, history, params)
    if row["status"] not in EXTERNAL_STATUSES:
        remove_checkpoint(out_dir, spec.run_id)
    emit({"kind": "done", "run_id": spec.run_id, "status": row["status"],
          "message": row.get("message", ""), **{k: row.get(k) for k in DONE_COLUMNS}})
    return row["status"]


# Imported once by the server that workers are forked from (everything a run imports, the
# built-in components included).
PRELOAD = ("pinnbench.run.runner", "pinnbench.plugins", "pinnbench.engine.train",
           *BUILTIN_PACKAGES)


def _alive(proc: Any) -> bool:
    """Whether a psutil process is still running (a zombie waiting to be reaped is not)."""
    import psutil

    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _die_with_parent(suite: int) -> None:
    """End this worker when the suite process dies, however it dies: otherwise a killed
    `pinnbench run` leaves its worker training and writing a result nobody waits for. A forked
    worker's parent is the fork server, which outlives the suite while workers run, so a thread
    watches the suite process itself (its pid and start time); a spawned worker also asks Linux
    for a signal."""
    import psutil

    if sys.platform.startswith("linux") and os.getppid() == suite:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    try:
        proc = psutil.Process(suite)
    except psutil.NoSuchProcess:  # gone before the watch below was in place
        os._exit(1)

    def watch() -> None:
        while _alive(proc):
            time.sleep(_WATCH_S)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="suite-watch", daemon=True).start()


def cache_every_program() -> None:
    """With a persistent compilation cache configured, a worker writes every program it compiles
    to it, not only those that took a second: a worker is a fresh process, and the hundred small
    programs of op-by-op initialisation and evaluation cost seconds to compile and milliseconds
    to load, for every seed of a configuration. An explicit JAX setting wins."""
    if os.environ.get("JAX_COMPILATION_CACHE_DIR") and \
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:
        import jax

        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


def _worker(spec_json: str, out_dir: str, events: Any, suite: int, env: dict[str, str],
            options: RunOptions) -> None:
    # Ctrl-C reaches the whole process group; the parent stops this worker and records it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(suite)
    # The suite process's environment now (the server's is that of when it started), with the
    # worker's device selection: read when JAX starts its backend.
    os.environ.clear()
    os.environ.update(env)
    cache_every_program()
    if env.get(CPUS_ENV):
        # Before JAX starts: XLA sizes its CPU thread pools by the cores it may use.
        os.sched_setaffinity(0, {int(c) for c in env[CPUS_ENV].split(",")})
    execute(RunSpec.from_json(spec_json), Path(out_dir), events.put, options)


# ---- devices ----------------------------------------------------------------------------------
def visible_gpus() -> list[str]:
    """GPU ids workers may be pinned to: CUDA_VISIBLE_DEVICES if set, else nvidia-smi's list."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [d.strip() for d in env.split(",") if d.strip() and d.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip().isdigit()]


def cpu_share(slot: int, jobs: int, cpus: list[int]) -> list[int]:
    """The cores of the worker in ``slot``: ``jobs`` disjoint, equal shares of ``cpus`` (one core
    each, round robin, when there are more workers than cores)."""
    if jobs > len(cpus):
        return [cpus[slot % len(cpus)]]
    per = len(cpus) // jobs
    return cpus[slot * per:(slot + 1) * per]


def worker_env(slot: int, jobs: int, gpus: list[str]) -> dict[str, str]:
    """Environment of the worker in ``slot`` (0..jobs-1): one device per worker, round robin;
    where workers share a device, none may preallocate most of its memory (XLA's default).
    Without GPUs and with PINNBENCH_PIN_CPUS=1, workers run on disjoint cores, and each XLA
    sizes its thread pools to its own share (benchmarks/jobs_threads.py compares both)."""
    if jobs <= 1:
        return {}
    if not gpus:
        if os.environ.get(PIN_ENV) != "1":
            return {}
        from pinnbench.machine import usable_cpus

        return {CPUS_ENV: ",".join(map(str, cpu_share(slot, jobs, usable_cpus())))}
    env = {"CUDA_VISIBLE_DEVICES": gpus[slot % len(gpus)]}
    if jobs > len(gpus):
        env["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
    return env


# ---- one isolated run -------------------------------------------------------------------------
def start_method() -> str:
    """``PINNBENCH_START_METHOD`` (default forkserver); ValueError naming it when it is neither
    of :data:`START_METHODS`."""
    method = os.environ.get(START_ENV, "forkserver")
    if method not in START_METHODS:
        raise ValueError(f"{START_ENV}={method!r}: expected one of {', '.join(START_METHODS)}")
    return method


def worker_context() -> Any:
    """Where workers come from: forked from one server process that imported :data:`PRELOAD`
    (about 2 s of imports a run saves), or spawned where fork servers do not exist or
    ``PINNBENCH_START_METHOD=spawn`` asks for it (benchmarks/worker_start.py compares both)."""
    if start_method() == "spawn" or "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(list(PRELOAD))
    return ctx


class Worker:
    """One run in a worker process, watched from this one: ``poll`` forwards its events and
    returns its status once it has one; ``stop`` ends it from outside and records why."""

    def __init__(self, spec: RunSpec, out_dir: Path, options: RunOptions = RunOptions(), *,
                 on_event: EventFn | None = None, env: dict[str, str] | None = None) -> None:
        self.spec, self.out_dir, self.on_event = spec, Path(out_dir), on_event
        self.timeout_s, self.status = options.timeout_s, None
        self.steps = 0
        ctx = worker_context()
        self.events = ctx.Queue()
        self.proc = ctx.Process(target=_worker, daemon=True,
                                args=(spec.to_json(), str(out_dir), self.events, os.getpid(),
                                      {**os.environ, **(env or {})}, options))
        self.started = time.monotonic()
        self.proc.start()

    def _forward(self, event: Event) -> None:
        if event["kind"] == "progress":
            self.steps = int(event["step"])
        elif event["kind"] == "done":
            self.status = event["status"]
        if self.on_event:
            self.on_event(event)

    def _drain(self) -> None:
        while True:
            try:
                self._forward(self.events.get_nowait())
            except queue_mod.Empty:
                return

    def poll(self) -> str | None:
        self._drain()
        if self.status is not None:
            self.proc.join()
            return self.status
        if not self.proc.is_alive():
            self.proc.join()
            time.sleep(_POLL_S)  # the queue's feeder may still be delivering the last events
            self._drain()
            if self.status is None:
                code = self.proc.exitcode
                why = (f"killed by signal {-code}" if code is not None and code < 0
                       else f"exit code {code}")
                if code == -signal.SIGKILL:
                    why += "; the kernel's out-of-memory killer sends this signal too"
                self._record("crashed", f"worker process died ({why})")
            return self.status
        if self.timeout_s is not None and time.monotonic() - self.started > self.timeout_s:
            self.stop("timeout", f"no result after {self.timeout_s:g} s of wall time; "
                                 "worker killed")
        return self.status

    def wait(self) -> str:
        while (status := self.poll()) is None:
            time.sleep(_POLL_S)
        return status

    def stop(self, status: str, why: str) -> str:
        """Kill the worker (unless it already finished) and record ``status`` with ``why``."""
        if self.status is not None:
            return self.status
        self.proc.kill()
        self.proc.join()
        self._drain()
        if self.status is None:
            self._record(status, why)
        return self.status

    def _record(self, status: str, why: str) -> None:
        remove_temporaries(self.out_dir, self.spec.run_id)
        history = read_history(self.out_dir, self.spec.run_id)  # flushed by the worker
        steps = int(history["step"].iloc[-1]) if "step" in history else 0
        write_run(self.out_dir, self.spec, failure_row(status, why, steps=steps), None)
        self._forward({"kind": "done", "run_id": self.spec.run_id, "status": status,
                       "message": why, "steps": steps})


def execute_isolated(spec: RunSpec, out_dir: Path, on_event: EventFn | None = None,
                     options: RunOptions = RunOptions()) -> str:
    """Train one run in a worker process; a worker that dies is recorded as ``crashed``, one that
    is still running after ``options.timeout_s`` seconds of wall time (start-up and compilation
    included) is killed and recorded as ``timeout``; Ctrl-C records ``interrupted`` and is
    re-raised."""
    worker = Worker(spec, out_dir, options, on_event=on_event)
    try:
        return worker.wait()
    except KeyboardInterrupt:
        worker.stop("interrupted", "interrupted (Ctrl-C)")
        raise
    finally:
        if worker.status is None:
            worker.stop("crashed", "the watching process stopped")


# ---- a suite ----------------------------------------------------------------------------------
def run_suite(specs: list[RunSpec], out_dir: Path, options: RunOptions = RunOptions(), *,
              on_start: Callable[[RunSpec, int, int], None] | None = None,
              on_event: EventFn | None = None) -> SuiteOutcome:
    """Run every spec not already finished in ``out_dir``, up to ``options.jobs`` at once;
    ``on_start(spec, started, to_do)`` before each run, ``on_event`` with each run's progress
    and outcome (in this process, whichever process trains)."""
    out_dir = Path(out_dir)
    isolate, jobs = options.isolate, options.jobs
    done = finished_ids(out_dir)
    todo = deque(s for s in specs if s.run_id not in done)
    total_todo = len(todo)
    skipped, elsewhere, started = len(specs) - total_todo, 0, 0
    statuses: dict[str, int] = {}
    gpus = visible_gpus() if isolate and jobs > 1 else []
    free_slots = list(range(jobs))
    active: list[tuple[Worker, Claim, int]] = []

    def count(status: str) -> None:
        statuses[status] = statuses.get(status, 0) + 1

    try:
        while todo or active:
            while todo and len(active) < max(jobs, 1):
                spec = todo.popleft()
                claim = try_claim(out_dir, spec.run_id)
                if claim is None:
                    elsewhere += 1
                    continue
                if is_finished(out_dir, spec.run_id):  # finished by another process meanwhile
                    claim.release()
                    skipped += 1
                    continue
                if on_start:
                    on_start(spec, started, total_todo)
                started += 1
                if not isolate:
                    try:
                        count(execute(spec, out_dir, on_event, options))
                    finally:
                        claim.release()
                    continue
                slot = free_slots.pop(0)
                worker = Worker(spec, out_dir, options, on_event=on_event,
                                env=worker_env(slot, jobs, gpus))
                active.append((worker, claim, slot))
            for entry in list(active):
                worker, claim, slot = entry
                status = worker.poll()
                if status is None:
                    claim.refresh()
                    continue
                active.remove(entry)
                claim.release()
                free_slots.append(slot)
                count(status)
            if active:
                time.sleep(_POLL_S)
    except BaseException as e:
        status = "interrupted" if isinstance(e, KeyboardInterrupt) else "crashed"
        why = (str(e) or "interrupted (Ctrl-C)" if status == "interrupted"
               else f"the suite process stopped ({type(e).__name__})")
        for worker, claim, _ in active:
            worker.stop(status, why)
            claim.release()
        raise
    return SuiteOutcome(len(specs), skipped, statuses, elsewhere)
