"""The status table: service, state, health and why, memory (PSS), URL, and the totals."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from dataplat.paths import Paths
from dataplat.spec import Kind

MIB = 1024 * 1024


def status_table(statuses: Sequence[object], paths: Paths) -> Table:
    from dataplat.runtime import ServiceStatus

    table = Table(title="dataplat services", caption=f"credentials: {paths.secrets_file} (0600)")
    for column in ("service", "state", "health", "PSS MiB", "URL / endpoint"):
        table.add_column(column, justify="right" if column == "PSS MiB" else "left")
    total = 0
    for status in statuses:
        assert isinstance(status, ServiceStatus)
        total += status.pss_bytes
        if status.kind is Kind.ONESHOT:
            health = "[green]done[/]" if status.readiness.ok else f"[yellow]{status.readiness.reason}[/]"
        elif status.readiness.ok:
            health = "[green]healthy[/]"
        else:
            health = f"[red]{status.readiness.reason[:60]}[/]"
        pss = f"{status.pss_bytes / MIB:.0f}" if status.pss_bytes else "-"
        table.add_row(status.name, status.state.lower(), health, pss, status.url)
    table.add_section()
    table.add_row("total", "", "", f"{total / MIB:.0f}", "")
    return table
