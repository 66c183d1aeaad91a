"""``pinnbench plot``: figures of a results folder as PNG or PDF."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pinnbench.cli import _bad_input, app, load_runs_or_exit, out


def load_folder(results: Path, metric: str) -> tuple:
    """Runs and histories of a results folder, or a one-line bad-input exit."""
    from pinnbench.results.store import load_history

    return load_runs_or_exit(results, metric), load_history(results)


def split_by(by: str, runs) -> list[str]:
    columns = [c.strip() for c in by.split(",") if c.strip()]
    missing = [c for c in columns if c not in runs.columns]
    if not columns or missing:
        raise _bad_input(f"--by: no column {(missing or [by])[0]!r} in the runs")
    return columns


@app.command()
def plot(
    results: Annotated[Path, typer.Argument(help="results folder")],
    kind: Annotated[str, typer.Option(metavar="convergence|error-vs-time|profile",
                                      help="which figure")] = "convergence",
    out_file: Annotated[Path | None, typer.Option("--out", help="a .png or .pdf file "
                                                  "(default RESULTS/plots/KIND.png)")] = None,
    metric: Annotated[str, typer.Option(help="error metric")] = "rel_l2",
    by: Annotated[str, typer.Option(help="columns that tell compared variants apart, "
                                    "comma-separated")] = "method",
    target: Annotated[float | None, typer.Option(help="profile: also profile the wall time "
                                                 "to reach this error")] = None,
) -> None:
    """Plot convergence curves, error against time (Pareto), or performance profiles."""
    import matplotlib

    matplotlib.use("Agg")
    from pinnbench import plot as plots

    if kind not in plots.KINDS:
        raise _bad_input(f"--kind: expected one of {', '.join(plots.KINDS)}, got {kind!r}")
    path = out_file or results / "plots" / f"{kind}.png"
    if path.suffix.lower() not in plots.SUFFIXES:
        raise _bad_input(f"--out {path}: expected a .png or .pdf file")
    if target is not None and not target > 0:
        raise _bad_input(f"--target: expected a positive error, got {target:g}")
    runs, history = load_folder(results, metric)
    columns = split_by(by, runs)
    try:
        if kind == "convergence":
            fig = plots.convergence(runs, history, metric, columns)
        elif kind == "error-vs-time":
            fig = plots.error_vs_time(runs, metric, columns)
        else:
            fig = plots.profiles(runs, history, metric, target, columns)
    except ValueError as e:
        raise _bad_input(f"{results}: {e}") from None
    plots.save(fig, path)
    out.print(f"wrote {path}")
