"""Live progress of a bring-up: one line per service with its phase, the probe's reason and, once
ready, how long it took; afterwards the slowest services."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from dataplat.runtime import ReadyTime

FINISHED = {"ready", "kept"}  # phases after which a service has nothing left to do in this bring-up
SLOWEST = 5


def describe(phase: str, detail: str) -> str:
    """``ready in 3.1 s (at 9.4 s): reason`` for timed readiness, else ``phase: detail``."""
    if not detail:
        return phase
    return f"{phase} {detail}" if phase == "ready" and detail.startswith("in ") else f"{phase}: {detail}"


def slowest(times: Sequence[ReadyTime], count: int = SLOWEST) -> Table:
    """The ``count`` services that took longest from their start to ready."""
    table = Table("service", "ready in", "started at", "ready at", title=f"slowest {count} to ready")
    for time in sorted(times, key=lambda t: t.took_s, reverse=True)[:count]:
        table.add_row(time.name, f"{time.took_s:.1f} s", f"{time.started_s:.1f} s", f"{time.ready_s:.1f} s")
    for column in table.columns[1:]:
        column.justify = "right"
    return table


class StartupProgress:
    """An observer for :class:`dataplat.runtime.Stack` that renders with rich."""

    def __init__(self, console: Console, services: list[str]) -> None:
        self._progress = Progress(
            SpinnerColumn(finished_text="[green]✔[/]"),
            TextColumn("[bold]{task.fields[service]:<22}"),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._services = services
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> StartupProgress:
        self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()

    def stop(self) -> None:
        self._progress.stop()

    def __call__(self, service: str, phase: str, detail: str) -> None:
        if service not in self._tasks:
            self._tasks[service] = self._progress.add_task("", total=1, service=service)
        task = self._tasks[service]
        text = describe(phase, detail)
        self._progress.update(task, description=text[:90], completed=1 if phase in FINISHED else 0)
