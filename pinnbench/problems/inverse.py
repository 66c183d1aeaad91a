"""Inverse problems: coefficients the problem does not know, recovered from observations of the
solution. PINNacle's PoissonInv and HeatInv (Hao et al., NeurIPS 2024; src/pde/inverse.py).

A problem declares its unknowns (capability ``unknowns``): each a scalar, or a field given by a
small network of some of the inputs. The engine then trains the pytree ``Params(net,
unknowns)`` (:func:`with_unknowns`): the solution network's parameters and every unknown's, so
every optimizer (Adam, L-BFGS, LM) works on them unchanged. A residual reads a coefficient with
:func:`coefficient`; on a field that belongs to no trained network (``pinnbench verify``'s
stand-ins, the exact solution in tests) it returns the true coefficient, so the same residual
code checks the reference.

Observations (:class:`Observed`): sites in the domain and the reference there plus Gaussian
noise, as a data constraint ``u(x_i) - y_i`` (its own points, never drawn by a sampler) whose mean
square enters the loss like any other term. Runs record ``coef_rel_l2``, the relative L2 error of
the recovered coefficients against the truth on the evaluation points.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from pinnbench.derivatives import Field
from pinnbench.problems.base import ClosedFormProblem, Constraint, tensor_grid
from pinnbench.protocols import (
    BLOCK_JACOBIAN,
    DENSITY,
    JET,
    LINEAR_SYSTEM,
    SNAPSHOT,
    UNKNOWNS,
    has,
)
from pinnbench.registry import option, problems

Truth = Callable[[Any, Any], Any]  # (x (N, dim), xp) -> (N,): numpy or jax.numpy


# ---- unknown coefficients ---------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Unknown:
    """One unknown coefficient. ``inputs=None``: a scalar, trained from ``initial``. Otherwise a
    field of the input axes ``inputs`` (e.g. space only): a tanh network of ``depth`` hidden
    layers of ``width`` on those inputs scaled to [-1, 1] over [lower, upper], whose last layer
    starts at zero, so the initial guess is the constant ``initial`` either way. ``truth`` is the
    true coefficient (for the error, and for residuals of the exact solution)."""

    name: str
    truth: Truth
    initial: float = 1.0
    inputs: tuple[int, ...] | None = None
    lower: tuple[float, ...] = ()
    upper: tuple[float, ...] = ()
    width: int = 20
    depth: int = 2

    @property
    def is_field(self) -> bool:
        return self.inputs is not None

    def init(self, key: jax.Array, dtype: Any) -> Any:
        if not self.is_field:
            return jnp.asarray(self.initial, dtype)
        sizes = [len(self.inputs), *[self.width] * self.depth, 1]
        layers = []
        pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
        for k, (m, n) in zip(jax.random.split(key, len(pairs)), pairs, strict=True):
            w = jax.random.normal(k, (m, n), dtype) * math.sqrt(2 / (m + n))  # Glorot normal
            layers.append({"w": w, "b": jnp.zeros((n,), dtype)})
        layers[-1]["w"] = jnp.zeros_like(layers[-1]["w"])
        return layers

    def value(self, params: Any, x: jax.Array) -> jax.Array:
        """The coefficient at points x (N, dim) -> (N,)."""
        if not self.is_field:
            return jnp.broadcast_to(params, x.shape[:1]).astype(x.dtype)
        lo = jnp.asarray(self.lower, x.dtype)
        hi = jnp.asarray(self.upper, x.dtype)
        h = 2 * (x[:, list(self.inputs)] - lo) / (hi - lo) - 1
        for layer in params[:-1]:
            h = jnp.tanh(h @ layer["w"] + layer["b"])
        return self.initial + (h @ params[-1]["w"] + params[-1]["b"])[:, 0]


class Params(NamedTuple):
    """What an inverse problem's run trains: the network's parameters and the unknowns'."""

    net: Any
    unknowns: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class WithUnknowns:
    """A model whose parameters carry the problem's unknowns beside the network's. It computes
    u as the wrapped model does (its jet too), and snapshots scalar unknowns into the history
    (``model.<name>``)."""

    inner: Any
    unknowns: tuple[Unknown, ...]

    @property
    def capabilities(self) -> frozenset[str]:
        return (self.inner.capabilities & {JET}) | {SNAPSHOT}

    def bind(self, lower: tuple[float, ...], upper: tuple[float, ...]) -> WithUnknowns:
        return dataclasses.replace(self, inner=self.inner.bind(lower, upper))

    def init(self, key: jax.Array, in_dim: int, out_dim: int, dtype: Any) -> Params:
        # The network gets the run's key as it would without unknowns: the same initial network.
        net = self.inner.init(key, in_dim, out_dim, dtype)
        return Params(net, {u.name: u.init(jax.random.fold_in(key, 7919 + i), dtype)
                            for i, u in enumerate(self.unknowns)})

    def apply(self, params: Params, x: jax.Array) -> jax.Array:
        return self.inner.apply(params.net, x)

    def jet(self, params: Params, x: jax.Array, mode: str) -> Any:
        return self.inner.jet(params.net, x, mode)

    def snapshot(self, params: Params) -> dict[str, jax.Array]:
        out = dict(self.inner.snapshot(params.net)) if has(self.inner, SNAPSHOT) else {}
        out.update({u.name: params.unknowns[u.name] for u in self.unknowns if not u.is_field})
        return out


