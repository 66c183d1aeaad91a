"""The five axes of the benchmark as typed protocols, and the capabilities a component declares.

A component is a frozen dataclass registered under a name (``pinnbench.registry``); its fields are
its options (``option()``). What the engine calls on it is the protocol of its axis below. Every
stateful method takes its arguments in one order, ``(state, step, *inputs)``:

    optimizer.step(state, step, objective, params) -> (params, state, info)
    sampler.update(state, step, problem, probe)    -> state
    loss.update(state, step, objective, params)    -> state

Anything beyond the protocol is a *capability*: the component lists it in its class attribute
``capabilities`` (a frozenset of the names below), provides the methods the capability names, and
the engine and the other components ask ``has(component, CAPABILITY)`` instead of testing for a
class or an attribute. Registration checks both (``conformance``), so a component that claims a
capability without its methods, or lacks a method of its axis, is refused with one line before
anything trains.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from pinnbench.registry import component_name

if TYPE_CHECKING:
    import numpy as np

Array = Any  # a jax.Array (not imported here: the registry loads this module before JAX)
Params = Any


class ProtocolError(TypeError):
    """A component that does not implement its axis's protocol or a capability it declares."""


# ---- the five axes ------------------------------------------------------------------------------
class Problem(Protocol):
    """A PDE problem: geometry, constraints as residual vectors, a reference solution.

    ``constraints()`` returns :class:`pinnbench.problems.base.Constraint` objects, each a residual
    function of a :class:`pinnbench.derivatives.Field` on one region ("interior", "boundary",
    "initial"). ``reference(x)`` maps float64 points (M, dim) to (M, len(outputs)).
    """

    lower: tuple[float, ...]
    upper: tuple[float, ...]
    outputs: tuple[str, ...]
    time_dependent: bool
    capabilities: frozenset[str]

    @property
    def dim(self) -> int: ...

    def constraints(self) -> tuple[Any, ...]: ...

    def sample(self, region: str, key: Array, n: int, dtype: Any) -> Array: ...

    def eval_points(self) -> np.ndarray: ...

    def eval_axes(self) -> list[np.ndarray] | None: ...

    def reference(self, x: np.ndarray) -> np.ndarray: ...


class Model(Protocol):
    """u_theta(x): ``bind`` to the problem's box, ``init`` parameters (a pytree), ``apply``."""

    capabilities: frozenset[str]

    def bind(self, lower: tuple[float, ...], upper: tuple[float, ...]) -> Model: ...

    def init(self, key: Array, in_dim: int, out_dim: int, dtype: Any) -> Params: ...

    def apply(self, params: Params, x: Array) -> Array: ...


class Optimizer(Protocol):
    """``step`` returns ``info``, a dict with at least "loss" (the loss before the step) and "done"
    (True once the method stopped by itself; later steps leave params unchanged), optionally
    "work" (counts of "grad", "loss", "jacobian", "hvp" evaluations of this step, see
    ``pinnbench.optim.base.work``). ``summary`` gives host-side facts for the runs row."""

    capabilities: frozenset[str]

    def init(self, params: Params) -> Any: ...

    def step(self, state: Any, step: Array, objective: Any,
             params: Params) -> tuple[Params, Any, dict[str, Any]]: ...

    def summary(self, state: Any) -> dict[str, Any]: ...


class Sampler(Protocol):
    """Collocation points: ``state["points"]`` maps each region to an (N, dim) array. ``probe``
    (a :class:`pinnbench.sampling.base.Probe`) shows the current network's residuals."""

    fixed: bool
    capabilities: frozenset[str]

    def init(self, problem: Problem, key: Array, dtype: Any) -> dict[str, Any]: ...

    def update(self, state: dict[str, Any], step: Array, problem: Problem,
               probe: Any = None) -> dict[str, Any]: ...


class LossStrategy(Protocol):
    """How residuals become the loss: the terms trained on, and per-term weights over steps."""

    fixed: bool
    capabilities: frozenset[str]

    def constraints(self, problem: Problem) -> tuple[Any, ...]: ...

    def init(self, constraints: tuple[Any, ...], dtype: Any) -> Any: ...

    def update(self, state: Any, step: Array, objective: Any, params: Params) -> Any: ...

    def weights(self, state: Any) -> dict[str, Array]: ...


