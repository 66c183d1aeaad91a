"""``pinnbench compare``: the problem x method table of a results folder, for the terminal or
as md, latex, csv or html."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pinnbench.cli.common import (
    PluginOption,
    bad_input,
    load_plugins_or_exit,
    load_runs_or_exit,
    out,
)

_SUFFIX_FORMATS = {".md": "md", ".tex": "latex", ".csv": "csv", ".html": "html", ".htm": "html"}


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
    tuned: Annotated[bool, typer.Option("--tuned", help="a tuned suite's results: per "
                                        "(problem, method) the selected configuration, the "
                                        "tuning cost and the test error")] = False,
    budget_curve: Annotated[bool, typer.Option(
        "--budget-curve", help="error vs tuning budget of methods with sweeps: the pick "
        "after k configurations, median over random orderings")] = False,
    plugin: PluginOption = None,
) -> None:
    """Problem x method table: median error over seeds, its spread, time, speed, memory."""
    load_plugins_or_exit(plugin)
    if tuned or budget_curve:
        _compare_tuned(results, metric, fmt, out_file, tuned)
        return
    from pinnbench.analysis.compare import FORMATS, comparison_table, format_table, render_table
    from pinnbench.run.store import load_history

    columns = [c.strip() for c in by.split(",") if c.strip()]
    if not columns:
        raise bad_input("--by: expected one or more column names")
    if out_file is not None and fmt is None:
        fmt = _SUFFIX_FORMATS.get(out_file.suffix.lower())
        if fmt is None:
            raise bad_input(f"--out {out_file}: name a --format ({'|'.join(FORMATS)}) or use "
                            "a .md, .tex, .csv or .html file")
    if fmt is not None and fmt not in FORMATS:
        raise bad_input(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    if ranks and fmt is not None:
        from pinnbench.analysis import ranking

        if fmt not in ranking.SUMMARY_FORMATS:
            raise bad_input(f"--ranks: the rank tables have no {fmt.upper()} form; use "
                            f"{ranking.summary_formats()}")
    if target is not None and not target > 0:
        raise bad_input(f"--target: expected a positive error, got {target:g}")
    if not 0 < alpha < 1:
        raise bad_input(f"--alpha: expected a level between 0 and 1, got {alpha:g}")
    runs = load_runs_or_exit(results, metric, columns)
    try:
        table = comparison_table(runs, metric, by=columns, baseline=baseline)
    except KeyError as e:
        option = "--baseline" if baseline is not None and "method" in str(e) else "--by"
        raise bad_input(f"{option}: {e.args[0]} in {results}") from None
    summaries = []
    if target is not None or ranks:
        from pinnbench.analysis import ranking

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
    _emit(text, out_file)


def _emit(text: str, out_file: Path | None) -> None:
    """A formatted table to stdout, or to ``out_file`` (its folder made) with one line saying so."""
    if out_file is None:
        sys.stdout.write(text)
    else:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(text)
        out.print(f"wrote {out_file}")


def _compare_tuned(results: Path, metric: str, fmt: str | None, out_file: Path | None,
                   tuned: bool) -> None:
    """``compare --tuned`` and ``--budget-curve``: the tuning record's view of the results."""
    from pinnbench.analysis import compare, tuning

    if out_file is not None and fmt is None:
        fmt = _SUFFIX_FORMATS.get(out_file.suffix.lower())
    if fmt is not None and fmt not in compare.FORMATS:
        raise bad_input(f"--format: expected one of {', '.join(compare.FORMATS)}, got {fmt!r}")
    runs = load_runs_or_exit(results, metric)
    record = tuning.read_record(results)
    if tuned and record is None:
        raise bad_input(f"{results}: no {tuning.RECORD}; --tuned reads the results of a suite "
                        "with [tuning]")
    views = []
    if tuned:
        views.append((tuning.tuned_table(runs, record, metric), compare.tuned_columns(metric),
                      f"tuned on {record['criterion']} over seeds {record['tune_seeds']} "
                      f"(budget {record['budget']}); {metric} over seeds {record['seeds']}"))
    # With a record, the curve uses the tuning runs: every configuration on the same seeds.
    ids = [i for c in (record or {}).get("cells", []) for i in c["tuning_runs"]]
    curve = tuning.budget_curve(runs[runs["run_id"].isin(ids)] if ids else runs, metric)
    views.append((curve, compare.budget_columns(metric),
                  f"{metric} of the configuration picked on train_loss after k tried "
                  f"(median over {tuning.ORDERINGS} random orderings)"))
    texts = []
    for table, cols, title in views:
        if fmt is None:
            out.print(compare.render_rows(table, cols, title))
        else:
            texts.append(compare.format_rows(table, cols, fmt, title))
    if fmt is None:
        return
    text = "\n".join(texts)
    _emit(text, out_file)


def _plain_table(header: list[str], rows: list[list[str]]) -> Table:
    table = Table()
    for i, h in enumerate(header):
        table.add_column(h, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    return table

