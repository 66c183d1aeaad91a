"""Figures of a results folder: convergence curves, error against time, performance profiles,
prediction / reference / error maps, and the centres of PINN Balls over training.

Every function returns a matplotlib ``Figure`` built without pyplot, so nothing depends on a
display or on global state; ``save`` writes PNG or PDF by the file's suffix.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pinnbench import ranking

KINDS = ("convergence", "error-vs-time", "profile", "field", "balls")
SUFFIXES = (".png", ".pdf")


def _figure(rows: int, cols: int, width: float = 4.2, height: float = 3.2) -> Figure:
    fig = Figure(figsize=(width * cols, height * rows), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _panels(n: int, width: float, height: float) -> tuple[Figure, np.ndarray]:
    """A figure with n panels, three to a row, the unused cells of the last row hidden."""
    cols = min(3, n)
    rows = -(-n // cols)
    fig = _figure(rows, cols, width=width, height=height)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes


def _colors(methods: Sequence[str]) -> dict[str, str]:
    return {m: f"C{i % 10}" for i, m in enumerate(methods)}


def _log_if_spread(ax, values: np.ndarray) -> None:
    # Errors and losses usually span decades; a linear axis would flatten everything but the
    # first evaluations. Values that are not all positive cannot go on a log axis.
    v = values[np.isfinite(values)]
    if v.size and (v > 0).all() and v.max() / v.min() > 10:
        ax.set_yscale("log")


def _bands(history: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per step: median, min and max of ``column`` over seeds, and the median wall time."""
    h = history[["step", "train_s", column]].astype(float)
    g = h.groupby("step")
    return pd.DataFrame({"median": g[column].median(), "low": g[column].min(),
                         "high": g[column].max(), "time": g["train_s"].median(),
                         "n": g[column].count()}).reset_index()


def convergence(runs: pd.DataFrame, history: pd.DataFrame, metric: str = "rel_l2",
                by: Sequence[str] = ("method",)) -> Figure:
    """Per problem (rows): ``metric`` and the training loss against step and against wall time
    (columns); one median line per method with a band from the best to the worst seed."""
    if history.empty or metric not in history.columns:
        raise ValueError(f"no history with column {metric!r}")
    labels = pd.Series(ranking.method_labels(runs, by).to_numpy(), index=runs["run_id"])
    hist = history[history["run_id"].isin(labels.index)].copy()
    hist["label"] = hist["run_id"].map(labels)
    hist["problem"] = hist["run_id"].map(runs.set_index("run_id")["problem"])
    problems = sorted(hist["problem"].unique())
    colors = _colors(sorted(hist["label"].unique()))
    columns = [(metric, "step"), (metric, "time"), ("loss", "step"), ("loss", "time")]
    columns = [c for c in columns if c[0] in hist.columns]
    fig = _figure(len(problems), len(columns))
    axes = fig.subplots(len(problems), len(columns), squeeze=False)
    for i, problem in enumerate(problems):
        ph = hist[hist["problem"] == problem]
        for j, (value, x) in enumerate(columns):
            ax = axes[i, j]
            for label, g in ph.groupby("label", sort=True):
                b = _bands(g, value)
                xs = b["step"] if x == "step" else b["time"]
                ax.plot(xs, b["median"], color=colors[label],
                        label=f"{label} ({g['run_id'].nunique()} seeds)")
                ax.fill_between(xs, b["low"], b["high"], color=colors[label], alpha=0.2,
                                linewidth=0)
            _log_if_spread(ax, ph[value].to_numpy(float))
            ax.set_xlabel("step" if x == "step" else "wall time (s)")
            ax.set_ylabel(value)
            ax.set_title(problem, fontsize="medium")
            ax.grid(True, which="major", alpha=0.3)
        axes[i, 0].legend(fontsize="small")
    fig.suptitle("convergence: median over seeds, band from best to worst seed")
    return fig


def _pareto(points: pd.DataFrame) -> pd.DataFrame:
    """The points no other point beats on both time and error, in order of time."""
    front, best = [], np.inf
    for r in points.sort_values(["time", "error"]).itertuples():
        if r.error < best:
            front.append(r.Index)
            best = r.error
    return points.loc[front]


