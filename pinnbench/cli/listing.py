"""``pinnbench list``: every registered component with its options and defaults."""

from __future__ import annotations

import inspect

from rich.console import Console
from rich.table import Table

import pinnbench.plugins  # noqa: F401
from pinnbench.registry import REGISTRIES, options_of

PLURAL = {"problem": "problems", "model": "models", "optimizer": "optimizers",
          "sampler": "samplers", "loss": "losses"}


def print_registries(console: Console, kind: str | None = None, name: str | None = None
                     ) -> None:
    """Every registered component (or those of one kind, or one of them) with its options."""
    for k, registry in REGISTRIES.items():
        if kind is not None and k != kind:
            continue
        table = Table(title=PLURAL[k], title_justify="left", show_lines=False)
        for col in ("name", "option", "default", "meaning"):
            table.add_column(col)
        for entry, cls in registry:
            if name is not None and entry != name:
                continue
            summary = (inspect.getdoc(cls) or "").splitlines()[0]
            source = registry.source(entry)
            if source is not None:
                summary += f" (plugin: {source.ref})"
            if cls.capabilities:
                summary += f" (capabilities: {', '.join(sorted(cls.capabilities))})"
            table.add_row(f"[bold]{entry}[/]", "", "", summary)
            for f in options_of(cls):
                if f.metadata.get("internal"):
                    continue
                expect = f.metadata.get("expect", "")
                doc = f.metadata.get("doc", "") + (f" ({expect})" if expect else "")
                table.add_row("", f.name, repr(f.default), doc)
        console.print(table)
