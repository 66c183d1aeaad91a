"""One static HTML page for a results folder: tables, figures, suite files, machines.

The page holds everything itself (figures as base64 PNG, styles inline), so it can be mailed,
attached to a CI job or opened years later without the results folder.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from pinnbench import __version__
from pinnbench.analysis import plot, ranking
from pinnbench.analysis.compare import comparison_table, format_table

MACHINE_COLUMNS = ("host", "cpu", "device_kind", "jax", "jaxlib", "pinnbench_version",
                   "git_commit")

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1, h2 { font-weight: 600; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
caption { text-align: left; font-weight: 600; padding: 0.3em 0; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 0.25em 0.7em; text-align: right; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
figure { margin: 1em 0; } img { max-width: 100%; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; }
"""


def figure_png(fig: Figure) -> str:
    """``fig`` as a base64 PNG data URI."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def suite_files(results_dir: Path) -> dict[str, str]:
    """The suite files that ``pinnbench run`` copied into the folder (or its suite folders)."""
    paths = [results_dir / "suite.toml", *sorted(results_dir.glob("*/suite.toml"))]
    return {str(p.relative_to(results_dir)): p.read_text() for p in paths if p.is_file()}


def machines(runs: pd.DataFrame) -> pd.DataFrame:
    """Each distinct machine and software version the runs were recorded on, with a count."""
    cols = [c for c in MACHINE_COLUMNS if c in runs.columns]
    if not cols:
        return pd.DataFrame({"runs": [len(runs)]})
    table = runs[cols].astype(str).value_counts(dropna=False).rename("runs").reset_index()
    return table.sort_values(cols).reset_index(drop=True)


def _html_table(frame: pd.DataFrame, caption: str) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "\n".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                     for row in frame.itertuples(index=False))
    return (f"<table>\n<caption>{html.escape(caption)}</caption>\n<thead><tr>{head}</tr>"
            f"</thead>\n<tbody>\n{body}\n</tbody>\n</table>\n")


def _figure_block(fig: Figure, caption: str) -> str:
    return (f'<figure><img alt="{html.escape(caption)}" src="{figure_png(fig)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>\n")


MAX_FIELDS = 6


def saved_fields(root: Path, runs: pd.DataFrame, metric: str, by: Sequence[str]) -> list:
    """Field grids of up to ``MAX_FIELDS`` median-seed runs whose parameters were saved."""
    from pinnbench.analysis.replay import evaluate_run
    from pinnbench.spec import MissingPlugin

    out = []
    for _, r in plot.representative_runs(runs, metric, by).iterrows():
        if len(out) == MAX_FIELDS:
            break
        try:
            out.append((f"{r['problem']} / {r['method']}", evaluate_run(root, r.to_dict())))
        except MissingPlugin:
            raise  # a map that needs a plugin is the user's to supply, not one to drop
        except (FileNotFoundError, KeyError, ValueError):
            continue  # runs without saved parameters (or without a spec) have no picture
    return out


def build_report(results_dir: str | Path, runs: pd.DataFrame, history: pd.DataFrame,
                 metric: str = "rel_l2", target: float | None = None,
                 by: Sequence[str] = ("method",), title: str | None = None) -> str:
    """The whole page as a string."""
    root = Path(results_dir)
    by = list(by)
    label = "/".join(by)
    table = comparison_table(runs, metric, by=by)
    sections = []
    if target is not None:
        reach = ranking.time_to_target(runs, history, metric, target, by)
        table = table.merge(ranking.target_summary(reach), on=["problem", "method"], how="left")
    sections.append(("Comparison", format_table(table, metric, "html", label, target=target)))

    summaries = [ranking.summarize(ranking.run_scores(runs, metric, by), f"final {metric}")]
    if target is not None:
        summaries.append(ranking.summarize(reach, f"time to {metric} <= {target:g}",
                                           column="time_s"))
    sections.append(("Ranks across problems",
                     "".join(ranking.format_summary(s, "html") for s in summaries)))

    figures = []
    if not history.empty and metric in history.columns:
        figures.append(_figure_block(plot.convergence(runs, history, metric, by),
                                     "Convergence of the error and the loss"))
    figures.append(_figure_block(plot.error_vs_time(runs, metric, by), "Error against time"))
    figures.append(_figure_block(plot.profiles(runs, history, metric, target, by),
                                 "Performance profiles"))
    fields = saved_fields(root, runs, metric, by)
    if fields:
        figures.append(_figure_block(plot.field_maps(fields),
                                     "Prediction, reference and error of the median seed"))
    if not history.empty and "model.centres" in history.columns:
        figures.append(_figure_block(plot.ball_centres(runs, history),
                                     "Ball centres over training"))
    sections.append(("Figures", "".join(figures)))

    suites = suite_files(root)
    sections.append(("Suite files", "".join(
        f'<h3>{html.escape(name)}</h3>\n<pre class="suite">{html.escape(text)}</pre>\n'
        for name, text in suites.items()) or "<p>No suite file in the results folder.</p>"))
    sections.append(("Machines and versions",
                     _html_table(machines(runs), "distinct machines and versions of the runs")))

    title = title or f"pinnbench report: {root.resolve().name}"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = "".join(f'<section id="{html.escape(name.lower().replace(" ", "-"))}">'
                   f"<h2>{html.escape(name)}</h2>\n{content}</section>\n"
                   for name, content in sections)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{html.escape(title)}</h1>\n<p class=\"meta\">{len(runs)} runs, "
            f"{runs['problem'].nunique()} problem(s); metric {html.escape(metric)}; written "
            f"{stamp} by pinnbench {html.escape(__version__)}</p>\n{body}</body>\n</html>\n")
