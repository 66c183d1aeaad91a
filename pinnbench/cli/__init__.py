"""Command-line interface: ``pinnbench run | compare | list``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pinnbench.cli.progress import SuiteProgress
from pinnbench.suite import SuiteError, load_suite

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Benchmark physics-informed neural network methods on one JAX engine.")
err = Console(stderr=True)
out = Console(width=None if sys.stdout.isatty() else 160)

EXIT_BAD_INPUT = 2


def _bad_input(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_BAD_INPUT)


def _parse_seeds(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        seeds = [int(s) for s in text.replace(",", " ").split()]
    except ValueError:
        raise _bad_input(f"--seeds: expected integers separated by commas, got {text!r}") from None
    if not seeds or any(s < 0 for s in seeds):
        raise _bad_input(f"--seeds: expected integers >= 0, got {text!r}")
    return seeds


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
) -> None:
    """Train every (problem, method, seed) of SUITE and record each run to Parquet."""
    try:
        loaded = load_suite(suite, profile)
    except SuiteError as e:
        raise _bad_input(str(e)) from None
    specs = loaded.runs(only=only, seeds=_parse_seeds(seeds))
    if not specs:
        raise _bad_input(f"{suite}: --only {only!r} matches no (problem, method) of the suite")
    target = out_dir or Path("results") / loaded.name
    target.mkdir(parents=True, exist_ok=True)
    (target / "suite.toml").write_text(suite.read_text())

    from pinnbench.runner import run_suite

    with SuiteProgress(out) as progress:
        outcome = run_suite(specs, target, isolate=isolate, on_start=progress.start_run,
                            on_event=progress.event)
    counts = ", ".join(f"{n} {s}" for s, n in sorted(outcome.statuses.items())) or "nothing new"
    out.print(f"{outcome.total} runs in {target}: {outcome.skipped} already finished, {counts}")


@app.command()
def compare(
    results: Annotated[Path, typer.Argument(help="results folder (of a suite, or of several)")],
    metric: Annotated[str, typer.Option(help="error metric to aggregate")] = "rel_l2",
) -> None:
    """Problem x method table: median error over seeds, its spread, time, speed, memory."""
    from pinnbench.compare import comparison_table, render_table
    from pinnbench.results.store import load_runs

    if not results.is_dir():
        raise _bad_input(f"{results}: no such results folder")
    runs = load_runs(results)
    if runs.empty:
        raise _bad_input(f"{results}: no recorded runs")
    if metric not in runs.columns:
        raise _bad_input(f"--metric: no column {metric!r} in {results}")
    out.print(render_table(comparison_table(runs, metric), metric))


@app.command("list")
def list_components() -> None:
    """Registered problems, models, optimizers and samplers with their options."""
    from pinnbench.cli.listing import print_registries

    print_registries(out)


from pinnbench.cli import check as _check  # noqa: E402, F401  (defines `pinnbench check`)
from pinnbench.cli.reference import reference  # noqa: E402

app.command("reference")(reference)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted: finished runs are recorded; rerun to do the rest")
        sys.exit(130)
