"""Benchmark of change data capture: freshness, the highest sustained change rate, bulk and snapshot loads.

- **freshness**: a marker written into one row of ``residents`` and committed; the time until the same
  change is in Kafka (Debezium's hop, the baseline) and until Trino sees it in the lake's current-state
  table. p50/p95 over the samples, and the ratio of the two.
- **sustained rate**: the mixed workload at rising rates; after each step a marker is committed and the
  catch-up time (workload end → marker visible in Trino) says whether the pipeline kept up.
- **bulk**: ``n`` rows COPYed into ``transactions`` while captured (streamed as inserts); the time until
  the lake holds as many rows as PostgreSQL, end to end, against the COPY alone (the baseline).
- **snapshot** (optional): ``n`` more rows COPYed into ``transactions`` and streamed to the lake, then an
  incremental snapshot (Debezium signal) of just those rows; the time from the signal until the raw
  table holds every one of them re-read (op ``r``, snapshot ``incremental``).
"""

# ruff: noqa: S608 - queries on the platform's own table names, markers generated here

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from rich.console import Console
from rich.table import Table

from dataplat import sql_shell
from dataplat.cdc_source import (
    raw_table,
    request_snapshot,
    snapshot_reads_sql,
    source_params,
    trusted_table,
)
from dataplat.settings import Settings

KEPT_UP_S = 60.0  # the lake caught up within this after a step (two busy micro-batches): it kept up
POLL_S = 0.2
LOAD_TIMEOUT_S = 3600.0  # a bulk load (or a snapshot of one) not in the lake by then: given up on


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Lake:
    """Trino queries on the lake tables of the CDC pipeline."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.connection = sql_shell.connect(
            settings, catalog="iceberg", schema="information_schema", user="bench-cdc"
        )

    def scalar(self, sql: str) -> Any:
        cursor = self.connection.cursor()
        cursor.execute(sql)
        return cursor.fetchall()[0][0]

    def wait(self, check: Callable[[], bool], timeout_s: float) -> float | None:
        start = time.monotonic()
        while time.monotonic() - start < timeout_s:
            if check():
                return time.monotonic() - start
            time.sleep(POLL_S)
        return None

    def phone_visible(self, marker: str) -> bool:
        residents = trusted_table(self.settings, "residents")
        return bool(self.scalar(f"SELECT count(*) FROM {residents} WHERE phone = '{marker}'"))


class Source:
    """The source database as its owner (autocommit)."""

    def __init__(self, settings: Settings) -> None:
        import psycopg2

        self.connection = psycopg2.connect(**source_params(settings))
        self.connection.autocommit = True

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]

    def mark(self) -> str:
        """Commit a marker into one resident's phone; returns it."""
        marker = f"bench-{uuid.uuid4().hex[:12]}"
        resident = self.one("SELECT id FROM residents ORDER BY random() LIMIT 1")
        self.one("UPDATE residents SET phone = %s WHERE id = %s RETURNING id", (marker, resident))
        return marker


class KafkaWatch:
    """Notes when a marker shows up in the residents topic (Debezium's hop, measured beside the lake's)."""

    def __init__(self, settings: Settings) -> None:
        from confluent_kafka import Consumer

        cdc = settings.cdc
        self.topic = f"{cdc.topic_prefix}.{cdc.schema_name}.residents"
        config = {"group.id": f"bench-cdc-{uuid.uuid4().hex[:8]}", "auto.offset.reset": "latest"}
        self.consumer = Consumer(settings.kafka_client_config(**config, **{"enable.auto.commit": False}))
        self.seen: dict[str, float] = {}
        self.stop = threading.Event()
        self.consumer.subscribe([self.topic])
        self.consumer.poll(5)  # join the group and get the partitions before the first marker
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            message = self.consumer.poll(0.1)
            if message is None or message.error():
                continue
            value = (message.value() or b"").decode(errors="replace")
            at = time.monotonic()
            for part in value.split('"phone":"')[1:]:
                marker = part.split('"', 1)[0]
                if marker.startswith("bench-"):
                    self.seen.setdefault(marker, at)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.consumer.close()


