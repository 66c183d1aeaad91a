"""``pinnbench verify PROBLEM``: does the reference satisfy the problem's own residuals?"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from pinnbench.cli.common import PluginOption, bad_input, load_plugins_or_exit, out
from pinnbench.cli.reference import ParamOption, problem_from_options

EXIT_FAILED = 1


def verify(
    problem: Annotated[str, typer.Argument(help="registered problem name")],
    param: ParamOption = None,
    points: Annotated[int, typer.Option(help="random points per constraint", min=1)] = 200,
    seed: Annotated[int, typer.Option(help="seed of the points", min=0)] = 0,
    step: Annotated[float | None, typer.Option(help="finite-difference step h (default 2e-3 "
                                               "of the smallest box width)")] = None,
    plugin: PluginOption = None,
) -> None:
    """Check PROBLEM's reference against its residuals by finite differences (and autodiff of a
    closed form); exit 1 when a constraint is not satisfied."""
    load_plugins_or_exit(plugin)
    from pinnbench.references.verify import AD_TOLERANCE, verify_problem

    prob = problem_from_options(problem, param)
    if step is not None and not step > 0:
        raise bad_input(f"--step: expected a positive step, got {step:g}")
    try:
        checks = verify_problem(prob, n=points, seed=seed, h=step)
    except Exception as e:
        raise bad_input(f"{problem}: evaluating its constraints on its reference failed: "
                        f"{type(e).__name__}: {' '.join(str(e).split())}") from None
    table = Table(title=f"{problem}: residuals of the reference, relative to the largest "
                        f"quantity each reads ({points} points per constraint, seed {seed})")
    for col in ("constraint", "region", "scale", "FD (h)", "FD (h/2)", "order", "autodiff",
                "verdict"):
        table.add_column(col, justify="left" if col in ("constraint", "region") else "right")
    for c in checks:
        verdict = "[green]ok[/]" if c.ok else "[red]FAILED[/]"
        table.add_row(c.name, c.region, f"{c.scale:.2e}", f"{c.fd_coarse:.1e}", f"{c.fd:.1e}",
                      "-" if c.order == float("inf") else f"{c.order:.1f}",
                      "-" if c.ad is None else f"{c.ad:.1e}", verdict)
    out.print(table)
    tolerance = checks[0].tolerance if checks else 0.0
    failed = [c.name for c in checks if not c.ok]
    rule = (f"passes when FD (h/2) <= {tolerance:.0e}"
            + (f" and autodiff <= {AD_TOLERANCE:.0e}" if any(c.ad is not None for c in checks)
               else ""))
    if failed:
        out.print(f"{problem}: FAILED on {', '.join(failed)} ({rule})", highlight=False)
        raise typer.Exit(EXIT_FAILED)
    out.print(f"{problem}: the reference satisfies all {len(checks)} constraints ({rule})",
              highlight=False)
