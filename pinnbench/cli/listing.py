"""``pinnbench list``: every registered component with its options and defaults."""

from __future__ import annotations

import inspect

from rich.console import Console
from rich.table import Table

import pinnbench.plugins  # noqa: F401
from pinnbench.registry import REGISTRIES, options_of


def print_registries(console: Console) -> None:
    for kind, registry in REGISTRIES.items():
        table = Table(title=f"{kind}s", title_justify="left", show_lines=False)
        for col in ("name", "option", "default", "meaning"):
            table.add_column(col)
        for name, cls in registry:
            summary = (inspect.getdoc(cls) or "").splitlines()[0]
            source = registry.source(name)
            if source is not None:
                summary += f" (plugin: {source.ref})"
            if cls.capabilities:
                summary += f" (capabilities: {', '.join(sorted(cls.capabilities))})"
            table.add_row(f"[bold]{name}[/]", "", "", summary)
            for f in options_of(cls):
                if f.metadata.get("internal"):
                    continue
                expect = f.metadata.get("expect", "")
                doc = f.metadata.get("doc", "") + (f" ({expect})" if expect else "")
                table.add_row("", f.name, repr(f.default), doc)
        console.print(table)
