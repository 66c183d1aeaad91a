"""``pinnbench run``: train the runs of a suite here or submit them to a cluster."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pinnbench.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    PluginOption,
    bad_input,
    err,
    load_plugins_or_exit,
    out,
)
from pinnbench.cli.progress import LINE_EVERY_S, ProgressLines, SuiteProgress
from pinnbench.run.suite import SuiteError, load_suite

if TYPE_CHECKING:  # the runner (and pandas with it) is imported when a suite runs
    from pinnbench.run.runner import RunOptions

ASK_ABOVE = 100  # runs a suite with sweeps may make before `run` asks for --yes


class Terminated(KeyboardInterrupt):
    """SIGTERM (what schedulers and `kill` send), handled as Ctrl-C is: the runs that are
    training are stopped and recorded as interrupted."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated("terminated (SIGTERM)")


def parse_seeds(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        seeds = [int(s) for s in text.replace(",", " ").split()]
    except ValueError:
        raise bad_input(f"--seeds: expected integers separated by commas, got {text!r}") from None
    if not seeds or any(s < 0 for s in seeds):
        raise bad_input(f"--seeds: expected integers >= 0, got {text!r}")
    if len(set(seeds)) != len(seeds):
        raise bad_input(f"--seeds: expected distinct seeds, got {text!r}")
    return seeds


def _parse_method_resources(items: list[str] | None) -> dict[str, dict[str, object]]:
    """``METHOD:key=value,key=value`` (repeatable) -> per-method resource overrides."""
    from pinnbench.registry import suggest
    from pinnbench.run.executors import OPTIONS, RESOURCE_KEYS

    out: dict[str, dict[str, object]] = {}
    for item in items or []:
        label, sep, rest = item.partition(":")
        if not sep or not label or not rest:
            raise bad_input(f"--method-resources: expected METHOD:key=value[,key=value], "
                            f"got {item!r}")
        for pair in rest.split(","):
            key, eq, value = pair.partition("=")
            key = key.strip()
            if key not in RESOURCE_KEYS or not eq:
                raise bad_input(f"--method-resources: unknown resource {key!r}"
                                f"{suggest(key, list(RESOURCE_KEYS))} in {item!r}; expected "
                                f"one of: {', '.join(RESOURCE_KEYS)}")
            t, check, expect, _ = OPTIONS[key]
            try:
                parsed = t(value.strip())
            except ValueError:
                raise bad_input(f"--method-resources: {key}={value!r} is not "
                                f"{'an integer' if t is int else 'a number'}") from None
            if check is not None and not check(parsed):
                raise bad_input(f"--method-resources: {key}={value}: expected {expect}")
            out.setdefault(label.strip(), {})[key] = parsed
    return out


def _no_match(suite: Path, only: str, labels: list[str]) -> typer.Exit:
    from pinnbench.registry import suggest

    return bad_input(f"{suite}: --only {only!r} matches no (problem, method) of the suite"
                     f"{suggest(only, labels)}; problems and methods: {', '.join(labels)}")


def _results_folder(target: Path) -> None:
    """Create the results folder, or exit with one line saying why it cannot be written."""
    import tempfile

    if target.exists() and not target.is_dir():
        raise bad_input(f"--out {target}: exists and is not a folder")
    try:
        target.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test.", dir=target)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise bad_input(f"--out {target}: cannot write results there "
                        f"({e.strerror or type(e).__name__})") from None


def _write_suite_copy(suite: Path, target: Path) -> None:
    # Atomic, since another `pinnbench run` may be reading it at the same moment.
    from pinnbench.atomic import atomic_write

    atomic_write(target / "suite.toml", lambda tmp: Path(tmp).write_text(suite.read_text()))


