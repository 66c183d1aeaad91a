"""What a suite of small runs spends on starting workers: spawned against forked workers.

Each configuration runs ``pinnbench run SUITE --jobs N`` into a fresh folder with a fresh, empty
persistent compilation cache (as a clean CI clone has), in turn, and reports the wall time:

- ``spawn, cache >= 1 s``: every worker a fresh interpreter (imports pinnbench and JAX again),
  writing to the compilation cache only programs that took a second to compile (JAX's default);
- ``forkserver, cache all``: workers forked from a server that imported pinnbench and JAX once,
  writing every program they compile, so the next seed of a configuration loads its
  op-by-op initialisation and evaluation instead of compiling them (the default now).

Rounds repeat the configurations in rotating order; medians and the ratio over rounds. The
runs' errors must agree: both configurations compute the same numbers.

    .venv/bin/python benchmarks/worker_start.py                  # suites/ci.toml, 1 round
    .venv/bin/python benchmarks/worker_start.py --rounds 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
from pathlib import Path

from jobs_threads import run_once

ROOT = Path(__file__).resolve().parent.parent

CONFIGURATIONS = {
    "spawn, cache >= 1 s": {"PINNBENCH_START_METHOD": "spawn",
                            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "1"},
    "forkserver, cache all": {"PINNBENCH_START_METHOD": "forkserver"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", type=Path, default=ROOT / "suites" / "ci.toml")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    # Each configuration sets the threshold it stands for (forkserver: the workers' own).
    os.environ.pop("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", None)

    walls: dict[str, list[float]] = {name: [] for name in CONFIGURATIONS}
    errors: dict[str, dict] = {}
    names = list(CONFIGURATIONS)
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            cache = tempfile.mkdtemp(prefix="worker-start-cache-")
            env = {**CONFIGURATIONS[name], "JAX_COMPILATION_CACHE_DIR": cache,
                   "JAX_COMPILATION_CACHE_MAX_SIZE": str(4 * 2**30)}
            try:
                wall, rows = run_once(args.suite, ["--jobs", str(args.jobs)], env)
            finally:
                shutil.rmtree(cache, ignore_errors=True)
            walls[name].append(wall)
            errors[name] = dict(zip(rows["run_id"], rows["rel_l2"], strict=True))
            print(f"round {r + 1}: {name:24s} {wall:7.1f} s  ({len(rows)} runs)", flush=True)

    runs = len(next(iter(errors.values())))
    print(f"\n{args.suite.name}, {runs} runs, --jobs {args.jobs}, {args.rounds} round(s)")
    print(f"{'configuration':24s} {'median wall s':>14s} {'runs per hour':>14s}")
    for name, w in walls.items():
        med = statistics.median(w)
        print(f"{name:24s} {med:14.1f} {3600 * runs / med:14.0f}")
    spawn, fork = (statistics.median(walls[n]) for n in names)
    print(f"ratio (spawn / forkserver): {spawn / fork:.2f}x")
    a, b = errors.values()
    same = sum(a[k] == b.get(k) for k in a)
    print(f"runs with the same rel_l2 in both: {same} of {len(a)}")


if __name__ == "__main__":
    main()
