"""Command-line interface: ``pinnbench run | compare | list | check | plot | report | collect |
export | reference | verify``."""

from __future__ import annotations

import os
import signal
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from pinnbench.cli.progress import LINE_EVERY_S, ProgressLines, SuiteProgress
from pinnbench.run.suite import SuiteError, load_suite

if TYPE_CHECKING:  # pandas is imported by the commands that read results, not at start-up
    import pandas as pd

# Plain help (click's formatter): it wraps within 80 columns without cutting option names or
# their text, and shows a flag as a flag; rich panels cut "--array-parallelism" to fit and
# give every flag a "<bool>" value it does not take.
app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Benchmark physics-informed neural network methods on one JAX engine.")
# Message lines are never wrapped (a path stays whole, a line stays one line to grep); tables are
# laid out to the width: wide in logs and pipes, unless COLUMNS says how wide (rich reads it).
err = Console(stderr=True, soft_wrap=True)
out = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160,
              soft_wrap=True)

EXIT_BAD_INPUT = 2
ASK_ABOVE = 100  # runs a suite with sweeps may make before `run` asks for --yes
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a process stopped by Ctrl-C
EXIT_TERMINATED = 143  # 128 + SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM (what schedulers and `kill` send), handled as Ctrl-C is: the runs that are
    training are stopped and recorded as interrupted."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated("terminated (SIGTERM)")


def _bad_input(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_BAD_INPUT)


PluginOption = Annotated[list[str] | None, typer.Option(
    "--plugin", metavar="FILE_OR_MODULE", help="import a plugin (a .py file or a module) that "
    "registers components; repeatable (docs/extending.md)")]


def load_plugins_or_exit(refs: list[str] | None) -> tuple[str, ...]:
    """Import the installed plugins and ``--plugin`` ones, or a one-line bad-input exit."""
    from pinnbench import plugins

    try:
        plugins.load_entry_points()
    except plugins.PluginError as e:
        raise _bad_input(str(e)) from None
    try:
        return plugins.load(refs or [])
    except plugins.PluginError as e:
        raise _bad_input(f"--plugin {e}") from None


def load_runs_or_exit(results: Path, metric: str, by: list[str] | None = None
                      ) -> pd.DataFrame:
    """The runs of a results folder having ``metric`` (and the ``by`` columns, whose missing
    values read ``-``), or a one-line bad-input exit."""
    from pinnbench.registry import suggest
    from pinnbench.run.store import load_runs

    if not results.is_dir():
        raise _bad_input(f"{results}: no such results folder")
    runs = load_runs(results)
    if runs.empty:
        raise _bad_input(f"{results}: no recorded runs")
    if metric not in runs.columns:
        raise _bad_input(f"--metric: no column {metric!r} in {results}"
                         f"{suggest(metric, _metric_columns(runs))}")
    for col in by or []:
        if col not in runs.columns:
            raise _bad_input(f"--by: no column {col!r} in {results}"
                             f"{suggest(col, list(runs.columns))}")
    return with_missing_labels(runs, by or [])


