"""PirateNet: physics-informed residual adaptive network (Wang, Li, Chen and Perdikaris 2024),
the default architecture of jaxpi."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from pinnbench.models.ansatz import hard_option, problem_field
from pinnbench.models.base import ACTIVATIONS, InputMap
from pinnbench.models.fourier import fourier_features, fourier_matrix
from pinnbench.models.layers import Backbone, affine, dense
from pinnbench.registry import models, option, positive


@models.register("pirate")
@dataclasses.dataclass(frozen=True)
class PirateNet(Backbone):
    """PirateNet: residual adaptive blocks on random Fourier features (Wang et al. 2024).

    Each block is gated by two encodings of the input and skipped at initialisation (PirateNets,
    section 4, eqs. (4.1)-(4.7)). Phi = [cos(B z), sin(B z)] (``fourier`` frequencies of scale
    ``fourier_scale``, fixed) is the stream x^(1); U = s(W_u Phi + b_u), V = s(W_v Phi + b_v). Block
    l: f = s(W1 x + b1), z1 = f U + (1 - f) V, g = s(W2 z1 + b2), z2 = g U + (1 - g) V, h = s(W3 z2
    + b3), x^(l+1) = alpha_l h + (1 - alpha_l) x^(l) with a trainable alpha_l starting at ``alpha``
    (0: every block is the identity at first, so the network starts as a linear model of the Fourier
    features and grows deep as the alphas move). Output: a linear layer of the stream,
    Glorot-normal, or with ``pi_init`` the paper's physics-informed initialisation (its section
    "Physics-informed initialization"): the last layer is the least-squares fit of the stream at
    initialisation to the initial data continued unchanged in time, u(x, t) = u(x, t0), at
    ``pi_points`` points drawn like interior collocation points, so the network starts as the best
    linear model of the features for that guess. (A fit on the t0 slice alone leaves the time
    features unconstrained: on Allen-Cahn 1D it started 7.8e3 away from the reference.) The data
    are the problem's reference on the t0 slice, which is the given initial data. Time-dependent
    problems only: a steady one has no initial data to continue.
    given data there. Not done: jaxpi's random weight factorisation. Derivatives by forward-mode
    autodiff (no jet).
    """

    width: int = positive("hidden units of each block and of the gates U, V", 64)
    blocks: int = positive("residual adaptive blocks (three dense layers each)", 3)
    fourier: int = positive("Fourier frequencies; the stream has twice as many features", 32)
    fourier_scale: float = positive("standard deviation of the Fourier frequencies", 1.0)
    alpha: float = option(0.0, "initial value of every block's skip weight alpha")
    activation: str = option("tanh", "activation", check=lambda v: v in ACTIVATIONS,
                             expect=f"one of {sorted(ACTIVATIONS)}")
    pi_init: bool = option(False, "physics-informed initialisation: the last layer fitted by least "
                           "squares to the initial data continued in time (time-dependent "
                           "problems)", id_at_default=False)
    pi_points: int = positive("points the fit uses, drawn like interior collocation points", 2048,
                              id_at_default=False)
    pi_ridge: float = option(1e-6, "ridge of the fit, relative to the mean diagonal of the normal "
                             "matrix (0: plain least squares)", check=lambda v: v >= 0,
                             expect=">= 0", id_at_default=False)
    inputs: InputMap = dataclasses.field(default=InputMap(), metadata={"internal": True})
    hard: bool = hard_option()
    problem: Any = problem_field()

    def bind_problem(self, problem: Any) -> Any:
        model = super().bind_problem(problem)
        # the fit reads the problem's data, with or without the ansatz
        return dataclasses.replace(model, problem=problem) if self.pi_init else model

    def incompatibility(self, parts: dict[str, Any]) -> str | None:
        problem = parts.get("problem")
        if self.pi_init and self.hard:
            return ("model pirate: pi_init fits the initial data, which hard = true already "
                    "imposes exactly; choose one")
        if self.pi_init and problem is not None and not problem.time_dependent:
            return (f"model pirate: pi_init fits the initial data, and "
                    f"{type(problem).__name__} is steady")
        return super().incompatibility(parts)

    def init(self, key: jax.Array, in_dim: int, out_dim: int, dtype: jnp.dtype) -> dict:
        k_b, k_u, k_v, k_blocks, k_out = jax.random.split(key, 5)
        stream = 2 * self.fourier
        blocks = []
        for k in jax.random.split(k_blocks, self.blocks):
            k1, k2, k3 = jax.random.split(k, 3)
            blocks.append({"d1": dense(k1, stream, self.width, dtype),
                           "d2": dense(k2, self.width, self.width, dtype),
                           "d3": dense(k3, self.width, stream, dtype),
                           "alpha": jnp.full((), self.alpha, dtype)})
        params = {"fourier": fourier_matrix(k_b, in_dim, self.fourier, self.fourier_scale, dtype),
                  "u": dense(k_u, stream, self.width, dtype),
                  "v": dense(k_v, stream, self.width, dtype),
                  "blocks": blocks, "out": dense(k_out, stream, out_dim, dtype)}
        if self.pi_init:
            # a key of its own, so the other weights are those of the run without the fit
            params["out"] = self.fitted_output(params, jax.random.fold_in(key, 1), dtype)
        return params

    def fitted_output(self, params: dict, key: jax.Array, dtype: jnp.dtype) -> dict:
        """The last layer (w, b) that fits the stream at ``params`` to the problem's initial data
        continued in time, in least squares."""
        if self.problem is None:
            raise ValueError("model pirate: pi_init = true, but no problem was bound (build it "
                             "with pinnbench.protocols.bound)")
        x = self.problem.sample("interior", key, self.pi_points, dtype)
        data = np.asarray(self.problem.reference(self.initial_slice(x)), np.float64)
        features = np.asarray(self.stream(params, x), np.float64)
        design = np.concatenate([features, np.ones((len(features), 1))], axis=1)
        target = data.reshape(len(design), -1)
        # float64 on the host: the fit is done once, and the features are close to dependent
        # (singular values 3e-9 of the largest on Allen-Cahn 1D). Plain least squares then gives
        # last-layer weights up to 5.6e3, from which Adam at lr 3e-3 raised the loss from 10 to
        # 1.2e3 in 250 steps; the ridge keeps them below 15 for a fit 10x less close.
        if self.pi_ridge == 0:
            coef = np.linalg.lstsq(design, target, rcond=None)[0]
        else:
            normal = design.T @ design
            ridge = self.pi_ridge * np.trace(normal) / len(normal)
            coef = np.linalg.solve(normal + ridge * np.eye(len(normal)), design.T @ target)
        return {"w": jnp.asarray(coef[:-1], dtype), "b": jnp.asarray(coef[-1], dtype)}

    def initial_slice(self, x: jax.Array) -> np.ndarray:
        """The points moved to the initial time, where the reference is the initial data."""
        x0 = np.array(x, np.float64)
        x0[:, -1] = self.problem.lower[-1]
        return x0

    def stream(self, params: dict, x: jax.Array) -> jax.Array:
        """The last block's output: the features the output layer combines."""
        act = ACTIVATIONS[self.activation]
        h = fourier_features(params["fourier"], self.inputs.forward(x))
        u, v = act(affine(params["u"], h)), act(affine(params["v"], h))
        for block in params["blocks"]:
            f = act(affine(block["d1"], h))
            g = act(affine(block["d2"], f * u + (1 - f) * v))
            z = act(affine(block["d3"], g * u + (1 - g) * v))
            h = block["alpha"] * z + (1 - block["alpha"]) * h
        return h

    def apply(self, params: dict, x: jax.Array) -> jax.Array:
        return self.constrain(x, affine(params["out"], self.stream(params, x)))
