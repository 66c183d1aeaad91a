"""``pinnbench check``: the accuracy gate over a results folder (rules in docs/check.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.table import Table

from pinnbench.check import (
    DEFAULT_ALPHA,
    DEFAULT_FACTOR,
    DEFAULT_METRICS,
    FAILING,
    CheckInputError,
    changed_settings,
    check_runs,
    passed,
    read_baseline,
    read_results,
    write_baseline,
)
from pinnbench.cli import PluginOption, _bad_input, app, load_plugins_or_exit, out

EXIT_REGRESSION = 1

_STYLE = {"regression": "bold red", "failed": "bold red", "missing": "bold red",
          "worse, not significant": "yellow", "improved": "green", "pass": "green",
          "new": "cyan", "no baseline": "cyan"}


def _num(x: float, spec: str) -> str:
    return "—" if x is None or np.isnan(x) else format(x, spec)


def render_verdicts(verdicts: pd.DataFrame, factor: float, alpha: float) -> Table:
    table = Table(title=f"check against the baseline: regression = median worse by more than "
                        f"{factor:g}x and one-sided Mann-Whitney p <= {alpha:g}")
    for col in ("problem", "method", "metric", "seeds", "baseline", "current", "ratio", "p",
                "verdict", "detail"):
        table.add_column(col, justify="right" if col in ("seeds", "baseline", "current", "ratio",
                                                         "p") else "left")
    for r in verdicts.itertuples():
        style = _STYLE.get(r.verdict, "")
        table.add_row(r.problem, r.method, r.metric, f"{r.n_baseline}/{r.n_current}",
                      _num(r.baseline, ".3e"), _num(r.current, ".3e"), _num(r.ratio, ".2f"),
                      _num(r.p_value, ".3f"), f"[{style}]{r.verdict}[/]", r.detail)
    return table


@app.command()
def check(
    results: Annotated[Path, typer.Argument(help="results folder to judge")],
    baseline: Annotated[Path, typer.Option(help="baseline runs (a Parquet file)")],
    factor: Annotated[float, typer.Option(help="a median worse by more than this many times "
                                          "is a regression (if also significant)")]
    = DEFAULT_FACTOR,
    alpha: Annotated[float, typer.Option(help="significance level of the one-sided "
                                         "Mann-Whitney U test (3+ seeds a side)")]
    = DEFAULT_ALPHA,
    metric: Annotated[list[str] | None, typer.Option(
        metavar="NAME", help="metric to judge (repeatable); time metrics only when named")]
    = None,
    update_baseline: Annotated[bool, typer.Option("--update-baseline", help="write the "
                                                  "results' runs as the new baseline")] = False,
    plugin: PluginOption = None,
) -> None:
    """Fail (exit 1) when RESULTS regress against a baseline, or have missing or failed runs."""
    load_plugins_or_exit(plugin)
    metrics = list(dict.fromkeys(metric)) if metric else list(DEFAULT_METRICS)
    try:
        current = read_results(results)
        if update_baseline:
            write_baseline(current, baseline)
            cells = current.groupby(["problem", "method"]).ngroups
            out.print(f"wrote {len(current)} runs ({cells} problem/method cells) to {baseline}")
            bad = current[current["status"] != "ok"]
            if len(bad):
                out.print(f"[yellow]note:[/] {len(bad)} of them are not ok: "
                          f"{', '.join(sorted(set(bad['status'])))}")
            return
        base = read_baseline(baseline)
        verdicts = check_runs(base, current, metrics, factor, alpha)
        changed = changed_settings(base, current)
    except CheckInputError as e:
        raise _bad_input(str(e)) from None
    out.print(render_verdicts(verdicts, factor, alpha))
    if changed:
        out.print(f"note: {changed} run(s) have other settings than the baseline's runs of the "
                  "same problem, method and seed")
    counts = verdicts["verdict"].value_counts()
    summary = ", ".join(f"{n} {v}" for v, n in counts.items())
    if passed(verdicts):
        out.print(f"check passed: {summary}")
        return
    failing = ", ".join(f"{counts[v]} {v}" for v in FAILING if v in counts)
    out.print(f"[bold red]check failed:[/] {failing}")
    raise typer.Exit(EXIT_REGRESSION)