def with_missing_labels(runs: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``runs`` with the missing values of the label ``columns`` shown as ``-`` (a method that
    lacks the option), so that a variant reads ``lbfgs/-`` rather than ``lbfgs/nan``."""
    from pinnbench.analysis.compare import MISSING_LABEL

    for col in columns:
        if col in runs.columns and runs[col].isna().any():
            runs = runs.assign(**{col: runs[col].astype(object).where(runs[col].notna(),
                                                                       MISSING_LABEL)})
    return runs


def _metric_columns(runs: pd.DataFrame) -> list[str]:
    """Columns a --metric could name: the numeric ones, the error metrics first."""
    from pandas.api.types import is_numeric_dtype

    from pinnbench import metrics

    known = [c for c in runs.columns if hasattr(metrics, c.split(".")[0])]
    return known + [c for c in runs.columns if c not in known and is_numeric_dtype(runs[c])]


def _parse_seeds(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        seeds = [int(s) for s in text.replace(",", " ").split()]
    except ValueError:
        raise _bad_input(f"--seeds: expected integers separated by commas, got {text!r}") from None
    if not seeds or any(s < 0 for s in seeds):
        raise _bad_input(f"--seeds: expected integers >= 0, got {text!r}")
    if len(set(seeds)) != len(seeds):
        raise _bad_input(f"--seeds: expected distinct seeds, got {text!r}")
    return seeds


def _parse_method_resources(items: list[str] | None) -> dict[str, dict[str, object]]:
    """``METHOD:key=value,key=value`` (repeatable) -> per-method resource overrides."""
    from pinnbench.registry import suggest
    from pinnbench.run.executors import OPTIONS, RESOURCE_KEYS

    out: dict[str, dict[str, object]] = {}
    for item in items or []:
        label, sep, rest = item.partition(":")
        if not sep or not label or not rest:
            raise _bad_input(f"--method-resources: expected METHOD:key=value[,key=value], "
                             f"got {item!r}")
        for pair in rest.split(","):
            key, eq, value = pair.partition("=")
            key = key.strip()
            if key not in RESOURCE_KEYS or not eq:
                raise _bad_input(f"--method-resources: unknown resource {key!r}"
                                 f"{suggest(key, list(RESOURCE_KEYS))} in {item!r}; expected "
                                 f"one of: {', '.join(RESOURCE_KEYS)}")
            t, check, expect, _ = OPTIONS[key]
            try:
                parsed = t(value.strip())
            except ValueError:
                raise _bad_input(f"--method-resources: {key}={value!r} is not "
                                 f"{'an integer' if t is int else 'a number'}") from None
            if check is not None and not check(parsed):
                raise _bad_input(f"--method-resources: {key}={value}: expected {expect}")
            out.setdefault(label.strip(), {})[key] = parsed
    return out


def _no_match(suite: Path, only: str, labels: list[str]) -> typer.Exit:
    from pinnbench.registry import suggest

    return _bad_input(f"{suite}: --only {only!r} matches no (problem, method) of the suite"
                      f"{suggest(only, labels)}; problems and methods: {', '.join(labels)}")


def _results_folder(target: Path) -> None:
    """Create the results folder, or exit with one line saying why it cannot be written."""
    import tempfile

    if target.exists() and not target.is_dir():
        raise _bad_input(f"--out {target}: exists and is not a folder")
    try:
        target.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test.", dir=target)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise _bad_input(f"--out {target}: cannot write results there "
                         f"({e.strerror or type(e).__name__})") from None


def _write_suite_copy(suite: Path, target: Path) -> None:
    # Atomic, since another `pinnbench run` may be reading it at the same moment.
    from pinnbench.atomic import atomic_write

    atomic_write(target / "suite.toml", lambda tmp: Path(tmp).write_text(suite.read_text()))


@app.command()
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

    loaded, specs = _checked_runs(suite, profile, only, seeds, plugin_refs)
    _confirm_sweeps(suite, loaded, len(specs) + loaded.pending(only, _parse_seeds(seeds)),
                    ask_above, yes)
    resources = _parse_method_resources(method_resources)
    for label in resources:
        if label not in loaded.method_labels:
            from pinnbench.registry import suggest

            raise _bad_input(f"--method-resources: no method {label!r} in {suite}"
                             f"{suggest(label, loaded.method_labels)}; methods: "
                             f"{', '.join(loaded.method_labels)}")
    if isolate:
        from pinnbench.run.runner import start_method

        try:
            start_method()
        except ValueError as e:
            raise _bad_input(str(e)) from None
    if executor is not None:
        from pinnbench.registry import suggest
        from pinnbench.run.executors import EXECUTOR_TYPES

        if executor not in EXECUTOR_TYPES:
            raise _bad_input(f"--executor: unknown executor {executor!r}"
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
    outcome = _train(specs, target, config, isolate, progress_every)
    finals = _selected_runs(loaded, specs, target, seeds)
    if finals:
        outcome = _add(outcome, _train(finals, target, config, isolate, progress_every))
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
    raise _bad_input(f"{line}; pass --yes to run them")


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
    finals = loaded.final_runs(selected, _parse_seeds(seeds))
    write_record(target, loaded.tuning, _parse_seeds(seeds) or loaded.seeds,
                 plan_cells(loaded, tuning_specs, untuned + finals))
    out.print(f"tuning: {len(ids)} tuning runs, a configuration selected for each of "
              f"{len(selected)} (problem, method) on {loaded.tuning['criterion']}; "
              f"{len(finals)} runs of them on the suite's seeds", highlight=False)
    return finals


def _train(specs: list, target: Path, config, isolate: bool, progress_every: float):
    """Run specs on this machine with a progress display; Ctrl-C and SIGTERM exit cleanly."""
    from pinnbench.run.runner import run_suite

    # A live bar needs a terminal to redraw in and one run at a time; elsewhere plain lines,
    # on stderr as progress goes, so that stdout keeps only the outcome.
    progress = (SuiteProgress(out) if config.jobs == 1 and out.is_terminal
                else ProgressLines(err, progress_every))
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        if isinstance(progress, SuiteProgress):
            with progress:
                outcome = run_suite(specs, target, isolate=isolate, timeout_s=config.timeout,
                                    jobs=1, checkpoint=config.checkpoint,
                                    on_start=progress.start_run, on_event=progress.event)
        else:
            outcome = run_suite(specs, target, isolate=isolate, timeout_s=config.timeout,
                                jobs=config.jobs, checkpoint=config.checkpoint,
                                on_start=progress.start_run, on_event=progress.event)
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


def _checked_runs(suite: Path, profile: str | None, only: str | None, seeds: str | None,
                  plugin_refs: tuple[str, ...]) -> tuple:
    """The loaded suite and its runs, validated as `run` and `validate` both need them (keys,
    combinations, a traced first step of plugin components), or a one-line bad-input exit."""
    try:
        loaded = load_suite(suite, profile, plugin_refs)
    except SuiteError as e:
        raise _bad_input(str(e)) from None
    specs = loaded.runs(only=only, seeds=_parse_seeds(seeds))
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
            raise _bad_input(f"{suite}: methods.{spec.method_label} on problem "
                             f"{spec.problem_label!r}: its first step fails "
                             f"({', '.join(f'{k} from a plugin' for k in spec.code)}): "
                             f"{type(e).__name__}: {' '.join(str(e).split())}") from None


def _submit(config, specs, target: Path, wait: bool) -> None:
    from pinnbench.run.executors import submit
    from pinnbench.run.store import load_runs

    try:
        submission = submit(config, specs, target)
    except Exception as e:
        raise _bad_input(f"--executor {config.type}: submission failed: "
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


_SUFFIX_FORMATS = {".md": "md", ".tex": "latex", ".csv": "csv", ".html": "html", ".htm": "html"}


@app.command()
def compare(
    results: Annotated[Path, typer.Argument(help="results folder (of a suite, or of several)")],
    metric: Annotated[str, typer.Option(help="error metric to aggregate")] = "rel_l2",
    by: Annotated[str, typer.Option(help="columns that tell compared variants apart, "
                                    "comma-separated, e.g. method,optimizer.lr")] = "method",
    baseline: Annotated[str | None, typer.Option(metavar="METHOD", help="add each median's "
                                                 "ratio to this variant's on the same problem")]
    = None,
    fmt: Annotated[str | None, typer.Option("--format", metavar="md|latex|csv|html",
                                            help="write text in this format instead of the "
                                            "terminal table")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="write to this file (format "
                                                  "from --format or the file's suffix)")]
    = None,
    target: Annotated[float | None, typer.Option(help="add the median wall time and step at "
                                                 "which the metric first gets <= this")] = None,
    ranks: Annotated[bool, typer.Option("--ranks", help="add average ranks, Friedman and "
                                        "Wilcoxon-Holm tests, performance profiles")] = False,
    alpha: Annotated[float, typer.Option(help="significance level of the pairwise tests")]
    = 0.05,
    tuned: Annotated[bool, typer.Option("--tuned", help="a tuned suite's results: per "
                                        "(problem, method) the selected configuration, the "
                                        "tuning cost and the test error")] = False,
    budget_curve: Annotated[bool, typer.Option(
        "--budget-curve", help="error vs tuning budget of methods with sweeps: the pick "
        "after k configurations, median over random orderings")] = False,
    plugin: PluginOption = None,
) -> None:
    """Problem x method table: median error over seeds, its spread, time, speed, memory."""
    load_plugins_or_exit(plugin)
    if tuned or budget_curve:
        _compare_tuned(results, metric, fmt, out_file, tuned)
        return
    from pinnbench.analysis.compare import FORMATS, comparison_table, format_table, render_table
    from pinnbench.run.store import load_history

    columns = [c.strip() for c in by.split(",") if c.strip()]
    if not columns:
        raise _bad_input("--by: expected one or more column names")
    if out_file is not None and fmt is None:
        fmt = _SUFFIX_FORMATS.get(out_file.suffix.lower())
        if fmt is None:
            raise _bad_input(f"--out {out_file}: name a --format ({'|'.join(FORMATS)}) or use "
                             "a .md, .tex, .csv or .html file")
    if fmt is not None and fmt not in FORMATS:
        raise _bad_input(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "csv" and ranks:
        raise _bad_input("--ranks: the rank tables have no CSV form; use md, latex or html")
    if target is not None and not target > 0:
        raise _bad_input(f"--target: expected a positive error, got {target:g}")
    if not 0 < alpha < 1:
        raise _bad_input(f"--alpha: expected a level between 0 and 1, got {alpha:g}")
    runs = load_runs_or_exit(results, metric, columns)
    try:
        table = comparison_table(runs, metric, by=columns, baseline=baseline)
    except KeyError as e:
        option = "--baseline" if baseline is not None and "method" in str(e) else "--by"
        raise _bad_input(f"{option}: {e.args[0]} in {results}") from None
    summaries = []
    if target is not None or ranks:
        from pinnbench.analysis import ranking

        history = load_history(results) if target is not None else None
        if target is not None:
            reach = ranking.time_to_target(runs, history, metric, target, columns)
            table = table.merge(ranking.target_summary(reach), on=["problem", "method"],
                                how="left")
        if ranks:
            summaries.append(ranking.summarize(ranking.run_scores(runs, metric, columns),
                                               f"final {metric}", alpha))
            if target is not None:
                summaries.append(ranking.summarize(reach, f"time to {metric} <= {target:g}",
                                                   alpha, column="time_s"))
    label = "/".join(columns)
    if fmt is None:
        out.print(render_table(table, metric, label, baseline, target))
        for summary in summaries:
            for caption, header, rows in ranking.summary_tables(summary):
                out.print()
                out.print(caption, highlight=False)
                out.print(_plain_table(header, rows))
        return
    text = format_table(table, metric, fmt, label, baseline, target)
    text += "".join("\n" + ranking.format_summary(s, fmt) for s in summaries)
    _emit(text, out_file)


def _emit(text: str, out_file: Path | None) -> None:
    """A formatted table to stdout, or to ``out_file`` (its folder made) with one line saying so."""
    if out_file is None:
        sys.stdout.write(text)
    else:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(text)
        out.print(f"wrote {out_file}")


def _compare_tuned(results: Path, metric: str, fmt: str | None, out_file: Path | None,
                   tuned: bool) -> None:
    """``compare --tuned`` and ``--budget-curve``: the tuning record's view of the results."""
    from pinnbench.analysis import compare, tuning

    if out_file is not None and fmt is None:
        fmt = _SUFFIX_FORMATS.get(out_file.suffix.lower())
    if fmt is not None and fmt not in compare.FORMATS:
        raise _bad_input(f"--format: expected one of {', '.join(compare.FORMATS)}, got {fmt!r}")
    runs = load_runs_or_exit(results, metric)
    record = tuning.read_record(results)
    if tuned and record is None:
        raise _bad_input(f"{results}: no {tuning.RECORD}; --tuned reads the results of a suite "
                         "with [tuning]")
    views = []
    if tuned:
        views.append((tuning.tuned_table(runs, record, metric), compare.tuned_columns(metric),
                      f"tuned on {record['criterion']} over seeds {record['tune_seeds']} "
                      f"(budget {record['budget']}); {metric} over seeds {record['seeds']}"))
    # With a record, the curve uses the tuning runs: every configuration on the same seeds.
    ids = [i for c in (record or {}).get("cells", []) for i in c["tuning_runs"]]
    curve = tuning.budget_curve(runs[runs["run_id"].isin(ids)] if ids else runs, metric)
    views.append((curve, compare.budget_columns(metric),
                  f"{metric} of the configuration picked on train_loss after k tried "
                  f"(median over {tuning.ORDERINGS} random orderings)"))
    texts = []
    for table, cols, title in views:
        if fmt is None:
            out.print(compare.render_rows(table, cols, title))
        else:
            texts.append(compare.format_rows(table, cols, fmt, title))
    if fmt is None:
        return
    text = "\n".join(texts)
    _emit(text, out_file)


def _plain_table(header: list[str], rows: list[list[str]]) -> Table:
    table = Table()
    for i, h in enumerate(header):
        table.add_column(h, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    return table


@app.command("list")
def list_components(
    kind: Annotated[str | None, typer.Argument(help="problem, model, optimizer, sampler or "
                                               "loss (default: all)")] = None,
    name: Annotated[str | None, typer.Argument(help="one component of that kind")] = None,
    plugin: PluginOption = None,
) -> None:
    """Registered problems, models, optimizers, samplers and losses with their options."""
    load_plugins_or_exit(plugin)
    from pinnbench.cli.listing import PLURAL, print_registries
    from pinnbench.registry import REGISTRIES, suggest

    kinds = list(REGISTRIES)
    kind = {plural: k for k, plural in PLURAL.items()}.get(kind, kind)
    if kind is not None and kind not in REGISTRIES:
        raise _bad_input(f"KIND: unknown kind {kind!r}{suggest(kind, kinds)}; expected one of: "
                         f"{', '.join(kinds)}")
    if name is not None and name not in REGISTRIES[kind]:
        names = REGISTRIES[kind].names()
        raise _bad_input(f"NAME: no {kind} {name!r}{suggest(name, names)}; registered: "
                         f"{', '.join(names)}")
    print_registries(out, kind, name)


@app.command()
def validate(
    suite: Annotated[Path, typer.Argument(help="suite TOML file")],
    profile: Annotated[str | None, typer.Option(help="profile of the suite to apply")] = None,
    only: Annotated[str | None, typer.Option(help="glob on 'problem/method', problem or method")]
    = None,
    seeds: Annotated[str | None, typer.Option(help="seeds instead of the suite's")] = None,
    plugin: PluginOption = None,
) -> None:
    """Check SUITE as `run` does (keys, values, combinations, plugins' first steps) and list the
    runs it would make, without training anything."""
    plugin_refs = load_plugins_or_exit(plugin)
    loaded, specs = _checked_runs(suite, profile, only, seeds, plugin_refs)
    pending = loaded.pending(only, _parse_seeds(seeds))
    table = Table(title=f"{suite}: {len(specs)} runs (suite {loaded.name!r}"
                        f"{f', profile {profile}' if profile else ''})")
    swept = [c for c in ("configuration",) if loaded.swept]
    for col in ("run id", "problem", "method", *swept, "seed", "budget"):
        table.add_column(col)
    for spec in specs:
        budget = ", ".join(f"{k} {v}" for k, v in spec.budget.items() if k != "eval_every")
        config = [_configuration(loaded, spec)] if swept else []
        table.add_row(spec.run_id, spec.problem_label, spec.method_label, *config,
                      str(spec.seed), budget)
    out.print(table)
    if loaded.swept:
        for label in loaded.method_labels:
            n = len(loaded.configurations(label))
            if n > 1:
                tried = len(loaded.tried(label))
                out.print(f"methods.{label}: {n} configurations"
                          + (f", {tried} tried on tune seeds {loaded.tuning['tune_seeds']}"
                             if loaded.tuning else ""), highlight=False)
    after = (f" + {pending} of the selected configurations on seeds "
             f"{_parse_seeds(seeds) or loaded.seeds}" if pending else "")
    out.print(f"{suite}: valid; {len(specs)} runs{after}, results in results/{loaded.name}",
              highlight=False)


def _configuration(loaded, spec) -> str:
    """What sets a run's configuration apart among its method's: its swept options."""
    from pinnbench.run.suite import sweep_axes

    return ", ".join(f"{part}.{name}={spec.method[part][name]}" for part, name, _ in
                     sweep_axes(loaded.doc["methods"][spec.method_label]))


from pinnbench.cli import check as _check  # noqa: E402, F401  (defines `pinnbench check`)
from pinnbench.cli import collect as _collect  # noqa: E402, F401  (defines `pinnbench collect`)
from pinnbench.cli import export as _export  # noqa: E402, F401  (defines `pinnbench export`)
from pinnbench.cli import plot as _plot  # noqa: E402, F401  (defines `pinnbench plot`)
from pinnbench.cli import report as _report  # noqa: E402, F401  (defines `pinnbench report`)
from pinnbench.cli import verify as _verify  # noqa: E402, F401  (defines `pinnbench verify`)
from pinnbench.cli.reference import reference  # noqa: E402

app.command("reference")(reference)


def _summary(doc: str | None) -> str:
    """A command's first paragraph on one line: its entry in the command list, wrapped there
    rather than cut after a few words."""
    return " ".join((doc or "").strip().split("\n\n")[0].split())


for _info in app.registered_commands:
    if _info.short_help is None and _info.callback is not None:
        _info.short_help = _summary(_info.callback.__doc__)


def _warning_line(message, category, filename, lineno, line=None) -> str:
    return f"warning: {message}\n"


def main() -> None:
    warnings.formatwarning = _warning_line  # e.g. an unreadable result file: one plain line
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted: finished runs are recorded; rerun to do the rest")
        sys.exit(EXIT_INTERRUPTED)
