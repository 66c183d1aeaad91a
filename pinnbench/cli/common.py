"""What every command shares: the consoles, exit codes, the one-line bad-input exit, the
``--plugin`` option and the loading of plugins and recorded runs."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:  # pandas is imported by the commands that read results, not at start-up
    import pandas as pd

# Message lines are never wrapped (a path stays whole, a line stays one line to grep); tables are
# laid out to the width: wide in logs and pipes, unless COLUMNS says how wide (rich reads it).
err = Console(stderr=True, soft_wrap=True)
out = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160,
              soft_wrap=True)

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a process stopped by Ctrl-C
EXIT_TERMINATED = 143  # 128 + SIGTERM


def bad_input(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr; the exit (code 2) for the caller to raise."""
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
        raise bad_input(str(e)) from None
    try:
        return plugins.load(refs or [])
    except plugins.PluginError as e:
        raise bad_input(f"--plugin {e}") from None


def load_runs_or_exit(results: Path, metric: str, by: list[str] | None = None
                      ) -> pd.DataFrame:
    """The runs of a results folder having ``metric`` (and the ``by`` columns, whose missing
    values read ``-``), or a one-line bad-input exit."""
    from pinnbench.registry import suggest
    from pinnbench.run.store import load_runs

    if not results.is_dir():
        raise bad_input(f"{results}: no such results folder")
    runs = load_runs(results)
    if runs.empty:
        raise bad_input(f"{results}: no recorded runs")
    if metric not in runs.columns:
        raise bad_input(f"--metric: no column {metric!r} in {results}"
                        f"{suggest(metric, _metric_columns(runs))}")
    for col in by or []:
        if col not in runs.columns:
            raise bad_input(f"--by: no column {col!r} in {results}"
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