def with_unknowns(model: Any, problem: Any) -> Any:
    """``model`` extended by the problem's unknowns (the model itself for a forward problem)."""
    if not has(problem, UNKNOWNS):
        return model
    return WithUnknowns(model, tuple(problem.unknowns()))


def coefficient(f: Field, unknown: Unknown,
                axes: tuple[int, ...] = ()) -> tuple[jax.Array, tuple[jax.Array, ...]]:
    """An unknown at the field's points (N,) and its derivatives along ``axes`` (forward mode
    over the batch): the trained one on a network's field, the truth on any other."""
    params = f.params
    if isinstance(params, Params):
        def fn(x):
            return unknown.value(params.unknowns[unknown.name], x)
    else:
        def fn(x):
            return unknown.truth(x, jnp)
    x = jnp.asarray(f.x)
    value = fn(x)
    grads = tuple(jax.jvp(fn, (x,), (jnp.zeros_like(x).at[:, i].set(1.0),))[1] for i in axes)
    return value, grads


def coefficient_values(model: WithUnknowns, params: Params, x: jax.Array) -> dict[str, jax.Array]:
    """Every unknown at points x, as trained."""
    return {u.name: u.value(params.unknowns[u.name], x) for u in model.unknowns}


def coefficient_truth(problem: Any, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every unknown's truth at points x (float64)."""
    x = np.asarray(x, np.float64)
    return {u.name: np.broadcast_to(np.asarray(u.truth(x, np), np.float64), (len(x),))
            for u in problem.unknowns()}


# ---- observations -----------------------------------------------------------------------------
def _integer(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


LAYOUTS = ("grid", "random")


@dataclasses.dataclass(frozen=True)
class Observed:
    """Options of the observations (a mixin of problem options, not registered).

    Sites: ``observation_points`` (a .npy file of (n, dim) points, its first
    ``n_observations`` rows), or else ``observation_layout``: ``grid`` (k points per axis over
    the box including its faces, n = k^dim) or ``random`` (uniform in the box, from
    ``observation_seed``). Values: the reference plus Gaussian noise of standard deviation
    ``noise`` times the largest |u| among them (``observation_seed`` draws it too)."""

    n_observations: int = option(2500, "number of observation sites",
                                 check=lambda v: _integer(v) and v >= 1,
                                 expect="an integer >= 1 (an inverse problem needs data)")
    noise: float = option(0.1, "standard deviation of the observation noise, relative to the "
                          "largest |u| observed", check=lambda v: v >= 0, expect=">= 0")
    observation_seed: int = option(0, "seed of random observation sites and of the noise",
                                   check=_integer, expect="an integer")
    observation_layout: str = option("random", "sites when no file is given: grid | random",
                                     check=lambda v: v in LAYOUTS, expect="grid or random")
    observation_points: str = option("", "a .npy file of observation sites (n, dim); empty: "
                                     "the layout")

    def __post_init__(self) -> None:
        self.observations  # noqa: B018 - checks the sites now (a suite error, not a run error)

    def observation_sites(self) -> np.ndarray:
        n, dim = self.n_observations, self.dim
        if self.observation_points:
            path = Path(self.observation_points)
            try:
                x = np.load(path, allow_pickle=False)
            except (OSError, ValueError) as e:
                raise ValueError(f"observation_points: cannot read {path} as a .npy array "
                                 f"({type(e).__name__})") from None
            if x.ndim != 2 or x.shape[1] != dim:
                raise ValueError(f"observation_points: expected an (n, {dim}) array in {path}, "
                                 f"got shape {x.shape}")
            if len(x) < n:
                raise ValueError(f"n_observations: {n} but observation_points has {len(x)} "
                                 "rows; set n_observations to at most that")
            return np.asarray(x[:n], np.float64)
        if self.observation_layout == "grid":
            k = round(n ** (1 / dim))
            if k**dim != n or k < 2:
                raise ValueError(f"n_observations: {n} sites do not form a grid of k^{dim} "
                                 f"(k >= 2) points; use e.g. {max(k, 2)**dim} or "
                                 "observation_layout = 'random'")
            return tensor_grid([np.linspace(lo, hi, k) for lo, hi in
                                zip(self.lower, self.upper, strict=True)])
        rng = np.random.default_rng([self.observation_seed, 0])
        lo, hi = np.asarray(self.lower, float), np.asarray(self.upper, float)
        return lo + rng.random((n, dim)) * (hi - lo)

    def observation_inside(self, x: np.ndarray) -> np.ndarray:
        """Which sites lie in the closed domain (the box; a problem on a geometry overrides)."""
        lo, hi = np.asarray(self.lower, float), np.asarray(self.upper, float)
        tol = 1e-12 * np.maximum(1.0, np.abs(hi - lo))
        return np.all((x >= lo - tol) & (x <= hi + tol), axis=1)

    @functools.cached_property
    def observations(self) -> tuple[np.ndarray, np.ndarray]:
        """Sites (n, dim) and observed values (n,) of the first output."""
        x = self.observation_sites()
        inside = self.observation_inside(x)
        if not inside.all():
            first = x[np.flatnonzero(~inside)[0]]
            raise ValueError(f"observation_points: {int((~inside).sum())} of {len(x)} sites lie "
                             f"outside the domain (first {np.array2string(first, precision=4)}"
                             f"; box {list(self.lower)} to {list(self.upper)})")
        u = np.asarray(self.reference(x), np.float64)[:, 0]
        scale = float(np.max(np.abs(u))) if u.size else 0.0
        rng = np.random.default_rng([self.observation_seed, 1])
        return x, u + self.noise * scale * rng.standard_normal(len(u))

    def data_constraint(self, name: str = "data", weight: float = 1.0) -> Constraint:
        """u(x_i) - y_i at the observation sites."""
        x, y = self.observations
        return Constraint(name, "observation", lambda f: f.value[:, 0], weight,
                          points=x, values=y)

    def incompatibility(self, parts: dict[str, Any]) -> str | None:
        model = parts.get("model")
        if model is not None and any(has(model, c) for c in (LINEAR_SYSTEM, BLOCK_JACOBIAN,
                                                              DENSITY)):
            return ("the unknown coefficients are trained as extra parameters, which a model "
                    "with a linear system, block Jacobian or density of its own cannot carry; "
                    "use mlp or another plain model")
        return None


# ---- PINNacle's inverse problems ---------------------------------------------------------------
def _poisson_a(x: Any, xp: Any) -> Any:
    return 1 / (1 + x[:, 0] ** 2 + x[:, 1] ** 2 + (x[:, 0] - 1) ** 2 + (x[:, 1] - 1) ** 2)


def _heat_a(x: Any, xp: Any) -> Any:
    return 2 + xp.sin(math.pi * x[:, 0]) * xp.sin(math.pi * x[:, 1])


def divergence_flux(f: Field, a: jax.Array, grad_a: tuple[jax.Array, ...],
                    axes: tuple[int, ...]) -> jax.Array:
    """∇·(a∇u) = a Δu + ∇a·∇u over the spatial ``axes`` (first output)."""
    lap = f.laplacian_over(axes)[:, 0]
    return a * lap + sum(g * f.d(i)[:, 0] for g, i in zip(grad_a, axes, strict=True))


@dataclasses.dataclass(frozen=True)
class InverseClosedForm(Observed, ClosedFormProblem):
    """An inverse problem with a manufactured solution (both of PINNacle's)."""

    capabilities = frozenset({*ClosedFormProblem.capabilities, UNKNOWNS})


@problems.register("poisson_inverse2d")
@dataclasses.dataclass(frozen=True)
class PoissonInverse2D(InverseClosedForm):
    """PINNacle's PoissonInv: ∇·(a∇u) + f = 0 on [0, 1]², a unknown (a field of x, y, known on
    the boundary: a = a* there), u observed at 2500 sites (PINNacle: a 50 x 50 grid, noise std
    0.1 = 0.1 max|u|). a* = 1 / (1 + x² + y² + (x-1)² + (y-1)²), u* = sin πx sin πy, and
    f = -∇·(a*∇u*) = 2π² a* u* + 2π a*² ((2x-1) cos πx sin πy + (2y-1) sin πx cos πy).
    PINNacle's f writes 2x+1 and 2y+1, for which u*, a* leave a residual of order 1; here f is
    the one that (u*, a*) solves, so the closed form is the reference (docs/problems.md)."""

    observation_layout: str = option("grid", "sites when no file is given: grid | random",
                                     check=lambda v: v in LAYOUTS, expect="grid or random")
    initial: float = option(1.0, "initial guess of a (a constant)")
    coef_width: int = option(20, "width of the network of a", check=lambda v: _integer(v)
                             and v >= 1, expect="an integer >= 1")
    coef_depth: int = option(2, "hidden layers of the network of a", check=lambda v: _integer(v)
                             and v >= 1, expect="an integer >= 1")

    lower = (0.0, 0.0)
    upper = (1.0, 1.0)

    def unknowns(self) -> tuple[Unknown, ...]:
        return (Unknown("a", _poisson_a, self.initial, (0, 1), self.lower, self.upper,
                        self.coef_width, self.coef_depth),)

    def solution(self, x, xp):
        return (xp.sin(math.pi * x[:, 0]) * xp.sin(math.pi * x[:, 1]))[:, None]

    def source(self, x: Any, xp: Any = jnp) -> Any:
        s, c, p = xp.sin, xp.cos, math.pi
        a = _poisson_a(x, xp)
        u, v = x[:, 0], x[:, 1]
        return (2 * p**2 * a * s(p * u) * s(p * v)
                + 2 * p * a**2 * ((2 * u - 1) * c(p * u) * s(p * v)
                                  + (2 * v - 1) * s(p * u) * c(p * v)))

    def constraints(self) -> tuple[Constraint, ...]:
        (a_unknown,) = self.unknowns()

        def pde(f: Field):
            a, grad_a = coefficient(f, a_unknown, (0, 1))
            return divergence_flux(f, a, grad_a, (0, 1)) + self.source(f.x)

        def bc_a(f: Field):
            return coefficient(f, a_unknown)[0] - _poisson_a(f.x, jnp)

        return (Constraint("pde", "interior", pde), Constraint("bc_a", "boundary", bc_a),
                self.data_constraint())


@problems.register("heat_inverse2d")
@dataclasses.dataclass(frozen=True)
class HeatInverse2D(InverseClosedForm):
    """PINNacle's HeatInv: u_t = ∇·(a∇u) + f on [-1, 1]² x [0, 1], a unknown (a field of x, y
    only, known on the spatial boundary), u observed at 2500 sites (PINNacle: a data file of
    2500 points; here uniform random, seeded), noise std 0.1 = 0.1 max|u|.
    u* = e^{-t} sin πx sin πy, a* = 2 + sin πx sin πy, f = e^{-t}((4π² - 1) sin πx sin πy +
    π²(2 sin²πx sin²πy - cos²πx sin²πy - sin²πx cos²πy)) (PINNacle's; (u*, a*) solves it)."""

    initial: float = option(1.0, "initial guess of a (a constant)")
    coef_width: int = option(20, "width of the network of a", check=lambda v: _integer(v)
                             and v >= 1, expect="an integer >= 1")
    coef_depth: int = option(2, "hidden layers of the network of a", check=lambda v: _integer(v)
                             and v >= 1, expect="an integer >= 1")

    lower = (-1.0, -1.0, 0.0)
    upper = (1.0, 1.0, 1.0)
    time_dependent = True
    eval_resolution = 41   # 41³ points, as the forward heat problem in 2D

    def unknowns(self) -> tuple[Unknown, ...]:
        return (Unknown("a", _heat_a, self.initial, (0, 1), self.lower[:2], self.upper[:2],
                        self.coef_width, self.coef_depth),)

    def solution(self, x, xp):
        return (xp.exp(-x[:, 2]) * xp.sin(math.pi * x[:, 0]) * xp.sin(math.pi * x[:, 1]))[:, None]

    def source(self, x: Any, xp: Any = jnp) -> Any:
        s, c, p = xp.sin, xp.cos, math.pi
        u, v, t = x[:, 0], x[:, 1], x[:, 2]
        return xp.exp(-t) * ((4 * p**2 - 1) * s(p * u) * s(p * v)
                             + p**2 * (2 * s(p * u) ** 2 * s(p * v) ** 2
                                       - c(p * u) ** 2 * s(p * v) ** 2
                                       - s(p * u) ** 2 * c(p * v) ** 2))

    def constraints(self) -> tuple[Constraint, ...]:
        (a_unknown,) = self.unknowns()

        def pde(f: Field):
            a, grad_a = coefficient(f, a_unknown, (0, 1))
            return f.d(2)[:, 0] - divergence_flux(f, a, grad_a, (0, 1)) - self.source(f.x)

        def bc_a(f: Field):
            return coefficient(f, a_unknown)[0] - _heat_a(f.x, jnp)

        return (Constraint("pde", "interior", pde), Constraint("bc_a", "boundary", bc_a),
                self.data_constraint())