def run(
    suite: Annotated[Path, typer.Argument(help="suite TOML file")],
    profile: Annotated[str | None, typer.Option(help="profile of the suite to apply")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="results folder "
                                                 "(default results/<suite name>)")] = None,
    only: Annotated[str | None, typer.Option(help="glob on 'problem/method', problem or method")]
    = None,
    seeds: Annotated[str | None, typer.Option(help="seeds to run instead of the suite's, "
                                              "e.g. 0,1,2")] = None,
    isolate: Annotated[bool, typer.Option(help="run each run in its own process")] = True,
    timeout: Annotated[float | None, typer.Option(
        help="kill a run after this many seconds of wall time and record it as 'timeout' "
             "(needs process isolation)", min=1)] = None,
    jobs: Annotated[int | None, typer.Option(
        help="runs at once on this machine, one worker process each; on a GPU host each "
             "worker gets its own device", min=1)] = None,
    checkpoint: Annotated[bool | None, typer.Option(
        "--checkpoint/--no-checkpoint", help="save each run's training state at every "
        "evaluation; an interrupted run resumes from it")] = None,
    executor: Annotated[str | None, typer.Option(
        help="local (default), slurm, submitit_local (subprocesses, for testing) or debug")]
    = None,
    partition: Annotated[str | None, typer.Option(help="slurm: partition")] = None,
    gpus: Annotated[int | None, typer.Option(help="slurm: GPUs per job", min=0)] = None,
    cpus: Annotated[int | None, typer.Option(help="slurm: CPUs per job", min=1)] = None,
    mem_gb: Annotated[float | None, typer.Option(help="slurm: memory per job (GB)", min=0.001)]
    = None,
    time_min: Annotated[int | None, typer.Option("--time", help="slurm: time limit per job "
                                                 "(minutes, default 60)", min=1)] = None,
    array_parallelism: Annotated[int | None, typer.Option(
        help="slurm: jobs of the array running at once", min=1)] = None,
    method_resources: Annotated[list[str] | None, typer.Option(
        metavar="METHOD:KEY=VALUE,...", help="slurm: resources of one method's jobs, e.g. "
        "lbfgs:gpus=1,time=120 (repeatable)")] = None,
    wait: Annotated[bool, typer.Option(help="submitit executors: wait for the jobs and "
                                       "print their statuses")] = False,
    progress_every: Annotated[float, typer.Option(
        metavar="SECONDS", help="without a terminal (logs, nohup, SLURM): seconds between two "
        "progress lines of a run", min=0)] = LINE_EVERY_S,
    yes: Annotated[bool, typer.Option("--yes", help="run a suite whose sweeps make more than "
                                      "--ask-above runs without asking")] = False,
    ask_above: Annotated[int, typer.Option(
        metavar="N", help="ask before running a suite whose sweeps make more runs than this",
        min=0)] = ASK_ABOVE,
    plugin: PluginOption = None,
) -> None:
    """Train every (problem, method, seed) of SUITE and record each run to Parquet."""
    plugin_refs = load_plugins_or_exit(plugin)
    from pinnbench.run.executors import ExecutorConfig

    loaded, specs = checked_runs(suite, profile, only, seeds, plugin_refs)
    _confirm_sweeps(suite, loaded, len(specs) + loaded.pending(only, parse_seeds(seeds)),
                    ask_above, yes)
    resources = _parse_method_resources(method_resources)
    for label in resources:
        if label not in loaded.method_labels:
            from pinnbench.registry import suggest

            raise bad_input(f"--method-resources: no method {label!r} in {suite}"
                            f"{suggest(label, loaded.method_labels)}; methods: "
                            f"{', '.join(loaded.method_labels)}")
    if isolate:
        from pinnbench.run.runner import start_method

        try:
            start_method()
        except ValueError as e:
            raise bad_input(str(e)) from None
    if executor is not None:
        from pinnbench.registry import suggest
        from pinnbench.run.executors import EXECUTOR_TYPES

        if executor not in EXECUTOR_TYPES:
            raise bad_input(f"--executor: unknown executor {executor!r}"
                            f"{suggest(executor, list(EXECUTOR_TYPES))}; expected one of: "
                            f"{', '.join(EXECUTOR_TYPES)}")
    config = ExecutorConfig.from_tables(loaded.executor, {
        "type": executor, "jobs": jobs, "timeout": timeout, "checkpoint": checkpoint,
        "partition": partition, "gpus": gpus, "cpus": cpus, "mem_gb": mem_gb,
        "time": time_min, "array_parallelism": array_parallelism, "methods": resources})
    target = out_dir or Path("results") / loaded.name
    _results_folder(target)
    _write_suite_copy(suite, target)

    if config.type != "local":
        _submit(config, specs, target, wait)
        finals = _selected_runs(loaded, specs, target, seeds)
        if finals:
            _submit(config, finals, target, wait)
        return
    from pinnbench.run.runner import RunOptions

    options = RunOptions(isolate=isolate, jobs=config.jobs, timeout_s=config.timeout,
                         checkpoint=config.checkpoint)
    outcome = _train(specs, target, options, progress_every)
    finals = _selected_runs(loaded, specs, target, seeds)
    if finals:
        outcome = _add(outcome, _train(finals, target, options, progress_every))
    counts = ", ".join(f"{n} {s}" for s, n in sorted(outcome.statuses.items())) or "nothing new"
    busy = f", {outcome.elsewhere} running in another process" if outcome.elsewhere else ""
    out.print(f"{outcome.total} runs in {target}: {outcome.skipped} already finished, "
              f"{counts}{busy}")
    _next_command(target, tuned=loaded.tuning is not None)


