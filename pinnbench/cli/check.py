"""``pinnbench check``: the accuracy gate over a results folder (rules in docs/check.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.table import Table

from pinnbench.analysis.check import (
    DEFAULT_ALPHA,
    DEFAULT_FACTOR,
    DEFAULT_FALSE_ALARM,
    DEFAULT_METRICS,
    DEFAULT_MIN_FACTOR,
    DEFAULT_RULE,
    FAILING,
    NEW,
    CheckInputError,
    Gate,
    baseline_origin,
    changed_settings,
    check_runs,
    cut,
    default_metrics,
    passed,
    read_baseline,
    read_results,
    select,
    write_baseline,
)
from pinnbench.cli.common import PluginOption, bad_input, load_plugins_or_exit, out

EXIT_REGRESSION = 1

_STYLE = {"regression": "bold red", "failed": "bold red", "missing": "bold red",
          "worse, not significant": "yellow", "improved": "green", "pass": "green",
          NEW: "bold cyan", "no baseline": "cyan"}


def _num(x: float, spec: str) -> str:
    return "—" if x is None or np.isnan(x) else format(x, spec)


def _title(gate: Gate) -> str:
    if gate.rule == "median":
        return (f"check against the baseline: regression = median worse by more than "
                f"{gate.factor:g}x and one-sided Mann-Whitney p <= {gate.alpha:g}")
    return ("check against the baseline: regression = worse, per seed, by more than the "
            f"cell's tolerance (from its seed spread; {gate.false_alarm:g} false alarms per "
            f"gate run, at least {gate.min_factor:g}x)")


def render_verdicts(verdicts: pd.DataFrame, gate: Gate) -> Table:
    table = Table(title=_title(gate))
    numeric = ("seeds", "paired", "baseline", "current", "ratio", "tolerance", "p")
    for col in ("problem", "method", "metric", *numeric, "verdict", "detail"):
        # Text wraps rather than being cut: a verdict must stay readable.
        table.add_column(col, justify="right" if col in numeric else "left", overflow="fold")
    for r in verdicts.itertuples():
        style = _STYLE.get(r.verdict, "")
        table.add_row(r.problem, r.method, r.metric, f"{r.n_baseline}/{r.n_current}",
                      str(r.paired) if r.paired else "—", _num(r.baseline, ".3e"),
                      _num(r.current, ".3e"), _num(r.ratio, ".2f"), _num(r.tolerance, ".2f"),
                      _num(r.p_value, ".3f"), f"[{style}]{r.verdict}[/]", r.detail)
    return table


# Narrower than this (a CI log, a split terminal), the verdicts are printed one line each: a
# table of twelve columns would squeeze every cell into a few characters.
TABLE_WIDTH = 130


def verdict_lines(verdicts: pd.DataFrame) -> list[str]:
    """One line per verdict, for narrow output."""
    lines = []
    for r in verdicts.itertuples():
        style = _STYLE.get(r.verdict, "")
        paired = f", {r.paired} paired" if r.paired else ""
        detail = f"; {r.detail}" if r.detail else ""
        lines.append(f"{r.problem}/{r.method} {r.metric}: [{style}]{r.verdict}[/] ratio "
                     f"{_num(r.ratio, '.2f')} (tolerance {_num(r.tolerance, '.2f')}, p "
                     f"{_num(r.p_value, '.3f')}); median {_num(r.baseline, '.3e')} -> "
                     f"{_num(r.current, '.3e')}; seeds {r.n_baseline}/{r.n_current}{paired}"
                     f"{detail}")
    return lines


def print_verdicts(verdicts: pd.DataFrame, gate: Gate) -> None:
    if out.width >= TABLE_WIDTH:
        out.print(render_verdicts(verdicts, gate))
        return
    # Whole lines (soft wrap): a log keeps each verdict on one line, whatever its width.
    out.print(_title(gate), highlight=False, soft_wrap=True)
    for line in verdict_lines(verdicts):
        out.print(line, highlight=False, soft_wrap=True)


def _gated(frame: pd.DataFrame, only: str | None, problems: list[str] | None) -> pd.DataFrame:
    return select(frame, only, problems) if only is not None or problems else frame


def _update(current: pd.DataFrame, baseline: Path, commit: str | None, results: Path) -> None:
    write_baseline(current, baseline, commit, name=str(results))
    cells = current.groupby(["problem", "method"]).ngroups
    out.print(f"wrote {len(current)} runs ({cells} problem/method cells) to {baseline}")
    origin = baseline_origin(read_baseline(baseline))
    out.print(f"recorded: commit {', '.join(origin.get('commits', [])) or 'unknown'}",
              highlight=False, soft_wrap=True)
    bad = current[current["status"] != "ok"]
    if len(bad):
        out.print(f"[yellow]note:[/] {len(bad)} of them are not ok: "
                  f"{', '.join(sorted(set(bad['status'])))}")


def _summary(verdicts: pd.DataFrame) -> str:
    counts = verdicts["verdict"].value_counts()
    summary = ", ".join(f"{n} {v}" for v, n in counts.items())
    new = verdicts[verdicts["verdict"] == NEW]
    if len(new):
        cells = sorted(set(new["problem"] + "/" + new["method"]))
        summary += f" ({NEW}: {cut(', '.join(cells))})"
    return summary


def check(
    results: Annotated[Path, typer.Argument(help="results folder to judge")],
    baseline: Annotated[Path, typer.Option(help="baseline runs (a Parquet file)")],
    rule: Annotated[str, typer.Option(metavar="paired|median", help="paired: per-seed log "
                                      "ratios against the cell's seed spread; median: median "
                                      "ratio and Mann-Whitney")] = DEFAULT_RULE,
    false_alarm: Annotated[float, typer.Option(help="paired rule: false alarms per gate run "
                                               "allowed for unchanged code")]
    = DEFAULT_FALSE_ALARM,
    min_factor: Annotated[float, typer.Option(help="paired rule: never a regression below "
                                              "this ratio")] = DEFAULT_MIN_FACTOR,
    factor: Annotated[float, typer.Option(help="median rule: a median worse by more than this "
                                          "many times is a regression (if also significant)")]
    = DEFAULT_FACTOR,
    alpha: Annotated[float, typer.Option(help="median rule: significance level of the "
                                         "one-sided Mann-Whitney U test (3+ seeds a side)")]
    = DEFAULT_ALPHA,
    metric: Annotated[list[str] | None, typer.Option(
        metavar="NAME", help="metric to judge (repeatable); time metrics only when named")]
    = None,
    only: Annotated[str | None, typer.Option(metavar="GLOB", help="gate only these cells: a "
                                             "glob on 'problem/method', problem or method")]
    = None,
    problems: Annotated[str | None, typer.Option(metavar="P1,P2", help="gate only these "
                                                 "problems (comma-separated)")] = None,
    update_baseline: Annotated[bool, typer.Option("--update-baseline", help="write the "
                                                  "results' runs as the new baseline")] = False,
    commit: Annotated[str | None, typer.Option(help="with --update-baseline: the commit to "
                                               "record (default: the runs' git_commit)")]
    = None,
    plugin: PluginOption = None,
) -> None:
    """Fail (exit 1) when RESULTS regress against a baseline, or have missing or failed runs."""
    load_plugins_or_exit(plugin)
    metrics = list(dict.fromkeys(metric)) if metric else list(DEFAULT_METRICS)
    names = [p.strip() for p in problems.split(",") if p.strip()] if problems else None
    gate = Gate(rule, factor, alpha, false_alarm, min_factor)
    try:
        gate.validate()
        current = read_results(results)
        if update_baseline:
            _update(current, baseline, commit, results)
            return
        base = read_baseline(baseline)
        origin = baseline_origin(base)
        base, current = _gated(base, only, names), _gated(current, only, names)
        metrics = metrics if metric else default_metrics(base)
        if base.empty and current.empty:
            option = (f"--only {cut(only)!r}" if only is not None
                      else f"--problems {cut(problems)!r}")
            raise CheckInputError(f"{option}: matches no cell of the baseline or the results")
        verdicts = check_runs(base, current, metrics, gate=gate,
                              names=(str(baseline), str(results)))
        changed = changed_settings(base, current)
    except CheckInputError as e:
        raise bad_input(str(e)) from None
    if origin.get("commits"):
        out.print(f"baseline {baseline}: {origin.get('runs', '?')} runs from commit "
                  f"{', '.join(origin['commits'])}", highlight=False, soft_wrap=True)
    print_verdicts(verdicts, gate)
    if changed:
        out.print(f"note: {changed} run(s) have other settings than the baseline's runs of the "
                  "same problem, method and seed")
    summary = _summary(verdicts)
    if passed(verdicts):
        out.print(f"check passed: {summary}", soft_wrap=True)
        return
    counts = verdicts["verdict"].value_counts()
    failing = ", ".join(f"{counts[v]} {v}" for v in FAILING if v in counts)
    out.print(f"[bold red]check failed:[/] {failing}", soft_wrap=True)
    raise typer.Exit(EXIT_REGRESSION)