@dataclass
class Figures:
    freshness: dict[str, Any] = field(default_factory=dict)
    rates: list[dict[str, Any]] = field(default_factory=list)
    bulk: dict[str, Any] = field(default_factory=dict)
    snapshot: dict[str, Any] = field(default_factory=dict)


def freshness(settings: Settings, samples: int, console: Console) -> dict[str, Any]:
    lake, source, kafka = Lake(settings), Source(settings), KafkaWatch(settings)
    to_lake: list[float] = []
    to_kafka: list[float] = []
    try:
        for i in range(samples):
            marker = source.mark()
            start = time.monotonic()
            seconds = lake.wait(partial(lake.phone_visible, marker), timeout_s=120)
            if seconds is None:
                raise RuntimeError(f"change {marker} not visible in Trino after 120 s (sample {i + 1})")
            to_lake.append(seconds)
            if marker in kafka.seen:
                to_kafka.append(kafka.seen[marker] - start)
            console.print(f"  sample {i + 1}/{samples}: lake {seconds:.2f} s", highlight=False)
            time.sleep(0.5)
    finally:
        kafka.close()
    p50, p95 = statistics.median(to_lake), _percentile(to_lake, 0.95)
    kafka_p50 = statistics.median(to_kafka) if to_kafka else None
    return {
        "samples": samples,
        "lake_p50_s": round(p50, 2),
        "lake_p95_s": round(p95, 2),
        "lake_max_s": round(max(to_lake), 2),
        "kafka_p50_s": None if kafka_p50 is None else round(kafka_p50, 3),
        "lake_vs_kafka_p50": None if not kafka_p50 else round(p50 / kafka_p50, 1),
        "goal_p95_s": 10.0,
    }


def sustained(
    settings: Settings, rates: list[float], step_s: float, console: Console
) -> list[dict[str, Any]]:
    from dataplat.load.cdc import run_workload

    lake, source = Lake(settings), Source(settings)
    results = []
    for rate in rates:
        summary = run_workload(source_params(settings), rate, step_s, seed_value=int(rate), console=console)
        marker = source.mark()
        catch_up = lake.wait(partial(lake.phone_visible, marker), timeout_s=300)
        achieved = summary.operations / summary.elapsed_s if summary.elapsed_s else 0.0
        changes = sum(sum(kinds.values()) for kinds in summary.changes.values())
        results.append({
            "target_ops_per_s": rate or "unthrottled",
            "achieved_ops_per_s": round(achieved, 1),
            "row_changes_per_s": round(changes / summary.elapsed_s, 1) if summary.elapsed_s else 0.0,
            "catch_up_s": None if catch_up is None else round(catch_up, 1),
            "kept_up": catch_up is not None and catch_up <= KEPT_UP_S,
        })  # fmt: skip
        console.print(f"  {results[-1]}", highlight=False)
    return results


def bulk(settings: Settings, rows: int, console: Console) -> dict[str, Any]:
    from dataplat.load.cdc import bulk_load

    lake, source = Lake(settings), Source(settings)
    table = trusted_table(settings, "transactions")
    expected = source.one("SELECT count(*) FROM transactions") + rows
    start = time.monotonic()
    summary = bulk_load(source_params(settings), "transactions", rows, seed_value=7, console=console)
    copy_s = time.monotonic() - start
    seconds = lake.wait(
        lambda: int(lake.scalar(f"SELECT count(*) FROM {table}")) >= expected, timeout_s=LOAD_TIMEOUT_S
    )
    end_to_end = None if seconds is None else copy_s + seconds
    return {
        "rows": rows,
        "copy_s": round(copy_s, 1),
        "copy_rows_per_s": round(summary.rows / copy_s),
        "end_to_end_s": None if end_to_end is None else round(end_to_end, 1),
        "end_to_end_rows_per_s": None if end_to_end is None else round(rows / end_to_end),
        "lake_vs_copy": None if end_to_end is None else round(end_to_end / copy_s, 2),
    }


