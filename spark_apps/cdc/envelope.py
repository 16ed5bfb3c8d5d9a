"""Kafka records of Debezium change events -> one row per record: the envelope's fields, or why not.

Values and keys are Kafka Connect ``JsonConverter`` output with ``schemas.enable=true``:
``{"schema": {...}, "payload": {"before", "after", "source": {"lsn", "txId", "ts_ms", "ts_us",
"snapshot", ...}, "op", "ts_ms"}}`` and ``{"schema": {...}, "payload": {<primary key columns>}}``.
``before``/``after``, the key's payload and the schemas are kept as JSON text (Spark's JSON reader
keeps an object's text for a string field): they are typed later, per schema (:mod:`changes`).

A record that is not such an event gets a reason in ``error`` (and goes to the dead letters); its
value text is kept (``bad_value``) only then, so the cached batch stays small.

An incremental snapshot's reads (``source.snapshot`` "incremental") come without an LSN: Debezium
emits a chunk's rows when its window closes, after every change streamed before them (a key changed
inside the window is left out of the chunk). :func:`place_reads` gives such a read the largest LSN
of the records before it in its topic partition: no smaller than any change of its key before it,
and a streamed change after it still wins, as over any snapshot read (see :mod:`changes`).
"""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

ENVELOPE = (
    "schema string, payload struct<before: string, after: string, op: string, ts_ms: bigint, "
    "source: struct<lsn: bigint, txId: bigint, ts_ms: bigint, ts_us: bigint, snapshot: string>>, "
    "_corrupt string"
)
KEY = "schema string, payload string, _corrupt string"
PERMISSIVE = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": "_corrupt"}
OPS = ("c", "u", "d", "r")
SNAPSHOT_OP = "r"
INCREMENTAL = "incremental"  # source.snapshot of an incremental snapshot's read
NO_PRIMARY_KEY = "table has no primary key; add one"
REASON_CHARS = 500  # a value quoted in a reason is cut there


def parse(kafka: DataFrame, tables: Mapping[str, str]) -> DataFrame:
    """Kafka rows (topic, partition, offset, key, value) -> envelope rows; ``tables`` maps topic -> table.

    ``phase`` is 0 for snapshot reads (op ``r``) and 1 for streamed changes: a key's events are ordered
    by (phase, lsn) -- see :mod:`changes`.
    """
    value_text = F.col("value").cast("string")
    key_text = F.col("key").cast("string")
    event = F.from_json(value_text, ENVELOPE, PERMISSIVE)
    key = F.from_json(key_text, KEY, PERMISSIVE)
    table_of = F.create_map(*[F.lit(part) for pair in sorted(tables.items()) for part in pair])
    framed = kafka.select(
        F.col("topic").alias("kafka_topic"),
        F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"),
        F.element_at(table_of, F.col("topic")).alias("table_name"),
        value_text.alias("_value"),
        key_text.alias("_key_text"),
        event.alias("_e"),
        key.alias("_k"),
    )
    payload, source = F.col("_e.payload"), F.col("_e.payload.source")
    op = payload["op"]
    error = _error(F.col("_value"), F.col("_e"), F.col("_key_text"), F.col("_k"))
    return framed.select(
        "kafka_topic",
        "kafka_partition",
        "kafka_offset",
        "table_name",
        op.alias("op"),
        source["lsn"].alias("lsn"),
        source["txId"].alias("tx_id"),
        F.timestamp_micros(F.coalesce(source["ts_us"], F.try_multiply(source["ts_ms"], F.lit(1000)))).alias(
            "source_ts"
        ),
        source["snapshot"].alias("snapshot"),
        F.when(op == SNAPSHOT_OP, 0).otherwise(1).alias("phase"),
        F.col("_k.payload").alias("key"),
        payload["before"].alias("before"),
        payload["after"].alias("after"),
        F.col("_e.schema").alias("schema"),
        F.col("_k.schema").alias("key_schema"),
        F.xxhash64(F.col("_e.schema")).alias("schema_id"),
        F.xxhash64(F.col("_k.schema")).alias("key_schema_id"),
        error.alias("error"),
        F.when(error.isNotNull(), F.col("_key_text")).alias("bad_key"),
        F.when(error.isNotNull(), F.col("_value")).alias("bad_value"),
    )


