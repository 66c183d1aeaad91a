"""Suite throughput on a CPU host: one worker on every core, or one worker per core.

Runs ``pinnbench run SUITE`` into a fresh folder for each configuration, in turn, and reports
the wall time and runs per hour:

- ``--jobs 1``: one run at a time, its XLA using every core;
- ``--jobs N`` pinned (``PINNBENCH_PIN_CPUS=1``): N runs side by side, each pinned to its own
  share of the cores, so each XLA sizes its thread pools to that share;
- ``--jobs N`` unpinned (the default): N runs side by side, every XLA sized for all cores.

Rounds repeat the configurations in rotating order; medians over rounds.

    .venv/bin/python benchmarks/jobs_threads.py                     # suites/ci.toml, 1 round
    .venv/bin/python benchmarks/jobs_threads.py --suite suites/ci.toml --rounds 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
PINNBENCH = Path(sys.executable).with_name("pinnbench")


def configurations(jobs: int) -> dict[str, tuple[list[str], dict[str, str]]]:
    return {
        "--jobs 1": (["--jobs", "1"], {}),
        f"--jobs {jobs}, pinned": (["--jobs", str(jobs)], {"PINNBENCH_PIN_CPUS": "1"}),
        f"--jobs {jobs}, unpinned": (["--jobs", str(jobs)], {"PINNBENCH_PIN_CPUS": "0"}),
    }


def run_once(suite: Path, args: list[str], env: dict[str, str]) -> tuple[float, pd.DataFrame]:
    out = Path(tempfile.mkdtemp(prefix="jobs-threads-"))
    try:
        t = time.perf_counter()
        subprocess.run([str(PINNBENCH), "run", str(suite), "--out", str(out), *args],
                       env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t
        rows = pd.concat(pd.read_parquet(p) for p in (out / "runs").glob("*.parquet"))
        return wall, rows
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", type=Path, default=ROOT / "suites" / "ci.toml")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()

    configs = configurations(args.jobs)
    walls: dict[str, list[float]] = {name: [] for name in configs}
    train: dict[str, list[float]] = {name: [] for name in configs}
    threads: dict[str, set[int]] = {name: set() for name in configs}
    runs = 0
    names = list(configs)
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            wall, rows = run_once(args.suite, *configs[name])
            runs = len(rows)
            walls[name].append(wall)
            train[name].append(float(rows["train_s"].median()))
            threads[name].update(int(t) for t in rows["cpu_threads"].dropna())
            print(f"round {r}: {name}: {wall:.0f} s for {runs} runs", flush=True)
    print()
    print(f"{args.suite.name}: {runs} runs; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f};"
          f" median of {args.rounds} round(s)")
    print()
    print("| configuration | threads per run | wall s | runs per hour | median train s per run |")
    print("|---|---:|---:|---:|---:|")
    for name in configs:
        wall = statistics.median(walls[name])
        print(f"| {name} | {','.join(map(str, sorted(threads[name])))} | {wall:.0f} | "
              f"{3600 * runs / wall:.0f} | {statistics.median(train[name]):.1f} |")


if __name__ == "__main__":
    main()
