"""Pure DataFrame transforms of the clickstream app (no I/O: unit-tested on a local session).

Kafka rows -> framed rows (schema id + Avro body) -> decoded or quarantined -> per-batch
increments of 5-second tumbling window counts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.avro.functions import from_avro

WINDOW = "5 seconds"
GROUP_COLUMNS = ("event_name", "page", "username")
INCREMENT_COLUMNS = (
    "event_name", "page", "username", "count", "window_start", "window_end",
    "start_time", "batch_id", "compacted", "start_date",
)  # fmt: skip
QUARANTINE_COLUMNS = (
    "topic", "kafka_partition", "kafka_offset", "kafka_timestamp", "schema_id", "reason",
    "raw_base64", "batch_id", "ingest_date",
)  # fmt: skip

# Reasons a record goes to quarantine instead of the counts.
BAD_HEADER = "bad_header"  # null, shorter than 5 bytes or magic byte not 0
UNKNOWN_SCHEMA = "unknown_schema_id"  # framed with an id the app did not load at start
UNDECODABLE = "undecodable"  # from_avro (PERMISSIVE) could not decode the body
NO_EVENT_TIME = "missing_event_time"


def frame(kafka: DataFrame) -> DataFrame:
    """Split Confluent's wire format: magic byte 0, 4-byte big-endian schema id, Avro body."""
    value = F.col("value")
    framed = (F.length(value) >= 5) & (F.hex(F.substring(value, 1, 1)) == "00")
    return kafka.select(
        F.col("topic"),
        F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"),
        F.col("timestamp").alias("kafka_timestamp"),
        value.alias("raw"),
        F.when(framed, F.conv(F.hex(F.substring(value, 2, 4)), 16, 10).cast("long")).alias("schema_id"),
        F.when(framed, F.expr("substring(value, 6)")).alias("body"),
    )


def required_fields(schemas: Iterable[str]) -> list[str]:
    """Top-level fields that no schema allows to be null (a union with "null" is optional)."""
    required: set[str] | None = None
    for text in schemas:
        fields = json.loads(text)["fields"]
        names = {f["name"] for f in fields if not (isinstance(f["type"], list) and "null" in f["type"])}
        required = names if required is None else required & names
    return sorted(required or ())


def decode(framed: DataFrame, schemas: dict[int, str]) -> DataFrame:
    """Decode each body with the writer schema of its id; adds ``event`` (struct) and ``reason``.

    ``reason`` is null for good records; every other record keeps its raw bytes for quarantine.
    """
    if not schemas:
        raise ValueError("no schema loaded: refusing to quarantine everything")
    event: Column = F.lit(None)
    for schema_id, schema in schemas.items():
        decoded = from_avro(F.col("body"), schema, {"mode": "PERMISSIVE"})
        event = F.when(F.col("schema_id") == schema_id, decoded).otherwise(event)
    known = F.col("schema_id").isin(list(schemas))
    with_event = framed.withColumn("event", event)
    # PERMISSIVE yields a struct of nulls for a corrupt body: a required field being null tells
    broken = F.col("event").isNull()
    for name in required_fields(schemas.values()):
        broken = broken | F.col(f"event.{name}").isNull()
    reason = (
        F.when(F.col("schema_id").isNull(), F.lit(BAD_HEADER))
        .when(~known, F.lit(UNKNOWN_SCHEMA))
        .when(broken, F.lit(UNDECODABLE))
        .when(F.col("event.event_time").isNull(), F.lit(NO_EVENT_TIME))
    )
    return with_event.withColumn("reason", reason)


def increments(decoded: DataFrame, batch_id: int) -> DataFrame:
    """This batch's counts per 5-second window and (event_name, page, username)."""
    good = decoded.where(F.col("reason").isNull()).select("event.*")
    counted = good.groupBy(F.window("event_time", WINDOW).alias("w"), *GROUP_COLUMNS).agg(
        F.count(F.lit(1)).alias("count")
    )
    return counted.select(
        *GROUP_COLUMNS,
        F.col("count"),
        F.col("w.start").alias("window_start"),
        F.col("w.end").alias("window_end"),
        F.date_format("w.start", "HH:mm:ss").alias("start_time"),
        F.lit(batch_id).cast("long").alias("batch_id"),
        F.lit(False).alias("compacted"),
        F.date_format("w.start", "yyyy-MM-dd").alias("start_date"),
    )


def quarantine(decoded: DataFrame, batch_id: int) -> DataFrame:
    """The records that could not be counted, with their raw bytes (base64) and where they came from."""
    return decoded.where(F.col("reason").isNotNull()).select(
        "topic",
        "kafka_partition",
        "kafka_offset",
        "kafka_timestamp",
        "schema_id",
        "reason",
        F.base64("raw").alias("raw_base64"),
        F.lit(batch_id).cast("long").alias("batch_id"),
        F.date_format("kafka_timestamp", "yyyy-MM-dd").alias("ingest_date"),
    )


def batch_stats(decoded: DataFrame) -> dict[str, object]:
    """Good/quarantined counts and the event-time range of one batch (one small Spark job)."""
    row = decoded.agg(
        F.count(F.when(F.col("reason").isNull(), 1)).alias("good"),
        F.count(F.col("reason")).alias("quarantined"),
        F.min("event.event_time").alias("min_event_time"),
        F.max("event.event_time").alias("max_event_time"),
    ).first()
    assert row is not None
    return row.asDict()


def fold(rows: DataFrame, through_batch: int) -> DataFrame:
    """Compaction: the sum of increments (and older compactions) as one compacted row per group."""
    keys = (*GROUP_COLUMNS, "window_start", "window_end", "start_time", "start_date")
    return (
        rows.groupBy(*keys)
        .agg(F.sum("count").alias("count"))
        .select(
            *GROUP_COLUMNS,
            F.col("count"),
            "window_start",
            "window_end",
            "start_time",
            F.lit(through_batch).cast("long").alias("batch_id"),
            F.lit(True).alias("compacted"),
            "start_date",
        )
    )


def effective(rows: DataFrame) -> DataFrame:
    """The rows the users' view counts (mirror of ``VIEW_SQL``): per date, the newest compaction
    plus the increments written after it."""
    from pyspark.sql import Window

    through = F.max(F.when(F.col("compacted"), F.col("batch_id"))).over(Window.partitionBy("start_date"))
    marked = rows.withColumn("through", through)
    keep = (
        F.col("through").isNull()
        | (F.col("compacted") & (F.col("batch_id") == F.col("through")))
        | (~F.col("compacted") & (F.col("batch_id") > F.col("through")))
    )
    return marked.where(keep).drop("through")


def counts(rows: DataFrame) -> DataFrame:
    """What ``clickstream.clickstream_counts`` shows: effective rows summed per window and group."""
    keys = (*GROUP_COLUMNS, "window_start", "window_end", "start_date", "start_time")
    return effective(rows).groupBy(*keys).agg(F.sum("count").alias("count"))
