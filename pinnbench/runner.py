"""Run the cells of a suite, one process per run, recording every outcome.

Each run trains in a fresh worker process (spawned, so JAX starts clean): peak memory is the run's
own, and a run that crashes the interpreter, is killed or runs out of memory becomes a status row
instead of taking the suite down. An exception inside a run is recorded as status ``error`` with
its message; a non-finite loss as ``diverged`` (by the engine). Finished runs are skipped on rerun.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import queue as queue_mod
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pinnbench.results.store import finished_ids, write_run
from pinnbench.spec import RunSpec

Event = dict[str, Any]
EventFn = Callable[[Event], None]


@dataclasses.dataclass
class SuiteOutcome:
    total: int
    skipped: int
    statuses: dict[str, int]


def _failure_row(status: str, message: str, detail: str = "") -> dict[str, Any]:
    return {"status": status, "stop": status, "message": message, "traceback": detail,
            "steps": 0}


def execute(spec: RunSpec, out_dir: Path, on_event: EventFn | None = None) -> str:
    """Train one run in this process and record it, whatever happens; returns its status."""
    import pinnbench.plugins  # noqa: F401
    from pinnbench.engine.train import train

    emit = on_event or (lambda e: None)
    try:
        result = train(spec, lambda p: emit({"kind": "progress", **p}))
        row, history, params = result.row, result.history, result.params
    except Exception as e:  # noqa: BLE001 - any failure of a run is a result to record
        row = _failure_row("error", f"{type(e).__name__}: {e}", traceback.format_exc())
        history, params = [], None
    write_run(out_dir, spec, row, history, params)
    emit({"kind": "done", "status": row["status"], "message": row.get("message", "")})
    return row["status"]


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this worker when the suite process dies, however it dies: otherwise a
    killed `pinnbench run` leaves its worker training and writing a result nobody waits for."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the request above was in place
        os._exit(1)


def _worker(spec_json: str, out_dir: str, events: Any, parent: int) -> None:
    _die_with_parent(parent)
    execute(RunSpec.from_json(spec_json), Path(out_dir), events.put)


def execute_isolated(spec: RunSpec, out_dir: Path, on_event: EventFn | None = None,
                     timeout_s: float | None = None) -> str:
    """Train one run in a spawned worker; a worker that dies is recorded as ``crashed``, one that
    is still running after ``timeout_s`` seconds of wall time (start-up and compilation included)
    is killed and recorded as ``timeout``."""
    ctx = mp.get_context("spawn")
    events = ctx.Queue()
    proc = ctx.Process(target=_worker, args=(spec.to_json(), str(out_dir), events, os.getpid()),
                       daemon=True)
    started = time.monotonic()
    proc.start()
    status = None
    timed_out = False
    try:
        while True:
            try:
                event = events.get(timeout=0.2)
            except queue_mod.Empty:
                if not proc.is_alive():
                    break
                if timeout_s is not None and time.monotonic() - started > timeout_s:
                    proc.kill()
                    timed_out = True
                    break
                continue
            if event["kind"] == "done":
                status = event["status"]
            if on_event:
                on_event(event)
        proc.join()
    except BaseException:
        proc.kill()
        proc.join()
        raise
    if status is None and timed_out:
        why = f"no result after {timeout_s:g} s of wall time; worker killed"
        write_run(out_dir, spec, _failure_row("timeout", why), [])
        status = "timeout"
        if on_event:
            on_event({"kind": "done", "status": status, "message": why})
    elif status is None:
        code = proc.exitcode
        why = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        write_run(out_dir, spec, _failure_row("crashed", f"worker process died ({why})"), [])
        status = "crashed"
        if on_event:
            on_event({"kind": "done", "status": status, "message": why})
    return status


def run_suite(specs: list[RunSpec], out_dir: Path, *, isolate: bool = True,
              timeout_s: float | None = None,
              on_start: Callable[[RunSpec, int, int], None] | None = None,
              on_event: EventFn | None = None) -> SuiteOutcome:
    """Run every spec not already finished in ``out_dir``."""
    done = finished_ids(out_dir)
    todo = [s for s in specs if s.run_id not in done]
    statuses: dict[str, int] = {}
    for i, spec in enumerate(todo):
        if on_start:
            on_start(spec, i, len(todo))
        if isolate:
            status = execute_isolated(spec, out_dir, on_event, timeout_s)
        else:
            status = execute(spec, out_dir, on_event)
        statuses[status] = statuses.get(status, 0) + 1
    return SuiteOutcome(len(specs), len(specs) - len(todo), statuses)

