"""A fully resolved run: everything that decides its outcome, and the id derived from it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from pinnbench.registry import REGISTRIES, defaults_outside_id

COMPONENTS = ("model", "optimizer", "sampler", "loss")
# A method without a loss table trains on the plain loss; runs with it keep the run id they had
# before the loss axis existed (``identity`` leaves it out), so earlier results still match.
DEFAULT_LOSS: dict[str, Any] = {"type": "plain"}


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One (problem, method, seed) cell of a suite, with every default filled in.

    ``problem`` and each entry of ``method`` are tables
    ``{"type": registered name, option: value, ...}``. ``plugins`` are the plugin files and
    modules to load before building it (a worker loads them); ``code`` maps each component that
    came from a plugin ("problem", "optimizer", ...) to the SHA-256 of that plugin's code, which
    the run id covers (the plugins' locations do not: moving a file keeps its runs).
    """

    suite: str
    problem_label: str
    problem: dict[str, Any]
    method_label: str
    method: dict[str, Any]
    seed: int
    data_seed: int
    precision: str
    budget: dict[str, Any]
    plugins: tuple[str, ...] = ()
    code: dict[str, str] = dataclasses.field(default_factory=dict)

    def identity(self) -> dict[str, Any]:
        """What the run id hashes: everything but the suite's name."""
        # Options left out at their default are known from the component classes, which the
        # registries load before answering (registry.load_builtins): a job that had not would
        # hash the defaults in and record under another id. User plugins are loaded only where
        # asked for (--plugin), never as a side effect of naming a run.
        d = dataclasses.asdict(self)
        d.pop("suite")
        d.pop("plugins")
        if not d["code"]:  # runs of built-in components keep the ids they always had
            d.pop("code")
        if d["method"].get("loss", DEFAULT_LOSS) == DEFAULT_LOSS:
            d["method"].pop("loss", None)
        for kind, table in self._tables(d):
            if table.get("type") in REGISTRIES[kind]:
                cls = REGISTRIES[kind].get(table["type"])
                for name, default in defaults_outside_id(cls).items():
                    if name in table and table[name] == default:
                        del table[name]
        return d

    @staticmethod
    def _tables(d: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """(kind, table) of the problem and of each method component of ``d``."""
        method = d["method"]
        return [("problem", d["problem"])] + [(k, method[k]) for k in COMPONENTS if k in method]

    @property
    def run_id(self) -> str:
        text = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        fields = json.loads(text)
        fields["plugins"] = tuple(fields.get("plugins", ()))
        return cls(**fields)

    def build(self, kind: str) -> Any:
        """Instantiate the problem or one method component from its table."""
        table = self.problem if kind == "problem" else self.part(kind)
        options = {k: v for k, v in table.items() if k != "type"}
        if kind in self.code and table["type"] not in REGISTRIES[kind]:
            raise MissingPlugin(
                f"run {self.run_id} uses {kind} {table['type']!r} from a plugin "
                f"({', '.join(self.plugins) or 'an installed package'}); pass --plugin")
        return REGISTRIES[kind].get(table["type"])(**options)

    def plugin_columns(self) -> dict[str, str]:
        """``plugin.<kind>``: the plugin file or module of each component from a plugin, with
        its code's SHA-256 (also in the run id)."""
        out = {}
        for kind, sha in self.code.items():
            table = self.problem if kind == "problem" else self.part(kind)
            source = REGISTRIES[kind].source(table["type"]) if table["type"] in REGISTRIES[
                kind] else None
            out[f"plugin.{kind}"] = f"{source.ref if source else '?'} sha256:{sha}"
        return out


    def part(self, kind: str) -> dict[str, Any]:
        """One method component's table (the loss defaults to plain)."""
        return self.method.get(kind, DEFAULT_LOSS) if kind == "loss" else self.method[kind]

    def flat(self) -> dict[str, Any]:
        """Spec as flat columns: problem.a1, model.width, optimizer.lr, budget.steps, ..."""
        cols: dict[str, Any] = {f"problem.{k}": v for k, v in self.problem.items()}
        for part in COMPONENTS:
            cols.update({f"{part}.{k}": v for k, v in self.part(part).items()})
        cols.update({f"weights.{k}": v for k, v in self.method.get("weights", {}).items()})
        cols.update({f"budget.{k}": v for k, v in self.budget.items()})
        return cols


class MissingPlugin(KeyError):
    """A recorded run whose component came from a plugin that is not loaded now."""

    def __str__(self) -> str:
        return str(self.args[0])


def plugin_code(problem: dict[str, Any], method: dict[str, Any]) -> dict[str, str]:
    """Which parts of a run come from plugins, with the SHA-256 of each plugin's code."""
    tables = [("problem", problem)] + [(k, method.get(k, DEFAULT_LOSS if k == "loss" else None))
                                       for k in COMPONENTS]
    out = {}
    for kind, table in tables:
        if table is not None:
            source = REGISTRIES[kind].source(table["type"])
            if source is not None:
                out[kind] = source.sha256
    return out
