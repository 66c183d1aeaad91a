"""A recorded run's network evaluated again: prediction, reference and error on a plotting grid.

Runs save their final parameters (``params/<run_id>.npz``); the spec in the runs row rebuilds the
problem and the model, so a field can be drawn long after training, on any grid.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from pinnbench.problems.base import tensor_grid
from pinnbench.problems.inverse import with_unknowns
from pinnbench.protocols import bound
from pinnbench.run.store import read_params
from pinnbench.spec import RunSpec


@dataclasses.dataclass
class SolutionGrid:
    """Values of the first output on a grid: axes (1 or 2 arrays), arrays shaped like the grid."""

    axes: list[np.ndarray]
    axis_names: list[str]
    prediction: np.ndarray
    reference: np.ndarray
    # Which run it is: figures share colour scales per problem and name the seed.
    problem: str = ""
    seed: int | None = None

    @property
    def error(self) -> np.ndarray:
        return np.abs(self.prediction - self.reference)


def axis_names(problem) -> list[str]:
    names = ["x", "y", "z"][: problem.dim - (1 if problem.time_dependent else 0)]
    if len(names) < problem.dim - (1 if problem.time_dependent else 0):
        names = [f"x{i + 1}" for i in range(problem.dim - 1)]
    return [*names, "t"] if problem.time_dependent else names


def params_folder(results_dir: str | Path, run_id: str) -> Path:
    """The suite folder holding ``params/<run_id>.npz`` (the folder itself or one below it)."""
    root = Path(results_dir)
    for folder in [root, *sorted(p for p in root.iterdir() if p.is_dir())]:
        if (folder / "params" / f"{run_id}.npz").is_file():
            return folder
    raise FileNotFoundError(f"{root}: no saved parameters for run {run_id} (runs recorded "
                            "before parameters were saved, or a failed run)")


def evaluate_run(results_dir: str | Path, run_row: dict, resolution: int = 128,
                 output: int = 0) -> SolutionGrid:
    """The run's prediction and the reference on a ``resolution``-point grid per plotted axis.

    1-D and 2-D problems are drawn on their whole domain; in higher dimension the first two axes
    are drawn with the others at the centre of the box.
    """
    import jax
    import jax.numpy as jnp

    from pinnbench.engine.train import precision

    spec = RunSpec.from_json(run_row["spec_json"])
    dtype = jnp.float64 if spec.precision == "float64" else jnp.float32
    with precision(spec.precision):  # the network evaluated as it was trained
        problem = spec.build("problem")
        model = with_unknowns(bound(spec.build("model"), problem), problem)  # saved as trained
        like = model.init(jax.random.PRNGKey(0), problem.dim, len(problem.outputs), dtype)
        params = read_params(params_folder(results_dir, run_row["run_id"]), run_row["run_id"],
                             like)
        shown = min(problem.dim, 2)
        axes = [np.linspace(problem.lower[i], problem.upper[i], resolution)
                for i in range(shown)]
        centre = [(lo + hi) / 2 for lo, hi in zip(problem.lower, problem.upper, strict=True)]
        x = tensor_grid(axes + [np.array([c]) for c in centre[shown:]])
        pred = np.asarray(model.apply(params, jnp.asarray(x, dtype)))[:, output]
    ref = np.asarray(problem.reference(x))[:, output]
    shape = tuple(len(a) for a in axes)
    seed = run_row.get("seed")
    return SolutionGrid(axes, axis_names(problem)[:shown], pred.reshape(shape), ref.reshape(shape),
                     str(run_row.get("problem", spec.problem_label)),
                     None if seed is None else int(seed))
