"""One micro-batch of change events -> raw, trusted and dead-letter tables (the ``foreachBatch`` work).

Per batch: parse and cache the records, collect a few rows of statistics (tables, schemas, LSN
ranges), then per table one raw MERGE, the trusted table's DDL when the source schema changed, and
one trusted MERGE; finally one dead-letter MERGE. Nothing is collected row by row.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import reduce
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_apps.cdc import changes, envelope, lake, schema
from spark_apps.cdc.schema import PLACEHOLDER, Field

log = logging.getLogger("cdc")


@dataclass(frozen=True)
class Group:
    """The batch's records of one table with one value and key schema (a row of :func:`envelope.stats`)."""

    table: str | None
    ok: bool
    events: int
    unplaced: int = 0  # incremental snapshot reads without an LSN (see envelope.place_reads)
    schema_id: int | None = None
    key_schema_id: int | None = None
    min_lsn: int | None = None
    max_lsn: int | None = None
    newest: tuple[int, int] = (-1, -1)  # (phase, lsn) of its newest event
    max_source_ts: datetime | None = None
    min_offset: int = 0
    max_offset: int = 0
    schema: str | None = None
    key_schema: str | None = None

    @classmethod
    def of(cls, row: Any) -> Group:
        newest = row["newest"]
        return cls(
            table=row["table_name"],
            ok=bool(row["ok"]),
            events=int(row["events"]),
            unplaced=int(row["unplaced"]),
            schema_id=row["schema_id"],
            key_schema_id=row["key_schema_id"],
            min_lsn=row["min_lsn"],
            max_lsn=row["max_lsn"],
            newest=(int(newest["phase"]), int(newest["lsn"]))
            if newest and newest["lsn"] is not None
            else (-1, -1),
            max_source_ts=row["max_source_ts"],
            min_offset=int(row["min_offset"]),
            max_offset=int(row["max_offset"]),
            schema=row["schema"],
            key_schema=row["key_schema"],
        )


@dataclass
class BatchReport:
    """What a batch did, for the heartbeat file and the log."""

    batch_id: int
    events: dict[str, int] = field(default_factory=dict)  # per table, heartbeat table included
    dead_letters: int = 0
    max_source_ts: datetime | None = None  # newest source commit time of the batch
    schema_changes: list[str] = field(default_factory=list)
    steps_ms: dict[str, int] = field(default_factory=dict)


HMS_DROP_HINT = (
    "a Hive Metastore 2.x drops only the last column unless "
    "hive.metastore.disallow.incompatible.col.type.changes=false"
)
Letters = tuple[DataFrame, int]  # dead-letter rows and how many


@dataclass(frozen=True)
class Readable:
    group: Group
    fields: tuple[Field, ...]
    key_fields: tuple[Field, ...]

    def selects(self) -> Any:
        return (F.col("schema_id") == self.group.schema_id) & (
            F.col("key_schema_id") == self.group.key_schema_id
        )


class Steps:
    """Milliseconds per step of a batch (thread-safe: tables are processed concurrently)."""

    def __init__(self, report: BatchReport, on_step: Callable[[int, str], None]) -> None:
        self.report, self.on_step, self.lock = report, on_step, threading.Lock()

    def timer(self) -> Callable[[str], None]:
        """A lap function for one thread: records the time since its previous lap under ``step``."""
        clock = time.monotonic()

        def lap(step: str) -> None:
            nonlocal clock
            now = time.monotonic()
            with self.lock:
                self.report.steps_ms[step] = self.report.steps_ms.get(step, 0) + round((now - clock) * 1000)
            clock = now
            self.on_step(self.report.batch_id, step)

        return lap