def _error(value: Column, event: Column, key_text: Column, key: Column) -> Column:
    """Why a record is not a change event the lake can take (NULL: it is)."""
    payload = event["payload"]
    op, lsn = payload["op"], payload["source"]["lsn"]
    incremental_read = (op == SNAPSHOT_OP) & (payload["source"]["snapshot"] == INCREMENTAL)
    return (
        F.when(value.isNull(), F.lit("empty value (a tombstone?)"))
        .when(event.isNull() | event["_corrupt"].isNotNull(), F.lit("value is not JSON"))
        .when(payload.isNull(), F.lit("value has no payload: not a change event with its schema"))
        .when(event["schema"].isNull(), F.lit("value has no schema (JsonConverter schemas.enable=false?)"))
        .when(op.isNull() | ~op.isin(*OPS), F.concat(F.lit("unsupported op "), F.coalesce(op, F.lit("null"))))
        .when(lsn.isNull() & ~F.coalesce(incremental_read, F.lit(False)), F.lit("no source.lsn"))
        .when((op != "d") & payload["after"].isNull(), F.lit("no after image"))
        .when(
            key_text.isNull() | (F.trim(key_text) == "null") | (key.isNotNull() & key["payload"].isNull()),
            F.lit(NO_PRIMARY_KEY),
        )
        .when(key.isNull() | key["_corrupt"].isNotNull(), F.lit("key is not JSON"))
        .when(key["schema"].isNull(), F.lit("key has no schema (JsonConverter schemas.enable=false?)"))
    )


def stats(parsed: DataFrame) -> DataFrame:
    """One row per (table, value schema, key schema, good or not): counts, LSN range, newest, schemas.

    Small (a few rows a table): the driver collects it to plan the batch's DDL and MERGE statements.
    """
    return parsed.groupBy(
        "table_name", "schema_id", "key_schema_id", F.col("error").isNull().alias("ok")
    ).agg(
        F.count(F.lit(1)).alias("events"),
        F.count_if(F.col("lsn").isNull()).alias("unplaced"),
        F.min("lsn").alias("min_lsn"),
        F.max("lsn").alias("max_lsn"),
        F.max(F.struct("phase", "lsn")).alias("newest"),
        F.max("source_ts").alias("max_source_ts"),
        F.min("kafka_offset").alias("min_offset"),
        F.max("kafka_offset").alias("max_offset"),
        F.any_value("schema").alias("schema"),
        F.any_value("key_schema").alias("key_schema"),
    )


def partitions(parsed: DataFrame) -> DataFrame:
    """One row per Kafka (topic, partition) of the good events: first and last offset, largest LSN."""
    return (
        parsed.where(F.col("error").isNull())
        .groupBy("kafka_topic", "kafka_partition")
        .agg(
            F.min("kafka_offset").alias("first_offset"),
            F.max("kafka_offset").alias("last_offset"),
            F.max("lsn").alias("max_lsn"),
        )
    )


def place_reads(parsed: DataFrame, before: Mapping[tuple[str, int], int]) -> DataFrame:
    """Incremental snapshot reads (no LSN) get the largest LSN of the records before them.

    "Before" is earlier in the same topic partition: this batch's records by offset, then
    ``before[(topic, partition)]`` (the largest LSN before the batch; 0 when none is known).
    """
    earlier = Window.partitionBy("kafka_topic", "kafka_partition").orderBy("kafka_offset")
    in_batch = F.max("lsn").over(earlier.rowsBetween(Window.unboundedPreceding, -1))
    known = F.create_map(
        *[
            F.lit(part)
            for (topic, part_no), lsn in sorted(before.items())
            for part in (f"{topic}:{part_no}", lsn)
        ]
    )
    spot = F.concat_ws(":", F.col("kafka_topic"), F.col("kafka_partition").cast("string"))
    start = F.coalesce(F.element_at(known, spot), F.lit(0)) if before else F.lit(0)
    unplaced = (F.col("op") == SNAPSHOT_OP) & (F.col("snapshot") == INCREMENTAL) & F.col("lsn").isNull()
    placed = F.greatest(in_batch, start.cast("bigint"))
    return parsed.withColumn(
        "lsn", F.when(unplaced & F.col("error").isNull(), placed).otherwise(F.col("lsn"))
    )


def raw_rows(events: DataFrame, batch_id: int) -> DataFrame:
    """Good events -> rows of a raw ``<db>_<table>_changes`` table, one per (lsn, key, op)."""
    return events.select(
        "op",
        "lsn",
        "tx_id",
        "source_ts",
        "snapshot",
        "key",
        "before",
        "after",
        "kafka_topic",
        "kafka_partition",
        "kafka_offset",
        F.lit(batch_id).cast("bigint").alias("batch_id"),
        F.current_timestamp().alias("landed_at"),
    ).dropDuplicates(["lsn", "key", "op"])


def dead_letters(bad: DataFrame, batch_id: int) -> DataFrame:
    """Records with an ``error`` -> rows of the dead-letter table."""
    return bad.select(
        "kafka_topic",
        "kafka_partition",
        "kafka_offset",
        "table_name",
        F.col("error").alias("reason"),
        F.col("bad_key").alias("key"),
        F.col("bad_value").alias("value"),
        F.lit(batch_id).cast("bigint").alias("batch_id"),
        F.current_timestamp().alias("landed_at"),
    )
