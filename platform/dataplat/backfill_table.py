"""The backfill table of ``dataplat backfill list``: id, DAG, days, created, completed, state, runs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.table import Table

from dataplat.backfill import Backfill

STATE_STYLE = {"running": "green", "paused": "yellow", "cancelled": "red", "completed": "dim"}
RUN_ORDER = ("queued", "running", "success", "failed")


def short_time(text: str | None, *, day_only: bool = False) -> str:
    """Airflow's ISO time in UTC, shorter: ``2026-11-10`` for a midnight bound, else to the minute."""
    if not text:
        return "-"
    when = datetime.fromisoformat(text)
    if day_only and (when.hour, when.minute, when.second) == (0, 0, 0):
        return when.strftime("%Y-%m-%d")
    return when.strftime("%Y-%m-%d %H:%M")


def runs_text(runs: dict[str, int]) -> str:
    """``queued 2, success 5``: the usual states first, any other after them."""
    order = [s for s in RUN_ORDER if s in runs] + sorted(set(runs) - set(RUN_ORDER))
    return ", ".join(f"{state} {runs[state]}" for state in order) or "no runs"


def backfills_table(backfills: Sequence[Backfill], title: str) -> Table:
    table = Table("id", "dag", title=title)
    for name in ("from", "to", "created (UTC)", "completed (UTC)"):
        table.add_column(name, no_wrap=True)
    table.add_column("state")
    table.add_column("runs")
    for b in backfills:
        style = STATE_STYLE.get(b.state, "")
        table.add_row(
            str(b.id),
            b.dag_id,
            short_time(b.from_date, day_only=True),
            short_time(b.to_date, day_only=True),
            short_time(b.created_at),
            short_time(b.completed_at),
            f"[{style}]{b.state}[/]" if style else b.state,
            runs_text(b.runs),
        )
    return table