class CdcBatch:
    """Lands micro-batches of one Debezium connector's topics (``topics``: topic -> table).

    Tables are processed concurrently (most of a small batch's time is Spark's planning and
    Iceberg's commits, not CPU); each table's statements run in order in one thread.
    """

    def __init__(
        self,
        layout: lake.Layout,
        tables: Sequence[str],
        topics: Mapping[str, str],
        placeholder: str = PLACEHOLDER,
        on_step: Callable[[int, str], None] | None = None,
        parallelism: int = 4,
    ) -> None:
        self.layout, self.tables, self.topics, self.placeholder = (
            layout,
            tuple(tables),
            dict(topics),
            placeholder,
        )
        self.on_step = on_step or (lambda batch_id, step: None)
        self.states: dict[str, lake.TrustedState] = {}
        # (topic, partition) -> (the offset after the last batch's, the largest LSN up to it)
        self.positions: dict[tuple[str, int], tuple[int, int]] = {}
        self.pool = ThreadPoolExecutor(
            max(1, min(parallelism, len(self.tables))), thread_name_prefix="cdc-table"
        )

    def __call__(self, batch: DataFrame, batch_id: int) -> BatchReport:
        return self.process(batch, batch_id)

    def process(self, batch: DataFrame, batch_id: int) -> BatchReport:
        report = BatchReport(batch_id)
        steps = Steps(report, self.on_step)
        lap = steps.timer()
        spark = batch.sparkSession
        parsed = envelope.parse(batch, self.topics).persist()
        cached = [parsed]
        try:
            groups = [Group.of(row) for row in envelope.stats(parsed).collect()]
            lap("parse")
            if any(g.ok and g.unplaced for g in groups):
                parsed = self._place_reads(spark, parsed)
                cached.append(parsed)
                groups = [Group.of(row) for row in envelope.stats(parsed).collect()]
                lap("place_reads")
            for group in groups:
                if group.table is not None:
                    report.events[group.table] = report.events.get(group.table, 0) + group.events
            stamps = [g.max_source_ts for g in groups if g.ok and g.max_source_ts is not None]
            report.max_source_ts = max(stamps, default=None)
            dead: list[Letters] = []
            if any(not g.ok for g in groups):
                errors = parsed.where(F.col("error").isNotNull())
                dead.append(
                    (envelope.dead_letters(errors, batch_id), sum(g.events for g in groups if not g.ok))
                )
            work = {table: [g for g in groups if g.ok and g.table == table] for table in self.tables}
            futures = [
                self.pool.submit(self._table, spark, parsed, table, mine, report, cached, steps.timer())
                for table, mine in work.items()
                if mine
            ]
            for future in futures:
                dead += future.result()
            report.dead_letters = sum(n for _, n in dead)
            if report.dead_letters:
                lap = steps.timer()
                letters = reduce(DataFrame.unionByName, [frame for frame, n in dead if n])
                offsets = (min(g.min_offset for g in groups), max(g.max_offset for g in groups))
                lake.append_dead_letters(letters, self.layout.dead_letters, offsets)
                lap("dead_letters")
        finally:
            for frame in cached:
                frame.unpersist()
        return report

    def _place_reads(self, spark: SparkSession, parsed: DataFrame) -> DataFrame:
        """The batch with its incremental snapshot reads placed (:func:`envelope.place_reads`), cached.

        The largest LSN before the batch in a partition is remembered from the previous batch when
        this one follows it, otherwise (a restart, a batch run again) read from the raw table.
        """
        before: dict[tuple[str, int], int] = {}
        spots = envelope.partitions(parsed).collect()
        for spot in spots:
            where = (spot["kafka_topic"], int(spot["kafka_partition"]))
            remembered = self.positions.get(where)
            if remembered and remembered[0] == spot["first_offset"]:
                before[where] = remembered[1]
            else:
                before[where] = self._raw_position(spark, *where, int(spot["first_offset"]))
        for spot in spots:
            where = (spot["kafka_topic"], int(spot["kafka_partition"]))
            newest = max(before[where], int(spot["max_lsn"] or 0))
            self.positions[where] = (int(spot["last_offset"]) + 1, newest)
        return envelope.place_reads(parsed, before).persist()

    def _raw_position(self, spark: SparkSession, topic: str, partition: int, offset: int) -> int:
        """The largest LSN the raw table holds from ``topic``'s ``partition`` before ``offset`` (0: none)."""
        table = self.topics.get(topic)
        if table not in self.tables:
            return 0
        found = (
            spark.table(self.layout.raw(table))
            .where(
                (F.col("kafka_topic") == topic)
                & (F.col("kafka_partition") == partition)
                & (F.col("kafka_offset") < offset)
            )
            .agg(F.max("lsn"))
            .collect()[0][0]
        )
        return int(found or 0)

    def _table(
        self,
        spark: SparkSession,
        parsed: DataFrame,
        table: str,
        groups: list[Group],
        report: BatchReport,
        cached: list[DataFrame],
        lap: Callable[[str], None],
    ) -> list[Letters]:
        """Raw append, schema upkeep and trusted MERGE of one table; returns its dead letters."""
        events = parsed.where((F.col("table_name") == table) & F.col("error").isNull())
        lsn_range = (min(int(g.min_lsn or 0) for g in groups), max(int(g.max_lsn or 0) for g in groups))
        lake.append_raw(envelope.raw_rows(events, report.batch_id), self.layout.raw(table), lsn_range)
        lap(f"raw.{table}")
        dead: list[Letters] = []
        readable: list[Readable] = []
        for group in groups:
            try:
                fields = schema.envelope_fields(group.schema or "")
                keys = schema.key_fields(group.key_schema or "")
            except (ValueError, TypeError, KeyError) as error:
                reason = f"cannot read the event's schema: {error}"
                dead.append((_group_dead_letters(events, group, reason, report.batch_id), group.events))
                continue
            readable.append(Readable(group, fields, keys))
        if not readable:
            return dead
        state = self._follow_schema(spark, table, readable, report)
        usable = []
        for item in readable:
            problems = schema.misfits(item.fields, state.columns)
            missing = [k.name for k in item.key_fields if k.name not in state.columns]
            problems += [f"primary key column {name} is not in the lake table" for name in missing]
            if problems or not item.key_fields:
                reason = "; ".join(problems or [envelope.NO_PRIMARY_KEY])
                dead.append(
                    (_group_dead_letters(events, item.group, reason, report.batch_id), item.group.events)
                )
            else:
                usable.append(item)
        if not usable:
            return dead
        toastable = {f.name.lower() for item in usable for f in item.fields if f.toastable}
        candidates = state.target(toastable)
        frames = [
            changes.typed(
                events.where(item.selects()), item.fields, item.key_fields, candidates, self.placeholder
            )
            for item in usable
        ]
        rows = reduce(DataFrame.unionByName, frames).persist()
        cached.append(rows)
        # one small job that also fills the cache the MERGE reads: how many values did not convert,
        # and which columns hold a placeholder (only those need the stored value in the MERGE)
        flags = [F.max(F.col(f"_t{candidates.slot(name)}")) for name in candidates.toastable]
        found = list(rows.agg(F.count(F.col("_error")), *flags).collect()[0])  # one row, always
        failed = int(found[0])
        target = candidates.only_toasting(
            [name for name, flag in zip(candidates.toastable, found[1:], strict=True) if flag]
        )
        if failed:
            dead.append((_cast_dead_letters(rows, events, report.batch_id), failed))
        winners = changes.latest(rows.where(F.col("_error").isNull()), target)
        deletes = spark.table(self.layout.raw(table)).where(
            (F.col("op") == "d") & (F.col("lsn") > lsn_range[0])
        )
        lake.merge_trusted(
            changes.without_later_deletes(winners, deletes), self.layout.trusted(table), target
        )
        lap(f"trusted.{table}")
        return dead

    def _follow_schema(
        self, spark: SparkSession, table: str, readable: list[Readable], report: BatchReport
    ) -> lake.TrustedState:
        """The trusted table's state after following the batch's newest source schema (DDL if needed)."""
        name = self.layout.trusted(table)
        newest = max(readable, key=lambda item: item.group.newest)
        wanted = [(f.name, f.sql_type) for f in newest.fields]
        key = tuple(k.name for k in newest.key_fields)
        state = self.states.get(table) or lake.load_trusted(spark, name)
        if state is None:
            state = lake.TrustedState(dict(wanted), key, newest.group.schema_id, newest.group.newest)
            lake.create_trusted(spark, name, state)
            report.schema_changes.append(f"{table}: created with {', '.join(n for n, _ in wanted)}")
        elif newest.group.schema_id != state.schema_id and changes.supersedes(
            newest.group.newest, state.position
        ):
            plan = schema.plan(state.columns, wanted)
            if plan.conflicts:
                report.schema_changes.append(f"{table}: not followed: {'; '.join(plan.conflicts)}")
                log.warning("%s: source schema not followed: %s", name, plan.conflicts)
            else:
                state = self._evolve(spark, table, plan, newest, state, report)
        elif not state.key and key:
            state.key = key
        self.states[table] = state
        return state

    def _evolve(
        self,
        spark: SparkSession,
        table: str,
        plan: schema.Plan,
        newest: Readable,
        state: lake.TrustedState,
        report: BatchReport,
    ) -> lake.TrustedState:
        """Apply ``plan`` (no conflicts) to the trusted table; returns its new state.

        Columns are dropped first: when the metastore refuses, they stay (NULL in new rows), the rest
        of the plan still applies and the reason is reported once (the schema counts as followed).
        """
        name = self.layout.trusted(table)
        refused = _drop_columns(spark, name, plan.drop)
        kept = set(plan.drop) if refused else set()
        columns = {n: t for n, t in state.columns.items() if n not in plan.drop or n in kept}
        columns.update(dict(plan.widen))
        columns.update(dict(plan.add))
        key = tuple(k.name for k in newest.key_fields) or state.key
        followed = lake.TrustedState(columns, key, newest.group.schema_id, newest.group.newest)
        for statement in lake.evolve_ddl(name, plan.add, plan.widen, followed):
            spark.sql(statement)
        if not plan.empty:
            dropped = [n for n in plan.drop if n not in kept]
            report.schema_changes.append(
                f"{table}: added {[n for n, _ in plan.add]}, dropped {dropped}, "
                f"widened {[n for n, _ in plan.widen]}"
                + (f"; kept {sorted(kept)}: {refused}" if refused else "")
            )
        return followed


