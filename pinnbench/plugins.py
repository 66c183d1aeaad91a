"""Built-in components and user plugins.

The built-in problems, models, optimizers, samplers and losses register themselves the first time
a registry is asked anything (:func:`pinnbench.registry.load_builtins`). :func:`load` adds user
plugins: Python files or importable modules whose ``@registry.register``
decorators run on import, plus every installed package that names a module in the
``pinnbench.plugins`` entry-point group. Each plugin's registrations record where they came
from and the SHA-256 of its code (``Registry.source``), which goes into the run id of every run
that uses them: a changed plugin never silently reuses results of the old one.

A plugin that cannot be found, fails to import, registers a taken name or breaks its axis's
protocol raises :class:`PluginError` with one line, and leaves the registries as they were.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import sys
import traceback
from collections.abc import Iterable
from pathlib import Path

from pinnbench import registry
from pinnbench.protocols import ProtocolError

ENTRY_POINT_GROUP = "pinnbench.plugins"

_loaded: dict[str, str] = {}  # ref -> sha256 of the code already imported in this process


class PluginError(ValueError):
    """A plugin that cannot be used; the message names it and says what was expected."""


def load(refs: Iterable[str] = (), base: Path | None = None) -> tuple[str, ...]:
    """Import the installed entry-point plugins, then each of ``refs`` (a ``.py`` file, relative
    to ``base`` or the working folder, or a dotted module name). Returns the refs resolved (files
    as absolute paths), which is what a worker process passes back to ``load``."""
    registry.load_builtins()
    load_entry_points()
    resolved = []
    for ref in refs:
        target = resolve(ref, base)
        _import(target)
        resolved.append(target)
    return tuple(dict.fromkeys(resolved))


def resolve(ref: str, base: Path | None = None) -> str:
    """A file plugin as an absolute path; a module name as it is."""
    text = str(ref).strip()
    if not text:
        raise PluginError("'': expected a .py file or a module name")
    path = Path(text).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    if path.suffix == ".py" or "/" in text or path.exists():
        if not path.exists():
            raise PluginError(f"{text}: no such file")
        if path.is_dir():
            raise PluginError(f"{text}: is a folder; expected a .py file or a module name")
        if path.suffix != ".py":
            raise PluginError(f"{text}: expected a .py file")
        return str(path.resolve())
    if not all(part.isidentifier() for part in text.split(".")):
        raise PluginError(f"{text}: no such file, and not a module name")
    return text


def load_entry_points() -> None:
    for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP),
                     key=lambda e: e.name):
        module = ep.value.split(":")[0].strip()
        try:
            _import(module, label=f"entry point {ep.name!r} ({ep.value}) of group "
                                  f"{ENTRY_POINT_GROUP}")
        except PluginError as e:
            raise PluginError(f"installed plugin: {e}") from None


def _sha256_of(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()


def _module_files(spec: importlib.machinery.ModuleSpec) -> list[Path]:
    """The code a module's hash covers: its file, or every .py file of its package."""
    if spec.origin is None or not Path(spec.origin).is_file():
        return []
    origin = Path(spec.origin)
    if spec.submodule_search_locations:
        return sorted(origin.parent.rglob("*.py"))
    return [origin]


def _import(target: str, label: str | None = None) -> None:
    label = label or target
    is_file = target.endswith(".py") and Path(target).is_absolute()
    if is_file:
        path = Path(target)
        sha = _sha256_of([path])
        name = f"pinnbench_plugin_{hashlib.sha256(target.encode()).hexdigest()[:12]}"
        spec = importlib.util.spec_from_file_location(name, path)
    else:
        try:
            spec = importlib.util.find_spec(target)
        except (ImportError, ValueError) as e:
            raise PluginError(f"{label}: cannot be imported ({type(e).__name__}: {e})") from None
        if spec is None:
            raise PluginError(f"{label}: no such file or importable module")
        name = target
        sha = _sha256_of(_module_files(spec))
    if _loaded.get(target) == sha:
        return
    snapshot = {kind: r.snapshot() for kind, r in registry.REGISTRIES.items()}
    registry.loading.append(registry.Source(target, sha))
    try:
        if is_file:
            module = importlib.util.module_from_spec(spec)
            # dataclasses resolves a plugin's annotations through sys.modules
            sys.modules[name] = module
            spec.loader.exec_module(module)
        elif name in sys.modules:
            importlib.reload(sys.modules[name])
        else:
            importlib.import_module(name)
    except BaseException as e:
        for kind, r in registry.REGISTRIES.items():
            r.restore(snapshot[kind])
        sys.modules.pop(name, None)
        if isinstance(e, KeyboardInterrupt):
            raise
        raise PluginError(f"{label}: {_reason(e, target if is_file else None)}") from None
    finally:
        registry.loading.pop()
    _loaded[target] = sha


def _reason(error: BaseException, file: str | None) -> str:
    if isinstance(error, SyntaxError):
        return f"does not import: {error.msg} (line {error.lineno})"
    if isinstance(error, ProtocolError):
        return str(error)
    if isinstance(error, ValueError) and "registered twice" in str(error):
        return str(error)
    where = ""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if file is not None and f.filename == file]
    if frames:
        where = f" (line {frames[-1].lineno})"
    text = " ".join(str(error).split()) or "no message"
    return f"raised {type(error).__name__} on import{where}: {text}"


def sources_of(refs: Iterable[str]) -> dict[str, str]:
    """ref -> SHA-256 of each loaded plugin among ``refs``."""
    return {r: _loaded[r] for r in refs if r in _loaded}
