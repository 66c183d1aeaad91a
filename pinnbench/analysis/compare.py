"""Aggregate recorded runs into a problem x method comparison, for the terminal or a paper.

Two ideas hold it together:

- a **cell** is one resolved configuration: every setting of a run but its seed
  (:func:`cell_keys`). ``compare``, ``check``, the rank statistics and the figures all group runs
  this way, so runs of different settings are never merged under one label: where a label covers
  several configurations, each becomes its own variant, named with what differs.
- every output format shows the same columns (:func:`columns`), each format only writing the
  numbers its own way (LaTeX as ``$4.24 \\times 10^{-1}$``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from rich.table import Table

# How a label shows a run that lacks one of its columns (a method without the option).
MISSING_LABEL = "-"

# Flat spec columns (``RunSpec.flat``) that describe a run's settings; with ``precision`` they
# stand in for the spec where a table has no ``spec_json`` (hand-made or older tables). The
# loss strategy's options are left to the spec: ``loss.<term>`` columns are results (the final
# loss terms), which would make every run a configuration of its own.
SPEC_PREFIXES = ("problem.", "model.", "optimizer.", "sampler.", "weights.", "budget.")
SETTING_COLUMNS = ("precision", "loss.type")

BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95
MAX_DIFFERENCES = 3  # settings named in a split variant's label; the rest are counted


# ---- grouping: one cell per resolved configuration ------------------------------------------
def _spec_settings(spec_json: str, seed: object) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(what the configuration hash covers, flat settings to show) from a run's spec, or None
    when the text is not a spec."""
    from pinnbench.spec import RunSpec

    try:
        spec = RunSpec.from_json(spec_json)
        identity = spec.identity()
    except (TypeError, ValueError, KeyError, AttributeError):
        return None
    # The run id's own rules (defaults left out of it), minus what only tells seeds apart. A
    # data seed that follows the seed is one setting; a fixed one is a setting of its own.
    for key in ("seed", "problem_label", "method_label"):
        identity.pop(key, None)
    data_seed = identity.pop("data_seed")
    identity["data_seed"] = "seed" if data_seed == seed else data_seed
    flat = {**spec.flat(), "precision": spec.precision, "data_seed": identity["data_seed"]}
    return identity, flat


def _column_settings(row: pd.Series) -> dict[str, Any]:
    return {k: v for k, v in row.items()
            if (k.startswith(SPEC_PREFIXES) or k in SETTING_COLUMNS) and not _missing(v)}


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _hash(obj: object) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def run_settings(runs: pd.DataFrame) -> tuple[pd.Series, dict[str, dict[str, Any]]]:
    """Per run, the hash of its configuration (everything but the seed), and per hash the flat
    settings (``optimizer.lr``, ``budget.steps``, ...) that configuration stands for."""
    configs, settings = [], {}
    has_spec = "spec_json" in runs.columns
    for _, row in runs.iterrows():
        parsed = (_spec_settings(row["spec_json"], row.get("seed"))
                  if has_spec and isinstance(row["spec_json"], str) else None)
        if parsed is None:
            flat = _column_settings(row)
            key = _hash(flat)
        else:
            identity, flat = parsed
            key = _hash(identity)
        configs.append(key)
        settings.setdefault(key, flat)
    return pd.Series(configs, index=runs.index, dtype=object), settings


def differences(configs: Sequence[dict[str, Any]]) -> list[str]:
    """The setting names whose values are not the same in every configuration."""
    names = sorted(set().union(*configs)) if configs else []
    return [n for n in names if len({json.dumps(c.get(n), default=str) for c in configs}) > 1]


def _describe(flat: dict[str, Any], names: list[str], key: str) -> str:
    if not names:  # only what the flat columns do not show differs (a plugin's code)
        return f"config {key[:8]}"
    shown = [f"{n}={flat.get(n, '-')}" for n in names[:MAX_DIFFERENCES]]
    more = len(names) - MAX_DIFFERENCES
    return ", ".join(shown) + (f", +{more} more" if more > 0 else "")


