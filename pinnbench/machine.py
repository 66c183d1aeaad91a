"""Facts about the machine and software a run used, and its peak memory."""

from __future__ import annotations

import functools
import os
import platform
import resource
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import jax


def peak_host_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024.0 if sys.platform.startswith("linux") else kib / 2**20


def peak_device_mb() -> float | None:
    """Peak bytes in use on the default device since it started, where the device reports it."""
    stats = jax.devices()[0].memory_stats()
    if not stats or "peak_bytes_in_use" not in stats:
        return None
    return stats["peak_bytes_in_use"] / 2**20


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.cache
def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parent, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


@functools.cache
def machine_info() -> dict[str, Any]:
    import jaxlib

    from pinnbench import __version__

    device = jax.devices()[0]
    return {
        "pinnbench_version": __version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "platform": device.platform,
        "device_kind": device.device_kind,
        "device_count": jax.device_count(),
        **cpu_columns(),
        "host": socket.gethostname(),
    }


def usable_cpus() -> list[int]:
    """The cores this process may run on (its affinity; all of them where that is unknown)."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def cpu_columns() -> dict[str, Any]:
    """The CPU, its core count and the cores this run could use: XLA sizes its thread pools by
    the last, so two runs side by side on one core each differ from one run on both."""
    return {"cpu": cpu_name(), "cpu_count": os.cpu_count(), "cpu_threads": len(usable_cpus())}
