"""``pinnbench validate``: check a suite as ``run`` does and list its runs, training nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pinnbench.cli.common import PluginOption, load_plugins_or_exit, out
from pinnbench.cli.run import checked_runs, parse_seeds


def validate(
    suite: Annotated[Path, typer.Argument(help="suite TOML file")],
    profile: Annotated[str | None, typer.Option(help="profile of the suite to apply")] = None,
    only: Annotated[str | None, typer.Option(help="glob on 'problem/method', problem or method")]
    = None,
    seeds: Annotated[str | None, typer.Option(help="seeds instead of the suite's")] = None,
    plugin: PluginOption = None,
) -> None:
    """Check SUITE as `run` does (keys, values, combinations, plugins' first steps) and list the
    runs it would make, without training anything."""
    plugin_refs = load_plugins_or_exit(plugin)
    loaded, specs = checked_runs(suite, profile, only, seeds, plugin_refs)
    pending = loaded.pending(only, parse_seeds(seeds))
    table = Table(title=f"{suite}: {len(specs)} runs (suite {loaded.name!r}"
                        f"{f', profile {profile}' if profile else ''})")
    swept = [c for c in ("configuration",) if loaded.swept]
    for col in ("run id", "problem", "method", *swept, "seed", "budget"):
        table.add_column(col)
    for spec in specs:
        budget = ", ".join(f"{k} {v}" for k, v in spec.budget.items() if k != "eval_every")
        config = [_configuration(loaded, spec)] if swept else []
        table.add_row(spec.run_id, spec.problem_label, spec.method_label, *config,
                      str(spec.seed), budget)
    out.print(table)
    if loaded.swept:
        for label in loaded.method_labels:
            n = len(loaded.configurations(label))
            if n > 1:
                tried = len(loaded.tried(label))
                out.print(f"methods.{label}: {n} configurations"
                          + (f", {tried} tried on tune seeds {loaded.tuning['tune_seeds']}"
                             if loaded.tuning else ""), highlight=False)
    after = (f" + {pending} of the selected configurations on seeds "
             f"{parse_seeds(seeds) or loaded.seeds}" if pending else "")
    out.print(f"{suite}: valid; {len(specs)} runs{after}, results in results/{loaded.name}",
              highlight=False)


def _configuration(loaded, spec) -> str:
    """What sets a run's configuration apart among its method's: its swept options."""
    from pinnbench.run.suite import sweep_axes

    return ", ".join(f"{part}.{name}={spec.method[part][name]}" for part, name, _ in
                     sweep_axes(loaded.doc["methods"][spec.method_label]))

