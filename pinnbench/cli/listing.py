"""``pinnbench list``: every registered component with its options and defaults."""

from __future__ import annotations

import inspect
import re
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pinnbench.cli.common import PluginOption, bad_input, load_plugins_or_exit, out
from pinnbench.registry import REGISTRIES, options_of, suggest

PLURAL = {"problem": "problems", "model": "models", "optimizer": "optimizers",
          "sampler": "samplers", "loss": "losses"}
# Longest description in the overview; one component (`list KIND NAME`) shows its text in full.
MAX_SUMMARY = 90


def _plain(text: str) -> str:
    """Docstring text on one line, its reST ``literals`` as `literals`."""
    return " ".join(re.sub(r"``([^`]*)``", r"`\1`", text).split())


# A sentence ends at a full stop before a capital or a `literal` ("et al." does not end one).
_SENTENCE_END = re.compile(r"(?<!\bal)\.(?=\s+[A-Z`])")


def cut(text: str, limit: int = MAX_SUMMARY) -> str:
    """``text`` up to its first sentence's end, and at most ``limit`` characters (cut at a
    word, with an ellipsis)."""
    end = _SENTENCE_END.search(text)
    text = (text[:end.start() + 1] if end is not None else text).rstrip(":")
    if len(text) <= limit:
        return text
    return text[:limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def summary(cls: type, full: bool = False) -> str:
    """The component's description: its docstring's first sentence, or all of it."""
    doc = inspect.getdoc(cls) or ""
    return _plain(doc) if full else cut(_plain(doc.split("\n\n")[0]))


def option_meaning(doc: str, expect: str) -> str:
    """An option's text and its allowed values, once: many docs already end with them."""
    if not expect or expect in doc:
        return doc
    return f"{doc} ({expect})" if doc else expect


def print_registries(console: Console, kind: str | None = None, name: str | None = None
                     ) -> None:
    """Every registered component (or those of one kind, or one of them) with its options."""
    full = name is not None
    for k, registry in REGISTRIES.items():
        if kind is not None and k != kind:
            continue
        table = Table(title=PLURAL[k], title_justify="left", show_lines=False)
        for col in ("name", "option", "default", "meaning"):
            table.add_column(col)
        for entry, cls in registry:
            if name is not None and entry != name:
                continue
            text = summary(cls, full)
            source = registry.source(entry)
            if source is not None:
                text += f" (plugin: {source.ref})"
            if cls.capabilities:
                text += f" (capabilities: {', '.join(sorted(cls.capabilities))})"
            table.add_row(f"[bold]{entry}[/]", "", "", escape(text))
            for f in options_of(cls):
                if f.metadata.get("internal"):
                    continue
                meaning = option_meaning(f.metadata.get("doc", ""), f.metadata.get("expect", ""))
                table.add_row("", f.name, escape(repr(f.default)), escape(meaning))
        console.print(table)


def list_components(
    kind: Annotated[str | None, typer.Argument(help="problem, model, optimizer, sampler or "
                                               "loss (default: all)")] = None,
    name: Annotated[str | None, typer.Argument(help="one component of that kind")] = None,
    plugin: PluginOption = None,
) -> None:
    """Registered problems, models, optimizers, samplers and losses with their options."""
    load_plugins_or_exit(plugin)
    kinds = list(REGISTRIES)
    kind = {plural: k for k, plural in PLURAL.items()}.get(kind, kind)
    if kind is not None and kind not in REGISTRIES:
        raise bad_input(f"KIND: unknown kind {kind!r}{suggest(kind, kinds)}; expected one of: "
                        f"{', '.join(kinds)}")
    if name is not None and name not in REGISTRIES[kind]:
        names = REGISTRIES[kind].names()
        raise bad_input(f"NAME: no {kind} {name!r}{suggest(name, names)}; registered: "
                        f"{', '.join(names)}")
    print_registries(out, kind, name)