def error_vs_time(runs: pd.DataFrame, metric: str = "rel_l2",
                  by: Sequence[str] = ("method",)) -> Figure:
    """Per problem: final ``metric`` against training time, one point per ok run, a larger one
    per method's medians, and the Pareto front of those medians. Failed runs are counted in the
    legend."""
    labels = ranking.method_labels(runs, by).to_numpy()
    data = pd.DataFrame({"problem": runs["problem"].to_numpy(), "label": labels,
                         "ok": runs["status"].eq("ok").to_numpy(),
                         "time": pd.to_numeric(runs["train_s"], errors="coerce").to_numpy(),
                         "error": pd.to_numeric(runs[metric], errors="coerce").to_numpy()})
    problems = sorted(data["problem"].unique())
    colors = _colors(sorted(data["label"].unique()))
    fig, axes = _panels(len(problems), width=4.8, height=3.8)
    for ax, problem in zip(axes, problems, strict=False):
        pd_ = data[data["problem"] == problem]
        medians = []
        for label, g in pd_.groupby("label", sort=True):
            ok = g[g["ok"] & np.isfinite(g["error"])]
            failed = len(g) - len(ok)
            name = f"{label} ({failed} failed)" if failed else label
            ax.scatter(ok["time"], ok["error"], color=colors[label], alpha=0.35, s=18)
            if len(ok):
                t, e = ok["time"].median(), ok["error"].median()
                ax.scatter([t], [e], color=colors[label], s=70, edgecolor="black",
                           label=name, zorder=3)
                medians.append({"label": label, "time": t, "error": e})
            else:
                ax.scatter([], [], color=colors[label], label=name)
        if medians:
            front = _pareto(pd.DataFrame(medians))
            ax.step(front["time"], front["error"], where="post", color="black",
                    linestyle="--", linewidth=1, label="Pareto front")
        _log_if_spread(ax, pd_["error"].to_numpy(float))
        ax.set_xlabel("training time (s)")
        ax.set_ylabel(f"final {metric}")
        ax.set_title(problem, fontsize="medium")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle("error against time: small dots are seeds, large dots medians over seeds")
    return fig


def _profile_axes(ax, costs: pd.DataFrame, title: str) -> None:
    ratios = ranking.performance_ratios(costs)
    taus = ranking.profile_taus(ratios)
    rho = ranking.performance_profile(ratios, taus)
    for i, method in enumerate(rho.columns):
        ax.step(taus, rho[method], where="post", color=f"C{i % 10}", label=str(method))
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("τ (times the best)")
    ax.set_ylabel("fraction of runs within τ of the best")
    ax.set_title(f"{title}\n({len(costs)} (problem, seed) instances)", fontsize="medium")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small", loc="lower right")


def profiles(runs: pd.DataFrame, history: pd.DataFrame | None = None, metric: str = "rel_l2",
             target: float | None = None, by: Sequence[str] = ("method",)) -> Figure:
    """Dolan-Moré performance profiles over (problem, seed) instances on the final ``metric``
    and, with ``target``, on the time to reach it; failed runs count as infinitely bad."""
    panels = [(ranking.instance_costs(ranking.run_scores(runs, metric, by)), f"final {metric}")]
    if target is not None:
        per_run = ranking.time_to_target(runs, history if history is not None
                                         else pd.DataFrame(), metric, target, by)
        panels.append((ranking.instance_costs(per_run, "time_s"),
                       f"wall time to {metric} ≤ {target:g}"))
    fig = _figure(1, len(panels), width=5.0, height=4.0)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (costs, title) in zip(axes, panels, strict=True):
        _profile_axes(ax, costs, title)
    fig.suptitle("performance profiles (failed runs never count as within τ)")
    return fig


