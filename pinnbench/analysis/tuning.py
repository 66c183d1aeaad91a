"""The tuning protocol: every method tries the same number of configurations, one is selected per
(problem, method) on a validation criterion, and only that one is reported, on the suite's seeds.

The criterion is ``train_loss``: the sum over the constraints of the final mean squared residual
on the training points, unweighted (so configurations with other loss weights compare on one
scale), its median over ``tune_seeds``. It is a quantity of training alone. The selection reads
the runs through :func:`validation_view`, which keeps the run's identity, status and that
criterion and nothing else: the errors on the evaluation grid (``rel_l2``, ``max_abs``, ...)
cannot reach it. A run that did not finish ``ok`` scores ``inf``.

A suite run writes ``tuning.json`` into its results folder: the protocol (criterion, budget, the
two seed lists) and, per (problem, method), the run ids of its tuning runs and of its final runs.
``compare --tuned`` reads it, selects again from the recorded tuning rows, and reports the
selected configuration, what tuning cost and the final runs' test error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pinnbench.spec import RunSpec

RECORD = "tuning.json"
CRITERION = "train_loss"
VIEW_COLUMNS = ("run_id", "problem", "method", "seed", "status", "config", CRITERION)
# Seconds a run cost: training, compiling and evaluating.
COST_COLUMNS = ("train_s", "compile_s", "eval_s")
ORDERINGS = 200  # random orderings of the configurations behind the budget curve
ORDERING_SEED = 0


def _loss_terms(row: pd.Series) -> float:
    """The unweighted sum of a run's final constraint mean squares (``loss.<constraint>``)."""
    if row.get("status") != "ok" or not isinstance(row.get("spec_json"), str):
        return float("inf")
    options = RunSpec.from_json(row["spec_json"]).flat()  # loss.type, loss.every: settings
    terms = [v for k, v in row.items() if k.startswith("loss.") and k not in options
             and isinstance(v, int | float | np.number) and not isinstance(v, bool)
             and np.isfinite(v)]
    return float(sum(terms)) if terms else float("inf")


def validation_view(runs: pd.DataFrame) -> pd.DataFrame:
    """What the selection may see of each run: identity, configuration, status, criterion."""
    from pinnbench.analysis.compare import run_settings

    if runs.empty:
        return pd.DataFrame(columns=list(VIEW_COLUMNS))
    config, _ = run_settings(runs)
    view = runs[["run_id", "problem", "method", "seed", "status"]].copy()
    view["config"] = config.to_numpy()
    view[CRITERION] = [_loss_terms(row) for _, row in runs.iterrows()]
    return view[list(VIEW_COLUMNS)]


def select(view: pd.DataFrame) -> pd.DataFrame:
    """Per (problem, method): the configuration with the lowest median criterion over its
    seeds (ties: the first tried), with how many configurations and runs were tried."""
    missing = [c for c in VIEW_COLUMNS if c not in view.columns]
    if missing:
        raise KeyError(f"not a validation view: no column {', '.join(missing)}")
    rows = []
    for (problem, method), g in view.groupby(["problem", "method"], sort=True):
        per = g.groupby("config", sort=False)[CRITERION].median()
        best = per.index[int(np.argmin(per.to_numpy()))]
        rows.append({"problem": problem, "method": method, "config": best,
                     "criterion": float(per[best]), "configs": len(per), "runs": len(g)})
    return pd.DataFrame(rows, columns=["problem", "method", "config", "criterion", "configs",
                                       "runs"])


def selected_methods(runs: pd.DataFrame) -> dict[tuple[str, str], dict[str, Any]]:
    """(problem, method) -> the selected configuration's method table, from tuning runs."""
    view = validation_view(runs)
    chosen = select(view)
    out = {}
    for r in chosen.itertuples():
        run_id = view.loc[(view["problem"] == r.problem) & (view["method"] == r.method)
                          & (view["config"] == r.config), "run_id"].iloc[0]
        spec_json = runs.loc[runs["run_id"] == run_id, "spec_json"].iloc[0]
        out[(r.problem, r.method)] = RunSpec.from_json(spec_json).method
    return out


# ---- the record in the results folder --------------------------------------------------------
def read_record(results: Path) -> dict[str, Any] | None:
    path = Path(results) / RECORD
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def write_record(results: Path, tuning: dict[str, Any], seeds: list[int],
                 cells: Iterable[dict[str, Any]]) -> Path:
    """Add (or replace) cells of the record; other cells (another ``--only``) are kept."""
    from pinnbench.atomic import atomic_write

    old = read_record(results) or {}
    merged = {(c["problem"], c["method"]): c for c in old.get("cells", [])}
    merged.update({(c["problem"], c["method"]): c for c in cells})
    record = {"criterion": tuning["criterion"], "budget": tuning["budget"],
              "tune_seeds": tuning["tune_seeds"], "seeds": seeds,
              "cells": [merged[k] for k in sorted(merged)]}
    path = Path(results) / RECORD
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(record, indent=1) + "\n"))
    return path


