"""Name -> component registries.

Every axis of the benchmark matrix (problem, model, optimizer, sampler, loss) is a registry of
frozen dataclasses. A dataclass's fields are its options: their types and defaults are what suite
files are validated against and what ``pinnbench list`` prints, so there is one source of truth.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def option(default: Any, doc: str = "", *, check: Callable[[Any], bool] | None = None,
           expect: str = "", id_at_default: bool = True) -> Any:
    """A dataclass field with documentation and an optional value check.

    ``check`` returns False for an impossible value; ``expect`` says in words what is allowed
    (used in the error message, e.g. "> 0"). ``id_at_default = False`` leaves the option out of
    the run id while it has its default: for an option added to a component after runs were
    recorded, whose default does what the component did before, so those runs keep their ids.
    """
    return dataclasses.field(default=default,
                             metadata={"doc": doc, "check": check, "expect": expect,
                                       "id_at_default": id_at_default})


def defaults_outside_id(cls: type) -> dict[str, Any]:
    """The options of a component that stay out of the run id at their default, with it."""
    return {f.name: f.default for f in dataclasses.fields(cls)
            if not f.metadata.get("id_at_default", True)}


def positive(doc: str, default: Any, **kwargs: Any) -> Any:
    return option(default, doc, check=lambda v: v > 0, expect="> 0", **kwargs)


def non_negative(doc: str, default: Any) -> Any:
    return option(default, doc, check=lambda v: v >= 0, expect=">= 0")


def suggest(name: str, choices: list[str]) -> str:
    """' (did you mean "x"?)' for a near miss, else ''."""
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    # Short names (lr, k) score low on similarity; a shared prefix is a strong hint too.
    close = close or [c for c in choices if len(c) >= 2 and (name.startswith(c)
                                                             or c.startswith(name))][:1]
    return f' (did you mean "{close[0]}"?)' if close else ""


class Registry:
    """Maps registered names to component classes of one kind (e.g. "problem")."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, type] = {}

    def register(self, name: str) -> Callable[[type[T]], type[T]]:
        def decorator(cls: type[T]) -> type[T]:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            if not dataclasses.is_dataclass(cls):
                raise TypeError(f"{self.kind} {name!r} must be a dataclass")
            self._entries[name] = cls
            cls.registered_name = name  # type: ignore[attr-defined]
            return cls

        return decorator

    def get(self, name: str) -> type:
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(
                f"unknown {self.kind} {name!r}{suggest(name, self.names())}; "
                f"registered: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[tuple[str, type]]:
        return iter(sorted(self._entries.items()))


problems = Registry("problem")
models = Registry("model")
optimizers = Registry("optimizer")
samplers = Registry("sampler")
losses = Registry("loss")

REGISTRIES: dict[str, Registry] = {
    "problem": problems,
    "model": models,
    "optimizer": optimizers,
    "sampler": samplers,
    "loss": losses,
}


def options_of(cls: type) -> list[dataclasses.Field]:
    """The user-settable options of a component (fields not marked internal)."""
    return [f for f in dataclasses.fields(cls) if not f.name.startswith("_") and f.init]