def _add(a, b):
    """Two suite outcomes (the tuning runs, then the selected ones) as one."""
    import dataclasses

    statuses = {k: a.statuses.get(k, 0) + b.statuses.get(k, 0)
                for k in {*a.statuses, *b.statuses}}
    return dataclasses.replace(a, total=a.total + b.total, skipped=a.skipped + b.skipped,
                               statuses=statuses, elsewhere=a.elsewhere + b.elsewhere)


def _confirm_sweeps(suite: Path, loaded, count: int, ask_above: int, yes: bool) -> None:
    """A suite whose sweeps make more than ``ask_above`` runs runs only when confirmed."""
    if yes or not loaded.swept or count <= ask_above:
        return
    line = f"{suite}: its sweeps make {count} runs, more than --ask-above {ask_above}"
    if sys.stdin.isatty() and out.is_terminal:
        if typer.confirm(f"{line}; run them?", default=False):
            return
        raise typer.Exit(1)
    raise bad_input(f"{line}; pass --yes to run them")


def _selected_runs(loaded, specs: list, target: Path, seeds: str | None) -> list:
    """With ``[tuning]``: once every tuning run has a row, the selected configuration of each
    tuned (problem, method) on the suite's seeds (recorded in tuning.json); else nothing."""
    if loaded.tuning is None:
        return []
    from pinnbench.analysis.tuning import plan_cells, selected_methods, write_record
    from pinnbench.run.store import load_runs

    tuning_specs = [s for s in specs if loaded.tuned(s.method_label)]
    untuned = [s for s in specs if not loaded.tuned(s.method_label)]
    ids = {s.run_id for s in tuning_specs}
    runs = load_runs(target) if ids else None
    recorded = runs[runs["run_id"].isin(ids)] if runs is not None and not runs.empty else None
    if ids and (recorded is None or set(recorded["run_id"]) != ids):
        done = 0 if recorded is None else recorded["run_id"].nunique()
        out.print(f"tuning: {done} of {len(ids)} tuning runs recorded in {target}; rerun this "
                  "command once they are, to run the selected configurations", highlight=False)
        return []
    selected = selected_methods(recorded) if ids else {}
    finals = loaded.final_runs(selected, parse_seeds(seeds))
    write_record(target, loaded.tuning, parse_seeds(seeds) or loaded.seeds,
                 plan_cells(loaded, tuning_specs, untuned + finals))
    out.print(f"tuning: {len(ids)} tuning runs, a configuration selected for each of "
              f"{len(selected)} (problem, method) on {loaded.tuning['criterion']}; "
              f"{len(finals)} runs of them on the suite's seeds", highlight=False)
    return finals