def snapshot(settings: Settings, rows: int, console: Console) -> dict[str, Any]:
    """COPY ``rows`` into transactions, let them stream to the lake, then time a snapshot of just them."""
    from dataplat.load.cdc import bulk_load

    lake, source = Lake(settings), Source(settings)
    trusted, raw = trusted_table(settings, "transactions"), raw_table(settings, "transactions")
    after_id = int(source.one("SELECT coalesce(max(id), 0) FROM transactions"))
    bulk_load(source_params(settings), "transactions", rows, seed_value=11, console=console)
    new_rows = f"id > {after_id}"
    loaded = int(source.one(f"SELECT count(*) FROM transactions WHERE {new_rows}"))
    streamed = lake.wait(
        lambda: int(lake.scalar(f"SELECT count(*) FROM {trusted} WHERE {new_rows}")) >= loaded,
        timeout_s=LOAD_TIMEOUT_S,
    )
    if streamed is None:  # the snapshot would queue behind the inserts and its time mean nothing
        console.print(f"  the {loaded:,} rows COPYed were not in the lake after {LOAD_TIMEOUT_S:.0f} s")
        return {"rows": loaded, "streamed_s": None, "seconds": None, "rows_per_s": None}
    since = float(lake.scalar("SELECT to_unixtime(current_timestamp)"))
    signal = request_snapshot(settings, ["transactions"], {"transactions": new_rows})
    console.print(f"  {loaded:,} rows in the lake in {streamed:.1f} s; signal {signal.id}", highlight=False)
    query = snapshot_reads_sql(raw, since)
    seconds = lake.wait(lambda: int(lake.scalar(query)) >= loaded, timeout_s=LOAD_TIMEOUT_S)
    console.print(
        f"  snapshot of {loaded:,} rows: "
        + ("not in the lake" if seconds is None else f"{seconds:.1f} s")
        + f" (reads: {query})",
        highlight=False,
    )
    return {
        "rows": loaded,
        "streamed_s": round(streamed, 1),
        "seconds": None if seconds is None else round(seconds, 1),
        "rows_per_s": None if not seconds else round(loaded / seconds),
    }


def report_table(figures: Figures) -> Table:
    table = Table(title="change data capture: PostgreSQL → lake")
    table.add_column("what")
    table.add_column("figure")
    f = figures.freshness
    if f:
        table.add_row(
            "freshness (commit → Trino)",
            f"p50 {f['lake_p50_s']} s, p95 {f['lake_p95_s']} s (goal ≤ {f['goal_p95_s']} s); "
            f"Kafka p50 {f['kafka_p50_s']} s (lake/Kafka x{f['lake_vs_kafka_p50']})",
        )
    kept = [r for r in figures.rates if r["kept_up"]]
    if figures.rates:
        best = max(kept, key=lambda r: r["achieved_ops_per_s"]) if kept else None
        table.add_row(
            "highest sustained rate",
            "none kept up"
            if best is None
            else f"{best['achieved_ops_per_s']} ops/s ({best['row_changes_per_s']} row changes/s), "
            f"caught up in {best['catch_up_s']} s",
        )
    b = figures.bulk
    if b:
        table.add_row(
            f"bulk {b['rows']:,} rows (COPY → lake)",
            f"{b['end_to_end_s']} s end to end ({b['end_to_end_rows_per_s']} rows/s); "
            f"COPY alone {b['copy_s']} s (x{b['lake_vs_copy']})",
        )
    s = figures.snapshot
    if s:
        table.add_row(
            f"incremental snapshot {s['rows']:,} rows (signal → raw)",
            f"not in the lake after {LOAD_TIMEOUT_S:.0f} s"
            if s["seconds"] is None
            else f"{s['seconds']} s ({s['rows_per_s']} rows/s)",
        )
    return table


def run(
    settings: Settings,
    *,
    samples: int,
    rates: list[float],
    step_s: float,
    bulk_rows: int,
    snapshot_rows: int = 0,
    console: Console,
) -> Figures:
    figures = Figures()
    with closing(Source(settings).connection):
        pass  # fail early, with psycopg2's message, when the source database is not there
    console.rule("freshness")
    figures.freshness = freshness(settings, samples, console)
    if rates:
        console.rule("sustained rate")
        figures.rates = sustained(settings, rates, step_s, console)
    if bulk_rows:
        console.rule(f"bulk load of {bulk_rows:,} rows")
        figures.bulk = bulk(settings, bulk_rows, console)
    if snapshot_rows:
        console.rule(f"incremental snapshot of {snapshot_rows:,} new rows of transactions")
        figures.snapshot = snapshot(settings, snapshot_rows, console)
    return figures
