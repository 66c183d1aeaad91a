"""Performance benchmark: pinnbench against DeepXDE on 2D Helmholtz, and against a matmul.

One invocation (``make bench``) measures, side by side on the same machine:

(a) pinnbench's steady-state training steps/s: helmholtz2d (a1 = 1, a2 = 4, k = 1), MLP with 4
    hidden layers of 64 tanh units, 4096 interior + 1024 boundary points drawn once, Adam with a
    constant learning rate of 1e-3, float32. Timed on the Trainer's compiled chunks (a ``lax.scan``
    of ``--chunk`` steps) after they are compiled and run once.
(b) the same configuration in DeepXDE with its PyTorch backend, in a child process
    (benchmarks/deepxde_worker.py) so torch and jax never share a process. Rounds of (a) and (b)
    alternate, so both see the same load on a shared machine; the ratio is reported.
(c) the FLOPs of one pinnbench training step from XLA's cost analysis, times the measured steps/s,
    as a fraction of the FLOP/s of a large float32 matmul timed in the same rounds.
(d) where the step's time goes: the loss alone, the loss and its gradient, the whole step (each
    in a compiled scan), op time by kind from a profiler trace, CPU time per step of both sides.

Everything is printed and written to bench-out/ as JSON. See BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import (
    CONFIG,
    OUT_DIR,
    ROOT,
    cpu_model,
    flops_of,
    load_avg,
    make_spec,
    median,
    op_time_by_kind,
    scanned,
    spread,
)

WORKER = Path(__file__).resolve().parent / "deepxde_worker.py"

# Targets on the reference 2-core CPU.
TARGET_RATIO = 4.0  # pinnbench steps/s over DeepXDE steps/s
TARGET_MATMUL_FRACTION = 0.5  # achieved step FLOP/s over matmul FLOP/s


def fmt(x: float | None, spec: str = ".1f") -> str:
    return "n/a" if x is None or x != x else format(x, spec)


# ---- pinnbench ---------------------------------------------------------------------------------
class PinnbenchSide:
    """The Trainer for the benchmark configuration, its compiled chunk and its state."""

    def __init__(self, chunk: int) -> None:
        import jax

        from pinnbench.engine.train import Trainer

        self.jax = jax
        self.spec = make_spec(chunk)
        self.trainer = Trainer(self.spec)
        self.length = chunk
        self.carry = self.trainer.initial_state()
        t0 = time.perf_counter()
        self.chunk = self.trainer.compiled_chunk(self.carry, chunk)
        self.compile_s = time.perf_counter() - t0
        self.steps_done = 0
        self.loss = float("nan")
        self.cpu_s: list[float] = []  # process CPU seconds per step, one entry per timed chunk

    def run_chunk(self) -> float:
        """Run one compiled chunk; seconds until its results are on the host."""
        t, c = time.perf_counter(), time.process_time()
        carry, losses, *_ = self.chunk(self.carry)
        self.jax.block_until_ready((carry, losses))
        seconds = time.perf_counter() - t
        self.cpu_s.append((time.process_time() - c) / self.length)
        self.carry = carry
        self.steps_done += self.length
        self.loss = float(losses[-1])
        return seconds

    # -- (c) FLOPs ------------------------------------------------------------------------------
    def step_costs(self) -> dict[str, Any]:
        """XLA FLOPs of one step (a compiled chunk of length 1), checked against the chunk's."""
        one = self.trainer.compiled_chunk(self.carry, 1)
        step_flops = flops_of(one)
        chunk_flops = flops_of(self.chunk)
        ratio = chunk_flops / step_flops if step_flops and chunk_flops else None
        # XLA counts a while loop's body once, whatever its trip count: when the chunk's figure
        # matches one step's, dividing it by the chunk length would undercount by that length.
        counts_body_once = ratio is not None and abs(ratio - 1.0) < 0.05
        return {
            "step_flops": step_flops,
            "chunk_flops": chunk_flops,
            "chunk_over_step": ratio,
            "chunk_counts_scan_body_once": counts_body_once,
        }

    # -- (d) where the time goes -----------------------------------------------------------------
    def breakdown(self, length: int, repeats: int) -> dict[str, dict[str, float]]:
        """Per-step milliseconds (and XLA GFLOP) of the loss alone, the loss with its gradient
        and a whole step, each as a compiled scan of ``length``, timed in turn ``repeats``
        times."""
        jax = self.jax
        params = self.carry.params
        objective = self.trainer.objective(self.carry.sampler["points"], self.carry.loss)
        pieces = {
            "loss": (scanned(objective.loss, params, length), params),
            "loss_and_grad": (scanned(jax.value_and_grad(objective.loss), params, length), params),
            "step": (self.trainer.compiled_chunk(self.carry, length), self.carry),
        }
        for fn, arg in pieces.values():
            jax.block_until_ready(fn(arg))
        times: dict[str, list[float]] = {name: [] for name in pieces}
        for _ in range(repeats):
            for name, (fn, arg) in pieces.items():
                t = time.perf_counter()
                jax.block_until_ready(fn(arg))
                times[name].append((time.perf_counter() - t) / length)
        return {name: {"ms": 1e3 * median(ts), "gflops": (flops_of(pieces[name][0]) or 0) / 1e9}
                for name, ts in times.items()}

    def profile(self, length: int, repeats: int) -> dict[str, Any]:
        """Op time per step by kind, from a jax.profiler trace of the compiled chunk.

        Durations are summed over XLA's threads, so they can add up to more than the wall time.
        """
        chunk = self.trainer.compiled_chunk(self.carry, length)
        kinds, top = op_time_by_kind(chunk, self.carry, repeats, "trace")
        per_step = 1e-3 / (repeats * length)  # trace durations are in microseconds
        return {
            "ms_per_step": {k: v * per_step for k, v in sorted(kinds.items(),
                                                               key=lambda kv: -kv[1])},
            "top_ops_ms_per_step": {k: v * per_step for k, v in
                                    sorted(top.items(), key=lambda kv: -kv[1])[:10]},
        }


