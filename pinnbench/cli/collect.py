"""``pinnbench collect``: merge results folders, one record per run id."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pinnbench.cli.common import PluginOption, bad_input, load_plugins_or_exit, out

EXIT_CONFLICT = 1


def collect(
    sources: Annotated[list[Path], typer.Argument(help="results folders to merge")],
    out_dir: Annotated[Path, typer.Option("--out", help="folder to merge them into")],
    plugin: PluginOption = None,
) -> None:
    """Merge result folders into one, de-duplicating by run id; exit 1 on conflicting copies."""
    load_plugins_or_exit(plugin)
    from pinnbench.analysis.collect import CollectError
    from pinnbench.analysis.collect import collect as merge

    try:
        outcome = merge(sources, out_dir)
    except CollectError as e:
        raise bad_input(str(e)) from None
    out.print(f"{out_dir}: {outcome.added} runs added, {outcome.duplicates} identical "
              f"duplicates skipped, {len(outcome.conflicts)} conflicts")
    for note in outcome.suite_notes:
        out.print(f"[yellow]note:[/] {note}", highlight=False)
    if not outcome.conflicts:
        return
    table = Table(title="conflicts: same run id, different rows")
    for col in ("run id", "kept", "dropped", "differing columns"):
        table.add_column(col)
    for c in outcome.conflicts:
        shown = ", ".join(c.columns[:6]) + (f" (+{len(c.columns) - 6})" if len(c.columns) > 6
                                            else "")
        table.add_row(c.run_id, str(c.kept), str(c.dropped), shown)
    out.print(table)
    raise typer.Exit(EXIT_CONFLICT)
