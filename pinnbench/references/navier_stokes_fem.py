"""Steady incompressible Navier-Stokes by Taylor-Hood finite elements (scikit-fem) and Newton's
method: -νΔu + (u·∇)u + ∇p = f, ∇·u = 0 on a straight-sided triangle mesh, velocity P2, pressure
P1 (inf-sup stable; O(h³) velocity and O(h²) pressure in L2 for smooth solutions).

Boundary conditions, by part name of the mesh's tagged facets:

- ``dirichlet[part] = g``: u = g(x) (two components, interpolated at the P2 nodes);
- ``outlets[part] = (g_p, g_t)``: p = g_p and ∂(u·t)/∂n = g_t on a straight part with outward
  normal n and tangent t (a pressure outflow with a condition on the tangential velocity's
  normal derivative, as ∂v/∂x = 0 at x = const). Both are natural: integrating ∇p and -νΔu by
  parts leaves ∫ (p n - ν ∂u/∂n)·φ on the part, and there ∂u_n/∂n = -∂u_t/∂t (∇·u = 0), so the
  term is ∫ (g_p + ν ∂u_t/∂t) φ·n - ν g_t φ·t, known from the data and the velocity's trace.

Every part of the boundary is one of the two; without an outlet the pressure is fixed only up
to a constant, and the solver then pins it at one node. Newton starts from the Stokes solution
(no convection) and, where it does not converge, continues in ν from larger viscosities.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

SOLVER_VERSION = "1"

Data = Callable[[np.ndarray], np.ndarray]      # x (2, ...) -> values (...) or (2, ...)


def bases(mesh: Any) -> tuple[Any, Any]:
    """The velocity (vector P2) and pressure (P1) bases on one quadrature."""
    from skfem import Basis, ElementTriP1, ElementTriP2, ElementVector

    ub = Basis(mesh, ElementVector(ElementTriP2()), intorder=5)
    return ub, Basis(mesh, ElementTriP1(), quadrature=ub.quadrature)


def _forms() -> dict[str, Any]:
    from skfem import BilinearForm, LinearForm
    from skfem.helpers import ddot, div, dot, grad, mul

    def tangent(w):
        return np.array([-w.n[1], w.n[0]])

    @BilinearForm
    def jacobian(du, phi, w):
        u0 = w["u0"]
        return (w["nu"] * ddot(grad(du), grad(phi)) + dot(mul(grad(u0), du), phi)
                + dot(mul(grad(du), u0), phi))

    @BilinearForm
    def oseen(du, phi, w):
        return w["nu"] * ddot(grad(du), grad(phi)) + dot(mul(grad(du), w["u0"]), phi)

    @BilinearForm
    def stokes(du, phi, w):
        return w["nu"] * ddot(grad(du), grad(phi))

    @BilinearForm
    def divergence(du, q, _):
        return -q * div(du)

    @LinearForm
    def momentum(phi, w):
        u0 = w["u0"]
        return (w["nu"] * ddot(grad(u0), grad(phi)) + dot(mul(grad(u0), u0), phi)
                - w["p0"] * div(phi) - dot(w["f"], phi))

    @LinearForm
    def continuity(q, w):
        return -q * div(w["u0"])

    @BilinearForm
    def outlet_jacobian(du, phi, w):
        t = tangent(w)
        return w["nu"] * dot(mul(grad(du), t), t) * dot(phi, w.n)

    @LinearForm
    def outlet(phi, w):
        t = tangent(w)
        return ((w["gp"] + w["nu"] * dot(mul(grad(w["u0"]), t), t)) * dot(phi, w.n)
                - w["nu"] * w["gt"] * dot(phi, t))

    return {"jacobian": jacobian, "oseen": oseen, "stokes": stokes, "divergence": divergence,
            "momentum": momentum, "continuity": continuity, "outlet_jacobian": outlet_jacobian,
            "outlet": outlet}


def solve(mesh: Any, nu: float, dirichlet: dict[str, Data],
          outlets: dict[str, tuple[Data, Data]] | None = None, force: Data | None = None,
          initial: Callable[[np.ndarray], np.ndarray] | None = None, tol: float = 1e-12,
          picard: int = 3, max_newton: int = 20,
          continuation: Sequence[float] = (8.0, 4.0, 2.0)) -> dict[str, np.ndarray]:
    """Velocity and pressure on ``mesh`` (a skfem.MeshTri with tagged boundaries): ``u``, ``v``
    as P2 dofs (vertices, then edge midpoints in the mesh's facet order), ``p`` as P1 dofs, and
    ``newton`` (iterations) and ``residual`` (the final residual's norm relative to that of the
    boundary data extended by zero; iterations stop below ``tol``).

    ``initial`` (x (2, N) -> (u, v, p) (3, N), e.g. a coarser mesh's solution) replaces the
    Stokes solution and the Picard steps as Newton's start: a nested iteration, a few Newton
    steps on the fine mesh instead of the whole path from Stokes."""
    from scipy.sparse import bmat
    from scipy.sparse.linalg import spsolve
    from skfem import FacetBasis, asm

    outlets = outlets or {}
    forms = _forms()
    ub, pb = bases(mesh)
    iu, iv = ub.split_indices()
    nu_dofs, np_dofs = ub.N, pb.N

    # Dirichlet values at the P2 nodes of the Dirichlet parts.
    given = np.zeros(nu_dofs)
    fixed = []
    for part, g in dirichlet.items():
        dofs = ub.get_dofs(mesh.boundaries[part]).all()
        loc = ub.doflocs[:, dofs]
        val = np.asarray(g(loc), float)
        comp = np.isin(dofs, iv).astype(int)          # 0: u-dof, 1: v-dof
        given[dofs] = val[comp, np.arange(len(dofs))]
        fixed.append(dofs)
    fixed_u = np.unique(np.concatenate(fixed)) if fixed else np.zeros(0, int)
    fixed_all = fixed_u
    if not outlets:   # pressure up to a constant: pin the first node
        fixed_all = np.concatenate([fixed_u, [nu_dofs]])

    facet_bases = {part: FacetBasis(mesh, ub.elem, facets=mesh.boundaries[part], intorder=5)
                   for part in outlets}
    b = asm(forms["divergence"], ub, pb)              # (np, nu)
    xq = np.asarray(ub.global_coordinates())
    f_values = np.asarray(force(xq), float) if force is not None else np.zeros_like(xq)

    def residual_and_jacobian(x: np.ndarray, visc: float, linearization: str):
        u0, p0 = x[:nu_dofs], x[nu_dofs:]
        w = {"u0": ub.interpolate(u0), "p0": pb.interpolate(p0), "f": f_values, "nu": visc}
        r_u = asm(forms["momentum"], ub, **w)
        a = asm(forms[linearization], ub, **w)
        for part, fb in facet_bases.items():
            gp, gt = outlets[part]
            xf = np.asarray(fb.global_coordinates())
            wf = {"u0": fb.interpolate(u0), "nu": visc, "gp": np.asarray(gp(xf), float)
                  + 0 * xf[0], "gt": np.asarray(gt(xf), float) + 0 * xf[0]}
            r_u = r_u + asm(forms["outlet"], fb, **wf)
            a = a + asm(forms["outlet_jacobian"], fb, **wf)
        r_p = asm(forms["continuity"], pb, u0=w["u0"])
        r = np.concatenate([r_u, r_p])
        r[fixed_all] = 0.0
        return r, bmat([[a, b.T], [b, None]], format="csr")

    free = np.setdiff1d(np.arange(nu_dofs + np_dofs), fixed_all)

    def step(x: np.ndarray, r: np.ndarray, jac: Any) -> np.ndarray:
        dx = np.zeros_like(x)
        dx[free] = spsolve(jac[free][:, free].tocsc(), -r[free])
        return x + dx

    # Residuals are measured against the one of the boundary data extended by zero.
    x = np.concatenate([given, np.zeros(np_dofs)])
    scale = max(float(np.linalg.norm(residual_and_jacobian(x, nu, "stokes")[0])), 1e-300)

    def iterate(x: np.ndarray, visc: float, picard: int) -> tuple[np.ndarray, int, float, bool]:
        """Oseen (Picard) steps, then Newton's, until the residual is ``tol`` of ``scale``."""
        for k in range(picard + max_newton):
            r, jac = residual_and_jacobian(x, visc, "oseen" if k < picard else "jacobian")
            rn = float(np.linalg.norm(r)) / scale
            if rn <= tol:
                return x, k, rn, True
            if not np.isfinite(rn) or rn > 1e6:
                break
            x = step(x, r, jac)
        return x, k, rn, False

    def stokes() -> np.ndarray:
        """No convection: one linear solve, the residual being affine in x then."""
        return step(x, *residual_and_jacobian(x, nu, "stokes"))

    if initial is not None:
        start = np.concatenate([np.zeros(nu_dofs), np.asarray(initial(pb.doflocs))[2]])
        start[iu] = np.asarray(initial(ub.doflocs[:, iu]))[0]
        start[iv] = np.asarray(initial(ub.doflocs[:, iv]))[1]
        start[fixed_u] = given[fixed_u]
        sol, total, rel, ok = iterate(start, nu, 0)
    else:
        ok = False
    if not ok:
        sol, total, rel, ok = iterate(stokes(), nu, picard)
    if not ok:
        x = stokes()
        for factor in (*continuation, 1.0):
            x, its, rel, ok = iterate(x, nu * factor, picard)
            total += its
        if not ok:
            raise RuntimeError(f"Navier-Stokes: Newton did not converge (ν = {nu}, relative "
                               f"residual {rel:.2e})")
        sol = x
    u = sol[:nu_dofs]
    return {"u": u[iu], "v": u[iv], "p": sol[nu_dofs:], "newton": np.asarray(total),
            "residual": np.asarray(rel)}


def straight_l_mesh(cells: int, corner: tuple[float, float] | None, levels: int,
                    radius: float, box: tuple[float, float, float, float],
                    removed: tuple[float, float, float, float] | None,
                    parts: dict[str, Callable[[np.ndarray], np.ndarray]]) -> Any:
    """A MeshTri of the rectangle ``box`` = (x0, x1, y0, y1) minus ``removed`` (a rectangle of
    whole cells, or None): squares of side 1/``cells`` split into two triangles, then ``levels``
    rounds of conforming refinement of the elements within radius·2^-j of ``corner`` (j = 0, 1,
    ...), so elements next to it are 2^-levels times smaller. Boundary facets are tagged by
    ``parts[name](midpoints (2, F))``; the last part takes every facet the others leave."""
    from skfem import MeshTri

    x0, x1, y0, y1 = box
    xs = np.linspace(x0, x1, int(round((x1 - x0) * cells)) + 1)
    ys = np.linspace(y0, y1, int(round((y1 - y0) * cells)) + 1)
    mesh = MeshTri.init_tensor(xs, ys)
    if removed is not None:
        c = mesh.p[:, mesh.t].mean(axis=1)
        out = ((c[0] > removed[0]) & (c[0] < removed[1]) & (c[1] > removed[2])
               & (c[1] < removed[3]))
        mesh = mesh.remove_elements(np.flatnonzero(out)).remove_unused_nodes()
    if corner is not None:
        for j in range(levels):
            c = mesh.p[:, mesh.t].mean(axis=1)
            near = np.hypot(c[0] - corner[0], c[1] - corner[1]) < radius * 2.0**-j
            mesh = mesh.refined(np.flatnonzero(near))
    facets = mesh.boundary_facets()
    mid = mesh.p[:, mesh.facets[:, facets]].mean(axis=1)
    rest = np.ones(len(facets), bool)
    tags = {}
    names = list(parts)
    for name in names[:-1]:
        hit = rest & np.asarray(parts[name](mid), bool)
        tags[name] = facets[hit]
        rest &= ~hit
    tags[names[-1]] = facets[rest]
    return MeshTri(mesh.p, mesh.t, _boundaries=tags)


def mesh_arrays(mesh: Any) -> dict[str, np.ndarray]:
    out = {"nodes": mesh.p, "t": mesh.t}
    for k, v in mesh.boundaries.items():
        out[f"boundary:{k}"] = v
    return out


def mesh_from(arrays: dict[str, np.ndarray]) -> Any:
    from skfem import MeshTri

    b = {k.split(":", 1)[1]: v for k, v in arrays.items() if k.startswith("boundary:")}
    return MeshTri(arrays["nodes"], arrays["t"], _boundaries=b)


class Evaluator:
    """Point values of P2 and P1 fields on a straight triangle mesh, from the barycentric
    coordinates of the element holding each point. A point in no element takes the polynomial
    of the element it is least outside of (among the nearest), continued: callers mask what is
    too far out (difference stencils that reach just past a boundary see the boundary
    element's polynomial)."""

    def __init__(self, mesh: Any) -> None:
        from scipy.spatial import cKDTree

        self.mesh = mesh
        corners = mesh.p[:, mesh.t]                                      # (2, 3, E)
        self.a = corners[:, 0]
        m = np.stack([corners[:, 1] - self.a, corners[:, 2] - self.a], axis=1)   # (2, 2, E)
        self.inv = np.linalg.inv(np.moveaxis(m, 2, 0))                   # (E, 2, 2)
        self.tree = cKDTree(corners.mean(axis=1).T)
        # skfem's P2 dofs of an element: its vertices, then the midpoints of its edges
        # (0, 1), (1, 2), (0, 2) as numbered by t2f.
        self.p2_dofs = np.vstack([mesh.t, mesh.p.shape[1] + mesh.t2f])

    def locate(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Element and barycentric coordinates (3, N) of each point; a graded mesh can put a
        large element's centroid behind many small ones', so the search widens where the 8
        nearest centroids hold no element around a point."""
        n = len(x)
        cell, lam = np.zeros(n, int), np.zeros((3, n))
        worst = np.full(n, np.inf)
        todo = np.arange(n)
        for k in (8, 64, 512):
            k = min(k, self.mesh.t.shape[1])
            near = self.tree.query(x[todo], k)[1].reshape(len(todo), -1)
            for j in range(near.shape[1]):
                e = near[:, j]
                r = np.einsum("nij,nj->in", self.inv[e], x[todo] - self.a[:, e].T)
                lj = np.vstack([1 - r[0] - r[1], r[0], r[1]])
                out = np.maximum(-lj.min(axis=0), 0.0)
                better = out < worst[todo]
                cell[todo[better]], lam[:, todo[better]] = e[better], lj[:, better]
                worst[todo[better]] = out[better]
            todo = todo[worst[todo] > 1e-12]
            if not len(todo):
                break
        return cell, lam

    def __call__(self, fields: dict[str, tuple[str, np.ndarray]],
                 x: np.ndarray) -> dict[str, np.ndarray]:
        """Values at x (N, 2) of fields given as name -> ("p2" | "p1", dofs)."""
        cell, lam = self.locate(np.asarray(x, float).reshape(-1, 2))
        l0, l1, l2 = lam
        p2 = np.stack([l0 * (2 * l0 - 1), l1 * (2 * l1 - 1), l2 * (2 * l2 - 1),
                       4 * l0 * l1, 4 * l1 * l2, 4 * l0 * l2])
        return {name: np.sum(p2 * dofs[self.p2_dofs[:, cell]], axis=0) if kind == "p2"
                else np.sum(lam * dofs[self.mesh.t[:, cell]], axis=0)
                for name, (kind, dofs) in fields.items()}


def l2_errors(mesh: Any, sol: dict[str, np.ndarray],
              exact: Callable[[np.ndarray], np.ndarray]) -> dict[str, float]:
    """L2 norms over the mesh of the velocity error (both components) and the pressure error
    against ``exact`` (x (2, ...) -> (u, v, p)), by the element quadrature."""
    from skfem import Functional, asm

    ub, pb = bases(mesh)
    scalar = ub.split_bases()[0]
    e = np.asarray(exact(np.asarray(scalar.global_coordinates())))
    du = np.asarray(scalar.interpolate(sol["u"])) - e[0]
    dv = np.asarray(scalar.interpolate(sol["v"])) - e[1]
    dp = np.asarray(pb.interpolate(sol["p"])) - e[2]

    @Functional
    def integral(w):
        return w["f"]

    return {"velocity": float(np.sqrt(asm(integral, pb, f=du**2 + dv**2))),
            "p": float(np.sqrt(asm(integral, pb, f=dp**2)))}
