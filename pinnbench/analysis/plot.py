"""Figures of a results folder: convergence curves, error against time, performance profiles,
prediction / reference / error maps, and the centres of PINN Balls over training.

Every function returns a matplotlib ``Figure`` built without pyplot, so nothing depends on a
display or on global state; ``save`` writes PNG or PDF by the file's suffix.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pinnbench.analysis import ranking

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


def median_run(g: pd.DataFrame, column: str) -> pd.Series:
    """The run of ``g`` whose ``column`` is the median. With an even count there are two middle
    runs; the one with the lower seed is taken, a choice that does not look at their errors, so
    it is the better of the two as often as the worse (the lower median would always flatter)."""
    g = g.sort_values([column, "seed"], kind="stable")
    n = len(g)
    if n % 2:
        return g.iloc[n // 2]
    middle = g.iloc[[n // 2 - 1, n // 2]]
    return middle.sort_values("seed", kind="stable").iloc[0]


def representative_runs(runs: pd.DataFrame, metric: str = "rel_l2",
                        by: Sequence[str] = ("method",)) -> pd.DataFrame:
    """Per cell (problem, variant): the ok run whose ``metric`` is the median over seeds
    (:func:`median_run`), so a picture shows a typical seed, not the luckiest."""
    ok = runs[runs["status"].eq("ok")].copy()
    ok["label"] = ranking.method_labels(ok, by).to_numpy()
    ok["_err"] = pd.to_numeric(ok[metric], errors="coerce")
    chosen = [median_run(g, "_err")
              for _, g in ok.dropna(subset=["_err"]).groupby(["problem", "label"], sort=True)]
    return pd.DataFrame(chosen).drop(columns="_err") if chosen else ok.iloc[:0]


TINY = np.finfo(float).tiny


@dataclasses.dataclass(frozen=True)
class Scales:
    """Colour (2-D) or y-axis (1-D) ranges shared by every row of one problem, so that maps of
    different methods compare by eye."""

    low: float
    high: float
    err_low: float
    err_high: float

    @property
    def log_error(self) -> bool:
        # A log scale when the error spans more than two decades.
        return self.err_high / max(self.err_low, TINY) > 100


def _scales(grids: Sequence[object]) -> Scales:
    low = min(min(g.prediction.min(), g.reference.min()) for g in grids)
    high = max(max(g.prediction.max(), g.reference.max()) for g in grids)
    err = [np.maximum(g.error, TINY) for g in grids]
    top = max(e.max() for e in err)
    return Scales(float(low), float(high), float(max(min(e.min() for e in err), top * 1e-6)),
                  float(top))


def _title(title: str, f: object) -> str:
    # Every row names its seed: the median seed of a cell is not any seed.
    seed = getattr(f, "seed", None)
    return title if seed is None or "seed" in title else f"{title} (seed {seed})"


def _line_row(fig: Figure, spec: object, row: int, ncols: int, title: str, f: object,
              s: Scales) -> list:
    """A 1-D row: prediction and reference as lines (over two panels' width when the figure
    also has maps), and the error."""
    x, name = f.axes[0], f.axis_names[0]
    ax_u = fig.add_subplot(spec[row, : ncols - 1])
    ax_e = fig.add_subplot(spec[row, ncols - 1])
    ax_u.plot(x, f.prediction, label="prediction")
    ax_u.plot(x, f.reference, "--", label="reference")
    ax_u.legend(fontsize="small")
    pad = 0.05 * (s.high - s.low or 1.0)
    ax_u.set_ylim(s.low - pad, s.high + pad)
    ax_e.plot(x, np.maximum(f.error, TINY))
    ax_e.set_yscale("log" if s.log_error else "linear")
    ax_e.set_ylim(s.err_low if s.log_error else 0.0, s.err_high * (1.5 if s.log_error else 1.05))
    ax_u.set_title(f"{title}: u", fontsize="medium")
    ax_e.set_title("|error|", fontsize="medium")
    for ax in (ax_u, ax_e):
        ax.set_xlabel(name)
    return [ax_u, ax_e]


def _map_row(fig: Figure, spec: object, row: int, title: str, f: object, s: Scales) -> list:
    """A 2-D row: prediction, reference and |error| maps on the problem's shared scales."""
    from matplotlib.colors import LogNorm, Normalize

    axes = [fig.add_subplot(spec[row, j]) for j in range(3)]
    extent = (f.axes[0][0], f.axes[0][-1], f.axes[1][0], f.axes[1][-1])
    for ax, values, name in ((axes[0], f.prediction, "prediction"),
                             (axes[1], f.reference, "reference")):
        im = ax.imshow(values.T, origin="lower", extent=extent, aspect="auto",
                       vmin=s.low, vmax=s.high, cmap="viridis")
        ax.set_title(f"{title}: {name}" if name == "prediction" else name, fontsize="medium")
    fig.colorbar(im, ax=axes[:2], shrink=0.9)
    norm = (LogNorm(vmin=s.err_low, vmax=s.err_high) if s.log_error
            else Normalize(vmin=0.0, vmax=s.err_high))
    im = axes[2].imshow(np.maximum(f.error, TINY).T, origin="lower", extent=extent,
                        aspect="auto", norm=norm, cmap="magma")
    axes[2].set_title("|error|", fontsize="medium")
    fig.colorbar(im, ax=axes[2], shrink=0.9)
    for ax in axes:
        ax.set_xlabel(f.axis_names[0])
        ax.set_ylabel(f.axis_names[1])
    return axes


def field_maps(fields: Sequence[tuple[str, object]]) -> Figure:
    """One row per (title, SolutionGrid): prediction, reference and |error| of 2-D fields as maps,
    of 1-D fields as lines (prediction with reference, and the error). Rows of the same problem
    share their colour scales and axis ranges; each title names the seed. A figure of 1-D rows
    only has two columns, so no panel stays empty."""
    grids = [f for _, f in fields]
    by_problem: dict[str, list] = {}
    for i, f in enumerate(grids):
        # Grids without a problem name (drawn by hand) keep scales of their own.
        by_problem.setdefault(getattr(f, "problem", "") or f"#{i}", []).append(f)
    scales = {key: _scales(group) for key, group in by_problem.items()}
    problem_of = [getattr(f, "problem", "") or f"#{i}" for i, f in enumerate(grids)]
    ncols = 2 if all(len(f.axes) == 1 for f in grids) else 3
    fig = _figure(len(fields), ncols, width=4.0, height=3.2)
    spec = fig.add_gridspec(len(fields), ncols)
    for row, ((title, f), key) in enumerate(zip(fields, problem_of, strict=True)):
        if len(f.axes) == 1:
            _line_row(fig, spec, row, ncols, _title(title, f), f, scales[key])
        else:
            _map_row(fig, spec, row, _title(title, f), f, scales[key])
    return fig


def _axis_names(run: pd.Series) -> list[str]:
    """The problem's axis names (x, y / x, t, ...) from the run's spec, else x1, x2."""
    try:
        from pinnbench.analysis.replay import axis_names
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
