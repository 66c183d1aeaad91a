"""``pinnbench reference PROBLEM``: write a problem's reference solution to an .npz file.

``problem_from_options`` builds a problem from ``--param KEY=VALUE`` items, validated exactly as
a suite's problem table is (types, ranges, "did you mean"); ``pinnbench verify`` uses it too.
"""

from __future__ import annotations

import time
import typing
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from pinnbench.cli.common import PluginOption, bad_input, load_plugins_or_exit

ParamOption = Annotated[list[str] | None, typer.Option(
    "--param", metavar="KEY=VALUE", help="problem option (repeatable)")]


def _typed(text: str, t: Any) -> Any:
    """A --param value as the option's type; the text itself where it does not parse (the
    suite validator then says what was expected)."""
    text = text.strip()
    if t is bool:
        return {"true": True, "false": False}.get(text.lower(), text)
    for cast in ((int,) if t is int else (float,) if t is float else ()):
        try:
            return cast(text)
        except ValueError:
            return text
    return text


def problem_from_options(name: str, items: list[str] | None) -> Any:
    """The problem ``name`` with ``KEY=VALUE`` options, or a one-line bad-input exit."""
    from pinnbench.registry import options_of, problems, suggest
    from pinnbench.run.suite import SuiteError, _Checker

    if name not in problems:
        raise bad_input(f"PROBLEM: unknown problem {name!r}{suggest(name, problems.names())}; "
                        f"registered: {', '.join(problems.names())}")
    cls = problems.get(name)
    hints = typing.get_type_hints(cls)
    table: dict[str, Any] = {"type": name}
    known = [f.name for f in options_of(cls) if not f.metadata.get("internal")]
    for item in items or []:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise bad_input(f"--param: expected KEY=VALUE, got {item!r}")
        if key not in known:
            raise bad_input(f"--param {key}: {name} has no option {key!r}"
                            f"{suggest(key, known)}; options: {', '.join(known) or 'none'}")
        table[key] = _typed(text, hints.get(key))
    checker = _Checker(Path("--param"))
    try:
        options = checker.component("problem", table, "")
        return cls(**{k: v for k, v in options.items() if k != "type"})
    except SuiteError as e:
        raise bad_input(str(e).replace("--param: ", "--param ", 1)) from None
    except (TypeError, ValueError) as e:  # a rule across options, raised by the problem
        raise bad_input(f"--param: {' '.join(str(e).split())}") from None


def _points_at(path: Path, dim: int) -> np.ndarray:
    try:
        points = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise bad_input(f"--at {path}: no such file") from None
    except (OSError, ValueError) as e:
        raise bad_input(f"--at {path}: not a .npy array file ({' '.join(str(e).split())})"
                        ) from None
    if not isinstance(points, np.ndarray) or points.ndim != 2 or points.shape[1] != dim:
        shape = getattr(points, "shape", "an archive")
        raise bad_input(f"--at {path}: expected an (n, {dim}) array, got shape {shape}")
    if not np.issubdtype(points.dtype, np.number) or not np.all(np.isfinite(points)):
        raise bad_input(f"--at {path}: expected finite numbers (found NaN, inf or non-numbers)")
    return points


def reference(
    problem: Annotated[str, typer.Argument(help="registered problem name")],
    out: Annotated[Path, typer.Option("--out", help="output .npz file")],
    param: ParamOption = None,
    at: Annotated[Path | None, typer.Option("--at", help="(n, dim) .npy array of points to "
                                            "evaluate at instead of the evaluation grid")] = None,
    plugin: PluginOption = None,
) -> None:
    """Write PROBLEM's reference solution (points, values per field, grid axes) to an .npz."""
    load_plugins_or_exit(plugin)
    prob = problem_from_options(problem, param)
    if out.is_dir():
        raise bad_input(f"--out {out}: is a folder; expected an .npz file name")
    axes = None
    if at is not None:
        points = _points_at(at, prob.dim)
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