AXES: dict[str, type] = {"problem": Problem, "model": Model, "optimizer": Optimizer,
                         "sampler": Sampler, "loss": LossStrategy}

# Methods (and, for problems, attributes) the engine calls on every component of an axis.
REQUIRED: dict[str, tuple[str, ...]] = {
    "problem": ("constraints", "sample", "eval_points", "eval_axes", "reference"),
    "model": ("bind", "init", "apply"),
    "optimizer": ("init", "step", "summary"),
    "sampler": ("init", "update"),
    "loss": ("constraints", "init", "update", "weights"),
}
REQUIRED_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "problem": ("lower", "upper", "outputs", "time_dependent", "dim"),
    "sampler": ("fixed",),
    "loss": ("fixed",),
}


# ---- capabilities -------------------------------------------------------------------------------
class Blocks(NamedTuple):
    """A residual vector with its Jacobian stored as per-expert blocks (``BLOCK_JACOBIAN``)."""

    r: Array         # (R,) sqrt(w_k / N_k) r_k, rows point by point
    J: Array         # (M, B, P): block rows x expert parameters (padding rows are zero)
    rows: Array      # (M, B): global row of each block row
    interior: Array  # (N_interior,) unweighted |r|^2 per interior point (adaptive sampling)
    dropped: Array   # members beyond an expert's capacity, worst expert (0: exact)


class Jet(Protocol):
    """Model capability ``jet``: value, input gradient and Laplacian ("laplacian") or Hessian
    diagonal ("diag") in one forward pass, as a :class:`pinnbench.derivatives.Jet`."""

    def jet(self, params: Params, x: Array, mode: str) -> Any: ...


class Snapshot(Protocol):
    """Model capability ``snapshot``: arrays recorded in the history at every evaluation (e.g.
    ball centres), as history columns ``model.<name>``."""

    def snapshot(self, params: Params) -> dict[str, Array]: ...


class LinearSystem(Protocol):
    """Model capability ``linear_system``: the output is linear in ``params["out"]`` (fixed
    basis, ELM), so a linear least-squares solver can ask for the residual system.

    ``linear_system(objective, params)`` returns ``(blocks, r)``: blocks as a list of
    (values (rows, P, K), column-block ids (rows, P)) and the stacked residual r at ``params``.
    ``solver_geometry()`` returns what bounds a Schwarz patch (a decomposition), or None."""

    def linear_system(self, objective: Any, params: Params) -> tuple[list, Array]: ...

    def solver_geometry(self) -> Any: ...


class BlockJacobian(Protocol):
    """Model capability ``block_jacobian``: parameters split into M experts of P entries each,
    and a residual Jacobian that is block-sparse over them (PINN Balls)."""

    def block_system(self, objective: Any, params: Params) -> Blocks: ...

    def expert_vectors(self, params: Params) -> tuple[Array, Callable[[Array], Params]]:
        """(M, P) flat expert parameters, and the map from such an array back to params."""
        ...


class Density(Protocol):
    """Model capability ``density``: an adaptive sampling density over the domain that the model
    parameterises, and the ascent step that moves it toward high residuals (AAS)."""

    def density(self, params: Params, x: Array) -> Array: ...

    def ascend_density(self, params: Params, x: Array, sq_residual: Array,
                       lr: Array) -> Params: ...


class Random(Protocol):
    """Optimizer capability ``random``: random choices inside the steps (APTS's data partitions)
    that follow the run's seed. ``init(params)`` has no key; the engine passes one derived from
    the run's seed once, right after ``init``, and the state carries it from then on."""

    def seed_state(self, state: Any, key: Array) -> Any: ...


class Solution(Protocol):
    """Problem capability ``solution``: the exact solution in closed form, written against an
    array namespace (``xp`` = numpy or jax.numpy), so it can be differentiated."""

    def solution(self, x: Any, xp: Any) -> Any: ...


class ReadsProblem(Protocol):
    """Model capability ``reads_problem``: the model needs data of the problem it is trained on
    (e.g. the hard-constraint ansatz's g and D); ``bound`` calls ``bind_problem`` after ``bind``."""

    def bind_problem(self, problem: Any) -> Any: ...


