"""Command-line interface: ``pinnbench run | compare | list | validate | check | collect | export |
plot | report | verify | reference``.

Each command is a plain function in a module of its own (shared helpers in
:mod:`pinnbench.cli.common`); this module registers them on ``app``, in the order the help lists
them, so no command module imports the package it belongs to."""

from __future__ import annotations

import sys
import warnings

import typer

from pinnbench.cli import (
    check,
    collect,
    compare,
    export,
    listing,
    plot,
    reference,
    report,
    run,
    validate,
    verify,
)
from pinnbench.cli.common import EXIT_INTERRUPTED, err

# Plain help (click's formatter): it wraps within 80 columns without cutting option names or
# their text, and shows a flag as a flag; rich panels cut "--array-parallelism" to fit and
# give every flag a "<bool>" value it does not take.
app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Benchmark physics-informed neural network methods on one JAX engine.")

app.command()(run.run)
app.command()(compare.compare)
app.command("list")(listing.list_components)
app.command()(validate.validate)
app.command()(check.check)
app.command()(collect.collect)
app.command()(export.export)
app.command()(plot.plot)
app.command()(report.report)
app.command()(verify.verify)
app.command("reference")(reference.reference)


def _summary(doc: str | None) -> str:
    """A command's first paragraph on one line: its entry in the command list, wrapped there
    rather than cut after a few words."""
    return " ".join((doc or "").strip().split("\n\n")[0].split())


for _info in app.registered_commands:
    if _info.short_help is None and _info.callback is not None:
        _info.short_help = _summary(_info.callback.__doc__)


def _warning_line(message, category, filename, lineno, line=None) -> str:
    return f"warning: {message}\n"


def main() -> None:
    """The ``pinnbench`` entry point: the app, with Ctrl-C outside a run as one line, exit 130."""
    warnings.formatwarning = _warning_line  # e.g. an unreadable result file: one plain line
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted: finished runs are recorded; rerun to do the rest")
        sys.exit(EXIT_INTERRUPTED)
