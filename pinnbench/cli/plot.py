"""``pinnbench plot``: figures of a results folder as PNG or PDF."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated

import typer

from pinnbench.cli.common import (
    PluginOption,
    bad_input,
    load_plugins_or_exit,
    load_runs_or_exit,
    out,
)

if TYPE_CHECKING:  # pandas and matplotlib are imported when a figure is drawn
    import pandas as pd
    from matplotlib.figure import Figure


def load_folder(results: Path, metric: str) -> tuple:
    """Runs and histories of a results folder, or a one-line bad-input exit."""
    from pinnbench.run.store import load_history

    return load_runs_or_exit(results, metric), load_history(results)


def split_by(by: str, runs) -> list[str]:
    columns = [c.strip() for c in by.split(",") if c.strip()]
    missing = [c for c in columns if c not in runs.columns]
    if not columns or missing:
        raise bad_input(f"--by: no column {(missing or [by])[0]!r} in the runs")
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
                raise bad_input(f"--run {prefix}: matches {len(hits)} runs in {results}; "
                                "expected exactly one")
            chosen.append(hits.iloc[0])
    else:
        chosen = [r for _, r in plots.representative_runs(runs, metric, columns).iterrows()]
    if not chosen:
        raise bad_input(f"{results}: no ok run to draw")
    if len(chosen) > MAX_FIELD_ROWS:
        raise bad_input(f"{len(chosen)} runs to draw; choose at most {MAX_FIELD_ROWS} with "
                        "--problem or --run")
    try:
        return [(f"{r['problem']} / {r['method']} (seed {r['seed']})",
                 evaluate_run(results, r.to_dict())) for r in chosen]
    except (FileNotFoundError, MissingPlugin) as e:
        raise bad_input(str(e)) from None


@dataclasses.dataclass(frozen=True)
class FigureInputs:
    """What the figures are drawn from; each kind takes its part."""

    results: Path
    runs: pd.DataFrame
    history: pd.DataFrame
    metric: str
    columns: list[str]
    target: float | None
    run_ids: list[str] | None


def _plots() -> ModuleType:
    """The figures' module, imported once a figure is drawn: the help never loads matplotlib."""
    from pinnbench.analysis import plot

    return plot


# --kind -> its figure: the keys are what --kind accepts, in the order the help lists them.
FIGURES: dict[str, Callable[[FigureInputs], Figure]] = {
    "convergence": lambda i: _plots().convergence(i.runs, i.history, i.metric, i.columns),
    "error-vs-time": lambda i: _plots().error_vs_time(i.runs, i.metric, i.columns),
    "profile": lambda i: _plots().profiles(i.runs, i.history, i.metric, i.target, i.columns),
    "field": lambda i: _plots().field_maps(field_grids(i.results, i.runs, i.run_ids, i.metric,
                                                       i.columns)),
    "balls": lambda i: _plots().ball_centres(i.runs, i.history),
}


def plot(
    results: Annotated[Path, typer.Argument(help="results folder")],
    kind: Annotated[str, typer.Option(metavar="|".join(FIGURES), help="which figure")]
    = "convergence",
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
    if kind not in FIGURES:
        raise bad_input(f"--kind: expected one of {', '.join(FIGURES)}, got {kind!r}")
    import matplotlib

    matplotlib.use("Agg")
    from pinnbench.analysis import plot as plots

    path = out_file or results / "plots" / f"{kind}.png"
    if path.suffix.lower() not in plots.SUFFIXES:
        raise bad_input(f"--out {path}: expected a .png or .pdf file")
    if target is not None and not target > 0:
        raise bad_input(f"--target: expected a positive error, got {target:g}")
    runs, history = load_folder(results, metric)
    columns = split_by(by, runs)
    if problem is not None:
        if problem not in set(runs["problem"]):
            raise bad_input(f"--problem: no runs of {problem!r} in {results}; recorded: "
                            f"{', '.join(sorted(set(runs['problem'])))}")
        runs = runs[runs["problem"] == problem]
    try:
        fig = FIGURES[kind](FigureInputs(results, runs, history, metric, columns, target, run))
    except ValueError as e:
        raise bad_input(f"{results}: {e}") from None
    plots.save(fig, path)
    out.print(f"wrote {path}")