class Ansatz(Protocol):
    """Problem capability ``ansatz``: ``ansatz(x) -> (g, D)``, each (N, outputs) jax arrays, such
    that u = g + D * N satisfies the problem's Dirichlet and initial constraints exactly for any
    network output N (D vanishes where they hold, g carries their data)."""

    def ansatz(self, x: Any) -> tuple[Any, Any]: ...


class Unknowns(Protocol):
    """Problem capability ``unknowns``: coefficients the problem does not know (an inverse
    problem), as :class:`pinnbench.problems.inverse.Unknown` objects; the engine trains them
    with the network (docs/problems.md, "Inverse problems")."""

    def unknowns(self) -> tuple[Any, ...]: ...


JET = "jet"
SNAPSHOT = "snapshot"
LINEAR_SYSTEM = "linear_system"
BLOCK_JACOBIAN = "block_jacobian"
DENSITY = "density"
RANDOM = "random"
SOLUTION = "solution"
LINEAR = "linear"  # problem: every residual is affine in u (no methods needed)
READS_PROBLEM = "reads_problem"
ANSATZ = "ansatz"
UNKNOWNS = "unknowns"

CAPABILITIES: dict[str, tuple[type | None, tuple[str, ...], str]] = {
    # name: (protocol, methods it needs, axis it belongs to)
    JET: (Jet, ("jet",), "model"),
    SNAPSHOT: (Snapshot, ("snapshot",), "model"),
    LINEAR_SYSTEM: (LinearSystem, ("linear_system", "solver_geometry"), "model"),
    BLOCK_JACOBIAN: (BlockJacobian, ("block_system", "expert_vectors"), "model"),
    DENSITY: (Density, ("density", "ascend_density"), "model"),
    RANDOM: (Random, ("seed_state",), "optimizer"),
    SOLUTION: (Solution, ("solution",), "problem"),
    LINEAR: (None, (), "problem"),
    READS_PROBLEM: (ReadsProblem, ("bind_problem",), "model"),
    ANSATZ: (Ansatz, ("ansatz",), "problem"),
    UNKNOWNS: (Unknowns, ("unknowns",), "problem"),
}


def has(component: Any, capability: str) -> bool:
    """Whether ``component`` declares ``capability`` (see ``CAPABILITIES``)."""
    return capability in component.capabilities


def bound(model: Any, problem: Any) -> Any:
    """``model`` bound to ``problem``: to its box, and to its data where the model reads some."""
    model = model.bind(problem.lower, problem.upper)
    return model.bind_problem(problem) if has(model, READS_PROBLEM) else model


def conformance(kind: str, cls: type) -> list[str]:
    """What ``cls`` lacks to be a component of axis ``kind``: an empty list when it conforms."""
    missing = [f"method {m}()" for m in REQUIRED[kind] if not callable(_lookup(cls, m))]
    missing += [f"attribute {a}" for a in REQUIRED_ATTRIBUTES.get(kind, ())
                if _lookup(cls, a) is None and a not in _field_names(cls)]
    for cap in sorted(cls.capabilities):
        if cap not in CAPABILITIES:
            missing.append(f"a known capability instead of {cap!r} (known: "
                           f"{', '.join(sorted(CAPABILITIES))})")
            continue
        _, methods, axis = CAPABILITIES[cap]
        if axis != kind:
            missing.append(f"no capability {cap!r} (it belongs to the {axis} axis)")
        missing += [f"method {m}() for capability {cap!r}" for m in methods
                    if not callable(_lookup(cls, m))]
    return missing


def _lookup(cls: type, name: str) -> Any:
    for klass in cls.__mro__:
        if name in vars(klass):
            return vars(klass)[name]
    return None


def _field_names(cls: type) -> set[str]:
    return set(vars(cls).get("__dataclass_fields__", {}))


def check_step_info(info: Mapping[str, Any], optimizer: Any) -> None:
    """The keys every optimizer step must return; raised while tracing, before any training."""
    if not isinstance(info, Mapping):
        raise ProtocolError(f"optimizer {component_name(optimizer)}: step() must return "
                            f"(params, state, info) with info a dict; got {type(info).__name__}")
    lacking = [k for k in ("loss", "done") if k not in info]
    if lacking:
        raise ProtocolError(f"optimizer {component_name(optimizer)}: step() info lacks "
                            f"{', '.join(repr(k) for k in lacking)}; expected a dict with "
                            "'loss' (the loss before the step) and 'done' (bool), optionally "
                            "'work'")


