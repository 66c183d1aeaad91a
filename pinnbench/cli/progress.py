"""Progress of a suite: a live bar on a terminal (runs done / total, the current run's step,
loss, error, ETA), plain rate-limited lines elsewhere."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from pinnbench.spec import RunSpec


class SuiteProgress:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn(),
            console=console, transient=False,
        )
        self.suite_task = None
        self.run_task = None
        self.current: RunSpec | None = None

    def __enter__(self) -> SuiteProgress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.__exit__(*exc)

    def start_run(self, spec: RunSpec, index: int, total: int) -> None:
        if self.suite_task is None:
            self.suite_task = self.bar.add_task("runs", total=total, info="")
        if self.run_task is not None:
            self.bar.remove_task(self.run_task)
        self.current = spec
        steps = spec.budget.get("steps")
        self.run_task = self.bar.add_task(_label(spec), total=steps, info="compiling")

    def event(self, event: dict[str, Any]) -> None:
        if event["kind"] == "progress" and self.run_task is not None:
            info = f"loss {event['loss']:.3e}  rel_l2 {event['rel_l2']:.3e}"
            self.bar.update(self.run_task, completed=event["step"], info=info)
        elif event["kind"] == "done" and self.suite_task is not None:
            self.bar.advance(self.suite_task)
            spec = self.current
            status = event["status"]
            if status != "ok" and spec is not None:
                self.console.print(f"[yellow]{spec.problem_label}/{spec.method_label} seed "
                                   f"{spec.seed}: {status}[/] {event.get('message', '')}",
                                   highlight=False)


# Seconds between two progress lines of one run when there is no terminal to redraw a bar in
# (CI logs, nohup, SLURM): often enough to show it is alive, rarely enough to keep logs short.
LINE_EVERY_S = 15.0


def _label(spec: RunSpec) -> str:
    return f"{spec.problem_label}/{spec.method_label} seed {spec.seed}"


def _num(value: Any, fmt: str) -> str:
    try:
        return format(float(value), fmt)
    except (TypeError, ValueError):
        return "?"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def steps_per_s(event: dict[str, Any], since: dict[str, Any] | None = None) -> float | None:
    """Training speed since the evaluation ``since`` (over the whole run without one): the
    recent rate, which the first chunk's start-up does not drag down."""
    step, train_s = event.get("step") or 0, event.get("train_s") or 0.0
    if since is not None:
        step, train_s = step - (since.get("step") or 0), train_s - (since.get("train_s") or 0.0)
    return step / train_s if step > 0 and train_s > 0 else None


def eta_s(event: dict[str, Any], rate: float | None) -> float | None:
    """Training seconds left by the budget: steps left at ``rate``, or the time limit left,
    whichever ends first (None when neither can be told yet)."""
    left = []
    if event.get("max_steps") and rate:
        left.append((event["max_steps"] - (event.get("step") or 0)) / rate)
    if event.get("max_time"):
        left.append(max(event["max_time"] - (event.get("train_s") or 0.0), 0.0))
    return min(left) if left else None


def progress_line(label: str, event: dict[str, Any], since: dict[str, Any] | None = None
                  ) -> str:
    """``LABEL: step S/N  loss L  rel_l2 E  R steps/s  ETA T`` for one evaluation; the speed is
    the one since the evaluation ``since``."""
    of = f"/{event['max_steps']}" if event.get("max_steps") else ""
    parts = [f"{label}: step {int(event.get('step') or 0)}{of}",
             f"loss {_num(event.get('loss'), '.3e')}",
             f"rel_l2 {_num(event.get('rel_l2'), '.3e')}"]
    rate = steps_per_s(event, since) or steps_per_s(event)
    if rate is not None:
        parts.append(f"{rate:.0f} steps/s")
    eta = eta_s(event, rate)
    if eta is not None:
        parts.append(f"ETA {_duration(eta)}")
    return "  ".join(parts)


def done_line(label: str, event: dict[str, Any], last: dict[str, Any] | None) -> str:
    """``LABEL: STATUS  rel_l2 E  train T s  steps S`` for a finished run, with the message of
    one that did not end ok; values the run did not record come from its last evaluation."""
    seen = {**(last or {}), **{k: v for k, v in event.items() if v is not None}}
    steps = seen.get("steps", seen.get("step"))
    parts = [f"{label}: {event['status']}"]
    if "rel_l2" in seen:
        parts.append(f"rel_l2 {_num(seen['rel_l2'], '.3e')}")
    if "train_s" in seen:
        parts.append(f"train {_num(seen['train_s'], '.1f')} s")
    if steps is not None:
        parts.append(f"steps {int(steps)}")
    line = "  ".join(parts)
    message = " ".join(str(event.get("message") or "").split())
    return f"{line}  ({message})" if message and event["status"] != "ok" else line


class ProgressLines:
    """Progress as plain lines, for output that is not a terminal and for concurrent runs: a
    line when a run starts, at most one per ``every`` seconds per run while it trains, and a
    full line when it finishes."""

    def __init__(self, console: Console, every: float = LINE_EVERY_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.console, self.every, self.clock = console, every, clock
        self.labels: dict[str, str] = {}
        self.shown: dict[str, float] = {}  # run id -> when its last line was printed
        self.since: dict[str, dict[str, Any]] = {}  # run id -> the evaluation of that line
        self.last: dict[str, dict[str, Any]] = {}  # run id -> its last evaluation
        self.done = 0
        self.total = 0

    def start_run(self, spec: RunSpec, index: int, total: int) -> None:
        self.total = total
        self.labels[spec.run_id] = _label(spec)
        self.shown[spec.run_id] = self.clock()
        self._print(f"[{index + 1}/{total}] {_label(spec)}: started (compiling)")

    def event(self, event: dict[str, Any]) -> None:
        run_id = event.get("run_id", "")
        label = self.labels.get(run_id, "?")
        if event["kind"] == "progress":
            self.last[run_id] = event
            now = self.clock()
            if now - self.shown.get(run_id, now) >= self.every:
                self.shown[run_id] = now
                self._print(progress_line(label, event, self.since.get(run_id)))
                self.since[run_id] = event
        elif event["kind"] == "done":
            self.done += 1
            self.since.pop(run_id, None)
            self._print(f"[{self.done}/{self.total}] "
                        f"{done_line(label, event, self.last.pop(run_id, None))}")

    def _print(self, line: str) -> None:
        self.console.print(line, highlight=False, markup=False, soft_wrap=True)
