"""Whether two checkouts compile the same training step: the optimised HLO of one 10-step chunk
per case, instructions compared with metadata and parameter names removed.

    python benchmarks/compiled_step_diff.py OLD_CHECKOUT NEW_CHECKOUT [CASE ...]

A refactoring that leaves every case at 0 differing instructions cannot change speed or numbers.
Each checkout is imported in its own interpreter (``pinnbench`` from that folder).
"""

from __future__ import annotations

import difflib
import re
import subprocess
import sys

CASES = {  # name: (problem, model, optimizer, sampler, precision)
    "adam": ("helmholtz2d", {"type": "mlp", "width": 64, "depth": 4}, {"type": "adam"},
             {"type": "uniform", "n_interior": 4096, "n_boundary": 1024}, "float32"),
    "lbfgs": ("helmholtz2d", {"type": "mlp", "width": 64, "depth": 4}, {"type": "lbfgs"},
              {"type": "uniform", "n_interior": 4096, "n_boundary": 1024}, "float32"),
    "lm": ("helmholtz2d", {"type": "mlp", "width": 64, "depth": 4}, {"type": "lm"},
           {"type": "uniform", "n_interior": 4096, "n_boundary": 1024}, "float32"),
    "newton_cg": ("helmholtz2d", {"type": "mlp", "width": 64, "depth": 4},
                  {"type": "newton_cg"}, {"type": "uniform", "n_interior": 4096,
                                          "n_boundary": 1024}, "float32"),
    "balls": ("helmholtz2d", {"type": "balls", "n_balls": 4, "width": 8, "depth": 1},
              {"type": "lm_sparse", "aas_lr": 0.01}, {"type": "aas", "n_interior": 256,
                                                       "n_boundary": 64}, "float64"),
    "elm": ("poisson1d", {"type": "elm_fbpinn", "subdomains": 4}, {"type": "lstsq"},
            {"type": "uniform", "n_interior": 256, "n_boundary": 2}, "float64"),
    "rad": ("burgers1d", {"type": "mlp", "width": 16, "depth": 2}, {"type": "adam"},
            {"type": "rad", "n_interior": 512, "n_boundary": 64, "n_initial": 64}, "float32"),
    "fbpinn": ("poisson1d", {"type": "fbpinn", "subdomains": 4}, {"type": "adam"},
               {"type": "uniform", "n_interior": 256, "n_boundary": 2}, "float32"),
}

CHILD = """
import sys, jax
sys.path.insert(0, sys.argv[1])
jax.config.update("jax_enable_x64", True)
import pinnbench.plugins
from pinnbench.engine.train import Trainer, precision
from pinnbench.spec import RunSpec
try:
    from pinnbench.run.suite import _Checker
except ImportError:  # a checkout from before the run/ layer
    from pinnbench.suite import _Checker
prob, model, opt, sam, prec = eval(sys.argv[2])
c = _Checker("case")
method = {"model": c.component("model", model, "m"), "optimizer": c.component("optimizer", opt,
          "o"), "sampler": c.component("sampler", sam, "s"), "weights": {}}
spec = RunSpec("case", prob, c.component("problem", {"type": prob}, "p"), "m", method, 0, 0,
               prec, {"steps": 10, "eval_every": 10})
t = Trainer(spec)
# traced in the run's precision, as the engine traces it (a float32 step under 64-bit types
# would not be the program a worker runs)
with precision(prec):
    print(jax.jit(lambda carry: t._chunk(carry, 10)).lower(t.initial_state()).compile().as_text())
"""


def instructions(root: str, case: tuple) -> list[str]:
    text = subprocess.run([sys.executable, "-c", CHILD, root, repr(case)], capture_output=True,
                          text=True, check=True).stdout
    lines = [re.sub(r", metadata=\{[^}]*\}", "", line) for line in text.splitlines()
             if re.match(r"^\s*(ROOT )?%.* = |^ENTRY|^%", line)]
    return [re.sub(r"carry[A-Za-z0-9_.]*", "P", line) for line in lines]


def main() -> None:
    old, new, *names = sys.argv[1:]
    for name in names or list(CASES):
        a, b = instructions(old, CASES[name]), instructions(new, CASES[name])
        changed = sum(1 for d in difflib.ndiff(a, b) if d.startswith("- "))
        print(f"{name:10s} {changed:5d} differing of {len(a)} instructions")


if __name__ == "__main__":
    main()
