"""pinnbench: benchmark physics-informed neural network methods on one JAX engine."""

import os

# XLA's CPU runtime already runs work on every core; a multithreaded OpenBLAS (which jax's CPU
# LAPACK kernels and scipy share) then spins its own threads against XLA's, which made a 501x501
# Cholesky factorisation 40x slower (196 ms vs 4.4 ms) on a 2-core machine. Set before jax or scipy
# load OpenBLAS; a user's own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
