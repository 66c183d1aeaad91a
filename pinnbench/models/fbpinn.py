"""Finite-basis PINNs: a small network per overlapping subdomain, blended by a partition of unity.

u(x) = sum_l sum_j w_j^l(x) · output_scale · NN_j(norm_j(x))   (Moseley et al. 2023; multilevel:
Dolean et al. 2024). Only the (point, subdomain) pairs with overlapping support are evaluated: the
point-major pair table of :mod:`pinnbench.models.decomposition` gives P subdomains per point, each
pair runs its subdomain's network on gathered weights, and the pair outputs are summed into their
point (a segment sum whose segments are the P consecutive pairs of a point). Points go through in
chunks of at most ``chunk`` pairs, so memory is bounded whatever the number of points.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp

from pinnbench.derivatives import Jet, JetMode, elementwise_derivatives
from pinnbench.models.base import ACTIVATION_DERIVATIVES, ACTIVATIONS, glorot_normal
from pinnbench.models.decomposition import WINDOWS, Decomposition, Windows, chunked
from pinnbench.registry import models, option, positive

PairJet = tuple[jax.Array, jax.Array | None, jax.Array | None]


def activation_derivatives(name: str):
    return ACTIVATION_DERIVATIVES.get(name) or functools.partial(elementwise_derivatives,
                                                                 ACTIVATIONS[name])


def pair_network(layers: list[dict], ids: jax.Array, z: jax.Array, scale: jax.Array,
                 activation: str, mode: JetMode | None, last_linear: bool) -> PairJet:
    """Per-pair networks on gathered weights, with their input derivatives.

    ids (Q,) subdomain of each pair; z (Q, d) normalised inputs; scale (Q, d) dz/dx. Layers hold a
    leading subdomain axis: w (J, a, b), b (J, b). Returns value (Q, C), and unless ``mode`` is
    None the gradient (d, Q, C) and the Laplacian (1, Q, C) or Hessian diagonal (d, Q, C) with
    respect to x, direction-major as in ``MLP.jet``.
    """
    derivatives = activation_derivatives(activation)
    act = ACTIVATIONS[activation]
    q, d = z.shape
    h = z
    g = sec = None
    if mode is not None:
        g = jnp.eye(d, dtype=z.dtype)[:, None, :] * scale[None, :, :]  # (d, Q, d)
        sec = jnp.zeros((1 if mode == "laplacian" else d, q, d), z.dtype)
    for i, layer in enumerate(layers):
        w, b = layer["w"][ids], layer["b"][ids]  # (Q, a, b), (Q, b)
        zz = jnp.einsum("qa,qab->qb", h, w) + b
        linear = last_linear and i == len(layers) - 1
        if mode is None:
            h = zz if linear else act(zz)
            continue
        g = jnp.einsum("kqa,qab->kqb", g, w)
        sec = jnp.einsum("kqa,qab->kqb", sec, w)
        if linear:
            h = zz
            continue
        s, s1, s2 = derivatives(zz)
        if mode == "laplacian":
            sec = s1 * sec + s2 * jnp.sum(g * g, axis=0, keepdims=True)
        else:
            sec = s1 * sec + s2 * g * g
        h, g = s, s1 * g
    return h, g, sec


def windowed(win: Windows, value: jax.Array, grad: jax.Array | None, second: jax.Array | None,
             mode: JetMode | None) -> PairJet:
    """Product rule for w_p(x) f_p(x) per pair.

    value (N, P, C); grad (d, N, P, C); second (1 or d, N, P, C) as ``pair_network`` returns
    them (reshaped to pairs per point). Returns the same layout for the windowed functions.
    """
    w = win.value[..., None]
    if mode is None:
        return w * value, None, None
    dw = jnp.moveaxis(win.grad, -1, 0)[..., None]  # (d, N, P, 1)
    d2w = jnp.moveaxis(win.second, -1, 0)[..., None]
    out_grad = dw * value + w * grad
    if mode == "laplacian":
        out_second = (jnp.sum(d2w, axis=0) * value + 2 * jnp.sum(dw * grad, axis=0)
                      + w * second[0])[None]
    else:
        out_second = d2w * value + 2 * dw * grad + w * second
    return w * value, out_grad, out_second


def to_jet(value: jax.Array, grad: jax.Array, second: jax.Array, mode: JetMode) -> Jet:
    """Direction-major (d, N, m) sums -> the point-major :class:`Jet` layout."""
    second = second[0] if mode == "laplacian" else jnp.moveaxis(second, 0, 1)
    return Jet(value, jnp.moveaxis(grad, 0, 1), second)


def check_overlap(v: float) -> bool:
    return v > 1.0


@dataclasses.dataclass(frozen=True)
class Decomposed:
    """Options and binding shared by the models on a decomposition (fbpinn, elm_fbpinn)."""

    subdomains: int = positive("subdomains per axis on the finest level", 8)
    levels: int = positive("levels (each coarser one halves the subdomains per axis)", 1)
    overlap: float = option(1.9, "subdomain width over centre spacing (> 1)",
                            check=check_overlap, expect="> 1")
    window: str = option("cosine2", "window shape before normalisation",
                         check=lambda v: v in WINDOWS, expect=f"one of {sorted(WINDOWS)}")
    chunk: int = positive("most (point, subdomain) pairs evaluated at once", 16384)
    domain: Decomposition | None = dataclasses.field(default=None, metadata={"internal": True})

    def bind(self, lower: tuple[float, ...], upper: tuple[float, ...]) -> Decomposed:
        return dataclasses.replace(self, domain=Decomposition.build(
            lower, upper, self.subdomains, self.levels, self.overlap, self.window))

    @property
    def decomposition(self) -> Decomposition:
        if self.domain is None:
            raise ValueError(f"{type(self).registered_name}: bind(lower, upper) the model to a "
                             "box first")
        return self.domain


@models.register("fbpinn")
@dataclasses.dataclass(frozen=True)
class FBPINN(Decomposed):
    """Finite-basis PINN: one MLP per overlapping subdomain, on one or several levels.

    The finest level has ``subdomains`` subdomains per axis; each of the ``levels`` - 1 coarser
    levels halves that (down to one subdomain covering the box), and the levels' windows are each
    a partition of unity, summed over levels (multilevel FBPINN). Every subdomain network sees its
    subdomain mapped to [-1, 1]^d and its output is multiplied by ``output_scale``.
    """

    width: int = positive("hidden units per layer of each subdomain network", 16)
    depth: int = positive("hidden layers of each subdomain network", 1)
    activation: str = option("tanh", "hidden activation", check=lambda v: v in ACTIVATIONS,
                             expect=f"one of {sorted(ACTIVATIONS)}")
    output_scale: float = positive("each subdomain network's output is multiplied by this", 1.0)

    def init(self, key: jax.Array, in_dim: int, out_dim: int, dtype: jnp.dtype) -> list[dict]:
        n = self.decomposition.size
        sizes = [in_dim] + [self.width] * self.depth + [out_dim]
        keys = jax.random.split(key, len(sizes) - 1)
        return [
            {"w": jax.vmap(lambda k, a=a, b=b: glorot_normal(k, (a, b), dtype))(
                jax.random.split(k, n)), "b": jnp.zeros((n, b), dtype)}
            for k, a, b in zip(keys, sizes[:-1], sizes[1:], strict=True)
        ]

    def _points_per_chunk(self) -> int:
        return max(1, self.chunk // self.decomposition.pairs_per_point)

    def _evaluate(self, params: list[dict], x: jax.Array, mode: JetMode | None):
        win = self.decomposition.windows(x, derivatives=mode is not None)
        n, p = win.ids.shape
        d = x.shape[1]
        scale = jnp.broadcast_to(win.scale, (n, p, d)).reshape(n * p, d)
        value, grad, second = pair_network(params, win.ids.reshape(-1), win.z.reshape(n * p, d),
                                           scale, self.activation, mode, last_linear=True)
        c = value.shape[-1]
        value = value.reshape(n, p, c)
        if mode is not None:
            grad = grad.reshape(d, n, p, c)
            second = second.reshape(second.shape[0], n, p, c)
        value, grad, second = windowed(win, value, grad, second, mode)
        s = self.output_scale
        if mode is None:
            return s * jnp.sum(value, axis=1)
        # Sum over each point's pairs; direction-major -> point-major for the chunking.
        return to_jet(s * jnp.sum(value, axis=1), s * jnp.sum(grad, axis=2),
                      s * jnp.sum(second, axis=2), mode)

    def apply(self, params: list[dict], x: jax.Array) -> jax.Array:
        return chunked(lambda xc: self._evaluate(params, xc, None), x, self._points_per_chunk())

    def jet(self, params: list[dict], x: jax.Array, mode: JetMode) -> Jet:
        """Value, input gradient and Laplacian / Hessian diagonal in one pass per pair: each pair
        network propagates them as ``MLP.jet`` does, and the window enters by the product rule."""
        return chunked(lambda xc: self._evaluate(params, xc, mode), x, self._points_per_chunk())

    def dense_apply(self, params: list[dict], x: jax.Array) -> jax.Array:
        """Every subdomain network at every point, blended by the dense windows: the reference
        implementation the pair evaluation is tested against (N x J work; tests only)."""
        dom = self.decomposition
        centres = jnp.asarray(dom.centres(), x.dtype)
        scale = 2.0 / jnp.asarray(dom.widths(), x.dtype)
        act = ACTIVATIONS[self.activation]

        def one(layers, c, s):
            h = (x - c) * s
            for layer in layers[:-1]:
                h = act(h @ layer["w"] + layer["b"])
            return h @ layers[-1]["w"] + layers[-1]["b"]

        outs = jax.vmap(one)(params, centres, scale)  # (J, N, m)
        return self.output_scale * jnp.einsum("nj,jnm->nm", dom.dense_windows(x), outs)
