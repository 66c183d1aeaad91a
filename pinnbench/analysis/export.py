"""Recorded runs into an experiment tracker: MLflow, as a local file store.

Each pinnbench run becomes one MLflow run, in an experiment named after its suite:

- params: the run's spec columns (``problem.k``, ``optimizer.lr``, ``model.width``,
  ``budget.steps``, ...), with ``problem``, ``method``, ``seed``, ``data_seed`` and
  ``precision``;
- metrics: the final values of the row (``rel_l2``, ``loss``, ``train_s``, ...), logged at the
  run's last step;
- steps: the history, one metric value per evaluation, at its step;
- tags: ``pinnbench.run_id`` (what makes an export idempotent: a run already there is skipped),
  ``pinnbench.status`` and the run name ``problem/method seed N``.

:func:`mlflow_records` is that mapping as plain data; :func:`to_mlflow` writes it (it needs
``mlflow-skinny``, the ``mlflow`` extra).
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pinnbench.spec import RunSpec

IDENTITY = ("problem", "method", "seed", "data_seed", "precision")
# Columns that are neither settings nor results: what the record of a run says about itself.
NOT_METRICS = ("run_id", "suite", "spec_json", "status", "stop", "message", "traceback", "host",
               "step")
RUN_ID_TAG = "pinnbench.run_id"
BATCH = 500  # entities per log_batch call (MLflow accepts 1000 in all, 100 of them params)


@dataclasses.dataclass(frozen=True)
class Record:
    """One run as an experiment tracker sees it."""

    run_id: str
    experiment: str
    name: str
    tags: dict[str, str]
    params: dict[str, str]
    metrics: dict[str, float]
    step: int
    history: list[tuple[str, float, int]]  # (metric, value, step)


def _number(value: Any) -> float | None:
    """A finite number as float, else None (text, flags, NaN: not a metric)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
        return None
    value = float(value)
    return value if np.isfinite(value) else None


def _settings(row: pd.Series) -> dict[str, Any]:
    if isinstance(row.get("spec_json"), str):
        spec = RunSpec.from_json(row["spec_json"])
        return {**spec.flat(), "data_seed": spec.data_seed, "precision": spec.precision,
                "seed": spec.seed, "problem": spec.problem_label, "method": spec.method_label}
    from pinnbench.analysis.compare import SETTING_COLUMNS, SPEC_PREFIXES

    return {k: v for k, v in row.items() if (k.startswith(SPEC_PREFIXES)
            or k in SETTING_COLUMNS or k in IDENTITY) and v is not None and not (
                isinstance(v, float) and np.isnan(v))}


def mlflow_records(runs: pd.DataFrame, history: pd.DataFrame) -> list[Record]:
    """The recorded runs (and their histories) as MLflow runs, in run-id order."""
    records = []
    by_run = ({k: g for k, g in history.groupby("run_id", sort=False)}
              if not history.empty and "run_id" in history.columns else {})
    for _, row in runs.sort_values("run_id").iterrows():
        params = {k: str(v) for k, v in _settings(row).items()}
        metrics = {k: n for k, v in row.items() if k not in params and k not in NOT_METRICS
                   and not k.startswith("plugin.") and (n := _number(v)) is not None}
        steps = []
        for _, h in by_run.get(row["run_id"], pd.DataFrame()).sort_values("step").iterrows():
            steps += [(k, n, int(h["step"])) for k, v in h.items()
                      if k not in NOT_METRICS and (n := _number(v)) is not None]
        last = int(metrics.get("steps", steps[-1][2] if steps else 0))
        records.append(Record(
            run_id=row["run_id"], experiment=str(row.get("suite", "pinnbench")),
            name=f"{row['problem']}/{row['method']} seed {row['seed']}",
            tags={RUN_ID_TAG: row["run_id"], "pinnbench.status": str(row.get("status", ""))},
            params=params, metrics=metrics, step=last, history=steps))
    return records


@dataclasses.dataclass(frozen=True)
class ExportOutcome:
    exported: int
    already: int
    store: Path


def to_mlflow(results: Path, store: Path) -> ExportOutcome:
    """Write the runs of a results folder into the MLflow file store at ``store``; a run
    exported before (same run id in the same experiment) is left as it is."""
    # MLflow 3 keeps the file store only for those who ask for it (it prefers a database,
    # which mlflow-skinny cannot run); a local folder is what this export promises.
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    from pinnbench.run.store import load_history, load_runs

    client = MlflowClient(tracking_uri=Path(store).resolve().as_uri())
    records = mlflow_records(load_runs(results), load_history(results))
    experiments: dict[str, tuple[str, set[str]]] = {}
    exported = already = 0
    now = int(time.time() * 1000)
    for r in records:
        if r.experiment not in experiments:
            found = client.get_experiment_by_name(r.experiment)
            eid = found.experiment_id if found else client.create_experiment(r.experiment)
            done = {run.data.tags.get(RUN_ID_TAG) for run in client.search_runs([eid])}
            experiments[r.experiment] = (eid, done)
        eid, done = experiments[r.experiment]
        if r.run_id in done:
            already += 1
            continue
        run = client.create_run(eid, run_name=r.name, tags=r.tags)
        # The last evaluation is in the history already: logging the final value at its step
        # again would show it twice in the metric's history.
        at_last = {k for k, _, s in r.history if s == r.step}
        entities = ([Param(k, v) for k, v in r.params.items()]
                    + [Metric(k, v, now, r.step) for k, v in r.metrics.items()
                       if k not in at_last]
                    + [Metric(k, v, now, s) for k, v, s in r.history])
        for i in range(0, len(entities), BATCH):
            part = entities[i:i + BATCH]
            client.log_batch(run.info.run_id,
                             params=[e for e in part if isinstance(e, Param)],
                             metrics=[e for e in part if isinstance(e, Metric)],
                             tags=[RunTag("pinnbench.suite", r.experiment)] if i == 0 else [])
        client.set_terminated(run.info.run_id,
                              "FINISHED" if r.tags["pinnbench.status"] == "ok" else "FAILED")
        done.add(r.run_id)
        exported += 1
    return ExportOutcome(exported, already, Path(store))
