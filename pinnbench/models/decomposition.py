"""Overlapping rectangular domain decompositions, their windows and (point, subdomain) pair tables.

A level splits the box [lower, upper] into ``n`` subdomains per axis: centres on
``linspace(lower, upper, n)`` (the midpoint when n = 1), every subdomain ``overlap`` times the
centre spacing wide (``overlap`` times the box when n = 1), so neighbours overlap for overlap > 1.
Several levels (multilevel partitions of unity) halve the count per axis from the finest level
down to one subdomain.

Windows are tensor products of a 1D bump (cosine² by default) normalised per level so that they
sum to one at every point. Because the subdomains of a level form a tensor grid, the sum over
subdomains of the product windows is the product over axes of 1D sums, so the normalised window is
a product of normalised 1D windows and its derivatives follow from 1D derivatives only.

A point lies in at most ceil(overlap) subdomains per axis and level (2^d for overlap < 2): the pair
table is point-major, (N, P) subdomain ids with a window per pair, where P is that bound summed over
levels; pairs whose window is zero are kept (with window 0) so that every shape is static.

For subdomain-major evaluation, ``subdomain_blocks`` regroups a pair table by subdomain into blocks
of static capacity (``block_capacities``, from the share of the box each support covers).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


def _cosine2(s: jax.Array) -> jax.Array:
    return jnp.cos(0.5 * jnp.pi * s) ** 2


def _bump3(s: jax.Array) -> jax.Array:
    # (1 - s^2)^3: C^2 at the edge of the support, so second derivatives are continuous.
    return (1.0 - s * s) ** 3


# Window shapes on s in (-1, 1) (zero outside): s = 2 (x - centre) / width.
WINDOWS: dict[str, Callable[[jax.Array], jax.Array]] = {"cosine2": _cosine2, "bump3": _bump3}


@dataclasses.dataclass(frozen=True)
class Level:
    """One partition of unity: ``counts[i]`` subdomains along axis i."""

    counts: tuple[int, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    overlap: float

    @property
    def size(self) -> int:
        return math.prod(self.counts)

    def spacing(self, axis: int) -> float:
        n, length = self.counts[axis], self.upper[axis] - self.lower[axis]
        return length if n == 1 else length / (n - 1)

    def width(self, axis: int) -> float:
        return self.overlap * self.spacing(axis)

    def candidates(self, axis: int) -> int:
        """The most subdomains of this level that a point can lie in along ``axis``."""
        return 1 if self.counts[axis] == 1 else min(self.counts[axis], math.ceil(self.overlap))

    @property
    def pairs_per_point(self) -> int:
        return math.prod(self.candidates(i) for i in range(len(self.counts)))

    def centres(self) -> np.ndarray:
        """(size, d) subdomain centres, subdomain ids in row-major order of the per-axis index."""
        axes = [np.array([0.5 * (lo + hi)]) if n == 1 else np.linspace(lo, hi, n)
                for n, lo, hi in zip(self.counts, self.lower, self.upper, strict=True)]
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1)


class Windows(NamedTuple):
    """Pair table for a batch of N points and P pairs per point.

    ids (N, P) global subdomain ids (any in range where the window is zero); z (N, P, d) the point
    in the subdomain's normalised coordinates; scale (P, d) dz/dx; value (N, P) the normalised
    window; grad (N, P, d) and second (N, P, d) its first and unmixed second derivatives (zeros
    when not asked for).
    """

    ids: jax.Array
    z: jax.Array
    scale: jax.Array
    value: jax.Array
    grad: jax.Array
    second: jax.Array


def _axis_windows(level: Level, axis: int, x: jax.Array, shape: Callable,
                  derivatives: bool) -> tuple[jax.Array, ...]:
    """1D candidates along one axis: index (N, m), valid (N, m), normalised window and its first
    and second derivative (N, m)."""
    n = level.counts[axis]
    m = level.candidates(axis)
    h = level.spacing(axis)
    half = 0.5 * level.width(axis)
    lo = level.lower[axis]
    if n == 1:
        index = jnp.zeros((x.shape[0], 1), jnp.int32)
        centre = jnp.full((x.shape[0], 1), 0.5 * (lo + level.upper[axis]), x.dtype)
    else:
        # Subdomain j covers x when |x - c_j| < half, i.e. t - overlap/2 < j < t + overlap/2 in
        # units of the spacing; the first such integer starts m consecutive candidates.
        t = jax.lax.stop_gradient((x - lo) / h)
        first = jnp.floor(t - 0.5 * level.overlap).astype(jnp.int32) + 1
        index = first[:, None] + jnp.arange(m, dtype=jnp.int32)
        centre = lo + index.astype(x.dtype) * h
    in_range = (index >= 0) & (index < n)

    def normalised(xs: jax.Array) -> jax.Array:
        s = (xs[:, None] - centre) / half
        inside = in_range & (jnp.abs(s) < 1.0)
        raw = jnp.where(inside, shape(jnp.where(inside, s, 0.0)), 0.0)
        total = jnp.sum(raw, axis=1, keepdims=True)
        # Every point of the box is covered (overlap > 1); the guard only keeps points outside
        # the box finite.
        return raw / jnp.where(total > 0, total, 1.0)

    if not derivatives:
        value = normalised(x)
        zeros = jnp.zeros_like(value)
        return index, in_range, value, zeros, zeros
    ones = jnp.ones_like(x)

    def first_derivative(xs):
        return jax.jvp(normalised, (xs,), (ones,))

    (value, d1), (_, d2) = jax.jvp(first_derivative, (x,), (ones,))
    return index, in_range, value, d1, d2


@dataclasses.dataclass(frozen=True)
class Decomposition:
    """The levels of a (multilevel) decomposition of a box and their windows."""

    levels: tuple[Level, ...]
    window: str = "cosine2"

    @classmethod
    def build(cls, lower: tuple[float, ...], upper: tuple[float, ...], subdomains: int,
              levels: int, overlap: float, window: str = "cosine2") -> Decomposition:
        """``subdomains`` per axis on the finest level; each coarser level halves it (rounding
        up) down to one, so ``levels`` = log2(subdomains) + 1 gives the full hierarchy."""
        counts, out = subdomains, []
        for _ in range(levels):
            out.append(Level((counts,) * len(lower), tuple(lower), tuple(upper), overlap))
            counts = max(1, math.ceil(counts / 2))
        # Coarsest first: subdomain ids grow from the global level to the finest one.
        return cls(tuple(reversed(out)), window)

    @property
    def dim(self) -> int:
        return len(self.levels[0].counts)

    @property
    def size(self) -> int:
        """J, the number of subdomains over all levels."""
        return sum(level.size for level in self.levels)

    @property
    def offsets(self) -> tuple[int, ...]:
        return tuple(int(v) for v in np.cumsum([0] + [lv.size for lv in self.levels])[:-1])

    @property
    def pairs_per_point(self) -> int:
        """P, the width of the pair table."""
        return sum(level.pairs_per_point for level in self.levels)

    def centres(self) -> np.ndarray:
        """(J, d) centres of every subdomain, in subdomain-id order."""
        return np.concatenate([level.centres() for level in self.levels])

    def widths(self) -> np.ndarray:
        """(J, d) widths of every subdomain."""
        return np.concatenate([
            np.tile([level.width(i) for i in range(self.dim)], (level.size, 1))
            for level in self.levels])

    def level_of(self) -> np.ndarray:
        """(J,) level index of every subdomain (0 = coarsest)."""
        return np.concatenate([np.full(lv.size, i) for i, lv in enumerate(self.levels)])

    def windows(self, x: jax.Array, derivatives: bool = True) -> Windows:
        """The pair table of the points x (N, d), with window derivatives when asked."""
        shape = WINDOWS[self.window]
        n, d = x.shape
        ids, zs, scales, values, grads, seconds = [], [], [], [], [], []
        for level, offset in zip(self.levels, self.offsets, strict=True):
            per_axis = [_axis_windows(level, i, x[:, i], shape, derivatives) for i in range(d)]
            ms = [level.candidates(i) for i in range(d)]
            # Tensor product of the per-axis candidates: pair q <-> (q_0, ..., q_{d-1}).
            combos = np.stack(np.meshgrid(*[np.arange(m) for m in ms], indexing="ij"),
                              axis=-1).reshape(-1, d)
            index = jnp.stack([per_axis[i][0][:, combos[:, i]] for i in range(d)], axis=-1)
            valid = jnp.all(jnp.stack([per_axis[i][1][:, combos[:, i]] for i in range(d)], -1),
                            axis=-1)
            factors = [per_axis[i][2][:, combos[:, i]] for i in range(d)]  # each (N, Pl)
            first = [per_axis[i][3][:, combos[:, i]] for i in range(d)]
            second = [per_axis[i][4][:, combos[:, i]] for i in range(d)]
            value = math.prod(factors)
            others = [math.prod(factors[:i] + factors[i + 1:]) for i in range(d)]
            grads.append(jnp.stack([first[i] * others[i] for i in range(d)], axis=-1))
            seconds.append(jnp.stack([second[i] * others[i] for i in range(d)], axis=-1))
            values.append(value)
            # Out-of-range candidates get window 0 and any in-range id (their row is ignored).
            counts = jnp.asarray(level.counts, jnp.int32)
            safe = jnp.clip(index, 0, counts - 1)
            flat = jnp.zeros(safe.shape[:2], jnp.int32)
            for i in range(d):
                flat = flat * level.counts[i] + safe[..., i]
            ids.append(jnp.where(valid, flat, 0) + offset)
            centre = jnp.stack([
                (0.5 * (level.lower[i] + level.upper[i]) if level.counts[i] == 1
                 else level.lower[i] + safe[..., i].astype(x.dtype) * level.spacing(i))
                * jnp.ones(safe.shape[:2], x.dtype) for i in range(d)], axis=-1)
            scale = jnp.asarray([2.0 / level.width(i) for i in range(d)], x.dtype)
            zs.append((x[:, None, :] - centre) * scale)
            scales.append(jnp.broadcast_to(scale, (level.pairs_per_point, d)))
        return Windows(jnp.concatenate(ids, axis=1), jnp.concatenate(zs, axis=1),
                       jnp.concatenate(scales, axis=0), jnp.concatenate(values, axis=1),
                       jnp.concatenate(grads, axis=1), jnp.concatenate(seconds, axis=1))

    def dense_windows(self, x: jax.Array) -> jax.Array:
        """(N, J) normalised windows of every subdomain at every point: the all-pairs reference
        the pair table is tested against (never used on the hot path)."""
        shape = WINDOWS[self.window]
        centres = jnp.asarray(self.centres(), x.dtype)
        half = 0.5 * jnp.asarray(self.widths(), x.dtype)
        s = (x[:, None, :] - centres) / half
        inside = jnp.abs(s) < 1.0
        raw = jnp.prod(jnp.where(inside, shape(jnp.where(inside, s, 0.0)), 0.0), axis=-1)
        out = []
        for level, offset in zip(self.levels, self.offsets, strict=True):
            block = raw[:, offset:offset + level.size]
            out.append(block / jnp.sum(block, axis=1, keepdims=True))
        return jnp.concatenate(out, axis=1)


def chunked_masked(fn: Callable, x: jax.Array, points_per_chunk: int):
    """fn(x_chunk, own) -> pytree of arrays with a leading point axis, over x in chunks.

    Chunks run one after the other (``lax.map``) under ``jax.checkpoint``, so the gathered
    per-pair weights of only one chunk are alive at a time, in the forward and in the backward
    pass (which recomputes them). x is padded with copies of its last point; own (chunk,) is False
    at those copies, for evaluations that must not count them (blocks of fixed capacity).
    """
    n = x.shape[0]
    if n <= points_per_chunk:
        return fn(x, jnp.ones((n,), bool))
    count = -(-n // points_per_chunk)
    pad = count * points_per_chunk - n
    xp = jnp.concatenate([x, jnp.broadcast_to(x[-1:], (pad, x.shape[1]))]) if pad else x
    own = (jnp.arange(count * points_per_chunk) < n).reshape(count, points_per_chunk)
    out = jax.lax.map(lambda args: jax.checkpoint(fn)(*args),
                      (xp.reshape(count, points_per_chunk, x.shape[1]), own))

    def unchunk(leaf):
        # A leaf's point axis is the first one of size points_per_chunk after the chunk axis.
        return leaf.reshape((count * points_per_chunk,) + leaf.shape[2:])[:n]

    return jax.tree.map(unchunk, out)


def chunked(fn: Callable, x: jax.Array, points_per_chunk: int):
    """``chunked_masked`` for fn(x_chunk), which does not need to know the padding."""
    return chunked_masked(lambda xc, own: fn(xc), x, points_per_chunk)


# ---- subdomain-major blocks -------------------------------------------------------------------
def support_fractions(level: Level) -> np.ndarray:
    """(size,) the fraction of the box inside each subdomain's support: the share of uniformly
    spread points that subdomain holds (less at the box's faces, where supports stick out)."""
    per_axis = []
    for i, n in enumerate(level.counts):
        lo, hi = level.lower[i], level.upper[i]
        centres = np.array([0.5 * (lo + hi)]) if n == 1 else np.linspace(lo, hi, n)
        half = 0.5 * level.width(i)
        per_axis.append((np.minimum(centres + half, hi) - np.maximum(centres - half, lo))
                        / (hi - lo))
    return np.prod(np.meshgrid(*per_axis, indexing="ij"), axis=0).ravel()  # row-major ids


def block_capacities(level: Level, n_points: int, safety: float) -> np.ndarray:
    """(size,) static slots per subdomain of ``level`` for a batch of ``n_points`` points.

    ``safety`` times the expected count of uniformly spread points, plus four standard
    deviations of that count (the largest of hundreds of binomial counts stays below it), and
    never more than the batch.
    """
    mean = n_points * support_fractions(level)
    slots = np.ceil(safety * mean + 4.0 * np.sqrt(mean)).astype(int) + 1
    return np.clip(slots, 1, n_points)


def level_columns(decomposition: Decomposition) -> list[slice]:
    """The columns of the pair table (``Decomposition.windows``) that belong to each level."""
    starts = np.cumsum([0] + [lv.pairs_per_point for lv in decomposition.levels])
    return [slice(int(a), int(b)) for a, b in zip(starts[:-1], starts[1:], strict=True)]


def subdomain_blocks(ids: jax.Array, member: jax.Array, size: int,
                     capacity: int) -> tuple[jax.Array, jax.Array]:
    """Group the member pairs of a pair table by subdomain into fixed-capacity blocks.

    ids (N, P) local subdomain ids in [0, size); member (N, P) which pairs belong in a block.
    Returns slots (size, capacity): the flat pair index (n * P + p) of each slot, N * P for an
    empty slot, and counts (size,): the members of each subdomain. Members past a subdomain's
    capacity are left out, so the blocks are complete only where counts <= capacity.
    """
    m = ids.size
    key = jnp.where(member, ids, size).reshape(-1)  # non-members go to a spare row
    # One sort of a combined (subdomain, pair) key: much faster than sorting two operands.
    wide = (size + 1) * m >= 2**31
    if wide and not jax.config.jax_enable_x64:
        sorted_key, order = jax.lax.sort((key, jnp.arange(m, dtype=jnp.int32)), num_keys=1,
                                          is_stable=True)
    else:
        kind = jnp.int64 if wide else jnp.int32
        combined = jnp.sort(key.astype(kind) * m + jnp.arange(m, dtype=kind))
        sorted_key, order = (combined // m).astype(jnp.int32), (combined % m).astype(jnp.int32)
    # Each subdomain's members are a run of the sorted pairs: find the runs, then read each
    # block off its run (gathers only; scatters of this size are slow on CPU).
    starts = jnp.searchsorted(sorted_key, jnp.arange(size + 1, dtype=jnp.int32)).astype(jnp.int32)
    counts = starts[1:] - starts[:-1]
    column = jnp.arange(capacity, dtype=jnp.int32)
    at = jnp.minimum(starts[:-1, None] + column, m - 1)
    slots = jnp.where(column < counts[:, None], order[at], m)
    return slots, counts
