"""The CI gate guards what it is there for: the RAD, GLF and region cells of
suites/ci_sampling.toml fail when their sampler stops adapting. The 'without adaptation' rows are
real runs of each cell with its adaptation switched off: RAD and GLF with their period beyond the
budget (``every = 100000``, RAD on 6 seeds, GLF on 12), region optimization with a region of
1e-9 (12 seeds)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "results" / "baseline" / "ci_sampling.parquet"
DATA = ROOT / "tests" / "data"
# method: (the recorded runs without adaptation, the setting that switched it off)
WITHOUT_ADAPTATION = {
    "rad": ("ci_sampling_rad_without_adaptation.parquet", ("sampler.every", 100000)),
    "glf": ("ci_sampling_glf_without_adaptation.parquet", ("sampler.every", 100000)),
    "region": ("ci_sampling_region_without_adaptation.parquet", ("sampler.region", 1e-9)),
}


def check(current: pd.DataFrame, folder: Path, *args: str) -> subprocess.CompletedProcess:
    """`pinnbench check` (the installed entry point) on rows written as a results folder."""
    (folder / "runs").mkdir(parents=True)
    for _, row in current.iterrows():
        row.to_frame().T.to_parquet(folder / "runs" / f"{row['run_id']}.parquet", index=False)
    script = Path(sys.executable).with_name("pinnbench")
    return subprocess.run([str(script), "check", str(folder), "--baseline", str(BASELINE),
                           *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("method", sorted(WITHOUT_ADAPTATION))
def test_a_sampler_without_adaptation_is_its_fallback_and_fails_the_gate(tmp_path, method):
    base = pd.read_parquet(BASELINE)
    name, (column, value) = WITHOUT_ADAPTATION[method]
    off = pd.read_parquet(DATA / name).sort_values("seed")
    adapting = base[base["method"] == method].sort_values("seed")
    uniform = base[base["method"] == "uniform"].set_index("seed")["rel_l2"]
    assert (off["method"] == method).all() and (off[column] == value).all()
    assert off["seed"].tolist() == adapting["seed"].tolist()
    assert len(off) >= 6
    # Without adaptation the sampler trains like the fixed uniform points: within 5% on most
    # seeds (RAD 6 of 6, GLF 10 of 12, region 11 of 12; seed 9 ends 1.26x uniform's in both, one
    # training path that drifted apart), and the adapting sampler is better than that in the
    # median by more than 1.5x.
    ratio = off["rel_l2"].to_numpy() / uniform.loc[off["seed"]].to_numpy()
    assert (np.abs(np.log(ratio)) < np.log(1.05)).mean() >= 0.8, ratio
    assert (np.abs(np.log(ratio)) < np.log(1.3)).all(), ratio
    assert off["rel_l2"].median() > 1.5 * adapting["rel_l2"].median()

    proc = check(off, tmp_path / "off", "--only", f"*/{method}")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "check failed: 1 regression" in proc.stdout
    line = next(ln for ln in proc.stdout.splitlines() if "allen_cahn2d" in ln and method in ln)
    assert "regression" in line

    # The adapting runs of the baseline itself pass (what the CI step checks after training).
    proc = check(adapting, tmp_path / "on", "--only", f"*/{method}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "check passed: 1 pass" in proc.stdout
