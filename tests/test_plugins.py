"""User plugins: the worked example of docs/extending.md through the CLI, an installed plugin
found through its entry point, plugin code in run ids, and every bad plugin as one line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from pinnbench.cli import app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "plugins"
KG = EXAMPLES / "klein_gordon.py"


def pinnbench(*args: str, cwd: Path, python: str = sys.executable,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The CLI as a user runs it: a fresh interpreter (workers, spawned, load plugins again)."""
    return subprocess.run([python, "-m", "pinnbench", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=900, env=env)


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.fixture(autouse=True)
def builtins_only():
    """Registries without plugin components (a reset function); what the test registers in this
    process is undone afterwards, so other test modules see the built-ins only."""
    from pinnbench import plugins, registry

    saved = {kind: r.snapshot() for kind, r in registry.REGISTRIES.items()}
    loaded = dict(plugins._loaded)

    def reset() -> None:
        for kind, r in registry.REGISTRIES.items():
            entries, sources = saved[kind]
            r.restore(({n: c for n, c in entries.items() if n not in sources}, {}))
        plugins._loaded.clear()

    reset()
    yield reset
    for kind, r in registry.REGISTRIES.items():
        r.restore(saved[kind])
    plugins._loaded.clear()
    plugins._loaded.update(loaded)


# ---- the guide's worked example ----------------------------------------------------------------
def test_the_guide_flow_run_compare_plot_report_check(tmp_path):
    """docs/extending.md, "A first plugin": a problem and an optimizer in one file, named by
    the suite, through run --jobs 2, compare, plot --kind field, report and check."""
    out = tmp_path / "res"
    r = pinnbench("run", str(EXAMPLES / "klein_gordon.toml"), "--out", str(out), "--jobs", "2",
                  cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    from pinnbench.run.store import load_runs

    runs = load_runs(out)  # merges rows whose columns differ (plugin.optimizer: sgd rows only)
    assert sorted(runs["status"]) == ["ok"] * 4
    assert set(runs["optimizer.type"]) == {"adam", "sgd_momentum"}
    sgd = runs[runs["optimizer.type"] == "sgd_momentum"]
    # It trains: from the zero-ish initial network (rel_l2 ~ 1) to well below it.
    assert (sgd["rel_l2"] < 0.5).all(), sgd["rel_l2"].tolist()
    # The plugin file and its code's hash are in every row.
    assert runs["plugin.problem"].str.startswith(str(KG)).all()
    assert sgd["plugin.optimizer"].str.contains("sha256:").all()
    assert runs[runs["optimizer.type"] == "adam"]["plugin.optimizer"].isna().all()

    r = pinnbench("compare", str(out), cwd=tmp_path)
    assert r.returncode == 0 and "sgd_momentum" in r.stdout, r.stdout + r.stderr

    png = tmp_path / "field.png"
    r = pinnbench("plot", str(out), "--kind", "field", "--plugin", str(KG), "--out", str(png),
                  cwd=tmp_path)
    assert r.returncode == 0 and png.stat().st_size > 10_000, r.stdout + r.stderr
    # Without the plugin: one clear line, no traceback, nothing written.
    png.unlink()
    r = pinnbench("plot", str(out), "--kind", "field", "--out", str(png), cwd=tmp_path)
    assert r.returncode == 2 and not png.exists()
    assert len(error_lines(r.stderr)) == 1 and "pass --plugin" in r.stderr
    assert "klein_gordon1d" in r.stderr and "Traceback" not in r.stderr

    page = tmp_path / "report.html"
    r = pinnbench("report", str(out), "--out", str(page), "--plugin", str(KG), cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert page.read_text().count("data:image/png;base64") >= 2  # field maps are in
    r = pinnbench("report", str(out), "--out", str(tmp_path / "r2.html"), cwd=tmp_path)
    assert r.returncode == 2 and "pass --plugin" in r.stderr

    baseline = tmp_path / "baseline.parquet"
    r = pinnbench("check", str(out), "--baseline", str(baseline), "--update-baseline",
                  cwd=tmp_path)
    assert r.returncode == 0 and baseline.is_file(), r.stdout + r.stderr
    r = pinnbench("check", str(out), "--baseline", str(baseline), cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_an_installed_plugin_is_found_by_its_entry_point(tmp_path):
    """The same plugin packaged with a `pinnbench.plugins` entry point, pip-installed into a
    new virtual environment: list, verify and run find it without --plugin."""
    package = tmp_path / "pkg"
    (package / "kg_plugin").mkdir(parents=True)
    shutil.copy(KG, package / "kg_plugin" / "__init__.py")
    (package / "pyproject.toml").write_text(textwrap.dedent("""
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "kg-plugin"
        version = "0.1"

        [project.entry-points."pinnbench.plugins"]
        klein_gordon = "kg_plugin"
        """))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True)
    # The new environment sees this one's packages (jax, pinnbench) through a .pth file: the
    # folder first, then the import lines of its own .pth files (an editable install's finder).
    parent = Path(sysconfig.get_paths()["purelib"])
    lines = [str(parent)] + [line for pth in sorted(parent.glob("*.pth"))
                             for line in pth.read_text().splitlines() if line.startswith("import")]
    Path(site.stdout.strip(), "zz_parent.pth").write_text("\n".join(lines) + "\n")
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    str(package)], check=True, capture_output=True)

    r = pinnbench("list", cwd=tmp_path, python=python)
    assert r.returncode == 0 and "klein_gordon1d" in r.stdout and "sgd_momentum" in r.stdout
    r = pinnbench("verify", "klein_gordon1d", "--points", "50", cwd=tmp_path, python=python)
    assert r.returncode == 0 and "satisfies all 4 constraints" in r.stdout, r.stdout + r.stderr
    suite = tmp_path / "kg.toml"
    suite.write_text((EXAMPLES / "klein_gordon.toml").read_text()
                     .replace('plugins = ["klein_gordon.py"]\n', "")
                     .replace("seeds = [0, 1]", "seeds = [0]").replace("steps = 500",
                                                                       "steps = 50"))
    r = pinnbench("run", str(suite), "--out", str(tmp_path / "res"), "--only", "sgd_momentum",
                  cwd=tmp_path, python=python)
    assert r.returncode == 0, r.stdout + r.stderr
    row = pd.read_parquet(tmp_path / "res" / "runs").iloc[0]
    assert row["status"] == "ok" and np.isfinite(row["rel_l2"])
    assert row["plugin.problem"].startswith("kg_plugin sha256:")


# ---- run ids and the plugins' code -------------------------------------------------------------


def test_a_changed_plugin_gets_new_run_ids_and_a_moved_one_keeps_them(tmp_path, builtins_only):
    from pinnbench.run.suite import load_suite

    def ids(folder: Path, text: str) -> set[str]:
        builtins_only()  # two files may not register one name in one process
        folder.mkdir(exist_ok=True)
        (folder / "klein_gordon.py").write_text(text)
        shutil.copy(EXAMPLES / "klein_gordon.toml", folder / "kg.toml")
        return {s.run_id for s in load_suite(folder / "kg.toml").runs()}

    code = KG.read_text()
    first = ids(tmp_path / "a", code)
    assert ids(tmp_path / "b", code) == first  # same code elsewhere: same runs
    changed = ids(tmp_path / "c", code.replace("momentum=self.momentum",
                                               "momentum=self.momentum, nesterov=True"))
    assert not changed & first and len(changed) == 4


# ---- bad plugins: one line, exit 2, nothing trained --------------------------------------------
BAD_PLUGINS = {
    "syntax": ("def broken(:\n", "does not import: invalid syntax (line 1)"),
    "raises": ("x = 1\nraise RuntimeError('no licence server')\n",
               "raised RuntimeError on import (line 2): no licence server"),
    "twice": ("import dataclasses\nfrom pinnbench.registry import problems\n"
              "@problems.register('heat')\n@dataclasses.dataclass(frozen=True)\nclass H:\n"
              "    pass\n", "problem 'heat' is registered twice"),
    "protocol": ("import dataclasses\nfrom pinnbench.registry import optimizers\n"
                 "@optimizers.register('halfopt')\n@dataclasses.dataclass(frozen=True)\n"
                 "class Half:\n    def init(self, params):\n        return ()\n",
                 "optimizer 'halfopt' (Half) does not implement the optimizer protocol: needs "
                 "method step(); method summary()"),
    "capability": ("import dataclasses\nfrom pinnbench.models.mlp import MLP\n"
                   "from pinnbench.registry import models\n"
                   "@models.register('claims_density')\n@dataclasses.dataclass(frozen=True)\n"
                   "class M(MLP):\n    capabilities = frozenset({'density'})\n",
                   "needs method density() for capability 'density'; method ascend_density() "
                   "for capability 'density'"),
}


@pytest.mark.parametrize("case", sorted(BAD_PLUGINS))
def test_a_bad_plugin_file_is_one_line_and_exit_2(tmp_path, case):
    source, expected = BAD_PLUGINS[case]
    plugin = tmp_path / f"{case}.py"
    plugin.write_text(source)
    r = CliRunner().invoke(app, ["list", "--plugin", str(plugin)])
    assert r.exit_code == 2, r.output
    lines = error_lines(r.output)
    assert len(lines) == 1 and expected in " ".join(r.output.split()), r.output
    assert str(plugin) in lines[0]


def test_missing_plugins_on_the_command_line_and_in_a_suite(tmp_path):
    r = CliRunner().invoke(app, ["list", "--plugin", str(tmp_path / "nope.py")])
    assert r.exit_code == 2 and "--plugin" in r.output and "nope.py: no such file" in r.output
    r = CliRunner().invoke(app, ["list", "--plugin", "no_such_module_anywhere"])
    assert r.exit_code == 2 and "no such file or importable module" in r.output
    suite = tmp_path / "s.toml"
    suite.write_text((EXAMPLES / "klein_gordon.toml").read_text().replace(
        '"klein_gordon.py"', f'"{KG}", "gone.py"'))
    r = CliRunner().invoke(app, ["run", str(suite), "--out", str(tmp_path / "res")])
    assert r.exit_code == 2, r.output
    assert f"{suite}: plugins[1]: gone.py: no such file" in " ".join(r.output.split())
    assert not (tmp_path / "res").exists()


def test_an_optimizer_returning_the_wrong_keys_fails_before_training(tmp_path):
    plugin = tmp_path / "nodone.py"
    plugin.write_text(textwrap.dedent("""
        import dataclasses
        import jax
        from pinnbench.registry import optimizers

        @optimizers.register("nodone")
        @dataclasses.dataclass(frozen=True)
        class NoDone:
            lr: float = 0.1

            def init(self, params):
                return ()

            def step(self, state, step, objective, params):
                loss, g = jax.value_and_grad(objective.loss)(params)
                params = jax.tree.map(lambda p, d: p - self.lr * d, params, g)
                return params, state, {"loss": loss}

            def summary(self, state):
                return {}
        """))
    suite = tmp_path / "s.toml"
    suite.write_text(textwrap.dedent(f"""
        name = "nodone"
        plugins = ["{plugin.name}"]
        seeds = [0]
        [budget]
        steps = 10
        [problems.poisson1d]
        [methods.nodone]
        model = {{ type = "mlp", width = 8, depth = 1 }}
        optimizer = {{ type = "nodone" }}
        sampler = {{ type = "uniform", n_interior = 16, n_boundary = 2 }}
        """))
    out = tmp_path / "res"
    r = CliRunner().invoke(app, ["run", str(suite), "--out", str(out)])
    assert r.exit_code == 2, r.output
    text = " ".join(r.output.split())
    assert len(error_lines(r.output)) <= 2  # one line, wrapped at most once by the terminal
    assert "methods.nodone on problem 'poisson1d'" in text
    assert "optimizer nodone: step() info lacks 'done'" in text
    assert not list(out.glob("runs/*.parquet"))


# ---- pinnbench verify --------------------------------------------------------------------------
def _built_in_problems() -> list[str]:
    from pinnbench.registry import problems

    return sorted(name for name, _ in problems if problems.source(name) is None)


@pytest.mark.parametrize("name", _built_in_problems())  # one test each: workers share them out
def test_every_registered_problem_passes_verify(name):
    from pinnbench.references.verify import verify_problem
    from pinnbench.registry import problems

    checks = verify_problem(problems.get(name)(), n=12, seed=1)
    assert checks and all(c.ok for c in checks), (name, checks)
    # Closed forms are differentiated exactly; the difference scheme converges on them.
    pde = checks[0]
    if pde.ad is not None:
        assert pde.ad < 1e-10, name


def test_verify_catches_a_wrong_reference(tmp_path):
    plugin = tmp_path / "wrong.py"
    plugin.write_text(KG.read_text().replace("(s * t) ** 3)[:, None]", "(s * t) ** 2)[:, None]")
                      .replace('"klein_gordon1d"', '"wrong_kg"')
                      .replace('"sgd_momentum"', '"sgd_momentum_copy"'))
    r = CliRunner().invoke(app, ["verify", "wrong_kg", "--plugin", str(plugin), "--points",
                                 "40"])
    assert r.exit_code == 1, r.output
    assert "FAILED on pde" in r.output
    r = CliRunner().invoke(app, ["verify", "variable_poisson1d", "--plugin",
                                 str(EXAMPLES / "variable_poisson.py"), "--param", "eps=0.9",
                                 "--points", "40"])
    assert r.exit_code == 0 and "satisfies all 2 constraints" in r.output, r.output
    r = CliRunner().invoke(app, ["verify", "variable_poisson1d", "--param", "eps=1.5"])
    assert r.exit_code == 2 and "eps" in r.output and "in [0, 1)" in r.output


# ---- the other example plugins, one per axis ---------------------------------------------------
def test_the_sampler_loss_and_model_examples(tmp_path):
    """stratified.py, bc_ramp.py, fourier_mlp.py on variable_poisson.py, as the guide shows."""
    suite = tmp_path / "axes.toml"
    suite.write_text(textwrap.dedent(f"""
        name = "axes"
        plugins = {[str(EXAMPLES / f) for f in ("variable_poisson.py", "stratified.py",
                                                 "bc_ramp.py", "fourier_mlp.py")]}
        seeds = [0]
        [budget]
        steps = 400
        eval_every = 200
        [problems.variable_poisson1d]
        [defaults]
        model = {{ type = "fourier_mlp", width = 16, depth = 2, features = 8 }}
        sampler = {{ type = "stratified", n_interior = 128, n_boundary = 2, cells = 32 }}
        [methods.adam]
        optimizer = {{ type = "adam", lr = 3e-3 }}
        [methods.adam_ramp]
        optimizer = {{ type = "adam", lr = 3e-3 }}
        loss = {{ type = "bc_ramp", ramp = 200 }}
        """))
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    r = pinnbench("run", str(suite), "--out", str(tmp_path / "res"), "--jobs", "2",
                  cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    from pinnbench.run.store import load_history, load_runs

    runs = load_runs(tmp_path / "res").set_index("method")
    assert (runs["status"] == "ok").all()
    history = load_history(tmp_path / "res")  # merges files whose columns differ
    first = history[history["step"] == 0]["rel_l2"].min()
    assert (runs["rel_l2"] < 0.8 * first).all(), (first, runs["rel_l2"].tolist())
    ramp = history[history["run_id"] == runs.loc["adam_ramp", "run_id"]].set_index("step")
    # The ramp's boundary weight, recorded in the history: 0.1 at step 0, 10 after 200 steps.
    assert ramp.loc[0, "weight.bc"] == pytest.approx(0.1)
    assert ramp.loc[400, "weight.bc"] == pytest.approx(10.0)


def test_stratified_points_fill_every_cell_and_fourier_derivatives_are_exact():
    import jax
    import jax.numpy as jnp

    from pinnbench import plugins
    from pinnbench.derivatives import Field
    from pinnbench.registry import models, problems, samplers

    plugins.load([str(EXAMPLES / "stratified.py"), str(EXAMPLES / "fourier_mlp.py")])
    problem = problems.get("helmholtz2d")()
    state = samplers.get("stratified")(n_interior=256, cells=16).init(
        problem, jax.random.PRNGKey(0), jnp.float64)
    x = np.asarray(state["points"]["interior"])
    cells = np.floor((x + 1) / 2 * 16).astype(int)
    assert len({tuple(c) for c in cells}) == 256  # one point in each of the 16 x 16 cells

    model = models.get("fourier_mlp")(features=4, width=8, depth=1).bind((-1.0, -1.0),
                                                                          (1.0, 1.0))
    params = model.init(jax.random.PRNGKey(1), 2, 1, jnp.float64)
    pts = jnp.asarray(x[:5])
    lap = Field(model, params, pts).laplacian[:, 0]
    by_hessian = jax.vmap(lambda p: jnp.trace(jax.hessian(
        lambda q: model.apply(params, q[None])[0, 0])(p)))(pts)
    assert np.max(np.abs(lap - by_hessian)) < 1e-10


def test_the_registries_load_the_built_in_components_themselves():
    # No import for its side effect: a fresh interpreter that imports only the registry module
    # finds every built-in component (the same ones as this process), loaded once.
    from pinnbench.registry import REGISTRIES

    code = ("import json\nfrom pinnbench.registry import REGISTRIES\n"
            "print(json.dumps({k: r.names() for k, r in REGISTRIES.items()}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    fresh = json.loads(out)
    here = {kind: [n for n in r.names() if r.source(n) is None] for kind, r in REGISTRIES.items()}
    assert fresh == here
    assert len(fresh["problem"]) > 20 and "adam" in fresh["optimizer"]
