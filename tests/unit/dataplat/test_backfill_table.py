"""The backfill table's cells: short UTC times, runs by state in a fixed order."""

from __future__ import annotations

import io

from rich.console import Console

from dataplat.backfill import Backfill
from dataplat.backfill_table import backfills_table, runs_text, short_time


def test_short_time() -> None:
    assert short_time("2026-11-10T00:00:00Z", day_only=True) == "2026-11-10"
    assert short_time("2026-11-10T06:30:00Z", day_only=True) == "2026-11-10 06:30"
    assert short_time("2026-12-03T10:11:12.345678Z") == "2026-12-03 10:11"
    assert short_time(None) == "-"


def test_runs_text_puts_the_usual_states_first() -> None:
    assert (
        runs_text({"success": 5, "upstream_failed": 1, "queued": 2})
        == "queued 2, success 5, upstream_failed 1"
    )
    assert runs_text({}) == "no runs"


def test_table_has_a_row_per_backfill() -> None:
    b = Backfill(
        7, "insights", "2026-11-10T00:00:00Z", "2026-11-16T00:00:00Z", "2026-12-03T10:11:12Z", None, False
    )
    out = io.StringIO()
    Console(file=out, width=200).print(backfills_table([b], "backfills of insights"))
    text = out.getvalue()
    for cell in ("7", "insights", "2026-11-10", "2026-11-16", "2026-12-03 10:11", "running", "no runs"):
        assert cell in text
