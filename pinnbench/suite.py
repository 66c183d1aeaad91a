"""Suite files: load, validate, apply a profile, expand into run specs.

Every problem is reported as one line ``FILE: KEY.PATH: what was wrong; what was expected`` through
:class:`SuiteError`, before anything runs. The format is documented in docs/suites.md.
"""

from __future__ import annotations

import copy
import dataclasses
import fnmatch
import re
import tomllib
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pinnbench.registry import REGISTRIES, options_of, suggest
from pinnbench.spec import COMPONENTS, DEFAULT_LOSS, RunSpec, plugin_code

PRECISIONS = ("float32", "float64")
NAME_PATTERN = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,99}")


class SuiteError(ValueError):
    """A suite file that cannot be run; the message names the file and the key."""

    def __init__(self, file: str | Path, key: str, message: str) -> None:
        self.file, self.key = str(file), key
        super().__init__(f"{file}: {key}: {message}" if key else f"{file}: {message}")


@dataclasses.dataclass(frozen=True)
class Suite:
    path: Path
    name: str
    description: str
    profile: str | None
    doc: dict[str, Any]  # validated, profile applied, defaults merged into methods
    plugins: tuple[str, ...] = ()  # loaded plugin files (absolute) and modules

    @property
    def seeds(self) -> list[int]:
        return list(self.doc["seeds"])

    @property
    def executor(self) -> dict[str, Any]:
        """The validated ``[executor]`` table (profile applied), empty when the suite has none."""
        return dict(self.doc.get("executor", {}))

    @property
    def problem_labels(self) -> list[str]:
        return list(self.doc["problems"])

    @property
    def method_labels(self) -> list[str]:
        return list(self.doc["methods"])

    def runs(self, only: str | None = None, seeds: list[int] | None = None) -> list[RunSpec]:
        """Every (problem, method, seed) run of the suite, in a stable order."""
        out = []
        for p_label, problem in self.doc["problems"].items():
            for m_label, method in self.doc["methods"].items():
                cell = f"{p_label}/{m_label}"
                if only and not any(fnmatch.fnmatch(s, only) for s in (cell, p_label, m_label)):
                    continue
                code = plugin_code(problem, method)
                for seed in seeds if seeds is not None else self.seeds:
                    data_seed = self.doc.get("data_seed", seed)
                    out.append(RunSpec(self.name, p_label, problem, m_label, method, seed,
                                       data_seed, self.doc["precision"], self.doc["budget"],
                                       self.plugins if code else (), code))
        return out


# ---- small validators -------------------------------------------------------------------------
def _type_name(t: Any) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        t, str(t))


def _coerce(value: Any, t: Any) -> tuple[bool, Any]:
    """Check value against a scalar type; ints are accepted where floats are expected."""
    if t is bool:
        return isinstance(value, bool), value
    if t is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if t is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return ok, float(value) if ok else value
    if t is str:
        return isinstance(value, str), value
    return False, value


