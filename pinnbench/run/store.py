"""Parquet results: one file per finished run, written atomically, read back as one table.

Layout of a results folder::

    results/<suite>/runs/<run_id>.parquet     one row: spec, status, metrics, time, memory, versions
    results/<suite>/history/<run_id>.parquet  one row per evaluation: step, time, losses, errors
    results/<suite>/params/<run_id>.npz       final parameters (flattened pytree), for field plots

The history file is written first and the runs file last, each to a hidden temporary name and then
renamed, so a runs file exists only for a run whose results are complete: a crash at any moment
leaves either a whole run or nothing (hidden temporaries are ignored by pandas and by ``load``).
``pandas.read_parquet("results/<suite>/runs")`` reads the folder as one dataset.

While a run trains, its history file is rewritten (atomically) at every evaluation, so a run that
is killed, times out or is interrupted still leaves its curve; the runs row it then gets (written
by the process that watched it) keeps that partial history. With checkpointing on, the training
state at the last evaluation is kept in ``checkpoints/<run_id>.pkl`` until the run finishes.
A Parquet file that cannot be read (a disk that filled up, a copy cut short) is reported with a
warning naming it and skipped, never fatal.
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pinnbench.atomic import atomic_write
from pinnbench.spec import RunSpec

# Statuses that are results: a rerun of the suite skips them. Others (error, oom, crashed,
# timeout, interrupted, preempted) are recorded too, but a rerun tries them again.
FINAL_STATUSES = ("ok", "diverged")


class UnreadableResultWarning(UserWarning):
    """A file of a results folder that could not be read and was skipped."""


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    """``frame`` as a Parquet file, atomically."""
    return atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))


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
        **spec.plugin_columns(),
        **spec.flat(),
    }


def write_params(out_dir: Path, run_id: str, params: Any) -> Path:
    """Final parameters as ``leaf_0, leaf_1, ...`` in pytree-flattening order (atomic)."""
    import jax

    leaves = {f"leaf_{i}": np.asarray(x) for i, x in enumerate(jax.tree.leaves(params))}
    return atomic_write(out_dir / "params" / f"{run_id}.npz",
                        lambda tmp: np.savez(tmp, **leaves), suffix=".npz")


def read_params(out_dir: Path, run_id: str, like: Any) -> Any:
    """Parameters saved by :func:`write_params`, unflattened into the structure of ``like``."""
    import jax

    with np.load(Path(out_dir) / "params" / f"{run_id}.npz") as data:
        leaves = [data[f"leaf_{i}"] for i in range(len(data.files))]
    return jax.tree.unflatten(jax.tree.structure(like), leaves)


def write_history(out_dir: Path, run_id: str, history: list[dict[str, Any]]) -> Path:
    """The history so far of one run (atomic: a reader sees the old file or the new one)."""
    hist = pd.DataFrame(history)
    hist.insert(0, "run_id", run_id)
    path = out_dir / "history" / f"{run_id}.parquet"
    write_parquet(hist, path)
    return path


def remove_temporaries(out_dir: Path, run_id: str) -> None:
    """Hidden temporaries a killed worker left half-written (it died inside an atomic write)."""
    for part in ("history", "runs", "params", "checkpoints"):
        for tmp in (Path(out_dir) / part).glob(f".{run_id}.*"):
            tmp.unlink(missing_ok=True)


def read_history(out_dir: Path, run_id: str) -> pd.DataFrame:
    """The recorded history of one run; empty where there is none or it cannot be read."""
    path = Path(out_dir) / "history" / f"{run_id}.parquet"
    return _read_file(path) if path.is_file() else pd.DataFrame()


def write_run(out_dir: Path, spec: RunSpec, row: dict[str, Any],
              history: list[dict[str, Any]] | None, params: Any = None) -> Path:
    """Record one run (history and parameters first, then the runs row that marks it complete).

    ``history=None`` keeps the history already on disk: the partial curve of a run that was
    stopped from outside, flushed by its worker at every evaluation."""
    run_id = spec.run_id
    if params is not None:
        write_params(out_dir, run_id, params)
    if history is not None:
        write_history(out_dir, run_id, history)
    runs = pd.DataFrame([{**spec_columns(spec), **row}])
    path = out_dir / "runs" / f"{run_id}.parquet"
    write_parquet(runs, path)
    return path


RUN_COLUMNS = ("run_id", "status")
HISTORY_COLUMNS = ("run_id", "step")


def _read_file(path: Path, required: tuple[str, ...] = ()) -> pd.DataFrame:
    """One Parquet file, or an empty frame and a warning naming it when it cannot be read or
    lacks a column every file of its kind has."""
    try:
        frame = pd.read_parquet(path)
    except Exception as e:
        text = str(e).replace(f"'{path}'", "the file").replace(str(path), "the file")
        reason = text.splitlines()[0] if text else type(e).__name__
        warnings.warn(f"{path}: unreadable Parquet file skipped ({reason})",
                      UnreadableResultWarning, stacklevel=3)
        return pd.DataFrame()
    missing = [c for c in required if c not in frame.columns]
    if missing:
        warnings.warn(f"{path}: not a pinnbench result file (no column {', '.join(missing)}); "
                      "skipped", UnreadableResultWarning, stacklevel=3)
        return pd.DataFrame()
    return frame


def _read_folder(folder: Path, required: tuple[str, ...]) -> pd.DataFrame:
    files = sorted(p for p in folder.glob("*.parquet") if not p.name.startswith("."))
    # Concatenate per file: runs of different problems have different loss-term columns.
    frames = [f for f in (_read_file(p, required) for p in files) if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def load_runs(results_dir: str | Path) -> pd.DataFrame:
    """Every recorded run under a results folder (a suite folder or a parent of several)."""
    root = Path(results_dir)
    folders = [root / "runs"] if (root / "runs").is_dir() else sorted(root.glob("*/runs"))
    frames = [f for f in (_read_folder(d, RUN_COLUMNS) for d in folders) if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def load_history(results_dir: str | Path) -> pd.DataFrame:
    root = Path(results_dir)
    folders = [root / "history"] if (root / "history").is_dir() else sorted(
        root.glob("*/history"))
    frames = [f for f in (_read_folder(d, HISTORY_COLUMNS) for d in folders) if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def finished_ids(out_dir: Path) -> set[str]:
    """Ids of runs whose recorded status is final (skipped on a rerun)."""
    runs = _read_folder(out_dir / "runs", RUN_COLUMNS)
    if runs.empty:
        return set()
    return set(runs.loc[runs["status"].isin(FINAL_STATUSES), "run_id"])


def is_finished(out_dir: Path, run_id: str) -> bool:
    """Whether one run has a final row (read from its own file: cheap, and current)."""
    path = Path(out_dir) / "runs" / f"{run_id}.parquet"
    if not path.is_file():
        return False
    row = _read_file(path, RUN_COLUMNS)
    return not row.empty and row["status"].iloc[0] in FINAL_STATUSES


# ---- checkpoints ------------------------------------------------------------------------------
def checkpoint_path(out_dir: Path, run_id: str) -> Path:
    return Path(out_dir) / "checkpoints" / f"{run_id}.pkl"


def write_checkpoint(out_dir: Path, run_id: str, state: dict[str, Any]) -> Path:
    """A run's training state (host arrays and plain Python values), atomically."""
    def dump(tmp: str) -> None:
        with open(tmp, "wb") as f:
            pickle.dump({"run_id": run_id, **state}, f, protocol=pickle.HIGHEST_PROTOCOL)

    return atomic_write(checkpoint_path(out_dir, run_id), dump)


def read_checkpoint(out_dir: Path, run_id: str) -> dict[str, Any] | None:
    """The state saved by :func:`write_checkpoint`, or None (none, another run's, unreadable)."""
    path = checkpoint_path(out_dir, run_id)
    try:
        with path.open("rb") as f:
            state = pickle.load(f)
    except FileNotFoundError:
        return None
    except Exception as e:
        warnings.warn(f"{path}: unreadable checkpoint ignored ({type(e).__name__}: {e})",
                      UnreadableResultWarning, stacklevel=2)
        return None
    return state if isinstance(state, dict) and state.get("run_id") == run_id else None


def remove_checkpoint(out_dir: Path, run_id: str) -> None:
    checkpoint_path(out_dir, run_id).unlink(missing_ok=True)