def cell_keys(runs: pd.DataFrame, by: Sequence[str] = ("method",)) -> pd.DataFrame:
    """Per run (same index): ``label`` (the ``by`` columns joined by ``/``), ``config`` (hash of
    every setting but the seed) and ``variant``: the label, followed by what differs in brackets
    where one (problem, label) covers several configurations, e.g. ``adam [budget.steps=150]``.

    This is the grouping of every statistic: a cell is (problem, variant).
    """
    by = list(by)
    for col in by:
        if col not in runs.columns:
            raise KeyError(f"no column {col!r} to group by")
    if runs.empty:
        return pd.DataFrame({"label": [], "config": [], "variant": []}, dtype=object)
    parts = runs[by].astype(object)
    label = parts.where(parts.notna(), MISSING_LABEL).astype(str).agg("/".join, axis=1)
    label = label.to_numpy(dtype=object)
    config, settings = run_settings(runs)
    config = config.to_numpy(dtype=object)
    variant = label.copy()
    # Positions, not index labels: concatenated run tables often repeat index values.
    pairs = pd.DataFrame({"problem": runs["problem"].astype(str).to_numpy(), "label": label})
    for rows in pairs.groupby(["problem", "label"], sort=False).indices.values():
        keys = list(dict.fromkeys(config[rows]))
        if len(keys) < 2:
            continue
        names = differences([settings[k] for k in keys])
        for k in keys:
            mine = rows[config[rows] == k]
            variant[mine] = f"{label[mine[0]]} [{_describe(settings[k], names, k)}]"
    return pd.DataFrame({"label": label, "config": config, "variant": variant},
                        index=runs.index)


def mixed_cells(runs: pd.DataFrame, by: Sequence[str] = ("method",)) -> list[str]:
    """One line per (problem, label) that covers runs of several configurations, naming what
    differs (empty when every label is one configuration)."""
    keys = cell_keys(runs, by).assign(problem=runs["problem"].to_numpy())
    lines = []
    for (problem, label), g in keys.groupby(["problem", "label"], sort=True):
        variants = sorted(set(g["variant"]))
        if len(variants) > 1:
            lines.append(f"{problem}/{label} holds runs of {len(variants)} settings: "
                         + "; ".join(v[len(label) + 2:-1] for v in variants))
    return lines


# ---- statistics ------------------------------------------------------------------------------
def _rng() -> np.random.Generator:
    # The same seed for every cell: the same table gives the same intervals every time.
    return np.random.default_rng(BOOTSTRAP_SEED)


