"""The insights Spark jobs' transforms and partition overwrite on a small local SparkSession."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from source_api.generator import ndjson_chunks, rows
from spark_apps.insights_group import group_by_event
from spark_apps.insights_json_to_parquet import TABLE_DDL, overwrite_partition, read_raw, to_trusted

DAY = date(2026, 11, 1)


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    warehouse = tmp_path_factory.mktemp("warehouse")
    session = (
        SparkSession.builder.master("local[1]")
        .appName("insights-unit")
        .config("spark.sql.catalogImplementation", "in-memory")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.fixture(scope="module")
def raw_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("raw")
    folder = root / f"date={DAY.isoformat()}"
    folder.mkdir()
    (folder / "insights.jsonl").write_bytes(b"".join(ndjson_chunks(rows(DAY, 200, 1, bad_every=50))))
    return root


def test_to_trusted_types_and_keeps_every_row(spark: SparkSession, raw_root: Path) -> None:
    trusted = to_trusted(read_raw(spark, str(raw_root), DAY), DAY)
    assert [f.name for f in trusted.schema] == [
        "event_id",
        "username",
        "page",
        "event_name",
        "event_time",
        "date",
    ]
    assert dict(trusted.dtypes)["event_time"] == "timestamp" and dict(trusted.dtypes)["date"] == "date"
    got = trusted.collect()
    expected = {row[0]: row for row in rows(DAY, 200, 1, bad_every=50)}
    assert len(got) == 200
    for row in got:
        source = expected[row.event_id]
        assert row.username == source[1] and row.event_name == source[3] and row.date == DAY
        assert row.event_time == datetime.fromisoformat(source[4]).replace(tzinfo=None)
    assert sum(row.username is None for row in got) == 4


def test_unparseable_time_becomes_null(spark: SparkSession) -> None:
    raw = spark.createDataFrame(
        [("e1", "u", "/", "click", "not a time"), ("e2", "u", "/", "view", "2026-11-01T00:00:01.5Z")],
        "event_id string, username string, page string, event_name string, event_time string",
    )
    times = [row.event_time for row in to_trusted(raw, DAY).orderBy("event_id").collect()]
    assert times == [None, datetime(2026, 11, 1, 0, 0, 1, 500_000)]


def test_group_by_event_counts_each_name(spark: SparkSession) -> None:
    data = list(rows(DAY, 500, 2))
    frame = spark.createDataFrame([(r[3],) for r in data], "event_name string")
    grouped = {row.event_name: row.events for row in group_by_event(frame).collect()}
    assert grouped == Counter(r[3] for r in data)


def test_overwrite_replaces_only_that_day(spark: SparkSession, raw_root: Path) -> None:
    spark.sql(TABLE_DDL.format(table="default.insights"))
    other = date(2026, 10, 31)
    trusted = to_trusted(read_raw(spark, str(raw_root), DAY), DAY)
    overwrite_partition(
        spark, to_trusted(read_raw(spark, str(raw_root), DAY), other), "default.insights", other
    )
    for _ in range(2):  # a rerun must not duplicate
        overwrite_partition(spark, trusted, "default.insights", DAY)
    counts = {r.date: r["count"] for r in spark.table("default.insights").groupBy("date").count().collect()}
    assert counts == {DAY: 200, other: 200}
    overwrite_partition(spark, trusted.limit(0), "default.insights", DAY)  # an empty day empties it
    counts = {r.date: r["count"] for r in spark.table("default.insights").groupBy("date").count().collect()}
    assert counts == {other: 200}


def test_raw_lines_are_json(raw_root: Path) -> None:
    lines = (raw_root / f"date={DAY.isoformat()}" / "insights.jsonl").read_text().splitlines()
    assert len(lines) == 200 and all(json.loads(line)["event_id"] for line in lines)
