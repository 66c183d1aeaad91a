"""Finite-basis PINNs: a small network per overlapping subdomain, blended by a partition of unity.

u(x) = sum_l sum_j w_j^l(x) · output_scale · NN_j(norm_j(x))   (Moseley et al. 2023; multilevel:
Dolean et al. 2024). Only the (point, subdomain) pairs with overlapping support are evaluated, in
one of two layouts that give the same numbers (``evaluation``):

- subdomain-major: per level, the points inside each subdomain's support are grouped into a block
  of static capacity (``capacity`` times the count expected of uniformly spread points, from the
  batch size and the share of the box the support covers, plus four standard deviations), every
  subdomain runs its network on its block with its own weights, as one batched matmul
  (J, C, a) @ (J, a, b) per layer, and the windowed outputs are scatter-added into their points.
  Where some subdomain holds more points than its capacity (clustered points: adaptive samplers,
  or boundary points, which lie on the box's faces), the call is redone pair-major inside a
  ``lax.cond``, so results never depend on the capacity.
- pair-major: the point-major pair table of :mod:`pinnbench.models.decomposition` gives P
  subdomains per point, each pair runs its subdomain's network on weights gathered per pair, and
  the pair outputs are summed into their point. Gathering (Q, a, b) weights, and scatter-adding
  their gradients in the backward pass, is what the blocks avoid.

``evaluation = "pairs"`` is the default: its compilation is 2.4-7x shorter, and with one small
hidden layer in 1D it is as fast or faster. ``evaluation = "auto"`` takes the blocks unless they
would hold more than ``BLOCK_ROWS_LIMIT`` times as many rows as there are pairs (a handful of
points, e.g. one point per call under vmap); it pays off for 2D problems and for wider or deeper
subdomain networks (1.5-4.5x per step in benchmarks/fbpinn_step.py). Points go through in chunks
of ``chunk`` // P points either way, so memory is bounded whatever the number of points: a chunk
holds at most ``chunk`` pairs, and its blocks about 1.2 to 1.6 times as many rows.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from pinnbench.derivatives import Jet, JetMode
from pinnbench.models.base import (
    ACTIVATIONS,
    activation_derivatives,
    activation_jet,
    glorot_normal,
)
from pinnbench.models.decomposition import (
    WINDOWS,
    Decomposition,
    Windows,
    block_capacities,
    chunked,
    chunked_masked,
    level_columns,
    subdomain_blocks,
)
from pinnbench.protocols import JET
from pinnbench.registry import models, option, positive

PairJet = tuple[jax.Array, jax.Array | None, jax.Array | None]


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
        h, g, sec = activation_jet(derivatives, zz, g, sec, mode, axis=0)
    return h, g, sec


def _per_block(x: jax.Array, w: jax.Array) -> jax.Array:
    """x (J, S, C, a) times each subdomain's w (J, a, b) -> (J, S, C, b): one batched matmul."""
    return jnp.einsum("jsca,jab->jscb", x, w)


