"""``pinnbench export``: recorded runs into an experiment tracker (MLflow)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pinnbench.cli.common import PluginOption, bad_input, load_plugins_or_exit, out

TRACKERS = ("mlflow",)


def export(
    results: Annotated[Path, typer.Argument(help="results folder (of a suite, or of several)")],
    to: Annotated[str, typer.Option("--to", help="tracker to write to: mlflow")] = "mlflow",
    store: Annotated[Path, typer.Option(help="the tracker's local store (an MLflow file "
                                        "store folder)")] = Path("mlruns"),
    plugin: PluginOption = None,
) -> None:
    """Write the recorded runs into an experiment tracker's local store: params are the spec
    columns, metrics the final values, the history is logged as steps."""
    load_plugins_or_exit(plugin)
    from pinnbench.registry import suggest

    if to not in TRACKERS:
        raise bad_input(f"--to: unknown tracker {to!r}{suggest(to, list(TRACKERS))}; "
                        f"expected one of: {', '.join(TRACKERS)}")
    if not results.is_dir():
        raise bad_input(f"{results}: no such results folder")
    if store.exists() and not store.is_dir():
        raise bad_input(f"--store {store}: exists and is not a folder")
    try:
        import mlflow  # noqa: F401
    except ImportError:
        raise bad_input("--to mlflow: needs the mlflow-skinny package "
                        "(pip install 'pinnbench[mlflow]')") from None
    from pinnbench.analysis.export import to_mlflow
    from pinnbench.run.store import load_runs

    if load_runs(results).empty:
        raise bad_input(f"{results}: no recorded runs")
    outcome = to_mlflow(results, store)
    out.print(f"{outcome.exported} runs exported to the MLflow store {store} "
              f"({outcome.already} already there); see them with: mlflow ui "
              f"--backend-store-uri {store.resolve().as_uri()}", highlight=False)
