"""Finite-element references in 3D: quadratic (P2) tetrahedra on curved meshes of a box minus
balls, with scikit-fem.

The mesh comes from gmsh's OpenCASCADE kernel: the box (cut into layers at given heights z, so
that elements never straddle an interface where a coefficient jumps) minus the balls, fragmented
so the layers share their interface faces, meshed with second-order tetrahedra of size ``h``.
gmsh puts the mid-edge node of every edge that lies on a sphere onto the sphere, so the discrete
boundary is curved and P2 keeps its order (O(h^3) in L2 for smooth solutions); every other
mid-edge node is its edge's midpoint (checked). The mesh is handed to scikit-fem as an
isoparametric ``MeshTet2``; boundary facets are tagged by part name (the box's faces, each
ball's own name). gmsh's mesh is deterministic (one thread, fixed seed): a regenerated
reference equals the cached one bit for bit.

The linear systems (symmetric positive definite: -∇·(μ∇u) + c·u with μ, c > 0) are solved by
conjugate gradients preconditioned by the diagonal (``spd_solve``); the matrix and load are
assembled in chunks of elements, so the quadrature arrays never hold the whole mesh.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pinnbench.references import fem
from pinnbench.references.fem import mesh_arrays  # noqa: F401 - fem3d's meshes store alike

Ball3 = tuple[float, float, float, float, str]   # centre x, y, z, radius, part name
Coefficient = Callable[[np.ndarray], np.ndarray]  # of x (3, ...) -> (...)

# gmsh's 10-node tetrahedron: the corners, then the mid-edge nodes of these corner pairs.
GMSH_TET10_EDGES = ((0, 1), (1, 2), (0, 2), (0, 3), (2, 3), (1, 3))
# Quadrature order of the load, boundary data and errors: the forcing oscillates on a scale of
# a few elements. Not 5 or 6: scikit-fem's tetrahedral rules of those orders put points on the
# element's faces, where a coefficient that jumps across an interface face would be read from
# the neighbour's side (it cost the manufactured solution two orders of convergence). The
# rules of orders 4 and 7 have all their points inside.
QUADRATURE_ORDER = 7


def box_minus_balls(lower: Sequence[float], upper: Sequence[float], balls: Sequence[Ball3],
                    h: float, layers: Sequence[float] = (), outer: str = "outer") -> Any:
    """An isoparametric P2 mesh (skfem.MeshTet2) of the box minus the balls, conforming to the
    planes z = each of ``layers``; boundary facets tagged by part name (``outer`` for the
    box's faces). The balls must lie inside the box, apart from each other."""
    import gmsh
    from skfem import MeshTet1, MeshTet2

    lo, hi = np.asarray(lower, float), np.asarray(upper, float)
    cuts = [lo[2], *sorted(float(z) for z in layers), hi[2]]
    # gmsh keeps global state: initialise, build, read everything out, and always finalise.
    gmsh.initialize(readConfigFiles=False, interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        occ = gmsh.model.occ
        boxes = [(3, occ.addBox(lo[0], lo[1], z0, *(hi[:2] - lo[:2]), z1 - z0))
                 for z0, z1 in zip(cuts[:-1], cuts[1:], strict=True)]
        holes = [(3, occ.addSphere(cx, cy, cz, r)) for cx, cy, cz, r, _ in balls]
        solid, _ = occ.cut(boxes, holes) if holes else (boxes, None)
        if len(solid) > 1:
            solid, _ = occ.fragment(solid[:1], solid[1:])
        occ.synchronize()
        for name, value in (("Mesh.MeshSizeMin", h), ("Mesh.MeshSizeMax", h),
                            ("Mesh.MeshSizeFromCurvature", 0), ("Mesh.ElementOrder", 2),
                            ("Mesh.SecondOrderLinear", 0), ("Mesh.HighOrderOptimize", 0),
                            ("Mesh.Algorithm3D", 10), ("Mesh.Optimize", 1),
                            ("General.NumThreads", 1), ("Mesh.RandomSeed", 1)):
            gmsh.option.setNumber(name, value)
        gmsh.model.mesh.generate(3)
        tags, coords, _ = gmsh.model.mesh.getNodes()
        _, conn = gmsh.model.mesh.getElementsByType(11)     # 11: the 10-node tetrahedron
    finally:
        gmsh.finalize()
    xyz = np.zeros((3, int(tags.max()) + 1))
    xyz[:, tags.astype(int)] = coords.reshape(-1, 3).T
    tet10 = conn.astype(int).reshape(-1, 10)
    corner_ids, t = np.unique(tet10[:, :4], return_inverse=True)
    mesh = MeshTet1(np.ascontiguousarray(xyz[:, corner_ids]),
                    np.ascontiguousarray(t.reshape(-1, 4).T))
    # Mid-edge nodes keyed by their edge's corner pair, looked up for scikit-fem's edges.
    local = np.array(GMSH_TET10_EDGES)
    a, b = t.reshape(-1, 4)[:, local[:, 0]].ravel(), t.reshape(-1, 4)[:, local[:, 1]].ravel()
    mid = tet10[:, 4:].ravel()
    nv = mesh.nvertices
    keys = np.minimum(a, b) * nv + np.maximum(a, b)
    keys, first = np.unique(keys, return_index=True)
    edges = np.sort(mesh.edges, axis=0)
    where = np.searchsorted(keys, edges[0] * nv + edges[1])
    if not np.array_equal(keys[np.minimum(where, len(keys) - 1)], edges[0] * nv + edges[1]):
        raise RuntimeError("gmsh mesh: an edge of the tetrahedra without its mid-edge node")
    doflocs = MeshTet2.from_mesh(mesh).doflocs.copy()
    moved = xyz[:, mid[first[where]]]
    facets = mesh.boundary_facets()
    # Only edges on the boundary may be curved: elsewhere gmsh's mid-edge node is the midpoint,
    # which also checks that the node order above is gmsh's.
    inside = np.ones(mesh.edges.shape[1], bool)
    inside[np.unique(mesh.f2e[:, facets])] = False
    offset = np.linalg.norm(moved - doflocs[:, nv:], axis=0)
    if np.any(offset[inside] > 1e-9 * float(np.max(hi - lo))):
        raise RuntimeError("gmsh mesh: an interior mid-edge node off its edge's midpoint")
    doflocs[:, nv:] = moved
    centre = mesh.p[:, mesh.facets[:, facets]].mean(axis=1)
    span = float(np.max(hi - lo))
    on_box = np.any(np.isclose(centre, lo[:, None], atol=1e-9 * span)
                    | np.isclose(centre, hi[:, None], atol=1e-9 * span), axis=0)
    tags_of: dict[str, list[np.ndarray]] = {outer: [facets[on_box]]}
    rest = ~on_box
    for cx, cy, cz, r, name in balls:
        near = rest & (np.abs(np.linalg.norm(centre - np.array([[cx], [cy], [cz]]), axis=0) - r)
                       < 0.5 * h)
        tags_of.setdefault(name, []).append(facets[near])
        rest &= ~near
    if rest.any():
        raise RuntimeError(f"mesh: {int(rest.sum())} boundary facets on no part")
    boundaries = {k: np.sort(np.concatenate(v)) for k, v in tags_of.items()}
    return MeshTet2(doflocs, mesh.t, _boundaries=boundaries)


def p2_basis(mesh: Any, intorder: int | None = None, elements: Any = None) -> Any:
    from skfem import Basis, ElementTetP2

    return Basis(mesh, ElementTetP2(), intorder=intorder, elements=elements)


def locator_basis(mesh: Any) -> Any:
    """A P2 basis with one quadrature point per element: what ``locate`` needs (the map, the
    element, its dofs) without the memory of a full quadrature on every element."""
    return p2_basis(mesh, intorder=1)


def curved_elements(mesh: Any) -> np.ndarray:
    """Which elements have an edge whose mid-edge node is off the edge's midpoint."""
    nv = mesh.nvertices
    straight = mesh.doflocs[:, mesh.edges].mean(axis=1)
    moved = np.linalg.norm(mesh.doflocs[:, nv:] - straight, axis=0) > 1e-12
    return moved[mesh.t2e].any(axis=0)


CHUNK = 40_000   # elements per assembly pass: bounds the memory of the quadrature arrays


def element_chunks(mesh: Any) -> list[tuple[Any, np.ndarray]]:
    """The mesh's elements in chunks, each with the mesh to build its basis on: the straight
    elements on the corner mesh's affine map (same elements, same dofs, a fraction of the
    isoparametric map's cost), the curved ones on the isoparametric map. Bases built one chunk
    at a time (``p2_basis(m, order, cells)``) bound the memory of the quadrature arrays."""
    from skfem import MeshTet1

    curved = curved_elements(mesh)
    corner_mesh = MeshTet1(np.ascontiguousarray(mesh.doflocs[:, :mesh.nvertices]), mesh.t)
    return [(m, cells[i:i + CHUNK])
            for m, cells in ((corner_mesh, np.flatnonzero(~curved)),
                             (mesh, np.flatnonzero(curved)))
            for i in range(0, len(cells), CHUNK)]


def solve_diffusion_reaction(mesh: Any, mu: Coefficient, c: Coefficient, source: Coefficient,
                             flux: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]
                             | None = None, rtol: float = 1e-10) -> np.ndarray:
    """P2 dofs of -∇·(μ∇u) + c·u = source with μ ∂u/∂n = flux[part](x, n) on the tagged parts
    named (outward normal n) and μ ∂u/∂n = 0 elsewhere: the natural condition, so no boundary
    dofs are fixed. μ, c > 0 and the source are functions of x (3, ...); a coefficient that
    jumps across a plane needs a mesh conforming to it (``layers``). Across such an interface the
    weak form makes u and μ ∂u/∂n continuous."""
    from skfem import BilinearForm, ElementTetP2, FacetBasis, LinearForm, asm
    from skfem.helpers import dot, grad

    @BilinearForm
    def a(u, v, w):
        return mu(w.x) * dot(grad(u), grad(v)) + c(w.x) * u * v

    @LinearForm
    def load(v, w):
        return source(w.x) * v

    @LinearForm
    def boundary(v, w):
        return w["g"] * v

    chunks = element_chunks(mesh)
    matrix = sum(asm(a, p2_basis(m, None, cells)) for m, cells in chunks)
    rhs = sum(asm(load, p2_basis(m, QUADRATURE_ORDER, cells)) for m, cells in chunks)
    for part, g in (flux or {}).items():
        facets = FacetBasis(mesh, ElementTetP2(), facets=mesh.boundaries[part],
                            intorder=QUADRATURE_ORDER)
        rhs = rhs + asm(boundary, facets, g=g(facets.global_coordinates().value,
                                                facets.normals.value))
    return spd_solve(matrix, rhs, rtol)


def spd_solve(matrix: Any, rhs: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    """Conjugate gradients with the diagonal as preconditioner on a symmetric positive definite
    system; raises if the relative residual has not reached ``rtol``. (For the screened
    operators here, c ≥ 64, a few hundred iterations; an incomplete factorisation costs more
    than it saves and a direct 3D P2 solve far more.)"""
    from scipy.sparse.linalg import LinearOperator, cg

    matrix = matrix.tocsr()
    inverse_diagonal = 1.0 / matrix.diagonal()
    precondition = LinearOperator(matrix.shape, lambda r: inverse_diagonal * r)
    u, info = cg(matrix, rhs, rtol=rtol, atol=0.0, M=precondition, maxiter=5000)
    residual = np.linalg.norm(matrix @ u - rhs) / np.linalg.norm(rhs)
    if info != 0 or residual > 10 * rtol:
        raise RuntimeError(f"conjugate gradients: relative residual {residual:.1e} (info {info})")
    return u


def locate(mesh: Any, x: np.ndarray, candidates: int = 16,
           basis: Any = None) -> tuple[np.ndarray, np.ndarray, Any, np.ndarray]:
    """Where points x (N, 3) lie: the indices of those found, their elements, and their
    reference coordinates (3, M) in them (for ``evaluate`` and ``gradient``).

    Among the elements of the nearest centroids, the first whose straight tetrahedron holds the
    point (barycentric coordinates). Near a sphere the curved elements (an edge on the sphere)
    are not their straight tetrahedra: a point there is sought among the curved candidates by
    the isoparametric inverse map (Newton from the straight coordinates), and only if no
    curved element holds it does it keep its straight element, with the inverse map's
    coordinates just outside the reference tetrahedron (the element's polynomial continued a
    fraction of the curving, O(h^2), beyond it). The straight mesh covers the domain (a flat
    facet on a sphere cuts into the ball), so every point of the domain is found; a point in
    the sliver between a sphere and a flat facet lies in the hole and may be dropped."""
    from scipy.spatial import cKDTree

    x = np.asarray(x, float).reshape(-1, 3)
    basis = locator_basis(mesh) if basis is None else basis
    corners = mesh.doflocs[:, mesh.t]                               # (3, 4, E)
    tree = cKDTree(corners.mean(axis=1).T)
    curved = curved_elements(mesh)
    cells = np.full(len(x), -1)
    ref = np.zeros((3, len(x)))
    for k in (candidates, 8 * candidates):      # a sliver's centroid can be far from a point
        todo = np.flatnonzero(cells < 0)
        k = min(k, mesh.t.shape[1])
        if not len(todo):
            break
        near = tree.query(x[todo], k)[1].reshape(len(todo), -1)
        for j in range(near.shape[1]):
            left = cells[todo] < 0
            if not left.any():
                break
            pts, e = todo[left], near[left, j]
            r = _barycentric(corners[:, :, e], x[pts])
            hit = np.all(r >= -1e-10, axis=0) & (1 - r.sum(axis=0) >= -1e-10)
            cells[pts[hit]], ref[:, pts[hit]] = e[hit], r[:, hit]
    bent = np.flatnonzero((cells >= 0) & curved[np.maximum(cells, 0)])
    if len(bent):
        near = tree.query(x[bent], min(candidates, mesh.t.shape[1]))[1].reshape(len(bent), -1)
        settled = np.zeros(len(bent), bool)
        for j in range(near.shape[1]):
            todo = np.flatnonzero(~settled & curved[near[:, j]])
            if not len(todo):
                continue
            e = near[todo, j]
            start = _barycentric(corners[:, :, e], x[bent[todo]])
            r, ok = _inverse_map(basis.mapping, x[bent[todo]], e, start)
            ok &= np.all(r >= -1e-9, axis=0) & (1 - r.sum(axis=0) >= -1e-9)
            cells[bent[todo[ok]]], ref[:, bent[todo[ok]]] = e[ok], r[:, ok]
            settled[todo[ok]] = True
        rest = np.flatnonzero(~settled)
        if len(rest):
            e = cells[bent[rest]]
            r, ok = _inverse_map(basis.mapping, x[bent[rest]], e, ref[:, bent[rest]])
            ref[:, bent[rest[ok]]] = r[:, ok]
            cells[bent[rest[~ok]]] = -1
    found = np.flatnonzero(cells >= 0)
    return found, cells[found], basis, ref[:, found]


def _barycentric(corners: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Reference coordinates (3, M) of points x (M, 3) in straight tetrahedra (3, 4, M)."""
    a = corners[:, 0]
    m = np.stack([corners[:, i] - a for i in (1, 2, 3)], axis=1)     # (3, 3, M)
    return np.linalg.solve(np.moveaxis(m, 2, 0), (x - a.T)[..., None])[..., 0].T


def _inverse_map(mapping: Any, x: np.ndarray, cells: np.ndarray, start: np.ndarray,
                 iterations: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Newton's method for F_e(X) = x in each point's element: X (3, M) and which converged."""
    target = x.T[:, :, None]
    ref = start[:, :, None].copy()
    step = np.full(len(cells), np.inf)
    with np.errstate(all="ignore"):
        for _ in range(iterations):
            dx = np.einsum("ijkl,jkl->ikl", mapping.invDF(ref, tind=cells),
                           target - mapping.F(ref, tind=cells))
            ref = ref + np.where(np.isfinite(dx), dx, 0.0)
            step = np.abs(dx[:, :, 0]).max(axis=0)
            if np.all(step < 1e-13):
                break
    ok = np.isfinite(step) & (step < 1e-10) & np.all(np.abs(ref[:, :, 0]) < 2, axis=0)
    return ref[:, :, 0], ok


def _shape_functions(located: tuple[np.ndarray, np.ndarray, Any, np.ndarray]) -> list[Any]:
    _, cells, basis, ref = located
    return [basis.elem.gbasis(basis.mapping, ref[:, :, None], i, tind=cells)[0]
            for i in range(basis.Nbfun)]


def evaluate(mesh: Any, dofs: np.ndarray, x: np.ndarray, basis: Any = None) -> np.ndarray:
    """The P2 field at points x (N, 3); NaN where a point is in no element (see ``locate``)."""
    located = locate(mesh, x, basis=basis)
    found, cells, basis, _ = located
    out = np.full(len(np.asarray(x).reshape(-1, 3)), np.nan)
    if len(found):
        values = np.array([np.asarray(phi)[:, 0] for phi in _shape_functions(located)])
        out[found] = np.sum(values * dofs[basis.element_dofs[:, cells]], axis=0)
    return out


def gradient(mesh: Any, dofs: np.ndarray, x: np.ndarray, basis: Any = None) -> np.ndarray:
    """∇ of the P2 field at points x (N, 3) -> (N, 3); NaN where a point is in no element."""
    located = locate(mesh, x, basis=basis)
    found, cells, basis, _ = located
    out = np.full((len(np.asarray(x).reshape(-1, 3)), 3), np.nan)
    if len(found):
        grads = np.array([phi.grad[:, :, 0] for phi in _shape_functions(located)])  # (B, 3, M)
        out[found] = np.sum(grads * dofs[basis.element_dofs[:, cells]][:, None, :], axis=0).T
    return out


def l2_error(mesh: Any, dofs: np.ndarray, exact: Coefficient) -> float:
    """||u_h - exact||_L2 over the (curved) mesh, by the element quadrature."""
    from skfem import Functional, asm

    @Functional
    def square(w):
        return (w["u"] - exact(w.x)) ** 2

    bases = (p2_basis(m, QUADRATURE_ORDER, cells) for m, cells in element_chunks(mesh))
    return float(np.sqrt(sum(asm(square, basis, u=basis.interpolate(dofs)) for basis in bases)))


def mesh_from(arrays: dict[str, np.ndarray]) -> Any:
    """The curved tetrahedral mesh ``mesh_arrays`` (fem.py's) stored."""
    from skfem import MeshTet2

    return fem.mesh_from(arrays, MeshTet2)