def plan_cells(suite: Any, tuning_specs: list[RunSpec], final_specs: list[RunSpec]
               ) -> list[dict[str, Any]]:
    """The record's cells: per (problem, method) its tuning and final run ids."""
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for role, specs in (("tuning_runs", tuning_specs), ("final_runs", final_specs)):
        for s in specs:
            cell = cells.setdefault((s.problem_label, s.method_label), {
                "problem": s.problem_label, "method": s.method_label, "tuning_runs": [],
                "final_runs": []})
            cell[role].append(s.run_id)
    return list(cells.values())


# ---- what compare --tuned shows --------------------------------------------------------------
def _cost(rows: pd.DataFrame) -> float:
    cols = [c for c in COST_COLUMNS if c in rows.columns]
    return float(rows[cols].apply(pd.to_numeric, errors="coerce").fillna(0).to_numpy().sum())


def tuned_table(runs: pd.DataFrame, record: dict[str, Any], metric: str = "rel_l2"
                ) -> pd.DataFrame:
    """Per (problem, method) of the record: the selected configuration (what differs among the
    ones tried), tuning cost (configurations, runs, seconds), the criterion and the test error
    of the final runs (median and quartiles over the seeds that finished ok)."""
    from pinnbench.analysis.compare import _describe, differences, run_settings

    rows = []
    for cell in record["cells"]:
        tune = runs[runs["run_id"].isin(cell["tuning_runs"])]
        final = runs[runs["run_id"].isin(cell["final_runs"])]
        if tune.empty:  # one configuration: nothing to tune
            chosen, configs, criterion = "(one configuration)", 1, np.nan
        else:
            pick = select(validation_view(tune)).iloc[0]
            config, settings = run_settings(tune)
            keys = list(dict.fromkeys(config))
            chosen = _describe(settings[pick["config"]],
                               differences([settings[k] for k in keys]), pick["config"])
            configs, criterion = int(pick["configs"]), float(pick["criterion"])
        ok = final[final["status"] == "ok"] if not final.empty else final
        values = (pd.to_numeric(ok[metric], errors="coerce").dropna().to_numpy()
                  if metric in ok.columns else np.array([]))
        q25, q50, q75 = (np.percentile(values, [25, 50, 75]) if values.size
                         else (np.nan, np.nan, np.nan))
        rows.append({"problem": cell["problem"], "method": cell["method"], "selected": chosen,
                     "configs": configs, "tuning_runs": len(tune), "tuning_s": _cost(tune),
                     "criterion": criterion, "ok": f"{len(ok)}/{len(cell['final_runs'])}",
                     "median": float(q50), "q25": float(q25), "q75": float(q75)})
    return pd.DataFrame(rows)


def budget_curve(runs: pd.DataFrame, metric: str = "rel_l2", orderings: int = ORDERINGS,
                 seed: int = ORDERING_SEED) -> pd.DataFrame:
    """Error vs tuning budget, per (problem, method) with several configurations: after trying
    ``k`` of them in a random order, the test error of the one the criterion picks; median and
    quartiles over ``orderings`` random orderings (seeded). Each configuration's error and
    criterion are medians over its seeds."""
    view = validation_view(runs)
    view[metric] = pd.to_numeric(runs[metric], errors="coerce").where(
        runs["status"] == "ok").to_numpy() if metric in runs.columns else np.nan
    rng = np.random.default_rng(seed)
    rows = []
    for (problem, method), g in view.groupby(["problem", "method"], sort=True):
        per = g.groupby("config", sort=False).agg(crit=(CRITERION, "median"),
                                                  err=(metric, "median"))
        n = len(per)
        if n < 2:
            continue
        crit, err = per["crit"].to_numpy(), per["err"].to_numpy()
        picked = np.empty((orderings, n))
        for i in range(orderings):
            order = rng.permutation(n)
            best = order[0]
            for k, j in enumerate(order):
                if crit[j] < crit[best]:
                    best = j
                picked[i, k] = err[best]
        q25, q50, q75 = np.nanpercentile(picked, [25, 50, 75], axis=0)
        rows += [{"problem": problem, "method": method, "k": k + 1, "configs": n,
                  "median": float(q50[k]), "q25": float(q25[k]), "q75": float(q75[k])}
                 for k in range(n)]
    return pd.DataFrame(rows, columns=["problem", "method", "k", "configs", "median", "q25",
                                       "q75"])
