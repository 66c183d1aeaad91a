"""``pinnbench plot``: figures of a results folder as PNG or PDF."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pinnbench.cli import (
    PluginOption,
    _bad_input,
    app,
    load_plugins_or_exit,
    load_runs_or_exit,
    out,
)


def load_folder(results: Path, metric: str) -> tuple:
    """Runs and histories of a results folder, or a one-line bad-input exit."""
    from pinnbench.run.store import load_history

    return load_runs_or_exit(results, metric), load_history(results)


def split_by(by: str, runs) -> list[str]:
    columns = [c.strip() for c in by.split(",") if c.strip()]
    missing = [c for c in columns if c not in runs.columns]
    if not columns or missing:
        raise _bad_input(f"--by: no column {(missing or [by])[0]!r} in the runs")
    return columns


MAX_FIELD_ROWS = 12


def field_grids(results: Path, runs, run_ids: list[str] | None, metric: str,
                columns: list[str]) -> list:
    """(title, SolutionGrid) for the chosen runs: the named ones, or one median-seed run per
    (problem, method)."""
    from pinnbench.analysis import plot as plots
    from pinnbench.analysis.replay import evaluate_run
    from pinnbench.spec import MissingPlugin

    if run_ids:
        chosen = []
        for prefix in run_ids:
            hits = runs[runs["run_id"].str.startswith(prefix)]
            if len(hits) != 1:
                raise _bad_input(f"--run {prefix}: matches {len(hits)} runs in {results}; "
                                 "expected exactly one")
            chosen.append(hits.iloc[0])
    else:
        chosen = [r for _, r in plots.representative_runs(runs, metric, columns).iterrows()]
    if not chosen:
        raise _bad_input(f"{results}: no ok run to draw")
    if len(chosen) > MAX_FIELD_ROWS:
        raise _bad_input(f"{len(chosen)} runs to draw; choose at most {MAX_FIELD_ROWS} with "
                         "--problem or --run")
    try:
        return [(f"{r['problem']} / {r['method']} (seed {r['seed']})",
                 evaluate_run(results, r.to_dict())) for r in chosen]
    except (FileNotFoundError, MissingPlugin) as e:
        raise _bad_input(str(e)) from None


@app.command()
def plot(
    results: Annotated[Path, typer.Argument(help="results folder")],
    kind: Annotated[str, typer.Option(metavar="convergence|error-vs-time|profile|field|balls",
                                      help="which figure")] = "convergence",
    out_file: Annotated[Path | None, typer.Option("--out", help="a .png or .pdf file "
                                                  "(default RESULTS/plots/KIND.png)")] = None,
    metric: Annotated[str, typer.Option(help="error metric")] = "rel_l2",
    by: Annotated[str, typer.Option(help="columns that tell compared variants apart, "
                                    "comma-separated")] = "method",
    target: Annotated[float | None, typer.Option(help="profile: also profile the wall time "
                                                 "to reach this error")] = None,
    run: Annotated[list[str] | None, typer.Option(help="field: run id (or unique prefix); "
                                                  "repeatable; default: the median-seed run "
                                                  "of every problem and method")] = None,
    problem: Annotated[str | None, typer.Option(help="field, balls: only this problem")] = None,
    plugin: PluginOption = None,
) -> None:
    """Plot convergence curves, error against time (Pareto), performance profiles, prediction /
    reference / error maps (field) or PINN Balls centres over training (balls)."""
    load_plugins_or_exit(plugin)
    import matplotlib

    matplotlib.use("Agg")
    from pinnbench.analysis import plot as plots

    if kind not in plots.KINDS:
        raise _bad_input(f"--kind: expected one of {', '.join(plots.KINDS)}, got {kind!r}")
    path = out_file or results / "plots" / f"{kind}.png"
    if path.suffix.lower() not in plots.SUFFIXES:
        raise _bad_input(f"--out {path}: expected a .png or .pdf file")
    if target is not None and not target > 0:
        raise _bad_input(f"--target: expected a positive error, got {target:g}")
    runs, history = load_folder(results, metric)
    columns = split_by(by, runs)
    if problem is not None:
        if problem not in set(runs["problem"]):
            raise _bad_input(f"--problem: no runs of {problem!r} in {results}; recorded: "
                             f"{', '.join(sorted(set(runs['problem'])))}")
        runs = runs[runs["problem"] == problem]
    try:
        if kind == "field":
            fig = plots.field_maps(field_grids(results, runs, run, metric, columns))
        elif kind == "balls":
            fig = plots.ball_centres(runs, history)
        elif kind == "convergence":
            fig = plots.convergence(runs, history, metric, columns)
        elif kind == "error-vs-time":
            fig = plots.error_vs_time(runs, metric, columns)
        else:
            fig = plots.profiles(runs, history, metric, target, columns)
    except ValueError as e:
        raise _bad_input(f"{results}: {e}") from None
    plots.save(fig, path)
    out.print(f"wrote {path}")
