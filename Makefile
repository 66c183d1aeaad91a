# Set-up is part of every target: a fresh clone needs nothing but python3 (>= 3.11).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint bench reproduce clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,peers]'
	touch $@

# Train the default suite's quick profile and print the comparison table.
run: $(VENV)/.installed-run
	$(BIN)/pinnbench run suites/helmholtz.toml --profile quick
	$(BIN)/pinnbench compare results/helmholtz

# Lint, the whole test suite, then the CI accuracy gate. Tests and gate runs share one persistent
# compilation cache (see tests/conftest.py): seeds of one configuration compile the same step.
test: export JAX_COMPILATION_CACHE_DIR ?= $(CURDIR)/.cache/jax
test: export JAX_COMPILATION_CACHE_MAX_SIZE ?= 4294967296
test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n 2 --durations=15
	$(BIN)/pinnbench run suites/ci.toml --out results/ci --jobs 2
	$(BIN)/pinnbench check results/ci --baseline results/baseline/ci.parquet
	$(BIN)/pinnbench run suites/ci_second_order.toml --out results/ci_second_order --jobs 2
	$(BIN)/pinnbench check results/ci_second_order --baseline results/baseline/ci_second_order.parquet
	$(BIN)/pinnbench run suites/ci_sampling.toml --out results/ci_sampling --jobs 2
	$(BIN)/pinnbench check results/ci_sampling --baseline results/baseline/ci_sampling.parquet

# Side-by-side performance measurements (see BENCHMARKS.md).
bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/lm_step.py
	$(BIN)/python benchmarks/elm_fbpinn.py
	$(BIN)/python benchmarks/balls_lm.py --ms 4 8 16 32 64 --run-below-mb 800
	$(BIN)/python benchmarks/balls_lm.py --solvers --ms 4 8 16 32 --run-below-mb 800
	$(BIN)/python benchmarks/fbpinn_step.py --repeats 7
	$(BIN)/python benchmarks/sampler_step.py
	$(BIN)/python benchmarks/worker_start.py

reproduce: $(VENV)/.installed-run
	$(BIN)/python benchmarks/reproduce.py --write REPRODUCTION.md

clean:
	rm -rf $(VENV) .cache results/ci results/ci_second_order results/helmholtz
