"""pinnbench: benchmark physics-informed neural network methods on one JAX engine."""

__version__ = "0.1.0"