def _describe(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


class _Checker:
    def __init__(self, file: Path) -> None:
        self.file = file

    def fail(self, key: str, message: str) -> typing.NoReturn:
        raise SuiteError(self.file, key, message)

    def table(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(key, f"expected a table, got {_describe(value)}")
        return value

    def known_keys(self, table: dict, allowed: list[str], key: str) -> None:
        for k in table:
            if k not in allowed:
                where = f"{key}.{k}" if key else k
                self.fail(where, f"unknown key{suggest(k, allowed)}; expected one of: "
                                 f"{', '.join(allowed)}")

    def scalar(self, table: dict, name: str, t: Any, key: str, *,
               check: Callable[[Any], bool] | None = None, expect: str = "") -> Any:
        ok, value = _coerce(table[name], t)
        where = f"{key}.{name}" if key else name
        if not ok:
            self.fail(where, f"expected {_type_name(t)}, got {_describe(table[name])}")
        if check is not None and not check(value):
            self.fail(where, f"impossible value {value!r}; expected {expect}")
        return value

    def component(self, kind: str, table: Any, key: str, default_type: str | None = None,
                  partial: bool = False) -> dict[str, Any]:
        """Validate ``{type = name, option = value, ...}`` against the registered class."""
        table = dict(self.table(table, key))
        registry = REGISTRIES[kind]
        name = table.get("type", default_type)
        if name is None:
            if partial:
                return table
            self.fail(f"{key}.type", f"missing; expected a registered {kind}: "
                                     f"{', '.join(registry.names())}")
        if not isinstance(name, str):
            self.fail(f"{key}.type", f"expected a string, got {_describe(name)}")
        if name not in registry:
            where = f"{key}.type" if "type" in table else key
            self.fail(where, f"unknown {kind} {name!r}{suggest(name, registry.names())}; "
                             f"registered: {', '.join(registry.names())}")
        cls = registry.get(name)
        fields = {f.name: f for f in options_of(cls) if not f.metadata.get("internal")}
        hints = typing.get_type_hints(cls)
        self.known_keys(table, ["type", *fields], key)
        resolved: dict[str, Any] = {"type": name}
        for fname, f in fields.items():
            if fname in table:
                resolved[fname] = self.scalar(table, fname, hints[fname], key,
                                              check=f.metadata.get("check"),
                                              expect=f.metadata.get("expect", ""))
            elif not partial:
                resolved[fname] = f.default
        return resolved


def _merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


TOP_KEYS = ["name", "description", "plugins", "seeds", "data_seed", "precision", "budget",
            "problems", "defaults", "methods", "executor", "profile"]
BUDGET_KEYS = ["steps", "time_s", "eval_every"]
METHOD_KEYS = [*COMPONENTS, "weights"]


def _type_in(doc: dict, *path: str) -> str | None:
    """The registered type named at ``path`` of a raw document, if any."""
    for k in path:
        doc = doc.get(k) if isinstance(doc, dict) else None
    return doc.get("type") if isinstance(doc, dict) else None


def _validate(doc: dict, c: _Checker, prefix: str = "", partial: bool = False,
              base: dict | None = None) -> dict:
    """Validate a suite document (or, with ``partial``, a profile's overrides of ``base``)."""
    base = base or {}

    def key(k: str) -> str:
        return f"{prefix}.{k}" if prefix else k

    c.known_keys(doc, TOP_KEYS if not prefix else [k for k in TOP_KEYS
                                                   if k not in ("profile", "plugins")], prefix)
    if not partial:
        for required in ("name", "seeds", "problems", "methods"):
            if required not in doc:
                c.fail(key(required), "missing required key")
    out: dict[str, Any] = dict(doc)
    for k in ("name", "description"):
        if k in doc:
            c.scalar(doc, k, str, prefix)
    if "name" in doc and not NAME_PATTERN.fullmatch(doc["name"]):
        # The name is a folder under results/: it may not climb out of it or be empty.
        c.fail(key("name"), f"expected a plain name of letters, digits, '_', '-' and '.' "
                            f"(not starting with '.', at most 100), got {doc['name'][:60]!r}")
    if "seeds" in doc:
        seeds = doc["seeds"]
        if not isinstance(seeds, list) or not seeds or not all(
                _coerce(s, int)[0] and s >= 0 for s in seeds):
            c.fail(key("seeds"), f"expected a non-empty list of integers >= 0, got "
                                 f"{_describe(seeds)[:80]}")
        repeated = sorted({s for s in seeds if seeds.count(s) > 1})
        if repeated:
            c.fail(key("seeds"), f"seed {repeated[0]} appears more than once; expected "
                                 "distinct seeds (a repeated seed is the same run)")
    if "data_seed" in doc:
        c.scalar(doc, "data_seed", int, prefix, check=lambda v: v >= 0, expect=">= 0")
    if "precision" in doc:
        c.scalar(doc, "precision", str, prefix, check=lambda v: v in PRECISIONS,
                 expect=f"one of {list(PRECISIONS)}")
    if "budget" in doc:
        budget = c.table(doc["budget"], key("budget"))
        c.known_keys(budget, BUDGET_KEYS, key("budget"))
        for k, t in (("steps", int), ("time_s", float), ("eval_every", int)):
            if k in budget:
                out.setdefault("budget", {})
                out["budget"][k] = c.scalar(budget, k, t, key("budget"), check=lambda v: v > 0,
                                            expect="> 0")
    if "problems" in doc:
        problems = c.table(doc["problems"], key("problems"))
        if not problems and not partial:
            c.fail(key("problems"), "expected at least one problem")
        out["problems"] = {label: c.component(
            "problem", p, key(f"problems.{label}"),
            default_type=_type_in(base, "problems", label) or label, partial=partial)
                           for label, p in problems.items()}
    if "defaults" in doc:
        out["defaults"] = _method(doc["defaults"], c, key("defaults"),
                                  lambda part: _type_in(base, "defaults", part))
    if "executor" in doc:
        out["executor"] = _executor(doc["executor"], c, key("executor"))
    if "methods" in doc:
        methods = c.table(doc["methods"], key("methods"))
        if not methods and not partial:
            c.fail(key("methods"), "expected at least one method")
        out["methods"] = {
            label: _method(m, c, key(f"methods.{label}"),
                           lambda part, label=label: _type_in(base, "methods", label, part)
                           or _type_in(base, "defaults", part)
                           or _type_in(doc, "defaults", part))
            for label, m in methods.items()}
    return out


def _method(table: Any, c: _Checker, key: str, type_of: Callable[[str], str | None]) -> dict:
    """Validate the options a method (or the defaults) sets; types may come from elsewhere."""
    table = c.table(table, key)
    c.known_keys(table, METHOD_KEYS, key)
    out = {part: c.component(part, table[part], f"{key}.{part}", default_type=type_of(part),
                             partial=True)
           for part in COMPONENTS if part in table}
    if "weights" in table:
        weights = c.table(table["weights"], f"{key}.weights")
        out["weights"] = {name: c.scalar(weights, name, float, f"{key}.weights",
                                         check=lambda v: v >= 0, expect=">= 0")
                          for name in weights}
    return out


def _executor(table: Any, c: _Checker, key: str) -> dict[str, Any]:
    """``[executor]``: where and how the runs execute (never part of a run's identity)."""
    from pinnbench.executors import EXECUTOR_TYPES, OPTIONS, RESOURCE_KEYS

    table = c.table(table, key)
    c.known_keys(table, ["type", *OPTIONS, "methods"], key)
    out: dict[str, Any] = {}
    if "type" in table:
        name = out["type"] = c.scalar(table, "type", str, key)
        if name not in EXECUTOR_TYPES:
            c.fail(f"{key}.type", f"unknown executor {name!r}{suggest(name, list(EXECUTOR_TYPES))};"
                                  f" expected one of: {', '.join(EXECUTOR_TYPES)}")
    for name, (t, check, expect, _) in OPTIONS.items():
        if name in table:
            out[name] = c.scalar(table, name, t, key, check=check, expect=expect)
    if "methods" in table:
        methods = c.table(table["methods"], f"{key}.methods")
        out["methods"] = {}
        for label, res in methods.items():
            where = f"{key}.methods.{label}"
            res = c.table(res, where)
            c.known_keys(res, list(RESOURCE_KEYS), where)
            out["methods"][label] = {k: c.scalar(res, k, OPTIONS[k][0], where,
                                                 check=OPTIONS[k][1], expect=OPTIONS[k][2])
                                     for k in res}
    return out


def _build(c: _Checker, kind: str, table: dict[str, Any], key: str) -> Any:
    """A component from its validated table; a rule across its options becomes a suite error."""
    try:
        return REGISTRIES[kind].get(table["type"])(**{k: v for k, v in table.items()
                                                      if k != "type"})
    except (ValueError, TypeError) as e:
        c.fail(key, " ".join(str(e).split()) or type(e).__name__)


def _check_compatibility(doc: dict, c: _Checker) -> None:
    """Build every (problem, method) pair's components and ask each, through its optional
    ``incompatibility(parts)`` hook, whether the combination makes sense."""
    for label in doc.get("executor", {}).get("methods", {}):
        if label not in doc["methods"]:
            c.fail(f"executor.methods.{label}", f"no method {label!r} in the suite"
                   f"{suggest(label, list(doc['methods']))}; methods: {', '.join(doc['methods'])}")
    problems = {label: _build(c, "problem", p, f"problems.{label}")
                for label, p in doc["problems"].items()}
    for m_label, method in doc["methods"].items():
        spec = RunSpec(doc["name"], "", {}, m_label, method, 0, 0, doc["precision"],
                       doc["budget"])
        built = {kind: _build(c, kind, spec.part(kind), f"methods.{m_label}.{kind}")
                 for kind in COMPONENTS if kind in REGISTRIES}
        for p_label, problem in problems.items():
            parts = {"problem": problem, **built}
            for part in parts.values():
                hook = getattr(part, "incompatibility", None)
                reason = hook(parts) if callable(hook) else None
                if reason:
                    where = "" if len(problems) == 1 else f" (on problem {p_label!r})"
                    c.fail(f"methods.{m_label}", " ".join(str(reason).split()) + where)


def _finish(doc: dict, c: _Checker) -> dict:
    """Apply defaults, fill every option, check cross-field rules of a merged document."""
    doc = dict(doc)
    doc.setdefault("description", "")
    doc.setdefault("precision", "float32")
    budget = doc.setdefault("budget", {})
    if "steps" not in budget and "time_s" not in budget:
        c.fail("budget", "expected budget.steps and/or budget.time_s")
    budget.setdefault("eval_every", min(budget.get("steps", 1000), 1000))
    defaults = doc.pop("defaults", {})
    methods = {}
    for label, method in doc["methods"].items():
        # A method that names another type than the defaults replaces that part outright.
        base = {part: table for part, table in defaults.items()
                if not (isinstance(table, dict) and "type" in method.get(part, {})
                        and method[part]["type"] != table.get("type"))}
        merged = _merge(base, method)
        merged.setdefault("loss", dict(DEFAULT_LOSS))
        key = f"methods.{label}"
        resolved = {}
        for part in COMPONENTS:
            if part not in merged:
                c.fail(f"{key}.{part}", f"missing; set it in [{key}.{part}] or [defaults.{part}]")
            resolved[part] = c.component(part, merged[part], f"{key}.{part}")
        resolved["weights"] = merged.get("weights", {})
        methods[label] = resolved
    doc["methods"] = methods
    for p_label, p in doc["problems"].items():
        problem = _build(c, "problem", p, f"problems.{p_label}")
        names = [con.name for con in problem.constraints()]
        for m_label, m in methods.items():
            for w in m["weights"]:
                if w not in names:
                    c.fail(f"methods.{m_label}.weights.{w}",
                           f"problem {p_label!r} has no constraint {w!r}{suggest(w, names)}; "
                           f"expected one of: {', '.join(names)}")
    return doc


def _load_plugins(raw: dict, c: _Checker, path: Path) -> tuple[str, ...]:
    """The suite's ``plugins = [...]`` (paths relative to the suite file), imported."""
    from pinnbench import plugins

    refs = raw.get("plugins", [])
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        c.fail("plugins", f"expected a list of .py files or module names, got {_describe(refs)}")
    loaded = []
    for i, ref in enumerate(refs):
        try:
            loaded += plugins.load([ref], base=path.resolve().parent)
        except plugins.PluginError as e:
            c.fail(f"plugins[{i}]", str(e))
    return tuple(loaded)


def load_suite(path: str | Path, profile: str | None = None,
               plugins: tuple[str, ...] = ()) -> Suite:
    """Read, validate and resolve a suite file; raises :class:`SuiteError`. ``plugins``: those
    already loaded from the command line, recorded with the suite's own."""
    import pinnbench.plugins  # noqa: F401  (registers every built-in component)

    path = Path(path)
    c = _Checker(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise SuiteError(path, "", "no such file") from None
    except UnicodeDecodeError as e:
        raise SuiteError(path, "", f"not a UTF-8 text file (byte {e.start})") from None
    except OSError as e:  # a folder, no permission...
        raise SuiteError(path, "", f"cannot read ({e.strerror or type(e).__name__})") from None
    except tomllib.TOMLDecodeError as e:
        raise SuiteError(path, "", f"not valid TOML: {e}") from None
    loaded = tuple(dict.fromkeys((*plugins, *_load_plugins(raw, c, path))))
    base = _validate(raw, c)
    base.pop("plugins", None)
    profiles = c.table(raw.get("profile", {}), "profile")
    for name, overrides in profiles.items():
        _validate(c.table(overrides, f"profile.{name}"), c, prefix=f"profile.{name}",
                  partial=True, base=raw)
    base.pop("profile", None)
    if profile is not None:
        if profile not in profiles:
            c.fail("profile", f"no profile {profile!r}{suggest(profile, list(profiles))}; "
                              f"defined: {', '.join(profiles) or 'none'}")
        base = _merge(base, _validate(profiles[profile], c, prefix=f"profile.{profile}",
                                      partial=True, base=raw))
    doc = _finish(base, c)
    _check_compatibility(doc, c)
    return Suite(path, doc["name"], doc["description"], profile, doc, loaded)
