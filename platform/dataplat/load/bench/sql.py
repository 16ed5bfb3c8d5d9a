"""Benchmark of Trino latency for the dashboard's queries (as Superset sends them), p50 over N runs.

Each query runs once to warm up (metadata caches, JIT), then ``runs`` times in sequence; the
client-side wall time of execute + fetch is what a chart waits for. A query whose table does not
exist yet is reported as missing, not as a failure of the others.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from rich.console import Console
from rich.table import Table

from dataplat.load.bench.report import save_report
from dataplat.settings import Settings, get_settings
from dataplat.sql_shell import connect

# the SQL Superset generates for the dashboard's charts (PT5S and P1D time grains of Trino)
FIVE_SECONDS = (
    "date_trunc('second', CAST(window_start AS TIMESTAMP)) - interval '1' second * "
    "(second(CAST(window_start AS TIMESTAMP)) % 5)"
)
QUERIES = {
    "events per 5 s window": f'SELECT {FIVE_SECONDS} AS w, SUM("count") AS events '  # noqa: S608
    f"FROM hive.clickstream.clickstream_counts GROUP BY {FIVE_SECONDS} ORDER BY w DESC LIMIT 10000",
    "top pages": 'SELECT page, SUM("count") AS events FROM hive.clickstream.clickstream_counts '
    "GROUP BY page ORDER BY events DESC LIMIT 10",
    "events per day": "SELECT date_trunc('day', CAST(date AS TIMESTAMP)) AS d, event_name, "
    "SUM(events) AS events FROM hive.trusted.grouped_insights GROUP BY 1, 2 ORDER BY 1 LIMIT 10000",
}


def time_query(cursor: Any, sql: str) -> tuple[float, int]:
    started = time.perf_counter()
    cursor.execute(sql)
    rows = cursor.fetchall()
    return time.perf_counter() - started, len(rows)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_query(cursor: Any, sql: str, runs: int) -> dict[str, Any]:
    """Latency figures of ``sql`` (seconds), or why it could not run."""
    try:
        _, rows = time_query(cursor, sql)  # warm-up
    except Exception as error:  # noqa: BLE001 - reported (e.g. a table not built yet)
        return {"error": (getattr(error, "message", None) or str(error))[:200]}
    latencies = [time_query(cursor, sql)[0] for _ in range(runs)]
    return {
        "runs": runs,
        "rows": rows,
        "p50_s": round(statistics.median(latencies), 3),
        "p95_s": round(percentile(latencies, 0.95), 3),
        "min_s": round(min(latencies), 3),
        "max_s": round(max(latencies), 3),
    }


def run_bench(
    settings: Settings | None = None, *, runs: int = 20, console: Console | None = None
) -> dict[str, Any]:
    """Run every dashboard query ``runs`` times; prints a table, saves and returns the figures."""
    s = settings or get_settings()
    console = console or Console()
    cursor = connect(s, catalog="hive", schema="default", user="bench-sql").cursor()
    result = {name: bench_query(cursor, sql, runs) for name, sql in QUERIES.items()}
    table = Table(title=f"Trino latency of the dashboard queries ({runs} runs after a warm-up)")
    for column in ("query", "rows", "p50 s", "p95 s", "min s", "max s"):
        table.add_column(column)
    for name, r in result.items():
        if "error" in r:
            table.add_row(name, "-", "-", "-", "-", f"[red]{r['error']}[/]")
        else:
            table.add_row(name, str(r["rows"]), *(str(r[k]) for k in ("p50_s", "p95_s", "min_s", "max_s")))
    console.print(table)
    console.print(f"saved {save_report(s, 'sql', result)}")
    return result


if __name__ == "__main__":
    run_bench()
