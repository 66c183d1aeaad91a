"""Aggregate recorded runs into a problem x method comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd
from rich.table import Table


def _statuses(s: pd.Series) -> str:
    counts = s[s != "ok"].value_counts()
    return ", ".join(f"{n} {status}" for status, n in counts.items())


def comparison_table(runs: pd.DataFrame, metric: str = "rel_l2") -> pd.DataFrame:
    """One row per (problem, method): statistics over seeds of the runs that finished ok.

    Runs with any other status are never averaged in, and never hidden: ``ok`` counts them and
    ``failed`` names their statuses.
    """
    rows = []
    for (problem, method), g in runs.groupby(["problem", "method"], sort=True):
        ok = g[g["status"] == "ok"]
        values = ok[metric].astype(float).to_numpy()
        q25, q50, q75 = (np.percentile(values, [25, 50, 75]) if values.size
                         else (np.nan,) * 3)
        rows.append({
            "problem": problem,
            "method": method,
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
    return table


def _peak_memory(ok: pd.DataFrame) -> float:
    if not len(ok):
        return np.nan
    if "peak_device_mb" in ok and ok["peak_device_mb"].notna().any():
        return float(ok["peak_device_mb"].median())
    return float(ok["peak_host_rss_mb"].median())


def _fmt(x: float, spec: str) -> str:
    return "—" if x is None or (isinstance(x, float) and np.isnan(x)) else format(x, spec)


def render_table(table: pd.DataFrame, metric: str) -> Table:
    out = Table(title=f"median {metric} over seeds (best per problem in bold)")
    for col in ("problem", "method", "ok", metric, "IQR", "train s", "steps/s", "peak MB",
                "failed"):
        out.add_column(col, justify="left" if col in ("problem", "method", "failed") else "right")
    for r in table.itertuples():
        err = _fmt(r.median, ".3e")
        out.add_row(r.problem, r.method, r.ok, f"[bold green]{err}[/]" if r.is_best else err,
                    _fmt(r.iqr, ".1e"), _fmt(r.train_s, ".1f"), _fmt(r.steps_per_s, ".1f"),
                    _fmt(r.peak_mb, ".0f"), r.failed)
    return out
