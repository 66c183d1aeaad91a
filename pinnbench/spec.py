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
    ``{"type": registered name, option: value, ...}``.
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

    def identity(self) -> dict[str, Any]:
        """What the run id hashes: everything but the suite's name."""
        d = dataclasses.asdict(self)
        d.pop("suite")
        if d["method"].get("loss", DEFAULT_LOSS) == DEFAULT_LOSS:
            d["method"].pop("loss", None)
        tables = [("problem", d["problem"])] + [(k, d["method"][k]) for k in COMPONENTS
                                                 if k in d["method"]]
        for kind, table in tables:
            if table.get("type") in REGISTRIES[kind]:
                cls = REGISTRIES[kind].get(table["type"])
                for name, default in defaults_outside_id(cls).items():
                    if name in table and table[name] == default:
                        del table[name]
        return d

    @property
    def run_id(self) -> str:
        text = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        return cls(**json.loads(text))

    def build(self, kind: str) -> Any:
        """Instantiate the problem or one method component from its table."""
        table = self.problem if kind == "problem" else self.part(kind)
        options = {k: v for k, v in table.items() if k != "type"}
        return REGISTRIES[kind].get(table["type"])(**options)

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
