"""Geometry layer against closed forms: areas, boundary measures, normals, part membership."""

import jax
import numpy as np
import pytest

jax.config.update("jax_enable_x64", True)

from pinnbench.geometry import Ball, Box, GeometryError  # noqa: E402

KEY = jax.random.PRNGKey(0)


def square_minus_disk():
    return Box((0.0, 0.0), (1.0, 1.0), name="outer") - Ball((0.5, 0.5), 0.25, name="hole")


def test_monte_carlo_area_matches_exact():
    geom = square_minus_disk()
    x = np.random.default_rng(0).uniform(0, 1, (200_000, 2))
    frac = np.asarray(geom.contains(x, np)).mean()
    exact = 1.0 - np.pi * 0.25**2
    assert abs(frac - exact) < 4 * np.sqrt(exact * (1 - exact) / len(x))
    assert geom.volume() == pytest.approx(exact, rel=2e-2)


def test_interior_samples_are_inside_and_uniform():
    geom = square_minus_disk()
    x = np.asarray(geom.sample_interior(KEY, 20_000, np.float64))
    assert x.shape == (20_000, 2)
    assert np.all(np.asarray(geom.contains(x, np)))
    # uniform: the left half of the domain holds half the points (the domain is symmetric)
    assert abs((x[:, 0] < 0.5).mean() - 0.5) < 0.02


def test_boundary_parts_lie_on_their_curves_and_split_by_length():
    geom = square_minus_disk()
    hole = np.asarray(geom.sample_boundary(KEY, 4000, np.float64, part="hole"))
    r = np.linalg.norm(hole - 0.5, axis=1)
    np.testing.assert_allclose(r, 0.25, atol=1e-10)
    # arc-length uniform: angles spread evenly over the four quadrants
    ang = np.arctan2(hole[:, 1] - 0.5, hole[:, 0] - 0.5)
    counts = np.histogram(ang, bins=4, range=(-np.pi, np.pi))[0] / len(ang)
    assert np.all(np.abs(counts - 0.25) < 0.03)
    outer = np.asarray(geom.sample_boundary(KEY, 4000, np.float64, part="outer"))
    d = np.min(np.stack([outer[:, 0], 1 - outer[:, 0], outer[:, 1], 1 - outer[:, 1]]), axis=0)
    np.testing.assert_allclose(d, 0.0, atol=1e-10)
    allb = np.asarray(geom.sample_boundary(KEY, 20_000, np.float64))
    share = np.asarray(geom.on_part(allb, "hole", np)).mean()
    exact = 2 * np.pi * 0.25 / (4 + 2 * np.pi * 0.25)
    assert abs(share - exact) < 0.02
    assert geom.part_fraction("hole") == pytest.approx(exact, rel=2e-2)


def test_outward_normals_of_square_and_hole():
    geom = square_minus_disk()
    hole = np.asarray(geom.sample_boundary(KEY, 500, np.float64, part="hole"))
    n = np.asarray(geom.normal(hole, "hole", np))
    # outward from the domain = towards the hole's centre
    np.testing.assert_allclose(n, -(hole - 0.5) / 0.25, atol=1e-10)
    pts = np.array([[0.0, 0.3], [1.0, 0.7], [0.4, 0.0], [0.6, 1.0]])
    want = np.array([[-1, 0], [1, 0], [0, -1], [0, 1]], float)
    np.testing.assert_allclose(np.asarray(geom.normal(pts, "outer", np)), want, atol=1e-12)
    disk = Ball((0.0, 0.0), 2.0)
    p = np.asarray(disk.sample_boundary(KEY, 300, np.float64))
    np.testing.assert_allclose(np.asarray(disk.normal(p, None, np)), p / 2.0, atol=1e-10)


def test_unknown_part_is_refused():
    with pytest.raises(GeometryError, match="no boundary part 'holes'"):
        square_minus_disk().sample_boundary(KEY, 10, np.float64, part="holes")


def test_operands_of_different_dimension_are_refused():
    from pinnbench.geometry import Intersection, Union

    for op, name in ((Union, "union"), (Intersection, "intersection")):
        with pytest.raises(GeometryError, match=f"{name}: operands of dimension 1 and 2"):
            op(Box((0.0,), (1.0,)), Ball((0.0, 0.0), 1.0))
    with pytest.raises(GeometryError, match="difference: operands of dimension 2 and 1"):
        Box((0.0, 0.0), (1.0, 1.0)) - Box((0.0,), (1.0,))


# ---- polygons (shapely) ------------------------------------------------------------------------
L_SHAPE = ((0.0, 0.0), (2.0, 0.0), (2.0, 1.0), (1.0, 1.0), (1.0, 2.0), (0.0, 2.0))


