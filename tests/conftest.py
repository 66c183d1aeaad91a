"""Shared test helpers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

# One persistent compilation cache for every test process and the pinnbench processes they start
# (they inherit the environment): the same small programs are compiled by many tests, and seeds
# of one configuration compile the same step. Set before JAX is imported, which reads them. A
# size limit turns on the cache's file lock, so concurrent writers are safe. JAX's default
# threshold (programs that took at least 1 s to compile) stays: writing every op that eager code
# compiles made the tests that run op by op 2-3 times slower.
_CACHE = Path(__file__).resolve().parent.parent / ".cache" / "jax"
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(_CACHE))
os.environ.setdefault("JAX_COMPILATION_CACHE_MAX_SIZE", str(4 * 2**30))
# Test programs are small and run briefly, so compiling them is most of their cost: they compile
# with LLVM's optimisation level 0 (the same IEEE arithmetic, no fast math). On test_fbpinn,
# test_engine, test_backbones and sampling/test_training (-n 2, empty compilation cache) that took
# 125 s instead of 189 s, 228 instead of 356 CPU-seconds. The gate runs and benchmarks compile
# as users do.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                               + " --xla_backend_optimization_level=0").strip()

import jax  # noqa: E402
import pytest  # noqa: E402

from pinnbench.spec import RunSpec  # noqa: E402

# Tests build float64 arrays outside any run (references, residuals, models called directly), so
# the test process has 64-bit types on. Runs do not see this: the engine sets each run's
# precision for the work inside the run only (engine.train.precision), and
# tests/test_precision.py checks that a float32 run here computes bit for bit what it computes
# in a fresh worker, where 64-bit types are off.
jax.config.update("jax_enable_x64", True)


def make_spec(*, problem: dict[str, Any] | None = None, optimizer: dict[str, Any] | None = None,
              model: dict[str, Any] | None = None, sampler: dict[str, Any] | None = None,
              steps: int = 200, eval_every: int = 100, seed: int = 0, precision: str = "float64",
              weights: dict[str, float] | None = None, time_s: float | None = None) -> RunSpec:
    """A small, fully resolved run spec (defaults filled in by the component classes)."""
    from pinnbench.run.suite import _Checker

    c = _Checker("test")
    method = {
        "model": c.component("model", model or {"type": "mlp", "width": 16, "depth": 2}, "m"),
        "optimizer": c.component("optimizer", optimizer or {"type": "adam"}, "o"),
        "sampler": c.component("sampler", sampler or {"type": "uniform", "n_interior": 256,
                                                      "n_boundary": 64}, "s"),
        "weights": weights or {},
    }
    budget: dict[str, Any] = {"steps": steps, "eval_every": eval_every}
    if time_s is not None:
        budget["time_s"] = time_s
    prob = c.component("problem", problem or {"type": "helmholtz2d"}, "p")
    return RunSpec("test", prob["type"], prob, "method", method, seed, seed, precision, budget)


def tiny_suite(seeds: tuple[int, ...] = (0, 1), steps: int = 10, eval_every: int = 10,
               extra: str = "") -> str:
    """A suite file of Adam on poisson1d with an 8x2 MLP: a few seconds a run, for tests of
    the machinery around training (``extra`` appends methods or tables)."""
    return f"""
name = "tiny"
seeds = {list(seeds)}
[budget]
steps = {steps}
eval_every = {eval_every}
[problems.poisson1d]
[defaults]
model = {{ type = "mlp", width = 8, depth = 2 }}
sampler = {{ type = "uniform", n_interior = 32, n_boundary = 8 }}
[methods.adam]
optimizer = {{ type = "adam", lr = 1e-2 }}
{extra}"""


class CliResult(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


def cli(*args: str | Path) -> CliResult:
    """A ``pinnbench`` command run in this process: its exit code, stdout and stderr as the
    installed entry point gives them, without a fresh interpreter's 2-3 s of imports a call.
    For commands whose output does not depend on the process (a warning's format, the terminal
    width, plugins, signals: those tests start the entry point). An exception the command does
    not turn into an exit code is raised here: a subprocess would print its traceback and exit 1,
    which a test asserting on stderr must not mistake for a clean error line."""
    from typer.testing import CliRunner

    from pinnbench.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return CliResult(result.exit_code, result.stdout, result.stderr)


@pytest.fixture(autouse=True, scope="session")
def reference_cache(tmp_path_factory):
    """A reference cache of the test session's own, shared by its xdist workers (and the
    pinnbench workers they start): tests never read or fill the user's cache, and a reference
    that several tests need is computed once a session, not once per test process."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # <session>/popen-gwN: share the session's
        base = base.parent
    folder = base / "reference-cache"
    folder.mkdir(exist_ok=True)
    mp = pytest.MonkeyPatch()
    mp.setenv("PINNBENCH_CACHE", str(folder))
    yield
    mp.undo()


def descendants(pid: int | None, keep: Any) -> list:
    """The processes below ``pid`` (default: this one) for which ``keep(process)`` holds;
    those that end while being looked at are left out."""
    import psutil

    try:
        below = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for proc in below:
        try:
            if keep(proc):
                found.append(proc)
        except psutil.NoSuchProcess:
            pass
    return found


def command_line(proc: Any) -> str:
    return " ".join(proc.cmdline())


def worker_processes(pid: int | None = None) -> list:
    """The run workers below process ``pid`` (default: this one): forked by the fork server,
    or spawned where there is none; not the server or the resource tracker themselves."""
    def is_worker(proc: Any) -> bool:
        parent = proc.parent()
        return "spawn_main" in command_line(proc) or (
            parent is not None and "forkserver" in command_line(parent))

    return descendants(pid, is_worker)


@pytest.fixture
def spec_factory():
    return make_spec
