"""ELM-FBPINN: fixed random (or polynomial) basis functions per subdomain, trainable output weights.

u(x) = sum_j w_j(x) sum_k a_jk phi_k(norm_j(x))   (Anderson, Dolean, Moseley & Pestana 2024).

The parameters are ``{"hidden": [...], "out": a}`` with a of shape (J, K, outputs). The hidden
layers are drawn once from the run's seed and kept in the parameters (so a run's saved parameters
reproduce its basis), but the model reads them through ``stop_gradient``: a gradient optimizer
trains only ``out``, and the least-squares optimizer (``lstsq``) only ever updates ``out``.

For a linear PDE the residual is affine in a, so training is a linear least-squares problem.
:meth:`ELMFBPINN.linear_system` assembles it from the basis functions' forward-mode jets: every
point's row has one block of K·outputs entries per (point, subdomain) pair, so the matrix is
stored block-sparse, (rows, P, K·outputs) values with (rows, P) subdomain ids.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from pinnbench.derivatives import Field, Jet, JetMode
from pinnbench.models.base import ACTIVATIONS
from pinnbench.models.decomposition import chunked
from pinnbench.models.fbpinn import Decomposed, pair_network, to_jet, windowed
from pinnbench.protocols import LINEAR_SYSTEM
from pinnbench.registry import models, option, positive

BASES = ("random", "polynomial")


class NotLocal(Exception):
    """A residual asked for something a point's own basis jets cannot give (u at other points,
    mixed second derivatives): its rows are then built densely."""


class JetField:
    """Field-like view of given jets (value (N, m), grad (N, d, m), Hessian diagonal (N, d, m)) at
    points x, so that a problem's residual can be evaluated, and differentiated, on them."""

    def __init__(self, *args: Any) -> None:
        raise NotLocal("field_at")  # problems build Fields at other points this way

    @classmethod
    def of(cls, x: jax.Array, value: jax.Array, grad: jax.Array, second: jax.Array) -> JetField:
        f = object.__new__(cls)
        f.x, f.value, f.grad, f._second = x, value, grad, second
        f.model = f.params = None
        return f

    @property
    def dim(self) -> int:
        return self.x.shape[1]

    def d(self, i: int) -> jax.Array:
        return self.grad[:, i, :]

    def d2(self, i: int, j: int | None = None) -> jax.Array:
        if j is not None and j != i:
            raise NotLocal("mixed second derivative")
        return self._second[:, i, :]

    @property
    def laplacian(self) -> jax.Array:
        return jnp.sum(self._second, axis=1)

    def laplacian_over(self, axes: tuple[int, ...]) -> jax.Array:
        return sum(self.d2(i) for i in axes)


def legendre(z: jax.Array, degree: int) -> list[jax.Array]:
    """P_0(z) .. P_degree(z) by Bonnet's recurrence."""
    out = [jnp.ones_like(z), z]
    for n in range(1, degree):
        out.append(((2 * n + 1) * z * out[n] - n * out[n - 1]) / (n + 1))
    return out[: degree + 1]


def multi_indices(d: int, degree: int) -> list[tuple[int, ...]]:
    """Exponents of the d-variate polynomials of total degree <= degree."""
    return [a for a in itertools.product(range(degree + 1), repeat=d) if sum(a) <= degree]


