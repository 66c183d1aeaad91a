"""Live progress of a suite: runs done / total, and the current run's step, loss, error, ETA."""

from __future__ import annotations

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
        label = f"{spec.problem_label}/{spec.method_label} seed {spec.seed}"
        self.run_task = self.bar.add_task(label, total=steps, info="compiling")

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
