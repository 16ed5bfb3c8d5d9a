"""Live progress of a bring-up: one line per service with its phase and the probe's reason."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

ICONS = {"ready": "[green]✔[/]", "stopped": "[dim]■[/]"}


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
        text = f"{phase}: {detail}" if detail else phase
        self._progress.update(task, description=text[:90], completed=1 if phase == "ready" else 0)
