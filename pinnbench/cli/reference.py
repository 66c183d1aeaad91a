"""``pinnbench reference PROBLEM``: write a problem's reference solution to an .npz file."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer


def _parse_params(items: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--param")
        value: Any = text
        for cast in (int, float):
            try:
                value = cast(text)
                break
            except ValueError:
                continue
        if text.lower() in ("true", "false"):
            value = text.lower() == "true"
        out[key.strip()] = value
    return out


def reference(
    problem: Annotated[str, typer.Argument(help="registered problem name")],
    out: Annotated[Path, typer.Option("--out", help="output .npz file")],
    param: Annotated[list[str] | None, typer.Option("--param", help="problem option KEY=VALUE "
                                                    "(repeatable)")] = None,
    at: Annotated[Path | None, typer.Option("--at", help="(n, dim) .npy array of points to "
                                            "evaluate at instead of the evaluation grid")] = None,
) -> None:
    """Write PROBLEM's reference solution (points, values per field, grid axes) to an .npz."""
    import pinnbench.plugins  # noqa: F401 - registers problems and plugins
    from pinnbench.registry import problems

    try:
        cls = problems.get(problem)
    except KeyError as e:
        raise typer.BadParameter(str(e.args[0]), param_hint="PROBLEM") from None
    try:
        prob = cls(**_parse_params(param))
    except (TypeError, ValueError) as e:
        raise typer.BadParameter(str(e), param_hint="--param") from None
    axes = None
    if at is not None:
        points = np.load(at)
        if points.ndim != 2 or points.shape[1] != prob.dim:
            raise typer.BadParameter(f"expected an (n, {prob.dim}) array, got shape "
                                     f"{points.shape}", param_hint="--at")
    else:
        points = prob.eval_points()
        axes = prob.eval_axes()
    t0 = time.perf_counter()
    values = np.asarray(prob.reference(np.asarray(points, np.float64)), np.float64)
    seconds = time.perf_counter() - t0
    arrays: dict[str, np.ndarray] = {"points": points, "values": values,
                                     "fields": np.asarray(prob.outputs)}
    for k, name in enumerate(prob.outputs):
        arrays[name] = values[:, k]
        if axes is not None:
            arrays[f"{name}_grid"] = values[:, k].reshape([len(a) for a in axes])
    if axes is not None:
        for k, a in enumerate(axes):
            arrays[f"axis{k}"] = a
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, **arrays)
    typer.echo(f"{problem}: {values.shape[0]} points x {len(prob.outputs)} fields -> {out} "
               f"({seconds:.2f} s, including any cached solve)")
