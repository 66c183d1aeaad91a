"""Command-line interface: ``pinnbench run | compare | list | check | plot | report | collect``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

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


def load_runs_or_exit(results: Path, metric: str):  # noqa: ANN201 - a pandas DataFrame
    """The runs of a results folder having ``metric``, or a one-line bad-input exit."""
    from pinnbench.results.store import load_runs

    if not results.is_dir():
        raise _bad_input(f"{results}: no such results folder")
    runs = load_runs(results)
    if runs.empty:
        raise _bad_input(f"{results}: no recorded runs")
    if metric not in runs.columns:
        raise _bad_input(f"--metric: no column {metric!r} in {results}")
    return runs


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
    timeout: Annotated[float | None, typer.Option(
        help="kill a run after this many seconds of wall time and record it as 'timeout' "
             "(needs process isolation)", min=1)] = None,
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
        outcome = run_suite(specs, target, isolate=isolate, timeout_s=timeout,
                            on_start=progress.start_run,
                            on_event=progress.event)
    counts = ", ".join(f"{n} {s}" for s, n in sorted(outcome.statuses.items())) or "nothing new"
    out.print(f"{outcome.total} runs in {target}: {outcome.skipped} already finished, {counts}")


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
) -> None:
    """Problem x method table: median error over seeds, its spread, time, speed, memory."""
    from pinnbench.compare import FORMATS, comparison_table, format_table, render_table
    from pinnbench.results.store import load_history

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
    runs = load_runs_or_exit(results, metric)
    try:
        table = comparison_table(runs, metric, by=columns, baseline=baseline)
    except KeyError as e:
        option = "--baseline" if baseline is not None and "method" in str(e) else "--by"
        raise _bad_input(f"{option}: {e.args[0]} in {results}") from None
    summaries = []
    if target is not None or ranks:
        from pinnbench import ranking

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
    if out_file is None:
        sys.stdout.write(text)
    else:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(text)
        out.print(f"wrote {out_file}")


def _plain_table(header: list[str], rows: list[list[str]]) -> Table:
    table = Table()
    for i, h in enumerate(header):
        table.add_column(h, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    return table


@app.command("list")
def list_components() -> None:
    """Registered problems, models, optimizers and samplers with their options."""
    from pinnbench.cli.listing import print_registries

    print_registries(out)


from pinnbench.cli import check as _check  # noqa: E402, F401  (defines `pinnbench check`)
from pinnbench.cli import collect as _collect  # noqa: E402, F401  (defines `pinnbench collect`)
from pinnbench.cli import plot as _plot  # noqa: E402, F401  (defines `pinnbench plot`)
from pinnbench.cli import report as _report  # noqa: E402, F401  (defines `pinnbench report`)
from pinnbench.cli.reference import reference  # noqa: E402

app.command("reference")(reference)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted: finished runs are recorded; rerun to do the rest")
        sys.exit(130)