def block_network(layers: list[dict], z: jax.Array, scale: jax.Array, activation: str,
                  mode: JetMode | None, last_linear: bool) -> PairJet:
    """Every subdomain's network on its own block of points, on its own weights (no gather).

    z (J, C, d) normalised inputs of the blocks; scale (d,) dz/dx (one per level); layers w
    (J, a, b), b (J, b) for exactly these J subdomains. Returns the value (J, 1, C, m) and unless
    ``mode`` is None the gradient (J, d, C, m) and the Laplacian (J, 1, C, m) or Hessian diagonal
    (J, d, C, m) with respect to x: the derivative streams sit next to the subdomain axis so that
    each product is a batched matmul (J, S·C, a) @ (J, a, b) without transposes.
    """
    derivatives = activation_derivatives(activation)
    act = ACTIVATIONS[activation]
    d = z.shape[-1]
    h, g, sec = z[:, None], None, None
    first = None  # (s1, s2, g0): the first hidden layer's derivatives in factored form
    for i, layer in enumerate(layers):
        w, b = layer["w"], layer["b"][:, None, None, :]
        zz = _per_block(h, w) + b
        if mode is not None and i == 0:
            # The input map is diagonal and affine, so the first layer's Jacobian is the same at
            # every point of a block: (J, d, 1, b), and its second derivative is zero.
            g = (scale[None, :, None] * w)[:, :, None, :]
            sec = jnp.zeros((w.shape[0], 1 if mode == "laplacian" else d, 1, w.shape[2]),
                            w.dtype)
        elif mode is not None and first is not None:
            # After the first activation g = s1·g0 and sec = s2·q0 with g0, q0 constant per
            # block: fold g0 and q0 into this layer's weights instead of materialising g, sec.
            s1, s2, g0 = first
            q0 = jnp.sum(g0 * g0, axis=1, keepdims=True) if mode == "laplacian" else g0 * g0
            g = jnp.einsum("jca,jkab->jkcb", s1[:, 0], g0[:, :, 0, :, None] * w[:, None])
            sec = jnp.einsum("jca,jkab->jkcb", s2[:, 0], q0[:, :, 0, :, None] * w[:, None])
            first = None
        elif mode is not None:
            g, sec = _per_block(g, w), _per_block(sec, w)
        if last_linear and i == len(layers) - 1:
            h = zz
            break
        if mode is None:
            h = act(zz)
            continue
        if i == 0 and i + 1 < len(layers):
            h, s1, s2 = derivatives(zz)
            first = (s1, s2, g)
            continue
        h, g, sec = activation_jet(derivatives, zz, g, sec, mode, axis=1)
    if mode is None:
        return h, None, None
    return (h, jnp.broadcast_to(g, g.shape[:2] + h.shape[2:]),
            jnp.broadcast_to(sec, sec.shape[:2] + h.shape[2:]))


def _rows(a: jax.Array, ids: np.ndarray) -> jax.Array:
    """a[ids] for static ids: a slice when they are consecutive."""
    if np.array_equal(ids, np.arange(ids[0], ids[0] + len(ids))):
        return a[int(ids[0]):int(ids[0]) + len(ids)]
    return a[ids]


def windowed_streams(value: jax.Array, grad: jax.Array, second: jax.Array,
                     f: PairJet, mode: JetMode | None) -> jax.Array:
    """``windowed`` on blocks: window value (J, C), grad and second (J, C, d); f as
    ``block_network`` returns it. Returns (J, C, S, m): value, gradient components, then the
    Laplacian or the Hessian diagonal components, point-major for the scatter into points."""
    u = f[0][:, 0]
    if mode is None:
        return windowed(value, grad, second, u, None, None, None)[0][:, :, None]
    streams = windowed(value, grad, second, u, jnp.moveaxis(f[1], 1, 0),
                       jnp.moveaxis(f[2], 1, 0), mode)
    return jnp.moveaxis(jnp.concatenate([streams[0][None], *streams[1:]]), 0, 2)


def windowed(w_value: jax.Array, w_grad: jax.Array, w_second: jax.Array, value: jax.Array,
             grad: jax.Array | None, second: jax.Array | None, mode: JetMode | None) -> PairJet:
    """Product rule for w(x) f(x), per pair or per block slot.

    Windows: w_value (...), w_grad and w_second (..., d) (a pair table's, or a block's). value
    (..., C); grad (d, ..., C); second (1 or d, ..., C), direction-major as ``pair_network``
    returns them. Returns the same layout for the windowed functions.
    """
    w = w_value[..., None]
    if mode is None:
        return w * value, None, None
    dw = jnp.moveaxis(w_grad, -1, 0)[..., None]  # (d, ..., 1)
    d2w = jnp.moveaxis(w_second, -1, 0)[..., None]
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


