"""Name -> component registries.

Every axis of the benchmark matrix (problem, model, optimizer, sampler, loss) is a registry of
frozen dataclasses. A dataclass's fields are its options: their types and defaults are what suite
files are validated against and what ``pinnbench list`` prints, so there is one source of truth.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
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


# Names other tools give options that pinnbench spells differently; a hint only when the
# pinnbench name is among the choices.
ALIASES: dict[str, str] = {
    "learning_rate": "lr", "learningrate": "lr", "epochs": "steps", "iterations": "steps",
    "iters": "steps", "n_steps": "steps", "max_steps": "steps", "layers": "depth",
    "n_layers": "depth", "num_layers": "depth", "hidden": "width", "neurons": "width",
    "units": "width", "hidden_size": "width",
}


def _initials(name: str) -> str:
    return "".join(word[0] for word in name.replace("-", "_").split("_") if word)


def _alias(name: str, choices: list[str]) -> list[str]:
    hit = ALIASES.get(name.lower())
    return [hit] if hit in choices else []


def _same_but_case(name: str, choices: list[str]) -> list[str]:
    return [c for c in choices if c.lower() == name.lower()]


def _abbreviation(name: str, choices: list[str]) -> list[str]:
    """learning_rate -> lr and lr -> learning_rate: one is the other's initials."""
    if "_" in name:
        return [c for c in choices if len(c) >= 2 and c == _initials(name)]
    return [c for c in choices if "_" in c and len(name) >= 2 and _initials(c) == name]


def _close_spelling(name: str, choices: list[str]) -> list[str]:
    return difflib.get_close_matches(name, choices, n=1, cutoff=0.6)


def _prefix(name: str, choices: list[str]) -> list[str]:
    # Short names (lr, k) score low on similarity; a shared prefix is a strong hint too.
    return [c for c in choices if len(c) >= 2 and (name.startswith(c) or c.startswith(name))]


def _word(name: str, choices: list[str]) -> list[str]:
    """A choice that is one of the name's words, or has the name as one of its words."""
    words = set(name.split("_"))
    return [c for c in choices if len(c) >= 2 and (c in words or name in c.split("_"))]


# Tried in order; the first rule that finds a choice gives the hint. Aliases, case and
# abbreviations come before spelling: edit distance alone offers "decay_rate" for
# "learning_rate", which only shares letters with it.
SUGGESTION_RULES: tuple[Callable[[str, list[str]], list[str]], ...] = (
    _alias, _same_but_case, _abbreviation, _close_spelling, _prefix, _word)


def _nearest(name: str, choices: list[str]) -> str | None:
    head, dot, tail = name.rpartition(".")
    if dot:  # optimizer.learning_rate: the option among the optimizer's, then the whole name
        same_head = [c[len(head) + 1:] for c in choices if c.startswith(head + ".")]
        found = _nearest(tail, same_head) if same_head else None
        if found is not None:
            return f"{head}.{found}"
    for rule in SUGGESTION_RULES:
        found = rule(name, choices)
        if found:
            return found[0]
    return None


def suggest(name: str, choices: list[str]) -> str:
    """' (did you mean "x"?)' for a near miss, else ''."""
    found = _nearest(name, choices)
    return f' (did you mean "{found}"?)' if found is not None else ""


@dataclasses.dataclass(frozen=True)
class Source:
    """Where a component that is not built in came from: a plugin file, module or entry point,
    with the SHA-256 of its code (a changed plugin gives new run ids)."""

    ref: str     # absolute file path, or module name
    sha256: str

    def as_dict(self) -> dict[str, str]:
        return {"source": self.ref, "sha256": self.sha256}


# Set by pinnbench.plugins while it imports a plugin, so its registrations record their source.
loading: list[Source] = []


# The packages whose modules register the built-in components as they are imported.
BUILTIN_PACKAGES = ("pinnbench.problems", "pinnbench.models", "pinnbench.optim",
                    "pinnbench.sampling", "pinnbench.losses")