@models.register("elm_fbpinn")
@dataclasses.dataclass(frozen=True)
class ELMFBPINN(Decomposed):
    """Extreme-learning-machine FBPINN: per subdomain, K fixed basis functions and trainable
    output weights, blended by the (multilevel) partition of unity of ``fbpinn``.

    ``basis = "random"``: ``depth`` tanh layers of ``width`` units with weights and biases drawn
    from N(0, init_scale^2) on the subdomain's [-1, 1]^d coordinates (K = width).
    ``basis = "polynomial"``: Legendre products of total degree <= ``degree`` (K = C(d + degree,
    d), e.g. 6 for degree 2 in 2D), far better conditioned than random features.
    """

    basis: str = option("random", "basis functions per subdomain", check=lambda v: v in BASES,
                        expect=f"one of {list(BASES)}")
    width: int = positive("random basis: basis functions (units of the last hidden layer)", 16)
    depth: int = positive("random basis: fixed hidden layers", 1)
    activation: str = option("tanh", "random basis: activation", check=lambda v: v in ACTIVATIONS,
                             expect=f"one of {sorted(ACTIVATIONS)}")
    init_scale: float = positive("random basis: standard deviation of the fixed weights", 1.0)
    degree: int = option(2, "polynomial basis: total degree", check=lambda v: v >= 0,
                         expect=">= 0")

    capabilities = frozenset({LINEAR_SYSTEM})  # with JET from Decomposed

    def basis_size(self, in_dim: int) -> int:
        """K, basis functions per subdomain."""
        if self.basis == "polynomial":
            return len(multi_indices(in_dim, self.degree))
        return self.width

    def init(self, key: jax.Array, in_dim: int, out_dim: int, dtype: jnp.dtype) -> dict:
        n = self.decomposition.size
        hidden = []
        if self.basis == "random":
            sizes = [in_dim] + [self.width] * self.depth
            for k, a, b in zip(jax.random.split(key, self.depth), sizes[:-1], sizes[1:],
                               strict=True):
                kw, kb = jax.random.split(k)
                hidden.append({"w": self.init_scale * jax.random.normal(kw, (n, a, b), dtype),
                               "b": self.init_scale * jax.random.normal(kb, (n, b), dtype)})
        out = jnp.zeros((n, self.basis_size(in_dim), out_dim), dtype)
        return {"hidden": hidden, "out": out}

    # ---- basis functions ---------------------------------------------------------------------
    def _features(self, hidden: list[dict], ids: jax.Array, z: jax.Array, scale: jax.Array,
                  mode: JetMode | None):
        """phi_k on each pair, with input derivatives (``pair_network`` layout)."""
        if self.basis == "random":
            return pair_network(hidden, ids, z, scale, self.activation, mode, last_linear=False)
        d = z.shape[1]
        ones = jnp.ones_like(z)

        def polys(zz):
            return jnp.stack(legendre(zz, self.degree), axis=-1)  # (Q, d, degree + 1)

        def first(zz):
            return jax.jvp(polys, (zz,), (ones,))

        (p0, p1), (_, p2) = jax.jvp(first, (z,), (ones,))
        alphas = np.asarray(multi_indices(d, self.degree))  # (K, d)
        factors = [p0[:, i, alphas[:, i]] for i in range(d)]  # each (Q, K)
        value = math.prod(factors)
        if mode is None:
            return value, None, None
        others = [math.prod(factors[:i] + factors[i + 1:]) for i in range(d)]
        grad = jnp.stack([scale[:, i:i + 1] * p1[:, i, alphas[:, i]] * others[i]
                          for i in range(d)])
        diag = jnp.stack([scale[:, i:i + 1] ** 2 * p2[:, i, alphas[:, i]] * others[i]
                          for i in range(d)])
        return value, grad, (jnp.sum(diag, axis=0, keepdims=True) if mode == "laplacian"
                             else diag)

    def _basis(self, hidden: list[dict], x: jax.Array, mode: JetMode | None):
        """Windowed basis functions per pair: ids (N, P), value (N, P, K), grad (d, N, P, K) and
        second (1 or d, N, P, K)."""
        hidden = jax.lax.stop_gradient(hidden)
        win = self.decomposition.windows(x, derivatives=mode is not None)
        n, p = win.ids.shape
        d = x.shape[1]
        scale = jnp.broadcast_to(win.scale, (n, p, d)).reshape(n * p, d)
        value, grad, second = self._features(hidden, win.ids.reshape(-1),
                                             win.z.reshape(n * p, d), scale, mode)
        k = value.shape[-1]
        value = value.reshape(n, p, k)
        if mode is not None:
            grad = grad.reshape(d, n, p, k)
            second = second.reshape(second.shape[0], n, p, k)
        return (win.ids,) + windowed(win.value, win.grad, win.second, value, grad, second, mode)

    def _evaluate(self, params: dict, x: jax.Array, mode: JetMode | None):
        ids, value, grad, second = self._basis(params["hidden"], x, mode)
        out = params["out"][ids]  # (N, P, K, m)
        u = jnp.einsum("npk,npkm->nm", value, out)
        if mode is None:
            return u
        return to_jet(u, jnp.einsum("dnpk,npkm->dnm", grad, out),
                      jnp.einsum("dnpk,npkm->dnm", second, out), mode)

    def _points_per_chunk(self) -> int:
        return max(1, self.chunk // self.decomposition.pairs_per_point)

    def apply(self, params: dict, x: jax.Array) -> jax.Array:
        return chunked(lambda xc: self._evaluate(params, xc, None), x, self._points_per_chunk())

    def jet(self, params: dict, x: jax.Array, mode: JetMode) -> Jet:
        return chunked(lambda xc: self._evaluate(params, xc, mode), x, self._points_per_chunk())

    def basis_jets(self, params: dict, x: jax.Array) -> tuple[jax.Array, ...]:
        """Every point's windowed basis functions, point-major: ids (N, P), value (N, P, K),
        grad (N, d, P, K), Hessian diagonal (N, d, P, K)."""
        def one(xc):
            ids, value, grad, second = self._basis(params["hidden"], xc, "diag")
            return ids, value, jnp.moveaxis(grad, 0, 1), jnp.moveaxis(second, 0, 1)

        return chunked(one, x, self._points_per_chunk())

    # ---- the least-squares system ------------------------------------------------------------
    def solver_geometry(self) -> Any:
        """The decomposition, which bounds the least-squares solver's Schwarz patches."""
        return self.domain

    def linear_system(self, objective: Any, params: dict) -> tuple[list, jax.Array]:
        """The residual vector r (sqrt(w_k / N_k) r_k stacked as ``Objective.residual_vector``)
        and its Jacobian with respect to ``params["out"]``, block-sparse.

        Returns ([(values (R_k, P_k, K·m), ids (R_k, P_k)) per constraint], r). Rows come from
        the jets of the basis functions pushed through the constraint's residual by forward mode
        (one jvp per basis slot of a point, over the whole batch, so the cost is about the number
        of nonzeros). Exact for any residual: for linear problems the residual is affine in the
        output weights, for nonlinear ones this is the Gauss-Newton Jacobian at ``params``.
        A residual that needs u at other points (periodic conditions) or mixed derivatives gets
        dense rows instead (reverse or forward mode over the flattened output weights).
        """
        out = params["out"]
        n_sub, k, m = out.shape
        blocks, values = [], []
        cache: dict[str, tuple] = {}
        for c in objective.problem.constraints():
            x = objective.points[c.region]
            if c.region not in cache:
                jet = self.jet(params, x, "diag")
                cache[c.region] = (jet, self.basis_jets(params, x))
            jet, basis = cache[c.region]
            try:
                r, vals, ids = _local_rows(c, x, jet, basis, m)
            except (NotLocal, AttributeError):
                r, vals, ids = self._dense_rows(c, x, params)
            scale = jnp.sqrt(objective.weight(c.name) / r.shape[0])
            values.append(scale * r)
            blocks.append((scale * vals, ids))
        return blocks, jnp.concatenate(values)

    def _dense_rows(self, c: Any, x: jax.Array, params: dict):
        out = params["out"]
        n_sub, k, m = out.shape

        def residual(flat):
            p = {"hidden": params["hidden"], "out": flat.reshape(out.shape)}
            return jnp.ravel(c.residual(Field(self, p, x)))

        flat = jnp.ravel(out)
        r = residual(flat)
        jac = (jax.jacrev if r.shape[0] < flat.size else jax.jacfwd)(residual)(flat)
        ids = jnp.broadcast_to(jnp.arange(n_sub, dtype=jnp.int32), (r.shape[0], n_sub))
        return r, jac.reshape(r.shape[0], n_sub, k * m), ids


def _local_rows(c: Any, x: jax.Array, jet: Jet, basis: tuple, m: int):
    """Residual and block rows of one constraint from its points' own basis jets."""
    ids, bv, bg, bs = basis  # (N, P), (N, P, K), (N, d, P, K), (N, d, P, K)
    n, p = ids.shape
    k = bv.shape[-1]

    def residual(value, grad, second):
        return c.residual(JetField.of(x, value, grad, second))

    r = residual(jet.value, jet.grad, jet.second)
    # Slot tangents: basis function (p, k) in output channel ch, all points at once.
    tv = jnp.moveaxis(bv.reshape(n, p * k), 1, 0)  # (S, N)
    tg = jnp.moveaxis(bg.reshape(n, -1, p * k), 2, 0)  # (S, N, d)
    ts = jnp.moveaxis(bs.reshape(n, -1, p * k), 2, 0)
    columns = []
    for ch in range(m):
        onehot = jnp.zeros((m,), x.dtype).at[ch].set(1.0)

        def slot(v, g, s, onehot=onehot):
            tangent = (v[:, None] * onehot, g[..., None] * onehot, s[..., None] * onehot)
            return jax.jvp(residual, (jet.value, jet.grad, jet.second), tangent)[1]

        columns.append(jax.vmap(slot)(tv, tg, ts))  # (S, N[, q])
    vals = jnp.stack(columns, axis=-1)  # (S, N[, q], m)
    q = 1 if vals.ndim == 3 else vals.shape[2]
    vals = jnp.moveaxis(vals.reshape(p, k, n, q, m), (2, 3), (0, 1)).reshape(n * q, p, k * m)
    return jnp.ravel(r), vals, jnp.repeat(ids, q, axis=0)