class Matmul:
    """A large float32 matmul compiled by XLA: the FLOP/s reference for (c)."""

    def __init__(self, n: int) -> None:
        import jax
        import jax.numpy as jnp

        self.jax = jax
        self.n = n
        ka, kb = jax.random.split(jax.random.PRNGKey(0))
        self.a = jax.random.normal(ka, (n, n), jnp.float32)
        self.b = jax.random.normal(kb, (n, n), jnp.float32)
        self.fn = jax.jit(jnp.matmul).lower(self.a, self.b).compile()
        self.flops = 2.0 * n**3
        self.xla_flops = flops_of(self.fn)
        jax.block_until_ready(self.fn(self.a, self.b))

    def time(self, repeats: int) -> list[float]:
        """FLOP/s of each of ``repeats`` matmuls."""
        rates = []
        for _ in range(repeats):
            t = time.perf_counter()
            self.jax.block_until_ready(self.fn(self.a, self.b))
            rates.append(self.flops / (time.perf_counter() - t))
        return rates


# ---- DeepXDE -----------------------------------------------------------------------------------
class DeepXDESide:
    """The worker process. ``hello()`` says whether DeepXDE and torch could be imported."""

    def __init__(self, log_path: Path) -> None:
        env = dict(os.environ, DDE_BACKEND="pytorch")
        self.log = open(log_path, "w")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), json.dumps(CONFIG)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.log, text=True, env=env, cwd=OUT_DIR)
        self._hello: dict[str, Any] | None = None

    def hello(self) -> dict[str, Any]:
        if self._hello is None:
            self._hello = self._read()
        return self._hello

    def _read(self) -> dict[str, Any]:
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait(timeout=30)
            return {"ok": False, "error": f"worker exited with code {code} (see {self.log.name})"}
        return json.loads(line)

    def train(self, n: int, threads: int, max_s: float) -> dict[str, Any]:
        """Up to n steps on ``threads`` torch threads, stopping after about ``max_s`` seconds."""
        self.proc.stdin.write(f"train {n} {threads} {max_s}\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=30)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
        self.log.close()


# ---- the run -----------------------------------------------------------------------------------
def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=9, help="alternating timing rounds (default 9)")
    p.add_argument("--chunk", type=int, default=200, help="pinnbench steps per chunk (200)")
    p.add_argument("--round-s", type=float, default=0.0,
                   help="seconds of DeepXDE training per round and thread setting (default: as "
                        "long as one pinnbench chunk)")
    p.add_argument("--matmul-n", type=int, default=2048, help="matmul size n (n x n @ n x n)")
    p.add_argument("--matmul-repeats", type=int, default=3, help="matmuls timed per round")
    p.add_argument("--max-round-s", type=float, default=360.0,
                   help="stop starting rounds (after 3) once they would take longer (360)")
    p.add_argument("--no-deepxde", action="store_true", help="skip (b)")
    p.add_argument("--no-profile", dest="profile", action="store_false",
                   help="skip the profiler trace in (d)")
    p.add_argument("--out", type=Path, default=None, help="JSON file (default bench-out/...)")
    return p.parse_args()