def _drop_columns(spark: SparkSession, name: str, drop: Sequence[str]) -> str | None:
    """Drop the source's dropped columns; the reason when the metastore refuses (None: dropped)."""
    statement = lake.drop_ddl(name, drop)
    if statement is None:
        return None
    try:
        spark.sql(statement)
    except Exception as error:  # noqa: BLE001 - a kept column is better than a stopped pipeline
        log.warning("%s: could not drop %s: %s", name, list(drop), error)
        first = f"{type(error).__name__}: {error}".splitlines()[0][:300]
        return f"{first} ({HMS_DROP_HINT})"
    return None


def _group_dead_letters(events: DataFrame, group: Group, reason: str, batch_id: int) -> DataFrame:
    """Every event of ``group`` as a dead letter with ``reason``."""
    return _letters(events.where(_chosen(group)), F.lit(reason), F.col("after"), batch_id)


def _chosen(group: Group) -> Column:
    """The events of ``group`` (its value and key schemas)."""
    return (F.col("schema_id") == F.lit(group.schema_id)) & (
        F.col("key_schema_id") == F.lit(group.key_schema_id)
    )


def _cast_dead_letters(rows: DataFrame, events: DataFrame, batch_id: int) -> DataFrame:
    """Typed rows whose values did not convert, with their event's ``after`` text."""
    bad = rows.where(F.col("_error").isNotNull()).select(
        F.col("_topic").alias("kafka_topic"),
        F.col("_kp").alias("kafka_partition"),
        F.col("_ko").alias("kafka_offset"),
        F.col("_error").alias("_reason"),
    )
    joined = events.join(F.broadcast(bad), ["kafka_topic", "kafka_partition", "kafka_offset"])
    return _letters(joined, F.col("_reason"), F.col("after"), batch_id)


def _letters(events: DataFrame, reason: Any, value: Any, batch_id: int) -> DataFrame:
    return events.select(
        "kafka_topic",
        "kafka_partition",
        "kafka_offset",
        "table_name",
        reason.alias("reason"),
        F.col("key").alias("key"),
        value.alias("value"),
        F.lit(batch_id).cast("bigint").alias("batch_id"),
        F.current_timestamp().alias("landed_at"),
    )
