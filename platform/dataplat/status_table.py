"""The status table: service, state, health and why, memory (PSS), URL, and the totals.

URLs are the most useful column, so they are never cut: when the table with them does not fit the
width (80 columns in a pipe or a small terminal), it is printed without them and the URLs follow it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from rich.console import Console, ConsoleOptions, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from dataplat.paths import Paths
from dataplat.spec import Kind

if TYPE_CHECKING:
    from dataplat.runtime import ServiceStatus

MIB = 1024 * 1024
REASON_CHARS = 120


def _health(status: ServiceStatus) -> str:
    if status.kind is Kind.ONESHOT:
        return "[green]done[/]" if status.readiness.ok else f"[yellow]{status.readiness.reason}[/]"
    if status.readiness.ok:
        return "[green]healthy[/]"
    reason = status.readiness.reason
    return f"[red]{reason if len(reason) <= REASON_CHARS else reason[: REASON_CHARS - 1] + '…'}[/]"


class StatusTable:
    """A rich renderable that picks its layout at render time, from the console's width."""

    def __init__(self, statuses: Sequence[ServiceStatus], paths: Paths) -> None:
        self.statuses, self.paths = statuses, paths

    def table(self, with_urls: bool) -> Table:
        table = Table(title="dataplat services", caption=f"credentials: {self.paths.secrets_file} (0600)")
        table.add_column("service", no_wrap=True)
        table.add_column("state", no_wrap=True)
        table.add_column("health")  # the one column that wraps
        table.add_column("PSS MiB", justify="right", no_wrap=True)
        if with_urls:
            table.add_column("URL / endpoint", no_wrap=True)
        total = 0
        for status in self.statuses:
            total += status.pss_bytes
            pss = f"{status.pss_bytes / MIB:.0f}" if status.pss_bytes else "-"
            row = [status.name, status.state.lower(), _health(status), pss]
            table.add_row(*row, *([status.url] if with_urls else []))
        table.add_section()
        table.add_row("total", "", "", f"{total / MIB:.0f}", *([""] if with_urls else []))
        return table

    def urls(self) -> Iterator[Text]:
        named = [(status.name, status.url) for status in self.statuses if status.url]
        width = max((len(name) for name, _ in named), default=0)
        yield Text("URLs / endpoints", style="bold")
        for name, url in named:
            yield Text(f"  {name:<{width}}  {url}", overflow="fold")

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[RenderableType]:
        wide = self.table(with_urls=True)
        unbounded = options.update_width(10_000)  # Measurement clamps to the width it is given
        if Measurement.get(console, unbounded, wide).minimum <= options.max_width:
            yield wide
            return
        yield self.table(with_urls=False)
        yield from self.urls()


def status_table(statuses: Sequence[ServiceStatus], paths: Paths) -> StatusTable:
    return StatusTable(statuses, paths)
