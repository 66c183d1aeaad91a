"""``pinnbench reference``: grid output with axes, evaluation at given points, bad input."""

import numpy as np
from typer.testing import CliRunner

from pinnbench.cli import app


def test_writes_grid_with_axes(tmp_path):
    out = tmp_path / "conv.npz"
    r = CliRunner().invoke(app, ["reference", "convection", "--param", "beta=30", "--out",
                                 str(out)])
    assert r.exit_code == 0, r.output
    d = np.load(out)
    assert d["u_grid"].shape == (101, 101)
    x, t = d["axis0"], d["axis1"]
    assert np.allclose(d["u_grid"], np.sin(x[:, None] - 30 * t[None, :]), atol=1e-14)


def test_evaluates_at_given_points(tmp_path):
    pts = np.array([[0.1, 0.3], [-0.4, 0.9]])
    np.save(tmp_path / "p.npy", pts)
    out = tmp_path / "k.npz"
    r = CliRunner().invoke(app, ["reference", "burgers1d", "--at", str(tmp_path / "p.npy"),
                                 "--out", str(out)])
    assert r.exit_code == 0, r.output
    from pinnbench.references.burgers import cole_hopf

    assert np.allclose(np.load(out)["u"], cole_hopf(pts[:, 0], pts[:, 1], 0.01 / np.pi),
                       atol=1e-15)


def test_rejects_wrong_point_shape_and_unknown_problem(tmp_path):
    np.save(tmp_path / "p.npy", np.zeros((3, 5)))
    r = CliRunner().invoke(app, ["reference", "wave", "--at", str(tmp_path / "p.npy"), "--out",
                                 str(tmp_path / "o.npz")])
    assert r.exit_code == 2 and "(n, 2)" in r.output
    r = CliRunner().invoke(app, ["reference", "wav", "--out", str(tmp_path / "o.npz")])
    assert r.exit_code == 2