def start_deepxde(dde: DeepXDESide) -> tuple[list[int], dict[str, Any]]:
    """Warm the worker up on each thread setting it will be timed on. Raises on failure."""
    hello = dde.hello()
    if not hello.get("ok"):
        raise RuntimeError(f"DeepXDE/torch unavailable ({hello.get('error')})")
    print(f"DeepXDE {hello['deepxde']} (PyTorch {hello['torch']}, {hello['dtype']}) in a child "
          f"process")
    # torch's default (one thread per core) and a single thread: on a busy machine torch's
    # OpenMP threads can slow down many times over, and the comparison takes its better figure.
    settings = sorted({hello["torch_threads"], 1}, reverse=True)
    for threads in settings:
        # The first steps warm caches and the allocator: not timed.
        warm = dde.train(20, threads, max_s=10.0)
        if not warm.get("ok"):
            raise RuntimeError(f"DeepXDE worker failed ({warm.get('error')})")
        print(f"DeepXDE on {threads} torch thread(s): warm-up at {warm['steps_per_s']:.1f} "
              "steps/s")
    n_pde = warm["n_train_points"] - warm["n_bc_points"]
    print(f"DeepXDE trains on {warm['n_train_points']} inputs: the {warm['n_bc_points']} boundary "
          f"points, then all {n_pde} domain and boundary points again for the PDE residual")
    return settings, hello


