"""Error metrics of a prediction against a reference, for numpy or jax arrays.

``pred`` and ``ref`` have shape (M, n_fields). Combined metrics treat all fields as one vector;
``*_per_field`` variants return one value per field.

- rel_l2   = ||pred - ref||_2 / ||ref||_2  (PINNacle's L2RE, RoPINN's rMSE)
- rel_l1   = ||pred - ref||_1 / ||ref||_1  (RoPINN's rMAE)
- rel_rmse = mean over fields of RMSE_f / RMS(ref_f); equals rel_l2 for a single field, and weighs
             fields of different scale equally when there are several
- max_abs  = max |pred - ref|

An inverse problem's recovered coefficients are scored by ``coefficient_rel_l2``: the relative L2
error of all its unknowns together on the evaluation points (a scalar counts as a constant field
there, so for one scalar it is |c - c*| / |c*|).
"""

from __future__ import annotations

from typing import Any

import numpy as np

ArrayLike = Any


def _xp(a: ArrayLike):
    return np if isinstance(a, np.ndarray) else __import__("jax.numpy", fromlist=["numpy"])


def rel_l2(pred: ArrayLike, ref: ArrayLike) -> ArrayLike:
    xp = _xp(pred)
    return xp.sqrt(xp.sum((pred - ref) ** 2) / xp.sum(ref**2))


def rel_l1(pred: ArrayLike, ref: ArrayLike) -> ArrayLike:
    xp = _xp(pred)
    return xp.sum(xp.abs(pred - ref)) / xp.sum(xp.abs(ref))


def rel_l2_per_field(pred: ArrayLike, ref: ArrayLike) -> ArrayLike:
    xp = _xp(pred)
    return xp.sqrt(xp.sum((pred - ref) ** 2, axis=0) / xp.sum(ref**2, axis=0))


def rel_rmse(pred: ArrayLike, ref: ArrayLike) -> ArrayLike:
    # RMSE_f / RMS(ref_f) is rel_l2 of field f: the mean number of points cancels.
    return _xp(pred).mean(rel_l2_per_field(pred, ref))


def max_abs(pred: ArrayLike, ref: ArrayLike) -> ArrayLike:
    xp = _xp(pred)
    return xp.max(xp.abs(pred - ref))


METRICS = {"rel_l2": rel_l2, "rel_l1": rel_l1, "rel_rmse": rel_rmse, "max_abs": max_abs}


def all_metrics(pred: ArrayLike, ref: ArrayLike) -> dict[str, ArrayLike]:
    return {name: fn(pred, ref) for name, fn in METRICS.items()}


def coefficient_rel_l2(pred: dict[str, ArrayLike], truth: dict[str, ArrayLike]) -> ArrayLike:
    """rel_l2 of the coefficients named in ``pred`` (each (M,)) against ``truth``, stacked."""
    names = sorted(pred)
    xp = _xp(pred[names[0]])
    return rel_l2(xp.concatenate([xp.ravel(pred[k]) for k in names]),
                  xp.concatenate([xp.ravel(truth[k]) for k in names]))
