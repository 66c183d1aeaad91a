"""Parquet results: one file per finished run, written atomically, read back as one table.

Layout of a results folder::

    results/<suite>/runs/<run_id>.parquet     one row: spec, status, metrics, time, memory, versions
    results/<suite>/history/<run_id>.parquet  one row per evaluation: step, time, losses, errors
    results/<suite>/params/<run_id>.npz       final parameters (flattened pytree), for field plots

The history file is written first and the runs file last, each to a hidden temporary name and then
renamed, so a runs file exists only for a run whose results are complete: a crash at any moment
leaves either a whole run or nothing (hidden temporaries are ignored by pandas and by ``load``).
``pandas.read_parquet("results/<suite>/runs")`` reads the folder as one dataset.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pinnbench.spec import RunSpec

# Statuses that are results: a rerun of the suite skips them. Others (error, crashed, timeout)
# are recorded too, but a rerun tries them again.
FINAL_STATUSES = ("ok", "diverged")


def _write_atomic(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def spec_columns(spec: RunSpec) -> dict[str, Any]:
    return {
        "run_id": spec.run_id,
        "suite": spec.suite,
        "problem": spec.problem_label,
        "method": spec.method_label,
        "seed": spec.seed,
        "data_seed": spec.data_seed,
        "precision": spec.precision,
        "spec_json": spec.to_json(),
        **spec.flat(),
    }


def write_params(out_dir: Path, run_id: str, params: Any) -> Path:
    """Final parameters as ``leaf_0, leaf_1, ...`` in pytree-flattening order (atomic)."""
    import jax

    path = out_dir / "params" / f"{run_id}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{run_id}.", suffix=".npz", dir=path.parent)
    os.close(fd)
    try:
        leaves = jax.tree.leaves(params)
        np.savez(tmp, **{f"leaf_{i}": np.asarray(x) for i, x in enumerate(leaves)})
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_params(out_dir: Path, run_id: str, like: Any) -> Any:
    """Parameters saved by :func:`write_params`, unflattened into the structure of ``like``."""
    import jax

    with np.load(Path(out_dir) / "params" / f"{run_id}.npz") as data:
        leaves = [data[f"leaf_{i}"] for i in range(len(data.files))]
    return jax.tree.unflatten(jax.tree.structure(like), leaves)


def write_run(out_dir: Path, spec: RunSpec, row: dict[str, Any],
              history: list[dict[str, Any]], params: Any = None) -> Path:
    """Record one run (history and parameters first, then the runs row that marks it complete)."""
    run_id = spec.run_id
    if params is not None:
        write_params(out_dir, run_id, params)
    hist = pd.DataFrame(history)
    hist.insert(0, "run_id", run_id)
    _write_atomic(hist, out_dir / "history" / f"{run_id}.parquet")
    runs = pd.DataFrame([{**spec_columns(spec), **row}])
    path = out_dir / "runs" / f"{run_id}.parquet"
    _write_atomic(runs, path)
    return path


def _read_folder(folder: Path) -> pd.DataFrame:
    files = sorted(p for p in folder.glob("*.parquet") if not p.name.startswith("."))
    if not files:
        return pd.DataFrame()
    # Concatenate per file: runs of different problems have different loss-term columns.
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def load_runs(results_dir: str | Path) -> pd.DataFrame:
    """Every recorded run under a results folder (a suite folder or a parent of several)."""
    root = Path(results_dir)
    folders = [root / "runs"] if (root / "runs").is_dir() else sorted(root.glob("*/runs"))
    frames = [f for f in (_read_folder(d) for d in folders) if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def load_history(results_dir: str | Path) -> pd.DataFrame:
    root = Path(results_dir)
    folders = [root / "history"] if (root / "history").is_dir() else sorted(
        root.glob("*/history"))
    frames = [f for f in (_read_folder(d) for d in folders) if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def finished_ids(out_dir: Path) -> set[str]:
    """Ids of runs whose recorded status is final (skipped on a rerun)."""
    runs = _read_folder(out_dir / "runs")
    if runs.empty:
        return set()
    return set(runs.loc[runs["status"].isin(FINAL_STATUSES), "run_id"])
