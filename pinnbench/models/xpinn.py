"""XPINN (Jagtap & Karniadakis 2020): one network per subdomain of a space decomposition, stitched
together by interface terms.

The box is cut along one axis (``axis``) into ``subdomains`` equal slabs; subdomain q has its own
MLP U_q, and u(x) = U_q(x) for x in slab q (a hard partition: no window, no overlap, unlike
FBPINN). The networks only meet through the interface conditions of XPINN (Jagtap & Karniadakis
2020, Sec. 2, the XPINN loss of Eq. (3)-(5)): on points of each interface Gamma_{q,q+1}

- solution continuity: U_q - {{u}} and U_{q+1} - {{u}}, {{u}} = (U_q + U_{q+1}) / 2 the average
  on the interface (the paper's MSE_uavg term), here as the jump (U_q - U_{q+1}) / sqrt(2), whose
  square is the sum of the two squares;
- residual continuity: R_q - R_{q+1}, each subnetwork's residual of the PDE at the same interface
  points (the paper's MSE_R term; it carries the flux continuity of the PDE's highest derivatives).

Residual continuity does not carry the flux when the residual holds no first derivative across
the interface: for u'' = f in 1D the three terms leave u + a (x - x_q) per slab free (a kink at
each interface), so the optional flux term dU_q/dn - dU_{q+1}/dn (cPINN's, Jagtap, Kharazmi &
Karniadakis 2020; ``weight_flux`` of the loss) closes it.

The interface points belong to the decomposition: ``interface_points`` per interface, fixed
(evenly spaced on the interface for d = 2, a seeded uniform draw on it for d > 2; a single point
in 1D). The terms reach the loss through the ``interface`` loss strategy
(``pinnbench.losses.interface``), which adds them to the problem's constraints.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from pinnbench.derivatives import Field, Jet, JetMode
from pinnbench.models.base import ACTIVATIONS, InputMap
from pinnbench.models.mlp import MLP
from pinnbench.protocols import JET
from pinnbench.registry import models, option, positive


class _Subnet:
    """Subnetwork q alone, seen as a model of the XPINN parameters (for its interface residual)."""

    capabilities = frozenset({JET})

    def __init__(self, net: MLP, q: int) -> None:
        self.net, self.q = net, q

    def _params(self, params: dict[str, Any]) -> Any:
        return jax.tree.map(lambda a: a[self.q], params["nets"])

    def apply(self, params: dict[str, Any], x: jax.Array) -> jax.Array:
        return self.net.apply(self._params(params), x)

    def jet(self, params: dict[str, Any], x: jax.Array, mode: JetMode) -> Jet:
        return self.net.jet(self._params(params), x, mode)


@models.register("xpinn")
@dataclasses.dataclass(frozen=True)
class XPINN:
    """XPINN: ``subdomains`` slabs along ``axis``, one MLP each, coupled by interface terms (train
    with ``loss = { type = "interface" }``)."""

    subdomains: int = positive("number of subdomains (slabs along ``axis``)", 2)
    axis: int = option(0, "input axis cut into slabs", check=lambda v: v >= 0, expect=">= 0")
    width: int = positive("hidden units per subnetwork layer", 20)
    depth: int = positive("hidden layers per subnetwork", 3)
    activation: str = option("tanh", "subnetwork activation", check=lambda v: v in ACTIVATIONS,
                             expect=f"one of {sorted(ACTIVATIONS)}")
    interface_points: int = positive("points per interface (1D: always one)", 64)
    inputs: InputMap = dataclasses.field(default=InputMap(), metadata={"internal": True})

    capabilities = frozenset({JET})

    def bind(self, lower: tuple[float, ...], upper: tuple[float, ...]) -> XPINN:
        return dataclasses.replace(self, inputs=InputMap(tuple(lower), tuple(upper)))

    @property
    def net(self) -> MLP:
        return MLP(width=self.width, depth=self.depth, activation=self.activation,
                   inputs=self.inputs)

    def incompatibility(self, parts: dict[str, Any]) -> str | None:
        problem = parts.get("problem")
        if problem is not None and self.axis >= problem.dim:
            return f"xpinn: axis {self.axis} but the problem has {problem.dim} inputs"
        return None

    # ---- the decomposition ------------------------------------------------------------------
    def _box(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        if self.inputs.lower:
            return np.asarray(self.inputs.lower, float), np.asarray(self.inputs.upper, float)
        return -np.ones(d), np.ones(d)

    def cuts(self, d: int) -> np.ndarray:
        """Positions of the subdomains' edges along ``axis``, (subdomains + 1,)."""
        lo, hi = self._box(d)
        return np.linspace(lo[self.axis], hi[self.axis], self.subdomains + 1)

    def owner(self, x: jax.Array) -> jax.Array:
        """Subdomain of each point (a point on an interface belongs to the upper slab)."""
        cuts = jnp.asarray(self.cuts(x.shape[1])[1:-1], x.dtype)
        return jnp.sum(x[:, self.axis:self.axis + 1] >= cuts[None], axis=1)

    def interfaces(self, d: int, dtype: Any) -> jax.Array:
        """Points of every interface, (subdomains - 1, K, d); interface i separates i, i + 1."""
        lo, hi = self._box(d)
        others = [k for k in range(d) if k != self.axis]
        k = 1 if d == 1 else self.interface_points
        if d == 2:  # midpoints of K equal cells along the interface
            t = (np.arange(k) + 0.5) / k
            base = lo[others[0]] + (hi[others[0]] - lo[others[0]]) * t[:, None]
        else:
            u = np.random.default_rng(0).random((k, len(others)))
            base = lo[others] + (hi[others] - lo[others]) * u
        pts = np.zeros((self.subdomains - 1, k, d))
        for i, c in enumerate(self.cuts(d)[1:-1]):
            pts[i][:, others] = base
            pts[i][:, self.axis] = c
        return jnp.asarray(pts, dtype)

    # ---- the model --------------------------------------------------------------------------
    def init(self, key: jax.Array, in_dim: int, out_dim: int, dtype: Any) -> dict[str, Any]:
        keys = jax.random.split(key, self.subdomains)
        return {"nets": jax.vmap(lambda k: self.net.init(k, in_dim, out_dim, dtype))(keys)}

    def _select(self, stacked: jax.Array, owner: jax.Array) -> jax.Array:
        """(S, N, ...) per-subnetwork values -> (N, ...) each point's own subnetwork."""
        return stacked[owner, jnp.arange(owner.shape[0])]

    def apply(self, params: dict[str, Any], x: jax.Array) -> jax.Array:
        # Every subnetwork on every point, then each point's own: S times the work of one
        # network, which keeps shapes static (XPINN baselines use a handful of subdomains).
        u = jax.vmap(lambda p: self.net.apply(p, x))(params["nets"])
        return self._select(u, self.owner(x))

    def jet(self, params: dict[str, Any], x: jax.Array, mode: JetMode) -> Jet:
        jets = jax.vmap(lambda p: self.net.jet(p, x, mode))(params["nets"])
        owner = self.owner(x)
        return Jet(*(self._select(a, owner) for a in jets))

    # ---- the interface terms ----------------------------------------------------------------
    def interface_jumps(self, params: dict[str, Any], d: int) -> jax.Array:
        """Solution continuity: (U_q - U_{q+1}) / sqrt(2) on every interface point, flattened."""
        x = self.interfaces(d, jax.tree.leaves(params)[0].dtype)
        out = [_Subnet(self.net, i).apply(params, x[i]) - _Subnet(self.net, i + 1).apply(
            params, x[i]) for i in range(self.subdomains - 1)]
        return jnp.ravel(jnp.stack(out)) / jnp.sqrt(2.0)

    def flux_jumps(self, params: dict[str, Any], d: int) -> jax.Array:
        """Normal-derivative continuity: dU_q/dn - dU_{q+1}/dn on every interface point (cPINN's
        flux term; not in XPINN's loss), flattened."""
        x = self.interfaces(d, jax.tree.leaves(params)[0].dtype)
        out = [_Subnet(self.net, i).jet(params, x[i], "diag").grad[:, self.axis]
               - _Subnet(self.net, i + 1).jet(params, x[i], "diag").grad[:, self.axis]
               for i in range(self.subdomains - 1)]
        return jnp.ravel(jnp.stack(out))

    def residual_jumps(self, params: dict[str, Any], d: int, residual: Any) -> jax.Array:
        """Residual continuity: R_q - R_{q+1} of ``residual`` (a Field -> residual function) on
        every interface point, each side from its own subnetwork alone, flattened."""
        x = self.interfaces(d, jax.tree.leaves(params)[0].dtype)
        out = [jnp.ravel(residual(Field(_Subnet(self.net, i), params, x[i])))
               - jnp.ravel(residual(Field(_Subnet(self.net, i + 1), params, x[i])))
               for i in range(self.subdomains - 1)]
        return jnp.concatenate(out)
