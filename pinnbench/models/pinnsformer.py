"""PINNsFormer (Zhao, Ding and Prakash 2024): a small transformer over a pseudo-sequence of time
shifts of each point, one of RoPINN's base models."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from pinnbench.models.ansatz import hard_option, problem_field
from pinnbench.models.base import InputMap, glorot_normal
from pinnbench.models.layers import Backbone, affine, dense
from pinnbench.registry import models, positive


def wavelet(p: dict[str, jax.Array], h: jax.Array) -> jax.Array:
    """PINNsFormer's Wavelet activation w1 sin(h) + w2 cos(h), w1 and w2 learned (eq. (5))."""
    return p["w1"] * jnp.sin(h) + p["w2"] * jnp.cos(h)


def _wavelet_init(dtype: jnp.dtype) -> dict[str, jax.Array]:
    return {"w1": jnp.ones((), dtype), "w2": jnp.ones((), dtype)}


def attention(p: dict[str, jax.Array], q: jax.Array, kv: jax.Array, heads: int) -> jax.Array:
    """Multi-head scaled dot-product attention of queries q (N, k, D) over kv (N, k, D)."""
    n, k, dm = q.shape

    def split(t):  # (N, k, D) -> (N, heads, k, D / heads)
        return t.reshape(n, -1, heads, dm // heads).transpose(0, 2, 1, 3)

    qh, kh, vh = split(q @ p["q"]), split(kv @ p["k"]), split(kv @ p["v"])
    scores = qh @ kh.transpose(0, 1, 3, 2) / jnp.sqrt(jnp.asarray(dm // heads, q.dtype))
    out = jax.nn.softmax(scores, axis=-1) @ vh
    return out.transpose(0, 2, 1, 3).reshape(n, k, dm) @ p["o"]


@models.register("pinnsformer")
@dataclasses.dataclass(frozen=True)
class PINNsFormer(Backbone):
    """PINNsFormer: a transformer over a pseudo-sequence of time shifts of each point.

    Zhao, Ding and Prakash 2024, section 3: the sequence is [x, t], [x, t + dt], ..., [x, t + (k-1)
    dt]. Pseudo-sequence generator (eq. (2)): the time (last) input shifted by ``dt`` ``steps - 1``
    times, in the problem's units, then mapped to [-1, 1]. Spatio-temporal mixer: one linear layer
    to ``d_model``. Encoder and decoder of ``layers`` layers each; a layer is x + attention(act(x))
    then x + feed-forward(act(x)), with the Wavelet activation w1 sin + w2 cos (learned w1, w2)
    where the paper's layers put it instead of layer normalisation; the decoder attends to the
    encoder's output with the embedded sequence as its input. The output head (``hidden`` units,
    Wavelet) maps each token to u. This model returns the first token's output, u(x, t): the paper
    trains on all k tokens' residuals, here only the token at the point itself is trained on, so the
    loss is the plain PINN loss of that network. Derivatives by forward-mode autodiff (no jet); cost
    about ``steps`` times a point-wise network of the same width.
    """

    d_model: int = positive("embedding width of each token", 32)
    heads: int = positive("attention heads (divides d_model)", 2)
    layers: int = positive("encoder layers (and as many decoder layers)", 1)
    hidden: int = positive("units of the feed-forward blocks and of the output head", 64)
    steps: int = positive("length k of the pseudo-sequence", 5)
    dt: float = positive("time shift between tokens, in the problem's time units", 1e-4)
    inputs: InputMap = dataclasses.field(default=InputMap(), metadata={"internal": True})
    hard: bool = hard_option()
    problem: Any = problem_field()

    def __post_init__(self) -> None:
        if self.d_model % self.heads:
            raise ValueError(f"pinnsformer: heads = {self.heads} must divide d_model = "
                             f"{self.d_model}")

    def incompatibility(self, parts: dict[str, Any]) -> str | None:
        problem = parts.get("problem")
        if problem is not None and not problem.time_dependent:
            return (f"pinnsformer: its pseudo-sequence shifts time, and "
                    f"{type(problem).__name__} is steady")
        return super().incompatibility(parts)

    def _layer(self, key: jax.Array, dtype: jnp.dtype) -> dict:
        ks = jax.random.split(key, 7)
        dm, f = self.d_model, self.hidden
        return {"attn": {name: glorot_normal(k, (dm, dm), dtype)
                         for name, k in zip("qkvo", ks[:4], strict=True)},
                "act1": _wavelet_init(dtype), "act2": _wavelet_init(dtype),
                "ff": [dense(ks[4], dm, f, dtype), dense(ks[5], f, f, dtype),
                       dense(ks[6], f, dm, dtype)],
                "ff_act": [_wavelet_init(dtype), _wavelet_init(dtype)]}

    def init(self, key: jax.Array, in_dim: int, out_dim: int, dtype: jnp.dtype) -> dict:
        k_emb, k_enc, k_dec, k_head = jax.random.split(key, 4)
        h = self.hidden
        kh = jax.random.split(k_head, 3)
        return {
            "embed": dense(k_emb, in_dim, self.d_model, dtype),
            "encoder": [self._layer(k, dtype) for k in jax.random.split(k_enc, self.layers)],
            "encoder_act": _wavelet_init(dtype),
            "decoder": [self._layer(k, dtype) for k in jax.random.split(k_dec, self.layers)],
            "decoder_act": _wavelet_init(dtype),
            "head": [dense(kh[0], self.d_model, h, dtype), dense(kh[1], h, h, dtype),
                     dense(kh[2], h, out_dim, dtype)],
            "head_act": [_wavelet_init(dtype), _wavelet_init(dtype)],
        }

    def _feed_forward(self, layer: dict, h: jax.Array) -> jax.Array:
        for dense_p, act in zip(layer["ff"][:-1], layer["ff_act"], strict=True):
            h = wavelet(act, affine(dense_p, h))
        return affine(layer["ff"][-1], h)

    def _block(self, layer: dict, x: jax.Array, memory: jax.Array | None) -> jax.Array:
        h = wavelet(layer["act1"], x)
        x = x + attention(layer["attn"], h, h if memory is None else memory, self.heads)
        return x + self._feed_forward(layer, wavelet(layer["act2"], x))

    def sequence(self, x: jax.Array) -> jax.Array:
        """The pseudo-sequence of each point, mapped to [-1, 1]: (N, steps, d)."""
        shifts = self.dt * jnp.arange(self.steps, dtype=x.dtype)
        seq = x[:, None, :] + shifts[None, :, None] * jnp.eye(x.shape[1], dtype=x.dtype)[-1]
        n, k, d = seq.shape
        return self.inputs.forward(seq.reshape(n * k, d)).reshape(n, k, d)

    def apply(self, params: dict, x: jax.Array) -> jax.Array:
        src = affine(params["embed"], self.sequence(x))
        enc = src
        for layer in params["encoder"]:
            enc = self._block(layer, enc, None)
        enc = wavelet(params["encoder_act"], enc)
        dec = src
        for layer in params["decoder"]:
            dec = self._block(layer, dec, enc)
        h = wavelet(params["decoder_act"], dec[:, 0])
        for dense_p, act in zip(params["head"][:-1], params["head_act"], strict=True):
            h = wavelet(act, affine(dense_p, h))
        return self.constrain(x, affine(params["head"][-1], h))
