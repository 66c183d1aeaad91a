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

    @property
    def tuning(self) -> dict[str, Any] | None:
        """The validated ``[tuning]`` table (budget, tune_seeds, criterion, seed), or None."""
        return self.doc.get("tuning")

    def configurations(self, label: str) -> list[dict[str, Any]]:
        """Every configuration a method's sweeps expand to (one when it sweeps nothing)."""
        return list(self.doc["configurations"][label])

    def tried(self, label: str) -> list[dict[str, Any]]:
        """The configurations tuning tries: ``budget`` of them drawn (seeded, in their order)
        where the sweep has more; every configuration without ``[tuning]``."""
        configs = self.configurations(label)
        budget = self.tuning["budget"] if self.tuning else len(configs)
        if len(configs) <= budget:
            return configs
        import numpy as np

        rng = np.random.default_rng([self.tuning["seed"], *label.encode()])
        return [configs[i] for i in sorted(rng.choice(len(configs), budget, replace=False))]

    def tuned(self, label: str) -> bool:
        """Whether the method's configuration is chosen by tuning (it has several)."""
        return self.tuning is not None and len(self.configurations(label)) > 1

    def cells(self, only: str | None = None) -> list[tuple[str, str]]:
        """The (problem, method) labels that ``only`` (a glob) selects, in a stable order."""
        return [(p, m) for p in self.doc["problems"] for m in self.doc["methods"]
                if not only or any(fnmatch.fnmatch(s, only) for s in (f"{p}/{m}", p, m))]

    def spec(self, p_label: str, m_label: str, method: dict[str, Any], seed: int) -> RunSpec:
        """One run of a configuration of a method on a problem."""
        problem = self.doc["problems"][p_label]
        code = plugin_code(problem, method)
        return RunSpec(self.name, p_label, problem, m_label, method, seed,
                       self.doc.get("data_seed", seed), self.doc["precision"],
                       self.doc["budget"], self.plugins if code else (), code)

    def runs(self, only: str | None = None, seeds: list[int] | None = None) -> list[RunSpec]:
        """Every run the suite can name now, in a stable order: each configuration of each
        (problem, method) on each seed. With ``[tuning]``, a method with several configurations
        runs the ones it tries on ``tune_seeds`` (its runs on ``seeds`` follow the selection,
        :meth:`final_runs`)."""
        out = []
        for p_label, m_label in self.cells(only):
            tuned = self.tuned(m_label)
            for method in self.tried(m_label):
                for seed in self.tuning["tune_seeds"] if tuned else self.seeds_of(m_label, seeds):
                    out.append(self.spec(p_label, m_label, method, seed))
        return out

    def seeds_of(self, label: str, override: list[int] | None = None) -> list[int]:
        """The seeds a method runs on: ``override`` (the command line's ``--seeds``) where
        given, else the method's own ``seeds`` where it sets them, else the suite's."""
        if override is not None:
            return list(override)
        return list(self.doc.get("method_seeds", {}).get(label, self.seeds))

    def final_runs(self, selected: dict[tuple[str, str], dict[str, Any]],
                   seeds: list[int] | None = None) -> list[RunSpec]:
        """The selected configuration of each tuned (problem, method) on the suite's seeds."""
        return [self.spec(p, m, method, seed) for (p, m), method in selected.items()
                for seed in self.seeds_of(m, seeds)]

    def pending(self, only: str | None = None, seeds: list[int] | None = None) -> int:
        """How many runs the selection adds to :meth:`runs` (0 without ``[tuning]``)."""
        return sum(len(self.seeds_of(m, seeds)) for _, m in self.cells(only) if self.tuned(m))

    @property
    def swept(self) -> bool:
        return any(len(c) > 1 for c in self.doc["configurations"].values())


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

    def setting(self, table: dict, name: str, t: Any, key: str, *,
                check: Callable[[Any], bool] | None = None, expect: str = "") -> Any:
        """An option's value, or a sweep over values (``{ sweep = ... }``), each checked."""
        if is_sweep(table[name]):
            return self.sweep(table[name], t, f"{key}.{name}", check=check, expect=expect)
        return self.scalar(table, name, t, key, check=check, expect=expect)

    def sweep(self, table: dict, t: Any, where: str, *,
              check: Callable[[Any], bool] | None = None, expect: str = "") -> dict[str, Any]:
        """``{ sweep = [v, ...] }`` or ``{ sweep = "loguniform", low, high, n, seed }``."""
        kind = table["sweep"]
        if isinstance(kind, list):
            self.known_keys(table, ["sweep"], where)
            if not kind:
                self.fail(f"{where}.sweep", "empty list; expected at least one value")
            values = [self.scalar({f"sweep[{i}]": v}, f"sweep[{i}]", t, where, check=check,
                                  expect=expect) for i, v in enumerate(kind)]
            repeated = [v for i, v in enumerate(values) if v in values[:i]]
            if repeated:
                self.fail(f"{where}.sweep", f"value {repeated[0]!r} appears more than once; "
                                            "expected distinct values (a repeat is the same run)")
            return {"sweep": values}
        if kind != "loguniform":
            self.fail(f"{where}.sweep", f"unknown sweep {_describe(kind)}; expected a list of "
                                        'values or "loguniform"')
        self.known_keys(table, ["sweep", *LOGUNIFORM_KEYS], where)
        if t is not float:
            self.fail(f"{where}.sweep", f"a loguniform sweep needs a number option, this one "
                                        f"takes {_type_name(t)}; list its values instead")
        for k in ("low", "high", "n"):
            if k not in table:
                self.fail(f"{where}.{k}", "missing; a loguniform sweep needs low, high and n")
        low, high = (self.scalar(table, k, float, where, check=lambda v: v > 0, expect="> 0")
                     for k in ("low", "high"))
        if not low < high:
            self.fail(f"{where}.low", f"expected low < high, got low = {low:g}, high = {high:g}")
        for k, v in (("low", low), ("high", high)):
            if check is not None and not check(v):
                self.fail(f"{where}.{k}", f"impossible value {v!r}; expected {expect}")
        n = self.scalar(table, "n", int, where, check=lambda v: v >= 1, expect=">= 1")
        seed = (self.scalar(table, "seed", int, where, check=lambda v: v >= 0, expect=">= 0")
                if "seed" in table else 0)
        return {"sweep": "loguniform", "low": low, "high": high, "n": n, "seed": seed}

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
                resolved[fname] = self.setting(table, fname, hints[fname], key,
                                               check=f.metadata.get("check"),
                                               expect=f.metadata.get("expect", ""))
            elif not partial:
                resolved[fname] = f.default
        return resolved


