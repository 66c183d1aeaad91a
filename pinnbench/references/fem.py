"""Finite-element references with scikit-fem: quadratic (P2) elements on isoparametric meshes of
a rectangle with circular holes.

The mesh: nodes spaced ``h`` along the rectangle's sides and the circles, a triangular lattice of
spacing ``h`` inside (kept at least h/2 away from every boundary), Delaunay triangles (scipy)
whose centroid lies outside every hole. Every mid-edge node of a circle's edge is then moved
onto the circle (``MeshTri2``), so the discrete boundary is curved and P2 keeps its order
(O(h^3) in L2 for smooth solutions). Boundary facets are tagged by part name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Disk = tuple[float, float, float, str]   # centre x, centre y, radius, part name


def rectangle_minus_disks(lower: Sequence[float], upper: Sequence[float], disks: Sequence[Disk],
                          h: float, outer: str = "outer") -> Any:
    """An isoparametric P2 mesh (skfem.MeshTri2) with boundaries tagged by part name."""
    from scipy.spatial import Delaunay
    from skfem import MeshTri, MeshTri2

    lo, hi = np.asarray(lower, float), np.asarray(upper, float)
    nx, ny = (int(np.ceil(w / h)) for w in hi - lo)
    xs, ys = np.linspace(lo[0], hi[0], nx + 1), np.linspace(lo[1], hi[1], ny + 1)
    nodes = [np.c_[xs, np.full_like(xs, lo[1])], np.c_[xs, np.full_like(xs, hi[1])],
             np.c_[np.full(ny - 1, lo[0]), ys[1:-1]], np.c_[np.full(ny - 1, hi[0]), ys[1:-1]]]
    for cx, cy, r, _ in disks:
        n = max(8, int(np.ceil(2 * np.pi * r / h)))
        angle = 2 * np.pi * np.arange(n) / n
        nodes.append(np.c_[cx + r * np.cos(angle), cy + r * np.sin(angle)])
    dy = h * np.sqrt(3) / 2
    rows = [np.c_[x, np.full_like(x, y)] for j, y in enumerate(np.arange(lo[1] + dy / 2, hi[1], dy))
            for x in [np.arange(lo[0] + (0.75 if j % 2 else 0.5) * h, hi[0], h)]]
    lattice = np.concatenate(rows)
    keep = np.all((lattice - lo > 0.5 * h) & (hi - lattice > 0.5 * h), axis=1)
    for cx, cy, r, _ in disks:
        keep &= np.hypot(lattice[:, 0] - cx, lattice[:, 1] - cy) - r > 0.5 * h
    p = np.concatenate([*nodes, lattice[keep]])
    t = Delaunay(p).simplices
    centroid = p[t].mean(axis=1)
    solid = np.ones(len(t), bool)
    for cx, cy, r, _ in disks:
        solid &= np.hypot(centroid[:, 0] - cx, centroid[:, 1] - cy) > r
    mesh = MeshTri(np.ascontiguousarray(p.T), np.ascontiguousarray(t[solid].T))
    facets = mesh.boundary_facets()
    mid = mesh.p[:, mesh.facets[:, facets]].mean(axis=1)
    on_rect = (np.isclose(mid[0], lo[0]) | np.isclose(mid[0], hi[0])
               | np.isclose(mid[1], lo[1]) | np.isclose(mid[1], hi[1]))
    tags: dict[str, list[np.ndarray]] = {outer: [facets[on_rect]]}
    doflocs = MeshTri2.from_mesh(mesh).doflocs.copy()
    rest = ~on_rect
    for cx, cy, r, name in disks:
        near = rest & (np.abs(np.hypot(mid[0] - cx, mid[1] - cy) - r) < 0.5 * h)
        tags.setdefault(name, []).append(facets[near])
        rest &= ~near
        # Facet midpoints are the dofs after the vertices (MeshTri2's layout).
        cols = mesh.nvertices + facets[near]
        d = doflocs[:, cols] - np.array([[cx], [cy]])
        doflocs[:, cols] = np.array([[cx], [cy]]) + r * d / np.linalg.norm(d, axis=0)
    if rest.any():
        raise RuntimeError(f"mesh: {int(rest.sum())} boundary facets on no part (h too large)")
    boundaries = {k: np.sort(np.concatenate(v)) for k, v in tags.items()}
    return MeshTri2(doflocs, mesh.t, _boundaries=boundaries)


def rectangle_grid(xs: Sequence[float], ys: Sequence[float], outer: str = "outer",
                   corners: Sequence[Sequence[float]] = (), radius: float = 0.0,
                   levels: int = 0) -> Any:
    """A P2 mesh (skfem.MeshTri2, straight edges) of the rectangle [xs[0], xs[-1]] x [ys[0],
    ys[-1]]: each cell of the tensor grid xs x ys cut into two triangles, so every grid line is
    made of element edges (a coefficient that jumps across chosen lines stays smooth on every
    element). The whole boundary is the part ``outer``.

    ``corners``: points (on grid nodes) where the solution is singular, like r^α at a point
    where four coefficients meet. Within ``radius`` of one the elements are refined (skfem's
    red-green-blue refinement, which keeps edges on the grid lines) until their longest edge is
    at most H·d/radius, d the distance of their nearest vertex from the point and H the grid's
    largest spacing, down to H·2^-levels: a geometric grading with elements of a fixed shape in
    every ring around the point, which resolves r^α in each ring to the same relative accuracy.
    The disk inside the last ring stays unresolved; its share of the error falls only like
    (2^-levels)^(2α), which for small α makes the depth, not H, the limit."""
    from scipy.spatial import cKDTree
    from skfem import MeshTri, MeshTri2

    mesh = MeshTri.init_tensor(np.asarray(xs, float), np.asarray(ys, float))
    if len(corners):
        tree = cKDTree(np.asarray(corners, float))
        big = max(np.diff(xs).max(), np.diff(ys).max())
        for _ in range(4 * levels):   # RGB closure can take a few passes per level
            p = mesh.p[:, mesh.t]                                       # (2, 3, E)
            edge = np.max(np.linalg.norm(p - np.roll(p, 1, axis=1), axis=0), axis=0)
            d = tree.query(mesh.p.T)[0][mesh.t].min(axis=0)
            target = big * np.clip(d / radius, 2.0**-levels, 1.0)
            marked = np.flatnonzero((edge > 1.01 * target) & (d < radius))
            if not len(marked):
                break
            mesh = mesh.refined(marked)
    doflocs = MeshTri2.from_mesh(mesh).doflocs
    return MeshTri2(doflocs, mesh.t, _boundaries={outer: np.sort(mesh.boundary_facets())})


def p2_basis(mesh: Any) -> Any:
    from skfem import Basis, ElementTriP2

    return Basis(mesh, ElementTriP2())


def solve_screened_poisson(mesh: Any, c: float, source: Callable[[np.ndarray], np.ndarray],
                           dirichlet: dict[str, Callable[[np.ndarray], np.ndarray]],
                           diffusion: Callable[[np.ndarray], np.ndarray] | None = None,
                           robin: dict[str, tuple[float, float]] | None = None) -> np.ndarray:
    """P2 dofs of -∇·(k∇u) + c·u = source with u = dirichlet[part](x) on each tagged part (values
    interpolated at the part's dofs) and ∂u/∂n = g - a·u on each part of ``robin[part] = (a, g)``
    (constants; the flux k·∂u/∂n enters the weak form). ``diffusion`` is k(x) (default 1),
    evaluated at the quadrature points: a k that jumps across element edges only is integrated
    exactly. ``source``, k and data take x of shape (2, ...)."""
    from skfem import BilinearForm, FacetBasis, LinearForm, asm, condense, solve
    from skfem.helpers import dot, grad

    basis = p2_basis(mesh)

    if diffusion is None:
        @BilinearForm
        def a(u, v, _):
            return dot(grad(u), grad(v)) + c * u * v
    else:
        @BilinearForm
        def a(u, v, w):
            return diffusion(w.x) * dot(grad(u), grad(v)) + c * u * v

    @LinearForm
    def b(v, w):
        return source(w.x) * v

    matrix, rhs = asm(a, basis), asm(b, basis)
    for part, (alpha, g) in (robin or {}).items():
        facets = FacetBasis(mesh, basis.elem, facets=mesh.boundaries[part])

        @BilinearForm
        def ra(u, v, w, alpha=alpha):
            k = 1.0 if diffusion is None else diffusion(w.x)
            return alpha * k * u * v

        @LinearForm
        def rb(v, w, g=g):
            k = 1.0 if diffusion is None else diffusion(w.x)
            return g * k * v

        matrix, rhs = matrix + asm(ra, facets), rhs + asm(rb, facets)
    u = np.zeros(basis.N)
    fixed = []
    for part, g in dirichlet.items():
        dofs = basis.get_dofs(mesh.boundaries[part]).all()
        u[dofs] = g(basis.doflocs[:, dofs])
        fixed.append(dofs)
    if not fixed:
        return solve(matrix, rhs)
    return solve(*condense(matrix, rhs, x=u, D=np.concatenate(fixed)))


def evaluate(mesh: Any, dofs: np.ndarray, x: np.ndarray, candidates: int = 8,
             basis: Any = None) -> np.ndarray:
    """The P2 field at points x (N, 2); NaN where a point is in no element (see ``locate``)."""
    found, element_dofs, phi = locate(mesh, x, candidates, basis)
    out = np.full(len(np.asarray(x).reshape(-1, 2)), np.nan)
    out[found] = np.sum(phi * dofs[element_dofs], axis=0)
    return out


def locate(mesh: Any, x: np.ndarray, candidates: int = 8,
           basis: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where points x (N, 2) lie: the indices of those found, and for them the element's dofs
    and the basis functions' values (both (Nbfun, M)), so any field on the mesh is
    ``sum(phi * dofs[element_dofs], axis=0)``.

    scikit-fem finds no elements on curved meshes, so this does: among the elements of the
    nearest centroids, the first whose straight triangle holds the point (barycentric
    coordinates); on the few curved elements (an edge on a circle) the reference coordinates
    then come from the isoparametric inverse map. A point between a circle and its chord lies
    in the hole, and problems mask it out."""
    from scipy.spatial import cKDTree

    x = np.asarray(x, float).reshape(-1, 2)
    basis = p2_basis(mesh) if basis is None else basis   # building it costs more than a lookup
    nv = mesh.t.max() + 1
    corners = mesh.doflocs[:, mesh.t]                             # (2, 3, E)
    k = min(candidates, mesh.t.shape[1])
    near = cKDTree(corners.mean(axis=1).T).query(x, k)[1].reshape(len(x), -1) if len(x) else \
        np.zeros((0, k), int)
    cells = np.full(len(x), -1)
    ref = np.zeros((2, len(x)))
    for j in range(near.shape[1]):
        todo = np.flatnonzero(cells < 0)
        if not len(todo):
            break
        e = near[todo, j]
        a, b, c = corners[:, 0, e], corners[:, 1, e], corners[:, 2, e]
        m = np.stack([b - a, c - a], axis=1)                        # (2, 2, k)
        r = np.linalg.solve(np.moveaxis(m, 2, 0), (x[todo] - a.T)[..., None])[..., 0].T
        hit = (r[0] >= -1e-10) & (r[1] >= -1e-10) & (1 - r[0] - r[1] >= -1e-10)
        cells[todo[hit]], ref[:, todo[hit]] = e[hit], r[:, hit]
    # Curved elements: a mid-edge node off its edge's midpoint.
    mids = mesh.doflocs[:, nv:]
    straight = mesh.doflocs[:, mesh.facets].mean(axis=1) if hasattr(mesh, "facets") else mids
    moved = np.linalg.norm(mids - straight, axis=0) > 1e-12
    curved = np.isin(cells, np.flatnonzero(moved[mesh.t2f].any(axis=0)))
    bent = np.flatnonzero(curved)
    try:  # all at once; point by point only if Newton fails for one of them
        ref[:, bent] = basis.mapping.invF(x[bent].T[:, :, None], tind=cells[bent])[:, :, 0]
    except Exception:
        for i in bent:
            try:
                ref[:, i] = basis.mapping.invF(x[i][:, None, None], tind=cells[i:i + 1])[:, 0, 0]
            except Exception:  # Newton did not converge: a point in a hole's sliver
                cells[i] = -1
    found = np.flatnonzero(cells >= 0)
    c = cells[found]
    phi = np.array([basis.elem.gbasis(basis.mapping, ref[:, found, None], k, tind=c)[0][:, 0]
                    for k in range(basis.Nbfun)])          # (Nbfun, M)
    return found, basis.element_dofs[:, c], phi.reshape(basis.Nbfun, len(found))


def locate_straight(mesh: Any, x: np.ndarray,
                    basis: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``locate`` for a mesh with straight edges only (``rectangle_grid``, refined or not),
    found by matplotlib's trapezoid-map search, which needs no candidate list and so also works
    on strongly graded meshes, where the nearest centroids may all belong to small elements
    that do not hold the point."""
    import matplotlib.tri as mtri

    x = np.asarray(x, float).reshape(-1, 2)
    basis = p2_basis(mesh) if basis is None else basis
    finder = getattr(mesh, "_trifinder", None)
    if finder is None:
        p = mesh.doflocs[:, :mesh.t.max() + 1]
        finder = mtri.Triangulation(p[0], p[1], mesh.t.T).get_trifinder()
        object.__setattr__(mesh, "_trifinder", finder)   # meshes are frozen dataclasses
    cells = np.asarray(finder(x[:, 0], x[:, 1]), int)
    found = np.flatnonzero(cells >= 0)
    c = cells[found]
    corners = mesh.doflocs[:, mesh.t[:, c]]                         # (2, 3, M)
    m = np.stack([corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]], axis=1)
    ref = np.linalg.solve(np.moveaxis(m, 2, 0), (x[found] - corners[:, 0].T)[..., None])[..., 0].T
    phi = np.array([basis.elem.gbasis(basis.mapping, ref[:, :, None], k, tind=c)[0][:, 0]
                    for k in range(basis.Nbfun)])
    return found, basis.element_dofs[:, c], phi.reshape(basis.Nbfun, len(found))


def l2_error(mesh: Any, dofs: np.ndarray, exact: Callable[[np.ndarray], np.ndarray]) -> float:
    """||u_h - exact||_L2 over the (curved) mesh, by the element quadrature."""
    from skfem import Functional, asm

    basis = p2_basis(mesh)

    @Functional
    def sq(w):
        return (w["u"] - exact(w.x)) ** 2

    return float(np.sqrt(asm(sq, basis, u=basis.interpolate(dofs))))


def mesh_arrays(mesh: Any) -> dict[str, np.ndarray]:
    """What rebuilds the mesh (for the reference cache)."""
    out = {"doflocs": mesh.doflocs, "t": mesh.t}
    for k, v in mesh.boundaries.items():
        out[f"boundary:{k}"] = v
    return out


def mesh_from(arrays: dict[str, np.ndarray], mesh_type: Any = None) -> Any:
    """The mesh :func:`mesh_arrays` stored; ``mesh_type`` defaults to curved triangles
    (``MeshTri2``; fem3d passes ``MeshTet2``)."""
    from skfem import MeshTri2

    b = {k.split(":", 1)[1]: v for k, v in arrays.items() if k.startswith("boundary:")}
    return (mesh_type or MeshTri2)(arrays["doflocs"], arrays["t"], _boundaries=b)


def evaluate_in_time(arrays: dict[str, np.ndarray], mesh: Any, basis: Any,
                     x: np.ndarray) -> np.ndarray:
    """Values at space-time points x (N, 3) of a field stored in time (``robin_heat``'s
    arrays), cubic Hermite between the stored times; nan where x lies in no element."""
    found, element_dofs, phi = locate(mesh, x[:, :2], basis=basis)
    out = np.full(len(x), np.nan)
    out[found] = hermite_in_time(arrays, element_dofs, phi, x[found, 2])
    return out


Source = tuple[Callable[[np.ndarray], np.ndarray], Callable[[float], float]]


def robin_heat(mesh: Any, robin: dict[str, tuple[float, float]], t_end: float, dt: float,
               every: float, start_steps: int = 8,
               capacity: Callable[[np.ndarray], np.ndarray] | None = None,
               source: Sequence[Source] = (), fixed: Sequence[str] = ()) -> dict[str, np.ndarray]:
    """c·u_t = Δu + s from u = 0 with ∂u/∂n = g - a·u on each tagged part (``robin[part] = (a,
    g)``, constants) and u = 0 on the parts ``fixed``: P2 in space, BDF2 in time at step dt (the
    first step as ``start_steps`` backward Euler steps, which damp the layer that the data's
    mismatch with u = 0 starts at the boundary). ``capacity`` is c(x) (default 1; evaluated at
    the quadrature points, so u_t = Δu/c + s/c is u_t = k·Δu + f with c = 1/k, s = f/k);
    ``source`` is s(x, t) = Σ g(x)·h(t) over its pairs (g, h), each g assembled once.
    Returns ``times`` (every ``every``), the dofs ``u`` (T, N) at them and their time
    derivatives ``u_t`` from the semi-discrete equations (for Hermite interpolation)."""
    from scipy.sparse.linalg import splu
    from skfem import BilinearForm, ElementTriP2, FacetBasis, LinearForm, asm
    from skfem.helpers import dot, grad

    basis = p2_basis(mesh)

    @BilinearForm
    def mass(u, v, _):
        return u * v

    @BilinearForm
    def weighted_mass(u, v, w):
        return capacity(w.x) * u * v

    @BilinearForm
    def stiffness(u, v, _):
        return dot(grad(u), grad(v))

    @LinearForm
    def one(v, _):
        return v

    m = asm(mass, basis) if capacity is None else asm(weighted_mass, basis)
    s = asm(stiffness, basis)
    b = np.zeros(basis.N)
    for part, (a, g) in robin.items():
        facets = FacetBasis(mesh, ElementTriP2(), facets=mesh.boundaries[part])
        s = s + a * asm(mass, facets)
        b = b + g * asm(one, facets)
    loads = [(asm(LinearForm(lambda v, w, g=g: g(w.x) * v), basis), h) for g, h in source]

    def load(t: float) -> np.ndarray:
        return b + sum(h(t) * vector for vector, h in loads) if loads else b

    # Dirichlet u = 0: the unknowns are the other dofs (all of them without ``fixed``).
    free = None
    if fixed:
        held = np.concatenate([basis.get_dofs(mesh.boundaries[p]).all() for p in fixed])
        free = np.setdiff1d(np.arange(basis.N), held)
        m, s = m[free][:, free], s[free][:, free]

    def inner(v: np.ndarray) -> np.ndarray:
        return v if free is None else v[free]

    def whole(v: np.ndarray) -> np.ndarray:
        if free is None:
            return v
        out = np.zeros(basis.N)
        out[free] = v
        return out

    start = splu((m + dt / start_steps * s).tocsc())
    bdf2 = splu((3 * m + 2 * dt * s).tocsc())
    mass_lu = splu(m.tocsc())
    per = int(round(every / dt))
    steps = int(round(t_end / dt))
    if abs(per * dt - every) > 1e-9 * every or steps % per:
        raise ValueError(f"robin_heat: every = {every} and t_end = {t_end} must be multiples of "
                         f"dt = {dt}")
    previous, u = inner(np.zeros(basis.N)), inner(np.zeros(basis.N))
    for k in range(start_steps):
        u = start.solve(m @ u + dt / start_steps * inner(load((k + 1) * dt / start_steps)))
    saved = [previous, *([u] if per == 1 else [])]
    for n in range(1, steps):
        previous, u = u, bdf2.solve(2 * dt * inner(load((n + 1) * dt)) + m @ (4 * u - previous))
        if (n + 1) % per == 0:
            saved.append(u)
    times = np.arange(len(saved)) * every
    values = np.array([whole(v) for v in saved])
    rates = np.array([whole(mass_lu.solve(inner(load(t)) - s @ v))
                      for t, v in zip(times, saved, strict=True)])
    return {"times": times, "u": values, "u_t": rates}


def hermite_in_time(arrays: dict[str, np.ndarray], element_dofs: np.ndarray, phi: np.ndarray,
                    t: np.ndarray) -> np.ndarray:
    """Values at located points (``locate``) and times t of a field stored at equally spaced
    times with its time derivative: cubic Hermite interpolation between the stored times."""
    times = arrays["times"]
    step = times[1] - times[0]
    k = np.clip(np.floor((t - times[0]) / step).astype(int), 0, len(times) - 2)
    s = (t - times[k]) / step
    weights = (2 * s**3 - 3 * s**2 + 1, (s**3 - 2 * s**2 + s) * step, -2 * s**3 + 3 * s**2,
               (s**3 - s**2) * step)
    u, rate = arrays["u"], arrays["u_t"]
    out = np.zeros(len(t))
    for w, f, j in zip(weights, (u, rate, u, rate), (k, k, k + 1, k + 1), strict=True):
        out += w * np.sum(phi * f[j[None, :], element_dofs], axis=0)
    return out