def _train(specs: list, target: Path, options: RunOptions, progress_every: float):
    """Run specs on this machine with a progress display; Ctrl-C and SIGTERM exit cleanly."""
    from pinnbench.run.runner import run_suite

    # A live bar needs a terminal to redraw in and one run at a time; elsewhere plain lines,
    # on stderr as progress goes, so that stdout keeps only the outcome.
    progress = (SuiteProgress(out) if options.jobs == 1 and out.is_terminal
                else ProgressLines(err, progress_every))
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        with progress if isinstance(progress, SuiteProgress) else contextlib.nullcontext():
            outcome = run_suite(specs, target, options=options, on_start=progress.start_run,
                                on_event=progress.event)
    except KeyboardInterrupt as e:
        why = "terminated (SIGTERM)" if isinstance(e, Terminated) else "interrupted"
        err.print(f"{why}: finished runs are recorded in {target}, the ones stopped "
                  "as 'interrupted'; rerun the same command to do the rest")
        raise typer.Exit(EXIT_TERMINATED if isinstance(e, Terminated) else EXIT_INTERRUPTED
                         ) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    return outcome


def _next_command(target: Path, tuned: bool = False) -> None:
    out.print(f"next: pinnbench compare {target}{' --tuned' if tuned else ''}",
              highlight=False, soft_wrap=True)


def checked_runs(suite: Path, profile: str | None, only: str | None, seeds: str | None,
                  plugin_refs: tuple[str, ...]) -> tuple:
    """The loaded suite and its runs, validated as `run` and `validate` both need them (keys,
    combinations, a traced first step of plugin components), or a one-line bad-input exit."""
    try:
        loaded = load_suite(suite, profile, plugin_refs)
    except SuiteError as e:
        raise bad_input(str(e)) from None
    specs = loaded.runs(only=only, seeds=parse_seeds(seeds))
    if not specs:
        raise _no_match(suite, str(only), [*loaded.problem_labels, *loaded.method_labels])
    _preflight(suite, specs)
    return loaded, specs


def _preflight(suite: Path, specs: list) -> None:
    """Trace one step of every (problem, method) that uses a plugin component, so that one
    which breaks its protocol fails here, with one line, before anything trains."""
    from pinnbench.engine.train import trace_step

    seen = set()
    for spec in specs:
        cell = (spec.problem_label, spec.method_label)
        if not spec.code or cell in seen:
            continue
        seen.add(cell)
        try:
            trace_step(spec)
        except Exception as e:
            raise bad_input(f"{suite}: methods.{spec.method_label} on problem "
                            f"{spec.problem_label!r}: its first step fails "
                            f"({', '.join(f'{k} from a plugin' for k in spec.code)}): "
                            f"{type(e).__name__}: {' '.join(str(e).split())}") from None


def _submit(config, specs, target: Path, wait: bool) -> None:
    from pinnbench.run.executors import submit
    from pinnbench.run.store import load_runs

    try:
        submission = submit(config, specs, target)
    except Exception as e:
        raise bad_input(f"--executor {config.type}: submission failed: "
                        f"{' '.join(str(e).split())}") from None
    ids = ", ".join(sorted({str(j.job_id).split("_")[0] for j in submission.jobs})) or "none"
    out.print(f"{len(specs)} runs: {submission.skipped} already finished, {submission.runs} "
              f"submitted as jobs ({config.type}: {ids}); each job writes its own result to "
              f"{target}; logs in {submission.folder}", highlight=False)
    if config.type == "debug":
        wait = True  # submitit's debug jobs run in this process, when waited for
    if not wait or not submission.jobs:
        return
    for job in submission.jobs:
        job.wait()
    runs = load_runs(target)
    wanted = {s.run_id for s in specs}
    mine = runs[runs["run_id"].isin(wanted)] if not runs.empty else runs
    counts = mine["status"].value_counts().to_dict() if not mine.empty else {}
    text = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no rows"
    out.print(f"{len(specs)} runs in {target}: {text}")
    _next_command(target)