def _merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in override.items():
        # A sweep replaces a sweep whole: a list sweep over a loguniform one keeps no low/high.
        if isinstance(v, dict) and isinstance(out.get(k), dict) and not is_sweep(v):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


TOP_KEYS = ["name", "description", "plugins", "seeds", "data_seed", "precision", "budget",
            "problems", "defaults", "methods", "executor", "tuning", "profile"]
BUDGET_KEYS = ["steps", "time_s", "eval_every"]
METHOD_KEYS = [*COMPONENTS, "weights", "sweep", "seeds"]
LOGUNIFORM_KEYS = ["low", "high", "n", "seed"]
SWEEP_MODES = ("grid", "random")
SWEEP_KEYS = ["mode", "n", "seed", *COMPONENTS, "weights"]
TUNING_KEYS = ["budget", "tune_seeds", "criterion", "seed"]
# What tuning selects on. Only quantities of training: the selection never sees the evaluation
# grid the error metrics are computed on (pinnbench/analysis/tuning.py).
CRITERIA = ("train_loss",)


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
        _seed_list(doc["seeds"], c, key("seeds"))
    if "tuning" in doc:
        out["tuning"] = _tuning(doc["tuning"], c, key("tuning"), partial)
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
                                  lambda part: _type_in(base, "defaults", part), defaults=True)
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


