"""``pinnbench report``: one self-contained HTML page for a results folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pinnbench.cli.common import (
    PluginOption,
    bad_input,
    load_plugins_or_exit,
    out,
    with_missing_labels,
)
from pinnbench.cli.plot import load_folder, split_by


def report(
    results: Annotated[Path, typer.Argument(help="results folder")],
    out_file: Annotated[Path, typer.Option("--out", help="HTML file to write")]
    = Path("report.html"),
    metric: Annotated[str, typer.Option(help="error metric")] = "rel_l2",
    by: Annotated[str, typer.Option(help="columns that tell compared variants apart, "
                                    "comma-separated")] = "method",
    target: Annotated[float | None, typer.Option(help="add time to reach this error")] = None,
    title: Annotated[str | None, typer.Option(help="page title")] = None,
    plugin: PluginOption = None,
) -> None:
    """Write tables, figures, suite files and machine info as one static HTML page."""
    load_plugins_or_exit(plugin)
    import matplotlib

    matplotlib.use("Agg")
    from pinnbench.analysis.report import build_report
    from pinnbench.spec import MissingPlugin

    if out_file.suffix.lower() not in (".html", ".htm"):
        raise bad_input(f"--out {out_file}: expected an .html file")
    if target is not None and not target > 0:
        raise bad_input(f"--target: expected a positive error, got {target:g}")
    runs, history = load_folder(results, metric)
    columns = split_by(by, runs)
    runs = with_missing_labels(runs, columns)
    try:
        page = build_report(results, runs, history, metric, target, columns, title)
    except MissingPlugin as e:
        raise bad_input(str(e)) from None
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(page)
    out.print(f"wrote {out_file} ({len(page) // 1024} KiB)")