def _boot_medians(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    idx = rng.integers(0, values.size, size=(BOOTSTRAP_SAMPLES, values.size))
    return np.median(values[idx], axis=1)


def _interval(samples: np.ndarray) -> tuple[float, float]:
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def median_ci(values: np.ndarray) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval (95 %) of the median; seeded, so deterministic.
    With 3 seeds it cannot be narrower than the spread of the seeds allows."""
    values = np.asarray(values, float)
    if not values.size:
        return np.nan, np.nan
    return _interval(_boot_medians(values, _rng()))


def ratio_ci(values: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """95 % bootstrap interval of median(values) / median(reference), the two cells resampled
    independently (seeded)."""
    values, reference = np.asarray(values, float), np.asarray(reference, float)
    if not values.size or not reference.size:
        return np.nan, np.nan
    rng = _rng()
    num, den = _boot_medians(values, rng), _boot_medians(reference, rng)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _interval(num / den)


def _statuses(s: pd.Series) -> str:
    counts = s[s != "ok"].value_counts()
    return ", ".join(f"{n} {status}" for status, n in counts.items())


def _median_or_nan(frame: pd.DataFrame, column: str) -> float:
    if column not in frame or not len(frame):
        return np.nan
    return float(pd.to_numeric(frame[column], errors="coerce").median())


def _peak_memory(ok: pd.DataFrame) -> float:
    if "peak_device_mb" in ok and ok["peak_device_mb"].notna().any():
        return _median_or_nan(ok, "peak_device_mb")
    return _median_or_nan(ok, "peak_host_rss_mb")


def _cell_stats(values: np.ndarray) -> dict[str, float]:
    if not values.size:
        return dict.fromkeys(("mean", "std", "median", "q25", "q75", "iqr", "best", "worst",
                              "median_low", "median_high"), np.nan)
    q25, q50, q75 = np.percentile(values, [25, 50, 75])
    low, high = median_ci(values)
    return {"mean": float(values.mean()),
            # The sample standard deviation (n - 1), as papers report it; 0 for one seed.
            "std": float(values.std(ddof=1)) if values.size > 1 else 0.0,
            "median": float(q50), "q25": float(q25), "q75": float(q75),
            "iqr": float(q75 - q25), "best": float(values.min()), "worst": float(values.max()),
            "median_low": low, "median_high": high}


def comparison_table(runs: pd.DataFrame, metric: str = "rel_l2", by: Sequence[str] = ("method",),
                     baseline: str | None = None) -> pd.DataFrame:
    """One row per cell (problem, variant): statistics over the seeds that finished ok.

    Runs with any other status are never averaged in, and never hidden: ``ok`` counts them and
    ``failed`` names their statuses. ``by`` names the columns whose values tell the compared
    variants apart (``method`` by default; ``optimizer.lr`` or ``model.width`` split a sweep);
    the ``method`` column holds those values joined by ``/`` and, where one label covers runs of
    several configurations, what differs (:func:`cell_keys`). With ``baseline`` (one such value),
    ``vs_baseline`` is each median divided by that variant's median on the same problem, with a
    bootstrap interval (``vs_low``, ``vs_high``).
    """
    grouped = runs.assign(_variant=cell_keys(runs, by)["variant"].to_numpy())
    rows, values_of = [], {}
    for (problem, variant), g in grouped.groupby(["problem", "_variant"], sort=True):
        ok = g[g["status"] == "ok"]
        values = pd.to_numeric(ok[metric], errors="coerce").astype(float).to_numpy()
        values = values[np.isfinite(values)]
        values_of[(problem, variant)] = values
        rows.append({"problem": problem, "method": variant, "ok": f"{len(ok)}/{len(g)}",
                     "n": len(g), "n_ok": len(ok), "failed": _statuses(g["status"]),
                     **_cell_stats(values),
                     "train_s": _median_or_nan(ok, "train_s"),
                     "steps_per_s": _median_or_nan(ok, "steps_per_s"),
                     "peak_mb": _peak_memory(ok),
                     # An inverse problem's recovered coefficient (NaN for forward problems).
                     "coef_median": _median_or_nan(ok, "coef_rel_l2")})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    best = table.groupby("problem")["median"].transform("min")
    table["is_best"] = table["median"].eq(best) & table["median"].notna()
    if baseline is not None:
        _add_ratios(table, values_of, baseline)
    return table


def _add_ratios(table: pd.DataFrame, values_of: dict, baseline: str) -> None:
    if baseline not in set(table["method"]):
        raise KeyError(f"no method {baseline!r} to compare with")
    ref = table[table["method"] == baseline].set_index("problem")["median"]
    table["vs_baseline"] = table["median"] / table["problem"].map(ref)
    intervals = [ratio_ci(values_of[(p, m)], values_of.get((p, baseline), np.array([])))
                 for p, m in zip(table["problem"], table["method"], strict=True)]
    table["vs_low"] = [low for low, _ in intervals]
    table["vs_high"] = [high for _, high in intervals]


# ---- the columns every format shows ----------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Num:
    """A number in a cell; each format writes it its own way. ``style``: ``sci`` (3 significant
    digits in scientific notation), ``fixed`` (``digits`` decimals)."""

    value: float
    style: str = "sci"
    digits: int = 2


Cell = tuple[Any, ...]  # parts: plain text and Num, written one after another


@dataclasses.dataclass(frozen=True)
class Column:
    header: str
    cell: Callable[[Any], Cell]
    numeric: bool = True


def _target_column(field: str, digits: int) -> Callable[[Any], Cell]:
    def cell(r: Any) -> Cell:
        value = getattr(r, field)
        # Never the words "not reached" among numbers: an infinite median is a dash, and the
        # reached column and the table's note say what it means.
        return (Num(np.nan if np.isinf(value) else value, "fixed", digits),)
    return cell


def columns(table: pd.DataFrame, metric: str, method_label: str = "method",
            baseline: str | None = None, target: float | None = None) -> list[Column]:
    """The columns of the comparison, the same in every format."""
    cols = [Column("problem", lambda r: (str(r.problem),), False),
            Column(method_label, lambda r: (str(r.method),), False),
            Column("ok", lambda r: (r.ok,)),
            Column(f"mean ± std {metric}", lambda r: (Num(r.mean), " ± ", Num(r.std))),
            Column(f"median {metric}", lambda r: (Num(r.median, digits=3),)),
            Column("[Q1, Q3]", lambda r: ("[", Num(r.q25), ", ", Num(r.q75), "]")),
            Column("95% CI of median", lambda r: ("[", Num(r.median_low), ", ",
                                                  Num(r.median_high), "]")),
            Column("best", lambda r: (Num(r.best),)),
            Column("worst", lambda r: (Num(r.worst),))]
    if baseline is not None:
        cols += [Column(f"÷ {baseline}", lambda r: (Num(r.vs_baseline, "fixed"),)),
                 Column("95% CI of ratio", lambda r: ("[", Num(r.vs_low, "fixed"), ", ",
                                                      Num(r.vs_high, "fixed"), "]"))]
    if metric != "coef_rel_l2" and "coef_median" in table and table["coef_median"].notna().any():
        cols.append(Column("coef_rel_l2 (median)", lambda r: (Num(r.coef_median),)))
    cols += [Column("train s", lambda r: (Num(r.train_s, "fixed", 1),)),
             Column("steps/s", lambda r: (Num(r.steps_per_s, "fixed", 1),)),
             Column("peak MB", lambda r: (Num(r.peak_mb, "fixed", 0),))]
    if "target_reached" in table.columns:
        cols += [Column(f"reached ≤{target:g}" if target is not None else "reached",
                        lambda r: (r.target_reached,)),
                 Column("s to target", _target_column("target_s", 2)),
                 Column("step to target", _target_column("target_step", 0))]
    cols.append(Column("failed", lambda r: (r.failed,), False))
    return cols


BOLD_HEADER_PREFIX = "median "  # the column whose best value per problem is bold


def _text_number(n: Num) -> str:
    if _missing(n.value):
        return "—"
    if np.isinf(n.value):
        return "inf" if n.value > 0 else "-inf"
    return format(n.value, f".{n.digits}e" if n.style == "sci" else f".{n.digits}f")


def _latex_number(n: Num) -> str:
    if _missing(n.value):
        return "--"
    if np.isinf(n.value):
        return r"$\infty$" if n.value > 0 else r"$-\infty$"
    if n.style != "sci":
        return f"${n.value:.{n.digits}f}$"
    mantissa, exponent = f"{n.value:.{n.digits}e}".split("e")
    return f"${mantissa} \\times 10^{{{int(exponent)}}}$"


_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
          "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
          "÷": r"$\div$", "—": "--", "±": r"$\pm$", "≤": r"$\leq$", "≥": r"$\geq$",
          "χ": r"$\chi$", "²": r"$^2$", "τ": r"$\tau$", "×": r"$\times$", "é": r"\'e",
          "–": "--"}


def _latex_escape(text: str) -> str:
    """Text as LaTeX: special characters escaped, the Unicode this package writes turned into
    commands, and anything else non-ASCII replaced by ``?`` so the output compiles anywhere."""
    # One pass, so the braces of an inserted command are not escaped again.
    return "".join(_LATEX.get(ch, ch if ch.isascii() else "?") for ch in text)


def _render(cell: Cell, number: Callable[[Num], str], text: Callable[[str], str]) -> str:
    return "".join(number(p) if isinstance(p, Num) else text(str(p)) for p in cell)


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _bold_index(cols: list[Column]) -> int:
    return next(i for i, c in enumerate(cols) if c.header.startswith(BOLD_HEADER_PREFIX))


# Narrower than this (a CI log, a split terminal) the terminal table prints one line per cell,
# "header value" for every column: fifteen columns squeezed into 80 would split every number.
TABLE_WIDTH = 150


class ComparisonTable(Table):
    """The terminal table; on narrow output, one whole line per cell with the same fields."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines: list[str] = []

    def __rich_console__(self, console: Any, options: Any) -> Any:
        if options.max_width >= TABLE_WIDTH:
            yield from super().__rich_console__(console, options)
            return
        from rich.text import Text

        # Wrapped at spaces: a name or a number is never split (only a word longer than the
        # whole width would be folded).
        for line in [str(self.title), *self.lines]:
            yield Text.from_markup(line, overflow="fold")


def render_table(table: pd.DataFrame, metric: str, method_label: str = "method",
                 baseline: str | None = None, target: float | None = None) -> Table:
    """The comparison for the terminal (rich), with the columns of every other format."""
    cols = columns(table, metric, method_label, baseline, target)
    bold = _bold_index(cols)
    out = ComparisonTable(title=f"{metric} over seeds (best median per problem in bold)")
    for c in cols:
        out.add_column(c.header, justify="right" if c.numeric else "left",
                       no_wrap=c.header in ("problem", method_label))
    for r in table.itertuples():
        cells = [_render(c.cell(r), _text_number, str) for c in cols]
        if r.is_best:
            cells[bold] = f"[bold green]{cells[bold]}[/]"
        out.add_row(*cells)
        out.lines.append(f"{cells[0]} / {cells[1]}: " + "; ".join(
            f"{c.header} {v}" for c, v in zip(cols[2:], cells[2:], strict=True) if v))
    return out


def _markdown(header: list[str], rows: list[list[str]], numeric: list[bool]) -> str:
    lines = ["| " + " | ".join(_md(h) for h in header) + " |",
             "|" + "|".join("--:" if n else "---" for n in numeric) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _latex(header: list[str], rows: list[list[str]], numeric: list[bool],
           problems: list[str], note: str) -> str:
    align = "".join("r" if n else "l" for n in numeric)
    lines = [f"\\begin{{tabular}}{{{align}}}", "\\toprule",
             " & ".join(_latex_escape(h) for h in header) + " \\\\", "\\midrule"]
    previous = None
    for row, problem in zip(rows, problems, strict=True):
        if previous is not None and problem != previous:
            lines.append("\\midrule")
        lines.append(" & ".join(["" if problem == previous else row[0], *row[1:]]) + " \\\\")
        previous = problem
    if note:
        lines += ["\\midrule", f"\\multicolumn{{{len(header)}}}{{l}}{{\\footnotesize "
                  f"{_latex_escape(note)}}} \\\\"]
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"


def _html(header: list[str], rows: list[list[str]], caption: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "\n".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (f'<table class="pinnbench-compare">\n<caption>{html.escape(caption)}</caption>\n'
            f"<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>\n")


TARGET_NOTE = ("--: fewer than half of the seeds reached the target (a run that did not "
               "finish ok never does)")


@dataclasses.dataclass(frozen=True)
class TextTable:
    """A table on its way to one text format: its rows, its columns, and what each format may
    add around them."""

    frame: pd.DataFrame
    cols: list[Column]
    caption: str  # HTML's caption
    note: str  # LaTeX's last row, in small type
    csv: Callable[[], str]  # CSV's whole text: the numbers unrounded, not the cells
    bold: int | None = None  # the column whose cell is bold in a row marked ``is_best``

    @property
    def header(self) -> list[str]:
        return [c.header for c in self.cols]

    @property
    def numeric(self) -> list[bool]:
        return [c.numeric for c in self.cols]

    def cells(self, number: Callable[[Num], str], text: Callable[[str], str],
              bold_form: str) -> list[list[str]]:
        """Every row's cells, numbers and text written the format's way."""
        rows = []
        for r in self.frame.itertuples():
            row = [_render(c.cell(r), number, text) for c in self.cols]
            if self.bold is not None and r.is_best:
                row[self.bold] = bold_form.format(row[self.bold])
            rows.append(row)
        return rows


def _as_md(t: TextTable) -> str:
    return _markdown(t.header, t.cells(_text_number, _md, "**{}**"), t.numeric)


def _as_latex(t: TextTable) -> str:
    # \textbf would leave the numbers (math mode) as they are; \boldmath bolds them.
    rows = t.cells(_latex_number, _latex_escape, "{{\\boldmath {}}}")
    return _latex(t.header, rows, t.numeric, t.frame["problem"].astype(str).tolist(), t.note)


def _as_html(t: TextTable) -> str:
    return _html(t.header, t.cells(_text_number, html.escape, "<strong>{}</strong>"), t.caption)


def _as_csv(t: TextTable) -> str:
    return t.csv()


# --format -> its writer: the keys are the formats there are, in the order messages list them.
FORMATS: dict[str, Callable[[TextTable], str]] = {
    "md": _as_md, "latex": _as_latex, "csv": _as_csv, "html": _as_html}


def _writer(fmt: str) -> Callable[[TextTable], str]:
    try:
        return FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; expected one of: {', '.join(FORMATS)}"
                         ) from None

CSV_COLUMNS = ("problem", "method", "ok", "failed", "median", "iqr", "best", "worst", "mean",
               "std", "q25", "q75", "median_low", "median_high")


def _csv(table: pd.DataFrame, method_label: str, baseline: str | None) -> str:
    cols = [*CSV_COLUMNS, *(["vs_baseline", "vs_low", "vs_high"] if baseline is not None else []),
            "train_s", "steps_per_s", "peak_mb",
            *(["target_reached", "target_s", "target_step"]
              if "target_reached" in table.columns else []), "is_best"]
    return table[cols].rename(columns={"method": method_label}).to_csv(index=False)


def format_table(table: pd.DataFrame, metric: str, fmt: str, method_label: str = "method",
                 baseline: str | None = None, target: float | None = None) -> str:
    """The comparison as text for a paper or a page: ``md``, ``latex`` (booktabs, ASCII only,
    numbers in math mode), ``csv`` or ``html``, all with the columns of :func:`columns`. The
    best median of each problem is bold, except in CSV, which holds the numbers unrounded with
    an ``is_best`` column instead."""
    write = _writer(fmt)
    cols = columns(table, metric, method_label, baseline, target)
    return write(TextTable(
        table, cols, caption=f"{metric} over seeds (best median per problem in bold)",
        note=TARGET_NOTE if "target_reached" in table.columns else "",
        csv=lambda: _csv(table, method_label, baseline), bold=_bold_index(cols)))


# ---- tuning: the selected configurations, and the error vs tuning budget ---------------------
def tuned_columns(metric: str) -> list[Column]:
    """The columns of ``compare --tuned`` (rows from
    :func:`pinnbench.analysis.tuning.tuned_table`)."""
    return [Column("problem", lambda r: (str(r.problem),), False),
            Column("method", lambda r: (str(r.method),), False),
            Column("selected", lambda r: (str(r.selected),), False),
            Column("configs", lambda r: (str(r.configs),)),
            Column("tuning runs", lambda r: (str(r.tuning_runs),)),
            Column("tuning s", lambda r: (Num(r.tuning_s, "fixed", 1),)),
            Column("train_loss", lambda r: (Num(r.criterion),)),
            Column("ok", lambda r: (r.ok,)),
            Column(f"median {metric}", lambda r: (Num(r.median, digits=3),)),
            Column("[Q1, Q3]", lambda r: ("[", Num(r.q25), ", ", Num(r.q75), "]"))]


def budget_columns(metric: str) -> list[Column]:
    """The columns of the error-vs-tuning-budget view
    (:func:`pinnbench.analysis.tuning.budget_curve`)."""
    return [Column("problem", lambda r: (str(r.problem),), False),
            Column("method", lambda r: (str(r.method),), False),
            Column("configurations tried", lambda r: (f"{r.k} of {r.configs}",)),
            Column(f"median {metric} of the pick", lambda r: (Num(r.median, digits=3),)),
            Column("[Q1, Q3] over orderings", lambda r: ("[", Num(r.q25), ", ", Num(r.q75),
                                                         "]"))]


def render_rows(table: pd.DataFrame, cols: list[Column], title: str) -> Table:
    """A table of these columns for the terminal."""
    out = Table(title=title)
    for c in cols:
        out.add_column(c.header, justify="right" if c.numeric else "left")
    for r in table.itertuples():
        out.add_row(*(_render(c.cell(r), _text_number, str) for c in cols))
    return out


def format_rows(table: pd.DataFrame, cols: list[Column], fmt: str, title: str) -> str:
    """A table of these columns as ``md``, ``latex``, ``html`` or ``csv`` (unrounded)."""
    return _writer(fmt)(TextTable(table, cols, caption=title, note=title,
                                  csv=lambda: table.to_csv(index=False)))