def representative_runs(runs: pd.DataFrame, metric: str = "rel_l2",
                        by: Sequence[str] = ("method",)) -> pd.DataFrame:
    """Per (problem, method): the ok run whose ``metric`` is the median over seeds (the lower
    median for an even count), so a picture shows a typical seed, not the luckiest."""
    ok = runs[runs["status"].eq("ok")].copy()
    ok["label"] = ranking.method_labels(ok, by).to_numpy()
    ok["_err"] = pd.to_numeric(ok[metric], errors="coerce")
    chosen = []
    for _, g in ok.dropna(subset=["_err"]).groupby(["problem", "label"], sort=True):
        g = g.sort_values("_err")
        chosen.append(g.iloc[(len(g) - 1) // 2])
    return pd.DataFrame(chosen).drop(columns="_err") if chosen else ok.iloc[:0]


def field_maps(fields: Sequence[tuple[str, object]]) -> Figure:
    """One row per (title, FieldGrid): prediction, reference and |error| (log colour scale when
    it spans decades). 1-D problems get prediction and reference as lines, and the error."""
    from matplotlib.colors import LogNorm

    fig = _figure(len(fields), 3, width=4.0, height=3.2)
    axes = fig.subplots(len(fields), 3, squeeze=False)
    for row, (title, f) in zip(axes, fields, strict=True):
        names = f.axis_names
        if len(f.axes) == 1:
            x = f.axes[0]
            row[0].plot(x, f.prediction, label="prediction")
            row[0].plot(x, f.reference, "--", label="reference")
            row[0].legend(fontsize="small")
            row[1].set_visible(False)
            row[2].semilogy(x, np.maximum(f.error, np.finfo(float).tiny))
            for ax in (row[0], row[2]):
                ax.set_xlabel(names[0])
            row[0].set_title(f"{title}: u", fontsize="medium")
            row[2].set_title("|error|", fontsize="medium")
            continue
        extent = (f.axes[0][0], f.axes[0][-1], f.axes[1][0], f.axes[1][-1])
        low, high = min(f.prediction.min(), f.reference.min()), max(f.prediction.max(),
                                                                       f.reference.max())
        for ax, values, name in ((row[0], f.prediction, "prediction"),
                                 (row[1], f.reference, "reference")):
            im = ax.imshow(values.T, origin="lower", extent=extent, aspect="auto",
                           vmin=low, vmax=high, cmap="viridis")
            ax.set_title(f"{title}: {name}" if name == "prediction" else name, fontsize="medium")
        fig.colorbar(im, ax=row[:2].tolist(), shrink=0.9)
        err = np.maximum(f.error, np.finfo(float).tiny)
        spread = err.max() / max(err.min(), np.finfo(float).tiny) > 100
        norm = LogNorm(vmin=max(err.min(), err.max() * 1e-6), vmax=err.max()) if spread else None
        im = row[2].imshow(err.T, origin="lower", extent=extent, aspect="auto", norm=norm,
                           cmap="magma")
        row[2].set_title("|error|", fontsize="medium")
        fig.colorbar(im, ax=row[2], shrink=0.9)
        for ax in row:
            ax.set_xlabel(names[0])
            ax.set_ylabel(names[1])
    return fig


def _axis_names(run: pd.Series) -> list[str]:
    """The problem's axis names (x, y / x, t, ...) from the run's spec, else x1, x2."""
    try:
        import pinnbench.plugins  # noqa: F401 - the spec names registered components
        from pinnbench.fields import axis_names
        from pinnbench.spec import RunSpec

        names = axis_names(RunSpec.from_json(run["spec_json"]).build("problem"))
    except (KeyError, TypeError, ValueError):
        names = []
    return names if len(names) >= 2 else ["x1", "x2"]


def ball_centres(runs: pd.DataFrame, history: pd.DataFrame) -> Figure:
    """PINN Balls runs (history columns ``model.centres``, ``model.radii``): the path of every
    centre over training (first two coordinates), the first position as a dot and the final ball
    as a circle of its radius."""
    from matplotlib.patches import Circle

    if history.empty or "model.centres" not in history.columns:
        raise ValueError("no run recorded ball centres (history column 'model.centres')")
    hist = history.dropna(subset=["model.centres"])
    ids = [r for r in runs["run_id"] if r in set(hist["run_id"])]
    if not ids:
        raise ValueError("no run recorded ball centres (history column 'model.centres')")
    info = runs.set_index("run_id")
    fig, axes = _panels(len(ids), width=4.2, height=4.0)
    for ax, run_id in zip(axes, ids, strict=False):
        h = hist[hist["run_id"] == run_id].sort_values("step")
        radii = np.asarray(h["model.radii"].iloc[-1], float)
        centres = np.stack([np.asarray(c, float).reshape(len(radii), -1)
                            for c in h["model.centres"]])  # (evaluations, M, d)
        for j in range(len(radii)):
            path = centres[:, j, :2]
            color = f"C{j % 10}"
            ax.plot(path[:, 0], path[:, 1], color=color, linewidth=1)
            ax.plot(path[0, 0], path[0, 1], "o", color=color, markersize=3)
            ax.add_patch(Circle(tuple(path[-1]), radii[j], fill=False, color=color, alpha=0.6))
        r = info.loc[run_id]
        ax.set_title(f"{r['problem']} / {r['method']} / seed {r['seed']}\n"
                     f"{len(radii)} balls, steps 0-{int(h['step'].iloc[-1])}", fontsize="medium")
        ax.set_aspect("equal", adjustable="datalim")
        names = _axis_names(r)
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
    fig.suptitle("ball centres over training (dot: start; circle: final ball)")
    return fig


def save(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` as PNG or PDF, by the suffix of ``path``."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ValueError(f"{path}: expected a .png or .pdf file")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    return path
