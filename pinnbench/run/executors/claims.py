"""Exclusive claims on runs, so that processes sharing a results folder never train a run twice.

Before a run starts, its runner creates ``claims/<run_id>.claim`` with ``O_CREAT | O_EXCL`` (atomic
on local file systems and on NFSv3+), holding the owner's host, pid, process start time and
scheduler job id; the claim is removed when the run's row is written. A claim is *stale*, and is
taken over, when its owner is gone: a dead pid (or a pid reused by another process) on this host,
the same scheduler job (a requeued job), or no heartbeat (the owner touches the file every
``HEARTBEAT_S`` seconds) for ``STALE_S`` seconds, which covers owners on other hosts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

HEARTBEAT_S = 30.0
STALE_S = 300.0
_TAKEOVER_STALE_S = 60.0


def _job_id() -> str | None:
    return os.environ.get("SLURM_JOB_ID") or os.environ.get("SUBMITIT_LOCAL_JOB_ID")


def _start_time(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def owner() -> dict[str, Any]:
    """Who this process is, as recorded in its claims."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": _start_time(os.getpid()),
            "job": _job_id(), "time": time.time()}


@dataclasses.dataclass
class Claim:
    path: Path
    refreshed: float = dataclasses.field(default_factory=time.monotonic)

    def refresh(self, force: bool = False) -> None:
        """Heartbeat: a claim not touched for STALE_S seconds counts as abandoned."""
        if force or time.monotonic() - self.refreshed >= HEARTBEAT_S:
            with contextlib.suppress(OSError):
                os.utime(self.path)
            self.refreshed = time.monotonic()

    def release(self) -> None:
        self.path.unlink(missing_ok=True)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_stale(path: Path, now: float | None = None) -> bool:
    """Whether the owner of an existing claim is gone (see the module's docstring)."""
    try:
        age = (now or time.time()) - path.stat().st_mtime
    except FileNotFoundError:
        return True
    if age > STALE_S:
        return True
    data = _read(path)
    if data is None:  # being written right now (or damaged: then its age decides)
        return False
    me = owner()
    if data.get("job") and data.get("job") == me["job"] and data.get("pid") != me["pid"]:
        return True  # this scheduler job was requeued: the claim is its own earlier life's
    if data.get("host") != me["host"]:
        return False
    pid = data.get("pid")
    if not isinstance(pid, int):
        return False
    started = _start_time(pid)
    return started is None or (data.get("started") is not None
                               and abs(started - data["started"]) > 1.0)


def _take_over(path: Path) -> None:
    """Remove a stale claim, under a short-lived lock so two takers cannot both succeed."""
    lock = path.with_suffix(".takeover")
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        try:
            if time.time() - lock.stat().st_mtime > _TAKEOVER_STALE_S:
                lock.unlink(missing_ok=True)  # its holder died mid-takeover
        except FileNotFoundError:
            pass
        return
    os.close(fd)
    try:
        if is_stale(path):
            path.unlink(missing_ok=True)
    finally:
        lock.unlink(missing_ok=True)


def try_claim(out_dir: Path, run_id: str) -> Claim | None:
    """Claim a run for this process; None when a live owner holds it."""
    path = Path(out_dir) / "claims" / f"{run_id}.claim"
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if not is_stale(path):
                return None
            _take_over(path)
            continue
        with os.fdopen(fd, "w") as f:
            json.dump(owner(), f)
        return Claim(path)
    return None
