"""Numerical reference solvers for problems without a closed form, and their on-disk cache."""
