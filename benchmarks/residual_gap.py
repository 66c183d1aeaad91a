"""How far a recorded run's loss on its own collocation points is from the loss on fresh points.

A second-order method that drives the loss down on a fixed set of points can fit those points
far better than the space between them; the relative error then stops following the training
loss. For each run of a results folder with saved parameters, this rebuilds the run's problem,
model and points, and evaluates every loss term (unweighted mean squared residual) on the
training points and on ``--draws`` independent sets of fresh uniform random points (``--points``
in the interior, the boundary and initial counts scaled alike). The fresh estimate is
heavy-tailed where the residual has narrow spikes between training points, hence several draws.

    .venv/bin/python benchmarks/residual_gap.py RESULTS_DIR [--points 20000] [--draws 3]
"""

from __future__ import annotations

import argparse
import dataclasses

import jax

from pinnbench.analysis.replay import params_folder
from pinnbench.engine.train import Trainer
from pinnbench.run.store import load_runs, read_params
from pinnbench.sampling.base import PointCounts
from pinnbench.sampling.uniform import Uniform
from pinnbench.spec import RunSpec


def terms_at(trainer: Trainer, params, points, loss_state) -> dict[str, float]:
    objective = trainer.objective(points, loss_state)
    return {k: float(v) for k, v in objective.terms(params).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="a folder written by pinnbench run")
    parser.add_argument("--points", type=int, default=20000, help="fresh interior points per draw")
    parser.add_argument("--draws", type=int, default=3, help="independent fresh draws")
    args = parser.parse_args()
    runs = load_runs(args.results)
    for row in runs[runs["status"] == "ok"].to_dict("records"):
        spec = RunSpec.from_json(row["spec_json"])
        trainer = Trainer(spec)
        like, _, sampler_state, _, loss_state = trainer.initial_state()
        params = read_params(params_folder(args.results, row["run_id"]), row["run_id"], like)
        trained = terms_at(trainer, params, sampler_state["points"], loss_state)
        counts = {f.name: args.points * getattr(trainer.sampler, f.name) //
                  trainer.sampler.n_interior for f in dataclasses.fields(PointCounts)}
        fresh = Uniform(**counts)
        draws = [terms_at(trainer, params,
                          fresh.draw(trainer.problem, jax.random.PRNGKey(10_000 + d),
                                     trainer.dtype), loss_state)
                 for d in range(args.draws)]
        print(f"{spec.problem_label} / {spec.method_label} seed {spec.seed}: "
              f"rel_l2 {row['rel_l2']:.2e}, {int(row['steps'])} steps")
        for name, value in trained.items():
            fresh = [t[name] for t in draws]
            ratios = ", ".join(f"{f / value:.1f}" for f in fresh) if value > 0 else "-"
            print(f"  {name:>8}: training {value:.3e}; fresh {', '.join(f'{f:.3e}' for f in fresh)}"
                  f"; fresh / training {ratios}")


if __name__ == "__main__":
    main()
