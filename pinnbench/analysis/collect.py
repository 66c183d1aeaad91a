"""Merge results folders (for example one per cluster job) into one, run by run.

A run is identified by its run id (a hash of its spec), so the same run found in two folders is
recorded once. When the copies' rows differ it is a conflict: a copy with a final status (ok,
diverged) is preferred to one that is not (a rerun that fixed a crash), otherwise the first
folder named wins; either way the conflict is reported with the columns that differ.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from pinnbench.atomic import atomic_write
from pinnbench.run.store import FINAL_STATUSES


class CollectError(ValueError):
    """A folder that cannot be merged (not a results folder, or of another layout)."""


@dataclasses.dataclass(frozen=True)
class Conflict:
    run_id: str
    kept: Path
    dropped: Path
    columns: tuple[str, ...]


@dataclasses.dataclass
class Outcome:
    added: int = 0
    duplicates: int = 0
    conflicts: list[Conflict] = dataclasses.field(default_factory=list)
    suite_notes: list[str] = dataclasses.field(default_factory=list)


def suite_folders(root: Path) -> dict[str, Path]:
    """Relative name -> folder holding ``runs/``: the folder itself ("."), or its children."""
    if (root / "runs").is_dir():
        return {".": root}
    found = {p.parent.name: p.parent for p in sorted(root.glob("*/runs")) if p.is_dir()}
    if not found:
        raise CollectError(f"{root}: not a results folder (no runs/ in it or its subfolders)")
    return found


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return str(a) == str(b)


def differing_columns(a: dict[str, Any], b: dict[str, Any]) -> tuple[str, ...]:
    """Columns whose values differ between two run rows (a column missing on one side counts
    as NaN there, since runs of one suite may carry different optional columns)."""
    nan = float("nan")
    return tuple(c for c in sorted(set(a) | set(b)) if not _same(a.get(c, nan), b.get(c, nan)))


def _row(path: Path) -> dict[str, Any]:
    return pd.read_parquet(path).iloc[0].to_dict()


def _copy_atomic(src: Path, dst: Path) -> None:
    atomic_write(dst, lambda tmp: shutil.copyfile(src, tmp))


def _run_files(folder: Path) -> list[Path]:
    # Hidden files are a recording's temporaries, not runs.
    return sorted(p for p in (folder / "runs").glob("*.parquet") if not p.name.startswith("."))


def _prefer(new: dict[str, Any], old: dict[str, Any]) -> bool:
    return new.get("status") in FINAL_STATUSES and old.get("status") not in FINAL_STATUSES


def collect(sources: Sequence[str | Path], dest: str | Path) -> Outcome:
    """Merge every run of ``sources`` into ``dest`` (which may already hold runs: they count as
    coming first). Suite folders map to suite folders of the same name; a folder holding
    ``runs/`` itself maps onto ``dest`` itself."""
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise CollectError(f"--out {dest}: exists and is not a folder")
    layouts = {}
    for src in map(Path, sources):
        if not src.is_dir():
            raise CollectError(f"{src}: no such results folder")
        if src.resolve() == dest.resolve():
            raise CollectError(f"{src}: is the output folder itself")
        layouts[src] = suite_folders(src)
    flat = {"." in folders for folders in layouts.values()}
    if dest.is_dir() and any(dest.iterdir()):
        flat.add((dest / "runs").is_dir())
    if len(flat) > 1:
        raise CollectError("cannot merge suite folders (holding runs/) with folders of suites "
                           "(holding <suite>/runs/); name the suite folders themselves")
    outcome = Outcome()
    chosen: dict[tuple[str, str], tuple[Path, dict[str, Any]]] = {}
    for name in sorted({n for folders in layouts.values() for n in folders}):
        target = dest / name if name != "." else dest
        for p in _run_files(target):
            chosen[(name, p.stem)] = (target, _row(p))
        kept = target / "suite.toml"
        kept_suite = kept.read_text() if kept.is_file() else None
        for folders in layouts.values():
            if name not in folders:
                continue
            folder = folders[name]
            suite = folder / "suite.toml"
            if suite.is_file():
                text = suite.read_text()
                if kept_suite is None:
                    target.mkdir(parents=True, exist_ok=True)
                    (target / "suite.toml").write_text(text)
                    kept_suite = text
                elif text != kept_suite:
                    outcome.suite_notes.append(f"{suite} differs from the suite file kept")
            for p in _run_files(folder):
                row = _row(p)
                key = (name, p.stem)
                if key not in chosen:
                    chosen[key] = (folder, row)
                    _install(folder, target, p.stem)
                    outcome.added += 1
                    continue
                kept_folder, kept_row = chosen[key]
                diff = differing_columns(kept_row, row)
                if not diff:
                    outcome.duplicates += 1
                    continue
                if _prefer(row, kept_row):
                    _install(folder, target, p.stem)
                    chosen[key] = (folder, row)
                    outcome.conflicts.append(Conflict(p.stem, folder, kept_folder, diff))
                else:
                    outcome.conflicts.append(Conflict(p.stem, kept_folder, folder, diff))
    return outcome


def _install(folder: Path, target: Path, run_id: str) -> None:
    # History and parameters first, runs row last: as when recording, a runs file marks a
    # complete run. The parameters are what field plots of the merged folder draw.
    for part, suffix in (("history", "parquet"), ("params", "npz")):
        source = folder / part / f"{run_id}.{suffix}"
        if source.is_file():
            _copy_atomic(source, target / part / f"{run_id}.{suffix}")
    _copy_atomic(folder / "runs" / f"{run_id}.parquet", target / "runs" / f"{run_id}.parquet")
