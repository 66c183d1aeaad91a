"""Aggregate recorded runs into a problem x method comparison, for the terminal or a paper."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import pandas as pd
from rich.table import Table

FORMATS = ("md", "latex", "csv", "html")


def _statuses(s: pd.Series) -> str:
    counts = s[s != "ok"].value_counts()
    return ", ".join(f"{n} {status}" for status, n in counts.items())


def comparison_table(runs: pd.DataFrame, metric: str = "rel_l2", by: Sequence[str] = ("method",),
                     baseline: str | None = None) -> pd.DataFrame:
    """One row per (problem, method): statistics over seeds of the runs that finished ok.

    Runs with any other status are never averaged in, and never hidden: ``ok`` counts them and
    ``failed`` names their statuses. ``by`` names the columns whose values tell the compared
    variants apart (``method`` by default; ``optimizer.lr`` or ``model.width`` split a sweep); the
    ``method`` column of the result then holds those values joined by ``/``. With ``baseline``
    (one such value), ``vs_baseline`` is each median divided by that variant's median on the same
    problem.
    """
    by = list(by)
    for col in by:
        if col not in runs.columns:
            raise KeyError(f"no column {col!r} to group by")
    rows = []
    for (problem, *keys), g in runs.groupby(["problem", *by], sort=True, dropna=False):
        ok = g[g["status"] == "ok"]
        values = ok[metric].astype(float).to_numpy()
        q25, q50, q75 = (np.percentile(values, [25, 50, 75]) if values.size
                         else (np.nan,) * 3)
        rows.append({
            "problem": problem,
            "method": "/".join(str(k) for k in keys),
            "ok": f"{len(ok)}/{len(g)}",
            "failed": _statuses(g["status"]),
            "median": q50,
            "iqr": q75 - q25,
            "best": values.min() if values.size else np.nan,
            "worst": values.max() if values.size else np.nan,
            "train_s": ok["train_s"].median() if len(ok) else np.nan,
            "steps_per_s": ok["steps_per_s"].median() if len(ok) else np.nan,
            "peak_mb": _peak_memory(ok),
        })
    table = pd.DataFrame(rows)
    if not table.empty:
        best = table.groupby("problem")["median"].transform("min")
        table["is_best"] = table["median"].eq(best) & table["median"].notna()
        if baseline is not None:
            if baseline not in set(table["method"]):
                raise KeyError(f"no method {baseline!r} to compare with")
            ref = table[table["method"] == baseline].set_index("problem")["median"]
            table["vs_baseline"] = table["median"] / table["problem"].map(ref)
    return table


def _peak_memory(ok: pd.DataFrame) -> float:
    if not len(ok):
        return np.nan
    if "peak_device_mb" in ok and ok["peak_device_mb"].notna().any():
        return float(ok["peak_device_mb"].median())
    return float(ok["peak_host_rss_mb"].median())


def _fmt(x: float, spec: str) -> str:
    return "—" if x is None or (isinstance(x, float) and np.isnan(x)) else format(x, spec)


def _fmt_target(x: float, spec: str) -> str:
    return "not reached" if np.isinf(x) else _fmt(x, spec)


def _target_headers(table: pd.DataFrame, target: float | None) -> list[str]:
    # Time-to-target columns appear only when the table carries them (``--target``).
    if "target_reached" not in table.columns:
        return []
    return [f"reached ≤{target:g}", "s to target", "step to target"]


def _target_cells(row: object) -> list[str]:
    return [row.target_reached, _fmt_target(row.target_s, ".2f"),
            _fmt_target(row.target_step, ".0f")]


def render_table(table: pd.DataFrame, metric: str, method_label: str = "method",
                 baseline: str | None = None, target: float | None = None) -> Table:
    out = Table(title=f"median {metric} over seeds (best per problem in bold)")
    ratio = [f"÷ {baseline}"] if baseline is not None else []
    extra = _target_headers(table, target)
    for col in ("problem", method_label, "ok", metric, *ratio, "IQR", "train s", "steps/s",
                "peak MB", *extra, "failed"):
        out.add_column(col, justify="left" if col in ("problem", method_label, "failed")
                       else "right")
    for r in table.itertuples():
        err = _fmt(r.median, ".3e")
        ratios = [_fmt(r.vs_baseline, ".2f")] if baseline is not None else []
        out.add_row(r.problem, r.method, r.ok, f"[bold green]{err}[/]" if r.is_best else err,
                    *ratios, _fmt(r.iqr, ".1e"), _fmt(r.train_s, ".1f"),
                    _fmt(r.steps_per_s, ".1f"), _fmt(r.peak_mb, ".0f"),
                    *(_target_cells(r) if extra else []), r.failed)
    return out


def _cells(table: pd.DataFrame, metric: str, method_label: str, baseline: str | None,
           target: float | None = None) -> tuple[list[str], list[list[str]]]:
    """Header and text cells shared by the Markdown, LaTeX and HTML writers."""
    header = ["problem", method_label, "ok", f"median {metric}", "IQR"]
    if baseline is not None:
        header.append(f"÷ {baseline}")
    extra = _target_headers(table, target)
    header += ["train s", *extra, "failed"]
    rows = []
    for r in table.itertuples():
        row = [str(r.problem), str(r.method), r.ok, _fmt(r.median, ".3e"), _fmt(r.iqr, ".1e")]
        if baseline is not None:
            row.append(_fmt(r.vs_baseline, ".2f"))
        rows.append(row + [_fmt(r.train_s, ".1f"), *(_target_cells(r) if extra else []),
                           r.failed])
    return header, rows


_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
          "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
          "÷": r"$\div$", "—": "--"}


def _latex_escape(text: str) -> str:
    # One pass, so the braces of an inserted command are not escaped again.
    return "".join(_LATEX.get(ch, ch) for ch in text)


def format_table(table: pd.DataFrame, metric: str, fmt: str, method_label: str = "method",
                 baseline: str | None = None, target: float | None = None) -> str:
    """The comparison as text for a paper or a page: ``md``, ``latex`` (booktabs), ``csv`` or
    ``html``. The best median of each problem is bold, except in CSV, which holds the numbers
    unrounded with an ``is_best`` column instead."""
    if fmt == "csv":
        cols = ["problem", "method", "ok", "failed", "median", "iqr", "best", "worst",
                *(["vs_baseline"] if baseline is not None else []), "train_s", "steps_per_s",
                "peak_mb",
                *(["target_reached", "target_s", "target_step"]
                  if "target_reached" in table.columns else []), "is_best"]
        return table[cols].rename(columns={"method": method_label}).to_csv(index=False)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    header, rows = _cells(table, metric, method_label, baseline, target)
    best = table["is_best"].tolist() if len(table) else []
    if fmt == "md":
        def md(text: str) -> str:
            return text.replace("|", "\\|")
        lines = ["| " + " | ".join(md(h) for h in header) + " |",
                 "|" + "|".join("---" if i < 2 or h == "failed" else "--:"
                                for i, h in enumerate(header)) + "|"]
        for row, is_best in zip(rows, best, strict=True):
            cells = [md(c) for c in row]
            if is_best:
                cells[3] = f"**{cells[3]}**"
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"
    if fmt == "latex":
        align = "ll" + "r" * (len(header) - 3) + "l"
        lines = [f"\\begin{{tabular}}{{{align}}}", "\\toprule",
                 " & ".join(_latex_escape(h) for h in header) + " \\\\", "\\midrule"]
        previous = None
        for row, is_best in zip(rows, best, strict=True):
            cells = [_latex_escape(c) for c in row]
            if previous is not None and row[0] != previous:
                lines.append("\\midrule")
            if row[0] == previous:
                cells[0] = ""
            previous = row[0]
            if is_best:
                cells[3] = f"\\textbf{{{cells[3]}}}"
            lines.append(" & ".join(cells) + " \\\\")
        lines += ["\\bottomrule", "\\end{tabular}"]
        return "\n".join(lines) + "\n"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for row, is_best in zip(rows, best, strict=True):
        cells = [html.escape(c) for c in row]
        if is_best:
            cells[3] = f"<strong>{cells[3]}</strong>"
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return (f'<table class="pinnbench-compare">\n<caption>median {html.escape(metric)} over '
            f"seeds (best per problem in bold)</caption>\n<thead><tr>{head}</tr></thead>\n"
            "<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>\n")