def main() -> int:
    args = parse_args()
    started = dt.datetime.now().astimezone()
    OUT_DIR.mkdir(exist_ok=True)
    print(f"pinnbench speed benchmark, {started:%Y-%m-%d %H:%M %Z}")
    print(f"machine: {os.cpu_count()} CPUs, {cpu_model()}, load average {load_avg()}")
    cfg = CONFIG
    print(f"config: helmholtz2d a1={cfg['a1']:g} a2={cfg['a2']:g} k={cfg['k']:g}; MLP "
          f"{cfg['depth']}x{cfg['width']} {cfg['activation']}; {cfg['n_interior']} interior + "
          f"{cfg['n_boundary']} boundary points (fixed); Adam lr {cfg['lr']:g}; "
          f"{cfg['precision']}\n")

    # Start the DeepXDE worker first: it imports torch while jax compiles.
    dde = None if args.no_deepxde else DeepXDESide(OUT_DIR / "deepxde_worker.log")
    skip_reason = "skipped (--no-deepxde)"

    import jax
    import jaxlib

    pb = PinnbenchSide(args.chunk)
    print(f"pinnbench: jax {jax.__version__}, jaxlib {jaxlib.__version__}, device "
          f"{jax.devices()[0].device_kind}; chunk of {args.chunk} steps compiled in "
          f"{pb.compile_s:.2f} s")
    warm_chunk_s = pb.run_chunk()  # first run of the compiled chunk: not timed
    mm = Matmul(args.matmul_n)

    dde_threads: list[int] = []
    dde_hello: dict[str, Any] = {}
    round_s = args.round_s or warm_chunk_s
    if dde is not None:
        try:
            dde_threads, dde_hello = start_deepxde(dde)
        except RuntimeError as e:
            skip_reason = f"skipped: {e}"
            dde.close()
            dde = None
    if dde is None:
        print(f"DeepXDE: {skip_reason}")
    print()

    # Rounds: every side once, in an order that rotates from round to round.
    sides = ["pinnbench", *(f"deepxde_t{t}" for t in dde_threads)]
    dde_cpu_s: dict[int, list[float]] = {t: [] for t in dde_threads}
    rounds: list[dict[str, Any]] = []
    dde_cols = [f"DeepXDE/s {t}t" for t in dde_threads]
    print(f"{'round':>5} {'pinnbench/s':>12} " + " ".join(f"{c:>13}" for c in dde_cols)
          + f" {'ratio':>7} {'matmul GF/s':>12} {'load':>5}")
    rounds_t0 = time.perf_counter()
    for r in range(args.rounds):
        spent = time.perf_counter() - rounds_t0
        if r >= 3 and spent / r * (r + 1) > args.max_round_s:
            print(f"(stopping after {r} rounds: {args.max_round_s:g} s for the rounds)")
            break
        row: dict[str, Any] = {"round": r, "load": load_avg()}
        k = r % len(sides)
        for side in sides[k:] + sides[:k]:
            if side == "pinnbench":
                row["pinnbench_steps_per_s"] = pb.length / pb.run_chunk()
                row["pinnbench_loss"] = pb.loss
            elif dde is not None:
                threads = int(side.removeprefix("deepxde_t"))
                res = dde.train(100_000, threads, max_s=round_s)
                if not res.get("ok"):
                    skip_reason = f"DeepXDE worker failed in round {r}: {res.get('error')}"
                    print(skip_reason)
                    dde.close()
                    dde = None
                    continue
                row[f"{side}_steps_per_s"] = res["steps_per_s"]
                row[f"{side}_steps_timed"] = res["steps"]
                row["deepxde_total_steps"] = res["total_steps"]
                dde_cpu_s[threads].append(res["cpu_s_per_step"])
                row["deepxde_loss"] = res["loss"]
        row["matmul_flops_per_s"] = median(mm.time(args.matmul_repeats))
        dde_rates = {t: row[f"deepxde_t{t}_steps_per_s"] for t in dde_threads
                     if f"deepxde_t{t}_steps_per_s" in row}
        if dde_rates:
            row["deepxde_best_steps_per_s"] = max(dde_rates.values())
            row["ratio"] = row["pinnbench_steps_per_s"] / row["deepxde_best_steps_per_s"]
        rounds.append(row)
        print(f"{r:>5} {row['pinnbench_steps_per_s']:>12.1f} "
              + " ".join(f"{fmt(dde_rates.get(t), '.2f'):>13}" for t in dde_threads)
              + f" {fmt(row.get('ratio'), '.2f'):>7} {row['matmul_flops_per_s'] / 1e9:>12.1f}"
              f" {row['load'][0] if row['load'] else '':>5}", flush=True)
    if dde is not None:
        dde.close()

    # (c) FLOPs of one step and (d) where its time goes.
    costs = pb.step_costs()
    parts = pb.breakdown(length=50, repeats=3)
    try:
        prof = pb.profile(length=20, repeats=3) if args.profile else None
    except Exception as e:
        prof = {"error": f"{type(e).__name__}: {e}"}

    pb_rates = [r["pinnbench_steps_per_s"] for r in rounds]
    per_threads = {t: [r[f"deepxde_t{t}_steps_per_s"] for r in rounds
                       if f"deepxde_t{t}_steps_per_s" in r] for t in dde_threads}
    best_rates = [r["deepxde_best_steps_per_s"] for r in rounds if "ratio" in r]
    ratios = [r["ratio"] for r in rounds if "ratio" in r]
    mm_rates = [r["matmul_flops_per_s"] for r in rounds]
    pb_med, mm_med = median(pb_rates), median(mm_rates)
    step_flops = costs["step_flops"]
    achieved = step_flops * pb_med if step_flops else None
    fraction = achieved / mm_med if achieved else None
    fractions = ([step_flops * r["pinnbench_steps_per_s"] / r["matmul_flops_per_s"]
                  for r in rounds] if step_flops else [])
    ratio = median(ratios) if ratios else None
    ratio_met = None if ratio is None else ratio >= TARGET_RATIO
    fraction_met = None if fraction is None else fraction >= TARGET_MATMUL_FRACTION

    print(f"\n(a) pinnbench: {pb_med:.1f} steps/s, median of {len(pb_rates)} chunks of "
          f"{pb.length} steps (min {min(pb_rates):.1f}, max {max(pb_rates):.1f}); compile "
          f"{pb.compile_s:.2f} s not counted")
    if ratios:
        for t, rates in per_threads.items():
            print(f"(b) DeepXDE on {t} torch thread(s): {median(rates):.2f} steps/s, median of "
                  f"{len(rates)} rounds of about {round_s:.0f} s (min {min(rates):.2f}, "
                  f"max {max(rates):.2f})")
        print(f"    ratio pinnbench/DeepXDE: {ratio:.1f}x (median over rounds of pinnbench over "
              f"DeepXDE's faster thread setting in that round) -> target >= {TARGET_RATIO:g}x: "
              f"{'MET' if ratio_met else 'NOT MET'}")
    else:
        print(f"(b) DeepXDE: {skip_reason}")
    if step_flops:
        print(f"(c) one step: {step_flops / 1e9:.3f} GFLOP (XLA cost analysis of a compiled chunk "
              f"of one step; the {pb.length}-step chunk reports "
              f"{fmt(costs['chunk_flops'] and costs['chunk_flops'] / 1e9, '.3f')} GFLOP = "
              f"{fmt(costs['chunk_over_step'], '.2f')} steps"
              + (", XLA counts the scan body once)" if costs["chunk_counts_scan_body_once"]
                 else ")"))
        print(f"    achieved {achieved / 1e9:.1f} GFLOP/s; {args.matmul_n}x{args.matmul_n} "
              f"matmul {mm_med / 1e9:.1f} GFLOP/s (median of {len(mm_rates)} rounds) -> "
              f"{100 * fraction:.0f}% of matmul FLOP/s (per-round median "
              f"{100 * median(fractions):.0f}%) -> target >= {100 * TARGET_MATMUL_FRACTION:.0f}%:"
              f" {'MET' if fraction_met else 'NOT MET'}")
    else:
        print("(c) XLA's cost analysis gave no FLOP count on this backend: skipped")
    step_ms = 1e3 / pb_med
    print(f"(d) per step, each in a compiled scan: loss alone {parts['loss']['ms']:.1f} ms "
          f"({parts['loss']['gflops']:.3f} GFLOP), loss and gradient "
          f"{parts['loss_and_grad']['ms']:.1f} ms ({parts['loss_and_grad']['gflops']:.3f} GFLOP)"
          f", whole step {parts['step']['ms']:.1f} ms ({parts['step']['gflops']:.3f} GFLOP)")
    if prof and "error" not in prof:
        total = sum(prof["ms_per_step"].values())
        print("    op time per step from a profiler trace of the chunk (summed over threads):")
        for kind, ms in prof["ms_per_step"].items():
            print(f"      {ms:6.1f} ms  {100 * ms / total:4.0f}%  {kind}")
    elif prof:
        print(f"    profiler trace unavailable: {prof['error']}")
    dde_cpu = {t: median(v) for t, v in dde_cpu_s.items() if v}
    print(f"    CPU time per step (all threads): pinnbench {1e3 * median(pb.cpu_s[1:]):.1f} ms"
          + "".join(f", DeepXDE on {t} thread(s) {1e3 * c:.1f} ms" for t, c in dde_cpu.items()))

    result = {
        "date": started.isoformat(timespec="seconds"),
        "command": "make bench",
        "argv": sys.argv[1:],
        "config": {**CONFIG, "chunk": pb.length, "run_id": pb.spec.run_id},
        "machine": {
            "cpu_count": os.cpu_count(),
            "cpu": cpu_model(),
            "python": platform.python_version(),
            "jax": jax.__version__,
            "jaxlib": jaxlib.__version__,
            "jax_device": jax.devices()[0].device_kind,
            "deepxde": dde_hello.get("deepxde"),
            "torch": dde_hello.get("torch"),
            "torch_default_threads": dde_hello.get("torch_threads"),
            "load_avg_start": rounds[0]["load"] if rounds else None,
            "load_avg_end": load_avg(),
        },
        "pinnbench": {"compile_s": pb.compile_s, "steps_per_s": spread(pb_rates),
                      "steps": pb.steps_done, "final_loss": pb.loss},
        "deepxde": ({"skipped": skip_reason} if not ratios else {
            "seconds_per_round": round_s,
            "steps_per_s_by_threads": {t: spread(v) for t, v in per_threads.items()},
            "steps_per_s_best": spread(best_rates),
            "steps": rounds[-1].get("deepxde_total_steps"),
            "final_loss": rounds[-1].get("deepxde_loss"),
        }),
        "ratio": {"median": ratio, "per_round": spread(ratios), "target": TARGET_RATIO,
                  "met": ratio_met},
        "flops": {**costs, "matmul_n": args.matmul_n, "matmul_flops_per_s": spread(mm_rates),
                  "achieved_flops_per_s": achieved, "matmul_fraction": fraction,
                  "matmul_fraction_per_round": spread(fractions),
                  "target": TARGET_MATMUL_FRACTION, "met": fraction_met},
        "breakdown": {"ms_per_step": {k: v["ms"] for k, v in parts.items()},
                      "gflops_per_step": {k: v["gflops"] for k, v in parts.items()},
                      "ms_per_step_in_timed_chunks": step_ms,
                      "profile": prof,
                      "cpu_ms_per_step": {"pinnbench": 1e3 * median(pb.cpu_s[1:]),
                                          **{f"deepxde_t{t}": 1e3 * c
                                             for t, c in dde_cpu.items()}}},
        "rounds": rounds,
    }
    out = args.out or OUT_DIR / f"bench-{started:%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2) + "\n"
    out.write_text(text)
    (OUT_DIR / "latest.json").write_text(text)
    print(f"\nresults written to {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
