"""Shared test tools: the exact solution as a differentiable model, a finite-difference Field,
and a few-step training run."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from pinnbench.engine.train import RunResult, train
from pinnbench.spec import RunSpec


class ExactModel:
    """A "network" that returns a closed form, so residuals can be differentiated by AD."""

    capabilities = frozenset()

    def __init__(self, problem: Any) -> None:
        self.solution = problem.solution

    def apply(self, params: Any, x: jax.Array) -> jax.Array:
        return self.solution(x, jnp)


class RefModel:
    """Wraps a numpy function of points (e.g. a problem's ``reference``) for :class:`FDField`."""

    capabilities = frozenset()

    def __init__(self, fn: Any, h: float = 1e-3) -> None:
        self.fn, self.h = fn, h


class FDField:
    """Stands in for :class:`pinnbench.derivatives.Field` with derivatives by fourth-order central
    differences of ``model.fn``: an AD-free check of the same residual code."""

    def __init__(self, model: RefModel, params: Any, x: Any) -> None:
        self.model, self.params = model, params
        self.x = jnp.asarray(x)
        self._x = np.asarray(x, np.float64)
        self.h = model.h

    def _f(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.fn(x), np.float64)

    def _shift(self, **steps: float) -> np.ndarray:
        x = self._x.copy()
        for i, s in steps.items():
            x[:, int(i[1:])] += s
        return self._f(x)

    @property
    def value(self) -> jax.Array:
        return jnp.asarray(self._f(self._x))

    @property
    def dim(self) -> int:
        return self._x.shape[1]

    def d(self, i: int) -> jax.Array:
        h, k = self.h, f"a{i}"
        v = (-self._shift(**{k: 2 * h}) + 8 * self._shift(**{k: h})
             - 8 * self._shift(**{k: -h}) + self._shift(**{k: -2 * h})) / (12 * h)
        return jnp.asarray(v)

    def d2(self, i: int, j: int | None = None) -> jax.Array:
        h = self.h
        j = i if j is None else j
        if i == j:
            k = f"a{i}"
            v = (-self._shift(**{k: 2 * h}) + 16 * self._shift(**{k: h}) - 30 * self._f(self._x)
                 + 16 * self._shift(**{k: -h}) - self._shift(**{k: -2 * h})) / (12 * h * h)
            return jnp.asarray(v)
        a, b = f"a{i}", f"a{j}"
        v = (self._shift(**{a: h, b: h}) - self._shift(**{a: h, b: -h})
             - self._shift(**{a: -h, b: h}) + self._shift(**{a: -h, b: -h})) / (4 * h * h)
        return jnp.asarray(v)

    @property
    def grad(self) -> jax.Array:
        return jnp.stack([self.d(i) for i in range(self.dim)], axis=1)

    @property
    def laplacian(self) -> jax.Array:
        return sum(self.d2(i) for i in range(self.dim))

    def laplacian_over(self, axes: tuple[int, ...]) -> jax.Array:
        return sum(self.d2(i) for i in axes)


def residuals_at(problem: Any, field_for: Any, n: int = 200, seed: int = 0,
                 margin: float = 0.0, jit: bool = False) -> dict[str, np.ndarray]:
    """Every constraint's residual on n points of its region, shrunk away from the box's faces by
    ``margin`` (a fraction of the width) along axes that are not fixed by the region."""
    out = {}
    key = jax.random.PRNGKey(seed)
    lo, hi = np.asarray(problem.lower), np.asarray(problem.upper)
    for c in problem.constraints():
        x = np.asarray(problem.sample(c.region, key, n, jnp.float64))
        if margin:
            inner = lo + margin * (hi - lo) + (x - lo) * (1 - 2 * margin)
            on_face = np.isclose(x, lo) | np.isclose(x, hi)
            x = np.where(on_face, x, inner)
        if jit:  # one compiled call instead of thousands of eager jvp ops
            out[c.name] = np.asarray(jax.jit(lambda x, c=c: c.residual(field_for(x)))(x))
        else:
            out[c.name] = np.asarray(c.residual(field_for(x)))
    return out


def smoke_spec(problem: dict[str, Any], steps: int = 4, precision: str = "float32",
               sampler: dict[str, Any] | None = None) -> RunSpec:
    return RunSpec(
        suite="smoke", problem_label=problem["type"], problem=problem, method_label="adam",
        method={"model": {"type": "mlp", "width": 16, "depth": 2},
                "optimizer": {"type": "adam", "lr": 1e-3},
                "sampler": sampler or {"type": "uniform", "n_interior": 64, "n_boundary": 32,
                                       "n_initial": 32}},
        seed=0, data_seed=0, precision=precision, budget={"steps": steps, "eval_every": steps})


def smoke_train(problem: dict[str, Any], **kw: Any) -> RunResult:
    return train(smoke_spec(problem, **kw))