def _seed_list(seeds: Any, c: _Checker, key: str) -> list[int]:
    if not isinstance(seeds, list) or not seeds or not all(
            _coerce(s, int)[0] and s >= 0 for s in seeds):
        c.fail(key, f"expected a non-empty list of integers >= 0, got {_describe(seeds)[:80]}")
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        c.fail(key, f"seed {repeated[0]} appears more than once; expected distinct seeds "
                    "(a repeated seed is the same run)")
    return seeds


def _tuning(table: Any, c: _Checker, key: str, partial: bool) -> dict[str, Any]:
    """``[tuning]``: configurations per method, the seeds they are tried on, the criterion."""
    table = c.table(table, key)
    c.known_keys(table, TUNING_KEYS, key)
    if not partial:
        for required in ("budget", "tune_seeds"):
            if required not in table:
                c.fail(f"{key}.{required}", "missing required key")
    out: dict[str, Any] = {}
    if "budget" in table:
        out["budget"] = c.scalar(table, "budget", int, key, check=lambda v: v >= 1,
                                 expect=">= 1 configurations per method")
    if "tune_seeds" in table:
        out["tune_seeds"] = _seed_list(table["tune_seeds"], c, f"{key}.tune_seeds")
    if "criterion" in table:
        name = c.scalar(table, "criterion", str, key)
        if name not in CRITERIA:
            c.fail(f"{key}.criterion", f"unknown criterion {name!r}{suggest(name, CRITERIA)}; "
                                       f"expected one of: {', '.join(CRITERIA)} (never a test "
                                       "metric: those see the evaluation grid)")
        out["criterion"] = name
    if "seed" in table:
        out["seed"] = c.scalar(table, "seed", int, key, check=lambda v: v >= 0, expect=">= 0")
    return out


def _weights(table: Any, c: _Checker, key: str) -> dict[str, Any]:
    weights = c.table(table, key)
    return {name: c.setting(weights, name, float, key, check=lambda v: v >= 0, expect=">= 0")
            for name in weights}


def _method(table: Any, c: _Checker, key: str, type_of: Callable[[str], str | None],
            defaults: bool = False) -> dict:
    """Validate the options a method (or the defaults) sets; types may come from elsewhere."""
    table = c.table(table, key)
    c.known_keys(table, [k for k in METHOD_KEYS if not (defaults and k in ("sweep", "seeds"))],
                 key)
    out = {part: c.component(part, table[part], f"{key}.{part}", default_type=type_of(part),
                             partial=True)
           for part in COMPONENTS if part in table}
    if "weights" in table:
        out["weights"] = _weights(table["weights"], c, f"{key}.weights")
    if "sweep" in table:
        out["sweep"] = _sweep_table(table["sweep"], c, f"{key}.sweep",
                                    lambda part: _type_in(table, part) or type_of(part))
    if "seeds" in table:
        # more seeds for a cheap method whose results spread (docs/check.md); not part of the
        # method's configuration, so its runs keep their ids
        out["seeds"] = _seed_list(table["seeds"], c, f"{key}.seeds")
    return out


def _axes(table: Any, c: _Checker, key: str) -> dict[str, Any]:
    """A sweep table's options of one part: a list of values reads as ``{ sweep = [...] }``."""
    table = c.table(table, key)
    out = {}
    for name, value in table.items():
        if name == "type":
            c.fail(f"{key}.type", "a component's type cannot be swept; make one method per type")
        if isinstance(value, list):
            value = {"sweep": value}
        if not is_sweep(value):
            c.fail(f"{key}.{name}", f"expected a list of values or a {{ sweep = ... }} table, "
                                    f"got {_describe(value)[:80]}")
        out[name] = value
    return out