@pytest.mark.parametrize("vertices", [L_SHAPE, L_SHAPE[::-1]])   # either orientation
def test_polygon_area_membership_and_uniform_interior(vertices):
    from pinnbench.geometry import Polygon

    poly = Polygon(vertices)
    assert poly.volume() == pytest.approx(3.0, abs=1e-12)
    assert poly.surface_measure() == pytest.approx(8.0, abs=1e-12)
    inside = np.array([[0.5, 0.5], [1.5, 0.5], [0.5, 1.5], [1.5, 1.5], [2.5, 0.5]])
    assert np.asarray(poly.contains(inside, np)).tolist() == [True, True, True, False, False]
    x = np.asarray(poly.sample_interior(KEY, 30_000, np.float64))
    assert np.all(np.asarray(poly.contains(x, np)))
    # uniform by area: each of the three unit squares holds a third of the points
    for lo in ((0, 0), (1, 0), (0, 1)):
        share = np.all((x >= lo) & (x <= np.add(lo, 1)), axis=1).mean()
        assert abs(share - 1 / 3) < 0.015


@pytest.mark.parametrize("vertices", [L_SHAPE, L_SHAPE[::-1]])
def test_polygon_boundary_lies_on_edges_by_length_with_outward_normals(vertices):
    from pinnbench.geometry import Polygon

    poly = Polygon(vertices)
    b = np.asarray(poly.sample_boundary(KEY, 16_000, np.float64))
    assert np.max(np.abs(np.asarray(poly.sdf(b, np)))) < 1e-12
    # the bottom edge (length 2) gets a quarter of the points, the re-entrant x = 1 edge an eighth
    assert abs((np.abs(b[:, 1]) < 1e-12).mean() - 0.25) < 0.015
    reentrant = (np.abs(b[:, 0] - 1) < 1e-12) & (b[:, 1] > 1)
    assert abs(reentrant.mean() - 0.125) < 0.012
    pts = np.array([[1.0, 0.0], [2.0, 0.5], [1.5, 1.0], [1.0, 1.5], [0.5, 2.0], [0.0, 1.0]])
    want = np.array([[0, -1], [1, 0], [0, 1], [1, 0], [0, 1], [-1, 0]], float)
    np.testing.assert_allclose(np.asarray(poly.normal(pts, None, np)), want, atol=1e-12)
    n = np.asarray(poly.normal(b, None, np))
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-12)
    # outward: a small step along the normal leaves the polygon, one against it enters
    assert not np.any(np.asarray(poly.contains(b + 1e-3 * n, np)))
    corner = np.min(np.abs(b[:, None, :] - np.asarray(L_SHAPE)[None]).sum(axis=2), axis=1) < 2e-3
    assert np.all(np.asarray(poly.sdf(b - 1e-3 * n, np))[~corner] < 0)


def test_polygon_with_a_hole_and_its_normals():
    from pinnbench.geometry import Polygon

    geom = Polygon(L_SHAPE, "outer") - Ball((0.5, 0.5), 0.25, "hole")
    assert geom.parts() == ("outer", "hole")
    hole = np.asarray(geom.sample_boundary(KEY, 500, np.float64, part="hole"))
    np.testing.assert_allclose(np.linalg.norm(hole - 0.5, axis=1), 0.25, atol=1e-10)
    np.testing.assert_allclose(np.asarray(geom.normal(hole, "hole", np)), -(hole - 0.5) / 0.25,
                               atol=1e-10)
    assert geom.boundary_measure("outer") == pytest.approx(8.0, rel=1e-12)
    assert geom.volume() == pytest.approx(3 - np.pi / 16, rel=2e-2)


@pytest.mark.parametrize("vertices, reason", [
    (((0, 0), (1, 1), (1, 0), (0, 1)), "polygon vertices: not a simple polygon (Self-intersection"),
    (((0, 0), (1, 0)), "polygon vertices: needs at least 3 two-dimensional points, got 2"),
    (((0, 0), (1, 0), (2, 0)), "polygon vertices: not a simple polygon"),
])
def test_bad_polygons_are_one_line_errors_naming_the_key(vertices, reason):
    from pinnbench.geometry import Polygon

    with pytest.raises(GeometryError) as e:
        Polygon(vertices)
    assert str(e.value).startswith(reason) and "\n" not in str(e.value), str(e.value)


def test_hole_larger_than_the_box_is_an_empty_domain():
    geom = Box((0.0, 0.0), (1.0, 1.0)) - Ball((0.5, 0.5), 1.0)
    with pytest.raises(GeometryError, match="the domain is empty"):
        geom.validate()
    with pytest.raises(GeometryError, match="the domain is empty"):
        geom.sample_interior(KEY, 10, np.float64)
