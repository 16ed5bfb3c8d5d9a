"""Pure transforms of the clickstream app on a local SparkSession (no services)."""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastavro import parse_schema, schemaless_writer
from pyspark.sql import DataFrame, SparkSession

from dataplat.paths import paths_for
from dataplat.settings import get_settings
from dataplat.spark_conf import connector_jars
from spark_apps.clickstream import tables, transforms

SCHEMA_FILE = Path(__file__).resolve().parents[3] / "schemas" / "appclickstream.avsc"
SCHEMA_ID = 7
KAFKA_TIME = datetime(2026, 11, 24, 10, 0, 0)


def wire(record: dict[str, object], schema_id: int = SCHEMA_ID) -> bytes:
    buffer = io.BytesIO()
    schemaless_writer(buffer, parse_schema(json.loads(SCHEMA_FILE.read_text())), record)
    return b"\x00" + struct.pack(">I", schema_id) + buffer.getvalue()


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def event(user: str, page: str, name: str, at: str) -> dict[str, object]:
    return {"username": user, "page": page, "event_name": name, "event_time": ms(at)}


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    jars = [str(jar) for jar in connector_jars(paths_for(get_settings())) if "avro" in jar.name]
    if not jars:
        pytest.skip("spark-avro jar not installed (dataplat install)")
    session = (
        SparkSession.builder.master("local[1]")
        .appName("test-clickstream")
        .config("spark.jars", ",".join(jars))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    yield session
    session.stop()


def kafka_rows(spark: SparkSession, values: list[bytes | None]) -> DataFrame:
    rows = [
        (
            "appclickstream",
            0,
            offset,
            datetime(2026, 11, 24, 10, 0, 0),
            bytearray(v) if v is not None else None,
        )
        for offset, v in enumerate(values)
    ]
    return spark.createDataFrame(
        rows, "topic string, partition int, offset long, timestamp timestamp, value binary"
    )


def decoded(spark: SparkSession, values: list[bytes | None]) -> DataFrame:
    return transforms.decode(
        transforms.frame(kafka_rows(spark, values)), {SCHEMA_ID: SCHEMA_FILE.read_text()}
    )


def test_frame_reads_schema_id_and_body(spark: SparkSession) -> None:
    value = wire(event("ann", "/a", "click", "2026-11-24 10:00:01"), schema_id=70000)
    row = transforms.frame(kafka_rows(spark, [value])).first()
    assert row is not None
    assert row.schema_id == 70000
    assert bytes(row.body) == value[5:]


def test_good_records_decode_and_bad_ones_get_a_reason(spark: SparkSession) -> None:
    good = wire(event("ann", "/a", "click", "2026-11-24 10:00:01"))
    unknown = wire(event("b", "/", "v", "2026-11-24 10:00:00"), 99)
    corrupt = b"\x00" + struct.pack(">I", SCHEMA_ID) + b"\xff" * 10
    values = [good, b"\x01" + good[1:], b"\x00\x00", None, unknown, corrupt]
    rows = decoded(spark, values).orderBy("kafka_offset").collect()
    assert [r.reason for r in rows] == [
        None,
        transforms.BAD_HEADER,
        transforms.BAD_HEADER,
        transforms.BAD_HEADER,
        transforms.UNKNOWN_SCHEMA,
        transforms.UNDECODABLE,
    ]
    assert rows[0].event.username == "ann"
    assert rows[0].event.event_time == datetime(2026, 11, 24, 10, 0, 1)


def test_increments_count_5s_windows_per_group(spark: SparkSession) -> None:
    events = [
        event("ann", "/a", "click", "2026-11-24 10:00:01"),
        event("ann", "/a", "click", "2026-11-24 10:00:04.999"),
        event("ann", "/a", "click", "2026-11-24 10:00:05"),
        event("bob", "/a", "click", "2026-11-24 10:00:02"),
        event("ann", "/b", "view", "2026-11-23 23:59:59"),
    ]
    out = transforms.increments(decoded(spark, [wire(e) for e in events] + [b"junk"]), batch_id=12)
    assert tuple(out.columns) == tables_columns()
    got = {(r.username, r.page, r.start_date, r.start_time): (r["count"], r.batch_id) for r in out.collect()}
    assert got == {
        ("ann", "/a", "2026-11-24", "10:00:00"): (2, 12),
        ("ann", "/a", "2026-11-24", "10:00:05"): (1, 12),
        ("bob", "/a", "2026-11-24", "10:00:00"): (1, 12),
        ("ann", "/b", "2026-11-23", "23:59:55"): (1, 12),
    }
    first = out.where("username = 'bob'").first()
    assert first is not None
    assert (first.window_start, first.window_end) == (
        datetime(2026, 11, 24, 10, 0),
        datetime(2026, 11, 24, 10, 0, 5),
    )


def tables_columns() -> tuple[str, ...]:
    return transforms.INCREMENT_COLUMNS


def test_quarantine_keeps_raw_bytes_and_position(spark: SparkSession) -> None:
    out = transforms.quarantine(decoded(spark, [b"\x00\x00\x00\x00\x07garbage!"]), batch_id=3)
    assert tuple(out.columns) == transforms.QUARANTINE_COLUMNS
    row = out.first()
    assert row is not None
    import base64

    assert base64.b64decode(row.raw_base64) == b"\x00\x00\x00\x00\x07garbage!"
    assert (row.kafka_partition, row.kafka_offset, row.batch_id, row.ingest_date) == (0, 0, 3, "2026-11-24")


def test_stats_count_good_and_quarantined(spark: SparkSession) -> None:
    stats = transforms.batch_stats(decoded(spark, [wire(event("a", "/", "c", "2026-11-24 10:00:00")), b"x"]))
    assert (stats["good"], stats["quarantined"]) == (1, 1)


def test_compaction_does_not_change_the_view(spark: SparkSession) -> None:
    """Fold + the view's filter: same totals before, during (both visible) and after the swap."""
    events = [event(f"u{i % 3}", "/p", "click", f"2026-11-24 10:00:0{i % 9}") for i in range(30)]
    batches = [transforms.increments(decoded(spark, [wire(e) for e in events[i::3]]), i) for i in range(3)]
    before = batches[0].unionByName(batches[1]).unionByName(batches[2])
    compacted = transforms.fold(before.where("batch_id <= 1"), through_batch=1)
    later = transforms.increments(decoded(spark, [wire(events[0])]), 3)

    def view(df: DataFrame) -> set[tuple[object, ...]]:
        return {tuple(r) for r in transforms.counts(df).collect()}

    expected = view(before.unionByName(later))
    assert view(before.unionByName(compacted).unionByName(later)) == expected  # swap in progress
    assert view(batches[2].unionByName(compacted).unionByName(later)) == expected  # old files deleted
    again = transforms.fold(compacted.unionByName(batches[2]), through_batch=2)
    assert view(compacted.unionByName(again).unionByName(batches[2]).unionByName(later)) == expected
    assert sum(r["count"] for r in transforms.counts(before.unionByName(later)).collect()) == 31


def test_view_sql_reads_the_increments_table() -> None:
    sql = tables.view_sql()
    assert "hive.clickstream.clickstream_increments" in sql
    assert "CREATE OR REPLACE VIEW hive.clickstream.clickstream_counts" in sql
