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