_builtins_loaded = False


def load_builtins() -> None:
    """Register every built-in component, once per process. Every registry calls it before it
    answers a lookup, so no caller has to remember an import for its side effect."""
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True  # first: the imports below register through this module
    try:
        for package in BUILTIN_PACKAGES:
            importlib.import_module(package)
    except BaseException:
        _builtins_loaded = False  # a broken import is raised again at the next lookup
        raise


class Registry:
    """Maps registered names to component classes of one kind (e.g. "problem").

    Registration checks the class against its axis's protocol (``pinnbench.protocols``) and
    sets its ``capabilities`` to those it and its bases declare (none when none do)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, type] = {}
        self._sources: dict[str, Source] = {}

    def register(self, name: str) -> Callable[[type[T]], type[T]]:
        from pinnbench.protocols import ProtocolError, conformance

        def decorator(cls: type[T]) -> type[T]:
            source = loading[-1] if loading else None
            if source is not None:  # a plugin's name must not shadow a built-in one
                load_builtins()
            if name in self._entries and not self._same_plugin(name, source):
                where = self._sources.get(name)
                raise ValueError(f"{self.kind} {name!r} is registered twice (first by "
                                 f"{where.ref if where else 'pinnbench itself'})")
            if not dataclasses.is_dataclass(cls):
                raise ProtocolError(f"{self.kind} {name!r} must be a dataclass "
                                    "(@dataclasses.dataclass(frozen=True) under the register "
                                    "decorator)")
            cls.capabilities = capabilities_along_mro(cls)  # type: ignore[attr-defined]
            missing = conformance(self.kind, cls)
            if missing:
                raise ProtocolError(f"{self.kind} {name!r} ({cls.__name__}) does not implement "
                                    f"the {self.kind} protocol: needs {'; '.join(missing)}")
            self._entries[name] = cls
            if source is not None:
                self._sources[name] = source
            else:
                self._sources.pop(name, None)
            cls.registered_name = name  # type: ignore[attr-defined]
            return cls

        return decorator

    def _same_plugin(self, name: str, source: Source | None) -> bool:
        """A plugin loaded again (same file or module, e.g. after an edit) replaces its own
        registrations; anything else registering a taken name is an error."""
        old = self._sources.get(name)
        return source is not None and old is not None and old.ref == source.ref

    def snapshot(self) -> tuple[dict[str, type], dict[str, Source]]:
        load_builtins()
        return dict(self._entries), dict(self._sources)

    def restore(self, snapshot: tuple[dict[str, type], dict[str, Source]]) -> None:
        """Undo the registrations since ``snapshot`` (a plugin that failed half-way)."""
        self._entries, self._sources = dict(snapshot[0]), dict(snapshot[1])

    def source(self, name: str) -> Source | None:
        """The plugin ``name`` came from; None for a built-in component."""
        load_builtins()
        return self._sources.get(name)

    def get(self, name: str) -> type:
        load_builtins()
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(
                f"unknown {self.kind} {name!r}{suggest(name, self.names())}; "
                f"registered: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        load_builtins()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        load_builtins()
        return name in self._entries

    def __iter__(self) -> Iterator[tuple[str, type]]:
        load_builtins()
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


def capabilities_along_mro(cls: type) -> frozenset[str]:
    """The capabilities a class and its bases declare: a subclass keeps its bases' ones."""
    return frozenset().union(*(vars(k).get("capabilities", ()) for k in cls.__mro__))


def component_name(component: Any) -> str:
    """The registered name of a component (its class name if it is not registered)."""
    return vars(type(component)).get("registered_name") or type(component).__name__


def options_of(cls: type) -> list[dataclasses.Field]:
    """The user-settable options of a component (fields not marked internal)."""
    return [f for f in dataclasses.fields(cls) if not f.name.startswith("_") and f.init]