# Layouts of the FBPINN evaluation; "auto" takes blocks unless their rows would exceed
# BLOCK_ROWS_LIMIT times the pairs (a handful of points, e.g. one point per call under vmap).
EVALUATIONS = ("auto", "subdomains", "pairs")
BLOCK_ROWS_LIMIT = 4


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

    capabilities = frozenset({JET})

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
    evaluation: str = option("pairs", "layout of the evaluation: subdomain-major blocks, "
                             "(point, subdomain) pairs, or auto (blocks unless they would hold "
                             f"over {BLOCK_ROWS_LIMIT}x the pairs: few points)",
                             check=lambda v: v in EVALUATIONS, expect=f"one of {EVALUATIONS}",
                             id_at_default=False)
    capacity: float = positive("subdomain-major blocks: slots per subdomain over the expected "
                               "count of uniformly spread points in its support, plus four "
                               "standard deviations (a fuller subdomain makes that call fall "
                               "back to pairs)", 1.2, id_at_default=False)

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

    # ---- the two layouts ---------------------------------------------------------------------
    def capacities(self, n_points: int) -> list[np.ndarray]:
        """Static block capacity of every subdomain, per level (coarsest first), for a batch of
        n_points points.

        Subdomains whose support sticks out of the box hold fewer points; they get the largest
        of their capacities, so that a level has at most two blocks (interior and border): one
        per capacity would save a few rows more, at the price of compiling more of them.
        """
        out = []
        for level in self.decomposition.levels:
            caps = block_capacities(level, n_points, self.capacity)
            border = caps < caps.max()
            out.append(np.where(border, caps[border].max(), caps) if border.any() else caps)
        return out

    def block_rows(self, n_points: int) -> int:
        """Rows the subdomain-major blocks of a batch of n_points points hold, all levels."""
        return int(sum(c.sum() for c in self.capacities(n_points)))

    def uses_blocks(self, n_points: int) -> bool:
        """Whether a batch of n_points is evaluated subdomain-major (a static choice)."""
        if self.evaluation != "auto":
            return self.evaluation == "subdomains"
        pairs = n_points * self.decomposition.pairs_per_point
        return self.block_rows(n_points) <= BLOCK_ROWS_LIMIT * pairs

    def _level_tables(self, win: Windows, own: jax.Array):
        """Per level: local subdomain ids (N, P_l), the pairs that go into blocks (N, P_l) and
        the capacities (J_l,). own (N,) is False at padding copies, which go nowhere."""
        dom = self.decomposition
        # A pair whose window and window derivatives are all zero adds exactly zero in the pair
        # layout, so leaving it out of the blocks changes nothing.
        member = own[:, None] & ((win.value != 0) | jnp.any(win.grad != 0, axis=-1)
                                 | jnp.any(win.second != 0, axis=-1))
        caps = self.capacities(win.ids.shape[0])
        return [(win.ids[:, cols] - offset, member[:, cols], c)
                for offset, cols, c in zip(dom.offsets, level_columns(dom), caps, strict=True)]

    def _blocks(self, win: Windows, own: jax.Array) -> tuple[list[jax.Array], jax.Array]:
        """Every level's slots (J, largest capacity), as ``subdomain_blocks`` gives them, and
        whether some subdomain holds more points than its capacity."""
        slots, over = [], []
        for level, (ids, member, caps) in zip(self.decomposition.levels,
                                              self._level_tables(win, own), strict=True):
            level_slots, counts = subdomain_blocks(ids, member, level.size, int(caps.max()))
            slots.append(level_slots)
            over.append(jnp.any(counts > jnp.asarray(caps, counts.dtype)))
        return slots, jnp.any(jnp.stack(over))

    def block_overflow(self, x: jax.Array, mode: JetMode | None = None) -> jax.Array:
        """Whether evaluating x (in ``chunk``-sized pieces, as ``apply`` and ``jet`` do) falls
        back to pairs because some subdomain holds more points of a piece than its capacity."""
        def flags(xc: jax.Array, own: jax.Array) -> jax.Array:
            win = self.decomposition.windows(xc, derivatives=mode is not None)
            return jnp.broadcast_to(self._blocks(win, own)[1], own.shape)  # per point

        return jnp.any(chunked_masked(flags, x, self._points_per_chunk()))

    def _from_pairs(self, params: list[dict], win: Windows, mode: JetMode | None):
        n, p = win.ids.shape
        d = win.z.shape[-1]
        scale = jnp.broadcast_to(win.scale, (n, p, d)).reshape(n * p, d)
        value, grad, second = pair_network(params, win.ids.reshape(-1), win.z.reshape(n * p, d),
                                           scale, self.activation, mode, last_linear=True)
        c = value.shape[-1]
        value = value.reshape(n, p, c)
        if mode is not None:
            grad = grad.reshape(d, n, p, c)
            second = second.reshape(second.shape[0], n, p, c)
        value, grad, second = windowed(win.value, win.grad, win.second, value, grad, second, mode)
        s = self.output_scale
        if mode is None:
            return s * jnp.sum(value, axis=1)
        # Sum over each point's pairs; direction-major -> point-major for the chunking.
        return to_jet(s * jnp.sum(value, axis=1), s * jnp.sum(grad, axis=2),
                      s * jnp.sum(second, axis=2), mode)

    def _from_blocks(self, params: list[dict], win: Windows, slots: list[jax.Array],
                     mode: JetMode | None):
        dom = self.decomposition
        n, pairs, d = win.z.shape
        # z, window value, gradient and second derivative of every pair, read per slot with one
        # gather per block; empty slots read zeros (window 0, so they add 0).
        table = jnp.concatenate([win.z, win.value[..., None], win.grad, win.second],
                                axis=-1).reshape(n * pairs, -1)
        points, rows = [], []
        for offset, cols, level_slots, caps in zip(dom.offsets, level_columns(dom), slots,
                                                   self.capacities(n), strict=True):
            p = cols.stop - cols.start
            point = level_slots // p  # empty slots -> row n, dropped below
            flat = point * pairs + cols.start + level_slots % p  # into the whole pair table
            # Subdomains of equal capacity (interior ones, border ones) share one batched
            # evaluation.
            for c in np.unique(caps):
                ids = np.flatnonzero(caps == c)
                slot = table.at[_rows(flat, ids)[:, :c]].get(mode="fill", fill_value=0)
                own = [{"w": _rows(layer["w"], offset + ids),
                        "b": _rows(layer["b"], offset + ids)} for layer in params]
                f = block_network(own, slot[..., :d], win.scale[cols.start], self.activation,
                                  mode, last_linear=True)
                out = windowed_streams(slot[..., d], slot[..., d + 1:2 * d + 1],
                                       slot[..., 2 * d + 1:], f, mode)  # (J_g, C_g, S, m)
                rows.append(out.reshape(-1, out.shape[2] * out.shape[3]))
                points.append(_rows(point, ids)[:, :c].reshape(-1))
        stacked = jnp.concatenate(rows)
        out = jnp.zeros((n + 1, stacked.shape[1]), stacked.dtype)
        out = self.output_scale * out.at[jnp.concatenate(points)].add(stacked)[:n]
        m = params[-1]["b"].shape[-1]
        value = out[:, :m]
        if mode is None:
            return value
        grad = out[:, m:(1 + d) * m].reshape(n, d, m)
        second = out[:, (1 + d) * m:]
        return Jet(value, grad, second if mode == "laplacian" else second.reshape(n, d, m))

    def _pairs_at(self, params: list[dict], x: jax.Array, mode: JetMode | None):
        return self._from_pairs(params, self.decomposition.windows(x, mode is not None), mode)

    def _blocks_at(self, params: list[dict], x: jax.Array, own: jax.Array,
                   mode: JetMode | None):
        """Subdomain-major evaluation of x, and (per point) whether some block overflowed."""
        win = self.decomposition.windows(x, derivatives=mode is not None)
        slots, overflow = self._blocks(win, own)
        return self._from_blocks(params, win, slots, mode), jnp.broadcast_to(overflow, own.shape)

    def _evaluate(self, params: list[dict], x: jax.Array, mode: JetMode | None):
        per = self._points_per_chunk()

        def pairs(p: list[dict], x: jax.Array):
            return chunked(lambda xc: self._pairs_at(p, xc, mode), x, per)

        if not self.uses_blocks(min(x.shape[0], per)):
            return pairs(params, x)
        out, overflow = chunked_masked(lambda xc, own: self._blocks_at(params, xc, own, mode),
                                       x, per)
        # Where a block overflowed, its result is incomplete: the whole call is redone pair-major
        # (both branches are compiled; only the taken one runs, outside vmap). The fallback is
        # rematerialised in the backward pass, so that the cond's only residuals are its inputs:
        # the blocks' own residuals stay outside, where XLA handles them as without a cond.
        return jax.lax.cond(jnp.any(overflow), jax.checkpoint(lambda p, x, _: pairs(p, x)),
                            lambda p, x, blocks: blocks, params, x, out)

    def apply(self, params: list[dict], x: jax.Array) -> jax.Array:
        return self._evaluate(params, x, None)

    def jet(self, params: list[dict], x: jax.Array, mode: JetMode) -> Jet:
        """Value, input gradient and Laplacian / Hessian diagonal in one pass: each subdomain
        network (per block or per pair) propagates them as ``MLP.jet`` does, and the window
        enters by the product rule."""
        return self._evaluate(params, x, mode)

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
