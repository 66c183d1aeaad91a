"""On-disk cache of numerical references, keyed by solver, solver version and parameters.

A reference that takes seconds to minutes is computed once per machine. Each entry is one ``.npz``
holding the arrays plus a JSON record (key material, generation time, checksum); a checksum that
does not match the arrays — a truncated or edited file — makes the entry count as missing, so it is
regenerated rather than trusted. Writes go to a temporary file renamed into place, so concurrent
runs never read half a file. Solvers are deterministic, so regenerating gives the same arrays.

The folder is ``$PINNBENCH_CACHE`` if set, else ``~/.cache/pinnbench/references``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from pinnbench.atomic import atomic_write

_MEMORY: dict[str, CachedReference] = {}


@dataclasses.dataclass(frozen=True)
class CachedReference:
    arrays: dict[str, np.ndarray]
    info: dict[str, Any]  # solver, version, params, seconds (generation time), checksum, path


def cache_dir() -> Path:
    env = os.environ.get("PINNBENCH_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "pinnbench" / "references"


def checksum(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(name.encode())
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def entry_key(solver: str, version: str, params: dict[str, Any]) -> str:
    text = json.dumps({"solver": solver, "version": version, "params": params}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _read(path: Path) -> CachedReference | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            info = json.loads(str(data["__info__"]))
            arrays = {k: data[k] for k in data.files if k != "__info__"}
    except (OSError, ValueError, KeyError):
        return None
    if checksum(arrays) != info.get("checksum"):
        return None
    return CachedReference(arrays, {**info, "path": str(path), "from_cache": True})


def cached(solver: str, version: str, params: dict[str, Any],
           compute: Callable[[], dict[str, np.ndarray]]) -> CachedReference:
    """The arrays of ``compute()`` for these key parts, from memory, disk, or freshly computed."""
    key = entry_key(solver, version, params)
    if key in _MEMORY:
        return _MEMORY[key]
    path = cache_dir() / f"{solver}-{key}.npz"
    hit = _read(path) if path.exists() else None
    if hit is None:
        t0 = time.perf_counter()
        arrays = {k: np.asarray(v) for k, v in compute().items()}
        seconds = time.perf_counter() - t0
        info = {"solver": solver, "version": version, "params": params, "seconds": seconds,
                "checksum": checksum(arrays)}
        with contextlib.suppress(OSError):  # a read-only home gets the reference, not its cache
            atomic_write(path, lambda tmp: np.savez(
                tmp, __info__=np.asarray(json.dumps(info)), **arrays), suffix=".npz")
        hit = CachedReference(arrays, {**info, "path": str(path), "from_cache": False})
    _MEMORY[key] = hit
    return hit


def forget_memory() -> None:
    """Drop the in-process copies (tests use it to exercise the disk path)."""
    _MEMORY.clear()
