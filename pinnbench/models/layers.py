"""Pieces the backbone models share: a dense layer, and binding to the box and the problem."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from pinnbench.models.ansatz import HardConstraint
from pinnbench.models.base import InputMap, glorot_normal


def dense(key: jax.Array, fan_in: int, fan_out: int, dtype: jnp.dtype) -> dict[str, jax.Array]:
    """Glorot-normal weights, zero biases."""
    return {"w": glorot_normal(key, (fan_in, fan_out), dtype), "b": jnp.zeros((fan_out,), dtype)}


def affine(layer: dict[str, jax.Array], h: jax.Array) -> jax.Array:
    return h @ layer["w"] + layer["b"]


class Backbone(HardConstraint):
    """``bind`` to the box (fields ``inputs``) and the ansatz (fields ``hard``, ``problem``)."""

    inputs: InputMap

    def bind(self, lower: tuple[float, ...], upper: tuple[float, ...]) -> Any:
        return dataclasses.replace(self, inputs=InputMap(tuple(lower), tuple(upper)))