def _sweep_table(table: Any, c: _Checker, key: str,
                 type_of: Callable[[str], str | None]) -> dict[str, Any]:
    """``[methods.NAME.sweep]``: how the method's swept options combine, and more of them."""
    table = c.table(table, key)
    c.known_keys(table, SWEEP_KEYS, key)
    out: dict[str, Any] = {}
    if "mode" in table:
        mode = c.scalar(table, "mode", str, key)
        if mode not in SWEEP_MODES:
            c.fail(f"{key}.mode", f"unknown mode {mode!r}{suggest(mode, SWEEP_MODES)}; "
                                  f"expected one of: {', '.join(SWEEP_MODES)}")
        out["mode"] = mode
    for k in ("n", "seed"):
        if k in table:
            low = 1 if k == "n" else 0
            out[k] = c.scalar(table, k, int, key, check=lambda v, low=low: v >= low,
                              expect=f">= {low}")
    for part in COMPONENTS:
        if part in table:
            # Checked against the part's options once its type is known (_finish); the type
            # named here only tells a profile's partial check what the options are.
            axes = _axes(table[part], c, f"{key}.{part}")
            if type_of(part) is not None:
                c.component(part, axes, f"{key}.{part}", default_type=type_of(part),
                            partial=True)
            out[part] = axes
    if "weights" in table:
        out["weights"] = _weights(_axes(table["weights"], c, f"{key}.weights"), c,
                                  f"{key}.weights")
    return out


def _executor(table: Any, c: _Checker, key: str) -> dict[str, Any]:
    """``[executor]``: where and how the runs execute (never part of a run's identity)."""
    from pinnbench.run.executors import EXECUTOR_TYPES, OPTIONS, RESOURCE_KEYS

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
    for m_label, method in ((m, config) for m, configs in doc["configurations"].items()
                            for config in configs):
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
    methods, configurations = {}, {}
    doc["method_seeds"] = {label: method["seeds"] for label, method in doc["methods"].items()
                           if "seeds" in method}
    for label, method in doc["methods"].items():
        # A method that names another type than the defaults replaces that part outright.
        base = {part: table for part, table in defaults.items()
                if not (isinstance(table, dict) and "type" in method.get(part, {})
                        and method[part]["type"] != table.get("type"))}
        merged = _merge(base, method)
        merged.setdefault("loss", dict(DEFAULT_LOSS))
        key = f"methods.{label}"
        resolved: dict[str, Any] = {}
        for part in COMPONENTS:
            if part not in merged:
                c.fail(f"{key}.{part}", f"missing; set it in [{key}.{part}] or [defaults.{part}]")
            resolved[part] = c.component(part, merged[part], f"{key}.{part}")
        resolved["weights"] = merged.get("weights", {})
        sweep = merged.get("sweep", {})
        _add_axes(resolved, sweep, c, key)
        methods[label] = resolved
        configurations[label] = _configurations(resolved, sweep, c, key)
    doc["methods"], doc["configurations"] = methods, configurations
    if "tuning" in doc:
        _check_tuning(doc, c)
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


# ---- sweeps: a method's swept options -> its configurations ----------------------------------
def is_sweep(value: Any) -> bool:
    """An option's ``{ sweep = [...] | "loguniform", ... }`` (not a method's [sweep] table)."""
    return isinstance(value, dict) and "sweep" in value and not isinstance(value["sweep"], dict)


def _add_axes(method: dict, sweep: dict, c: _Checker, key: str) -> None:
    """The options of a ``[sweep]`` table, checked against the resolved parts, into ``method``."""
    for part in (*COMPONENTS, "weights"):
        if part not in sweep:
            continue
        if part == "weights":
            axes = sweep[part]
        else:
            axes = c.component(part, {"type": method[part]["type"], **sweep[part]},
                               f"{key}.sweep.{part}", partial=True)
        for name, axis in axes.items():
            if name == "type":
                continue
            if is_sweep(method[part].get(name)):
                c.fail(f"{key}.sweep.{part}.{name}", f"swept twice (also in {key}.{part}."
                                                     f"{name}); expected one sweep per option")
            method[part][name] = axis


