"""The CI gate guards what it is there for: the RAD cell of suites/ci_sampling.toml fails when
RAD stops adapting. The 'without adaptation' rows are real runs of that cell with its
resampling period beyond the budget (``every = 100000``), recorded on 6 seeds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "results" / "baseline" / "ci_sampling.parquet"
WITHOUT_ADAPTATION = ROOT / "tests" / "data" / "ci_sampling_rad_without_adaptation.parquet"


def check(current: pd.DataFrame, folder: Path, *args: str) -> subprocess.CompletedProcess:
    """`pinnbench check` (the installed entry point) on rows written as a results folder."""
    (folder / "runs").mkdir(parents=True)
    for _, row in current.iterrows():
        row.to_frame().T.to_parquet(folder / "runs" / f"{row['run_id']}.parquet", index=False)
    script = Path(sys.executable).with_name("pinnbench")
    return subprocess.run([str(script), "check", str(folder), "--baseline", str(BASELINE),
                           *args], capture_output=True, text=True, timeout=120)


def test_rad_without_adaptation_is_its_fallback_and_fails_the_gate(tmp_path):
    base = pd.read_parquet(BASELINE)
    off = pd.read_parquet(WITHOUT_ADAPTATION).sort_values("seed")
    rad = base[base["method"] == "rad"].sort_values("seed")
    uniform = base[base["method"] == "uniform"].sort_values("seed")
    assert (off["method"] == "rad").all() and (off["sampler.every"] == 100000).all()
    assert off["seed"].tolist() == rad["seed"].tolist() == list(range(6))
    # Without adaptation RAD trains like the fixed uniform points (within 5% per seed) and is
    # worse than adapting RAD in the median by more than 2x.
    ratio = off["rel_l2"].to_numpy() / uniform["rel_l2"].to_numpy()
    assert ((ratio > 0.95) & (ratio < 1.05)).all(), ratio
    assert off["rel_l2"].median() > 2 * rad["rel_l2"].median()

    proc = check(off, tmp_path / "off", "--only", "*/rad")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "check failed: 1 regression" in proc.stdout
    line = next(ln for ln in proc.stdout.splitlines() if "allen_cahn2d" in ln and "rad" in ln)
    assert "regression" in line

    # The adapting runs of the baseline itself pass (what the CI step checks after training).
    proc = check(rad, tmp_path / "on", "--only", "*/rad")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "check passed: 1 pass" in proc.stdout
