#!/usr/bin/env bash
# GPU figures for BENCHMARKS.md, on a host whose python has a CUDA build of jax (and optax,
# typer, rich, pandas, pyarrow, matplotlib, scipy, psutil). It does not touch the host's packages:
# pinnbench runs from this checkout through PYTHONPATH, and wheels of anything missing (e.g.
# submitit) can be put in .whl/ beside it.
#
#   bash benchmarks/gpu_check.sh                # everything, about 6 minutes on one GPU
#   OUT=/some/dir bash benchmarks/gpu_check.sh  # where the logs and the table go
#   GPU_CHECK_ON_CPU=1 PYTHON=.venv/bin/python bash benchmarks/gpu_check.sh  # a dry run on a CPU
#
# It prints, and writes to $OUT: the BENCHMARKS.md workload's steps/s and FLOP share on the GPU
# (benchmarks/run.py, without DeepXDE), the dense LM and block-sparse balls LM step costs, and one
# table of steps/s and peak device memory (memory_stats()) for one run of each method family
# (suites/ci.toml and suites/ci_second_order.toml, seed 0, one run at a time).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${OUT:-bench-out/gpu}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1

if compgen -G ".whl/*.whl" > /dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/pinnbench-site .whl/*.whl
  export PYTHONPATH=/tmp/pinnbench-site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

"$PY" - <<'EOF' | tee "$OUT/device.txt"
import os

import jax
devices = jax.devices()
print("jax", jax.__version__, "devices:", devices)
if devices[0].platform != "gpu" and not os.environ.get("GPU_CHECK_ON_CPU"):
    raise SystemExit("no GPU visible to jax: this script measures a GPU")
EOF

step() {  # step NAME SECONDS COMMAND...: one part, cut off after SECONDS so the rest still runs
  local name=$1 limit=$2
  shift 2
  echo "== $name (at most ${limit} s)"
  local start=$SECONDS
  local rc=0
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1 || rc=$?
  if [ "$rc" = 0 ]; then
    echo "   done in $((SECONDS - start)) s"
  else
    echo "   FAILED or cut off after $((SECONDS - start)) s (exit $rc); see $OUT/$name.log"
  fi
  grep -v -i "warning" "$OUT/$name.log" | tail -n 25
}

step engine 120 "$PY" benchmarks/run.py --no-deepxde --rounds 5 --out "$OUT/run.json"
step lm_step 90 "$PY" benchmarks/lm_step.py
step lm_solve 90 "$PY" benchmarks/lm_solve.py --repeats 3
step balls_lm 90 "$PY" benchmarks/balls_lm.py --ms 4 8 16 32 64 --repeats 3
step ci_first_order 60 "$PY" -m pinnbench run suites/ci.toml --seeds 0 --out "$OUT/ci" --jobs 1
step ci_second_order 60 "$PY" -m pinnbench run suites/ci_second_order.toml --seeds 0 \
  --out "$OUT/ci2" --jobs 1

"$PY" - "$OUT" <<'EOF' | tee "$OUT/table.md"
import sys
from pathlib import Path

import pandas as pd

out = Path(sys.argv[1])
frames = [pd.read_parquet(p) for d in ("ci", "ci2") for p in (out / d / "runs").glob("*.parquet")]
if not frames:
    raise SystemExit("no runs recorded")
runs = pd.concat(frames, ignore_index=True)
print("| method | status | steps/s | train s | peak device MB | device |")
print("|---|---|---:|---:|---:|---|")
for _, r in runs.sort_values("method").iterrows():
    print(f"| {r['method']} | {r['status']} | {r.get('steps_per_s', float('nan')):.1f} | "
          f"{r.get('train_s', float('nan')):.1f} | {r.get('peak_device_mb', float('nan')):.0f} | "
          f"{r.get('device_kind', '')} |")
EOF