def sweep_axes(method: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(part, option, sweep) of every swept option of a method, in a stable order."""
    return [(part, name, value) for part in (*COMPONENTS, "weights")
            for name, value in sorted(method.get(part, {}).items()) if is_sweep(value)]


def _round(value: float) -> float:
    # Four significant digits: a drawn value reads well in a label and a table.
    return float(f"{value:.4g}")


def axis_values(axis: dict[str, Any]) -> list[Any]:
    """A sweep's values: its list, or ``n`` log-uniform draws (seeded, ascending)."""
    if isinstance(axis["sweep"], list):
        return list(axis["sweep"])
    import numpy as np

    rng = np.random.default_rng(axis["seed"])
    draws = np.exp(rng.uniform(np.log(axis["low"]), np.log(axis["high"]), axis["n"]))
    return sorted({_round(v) for v in draws})


def _configurations(method: dict, sweep: dict, c: _Checker, key: str) -> list[dict[str, Any]]:
    """Every configuration of a method: the grid of its sweeps, or ``n`` random draws."""
    import itertools

    import numpy as np

    mode = sweep.get("mode", "grid")
    axes = sweep_axes(method)
    if mode == "grid" and "n" in sweep:
        c.fail(f"{key}.sweep.n", 'only with mode = "random"; a grid has every combination')
    if mode == "random" and "n" not in sweep:
        c.fail(f"{key}.sweep.n", 'missing; mode = "random" draws n configurations')
    if not axes:
        return [method]
    discrete = all(isinstance(a["sweep"], list) for _, _, a in axes)
    if mode == "grid":
        combos = list(itertools.product(*(axis_values(a) for _, _, a in axes)))
    elif discrete:
        grid = list(itertools.product(*(a["sweep"] for _, _, a in axes)))
        if sweep["n"] > len(grid):
            c.fail(f"{key}.sweep.n", f"{sweep['n']} configurations asked of a grid of "
                                     f"{len(grid)}; expected at most {len(grid)}")
        rng = np.random.default_rng(sweep.get("seed", 0))
        combos = [grid[i] for i in rng.choice(len(grid), sweep["n"], replace=False)]
    else:  # random search: each option drawn on its own, a range anywhere in it
        rng = np.random.default_rng(sweep.get("seed", 0))
        combos = [tuple(a["sweep"][rng.integers(len(a["sweep"]))] if isinstance(a["sweep"], list)
                        else _round(float(np.exp(rng.uniform(np.log(a["low"]),
                                                             np.log(a["high"])))))
                        for _, _, a in axes) for _ in range(sweep["n"])]
    out = []
    for combo in dict.fromkeys(combos):  # a repeated draw is the same run
        config = copy.deepcopy(method)
        for (part, name, _), value in zip(axes, combo, strict=True):
            config[part][name] = value
        out.append(config)
    return out


def _check_tuning(doc: dict, c: _Checker) -> None:
    tuning = doc["tuning"]
    tuning.setdefault("criterion", CRITERIA[0])
    tuning.setdefault("seed", 0)
    shared = sorted(set(tuning["tune_seeds"]) & set(doc["seeds"]).union(
        *doc["method_seeds"].values()))
    if shared:
        c.fail("tuning.tune_seeds", f"seed {shared[0]} is also in seeds; expected tune seeds "
                                    "apart from the seeds the selected configurations are "
                                    "reported on")
    for label, configs in doc["configurations"].items():
        if 1 < len(configs) < tuning["budget"]:
            c.fail(f"methods.{label}", f"its sweeps make {len(configs)} configurations, fewer "
                                       f"than tuning.budget = {tuning['budget']}; expected at "
                                       "least the budget (widen the sweep or lower the budget)")


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
        overrides = _validate(profiles[profile], c, prefix=f"profile.{profile}", partial=True,
                              base=raw)
        if "seeds" in overrides:
            # a profile's seeds are every method's, except where the profile sets a method's own
            for label, method in base["methods"].items():
                if "seeds" not in overrides.get("methods", {}).get(label, {}):
                    method.pop("seeds", None)
        base = _merge(base, overrides)
    doc = _finish(base, c)
    _check_compatibility(doc, c)
    return Suite(path, doc["name"], doc["description"], profile, doc, loaded)
