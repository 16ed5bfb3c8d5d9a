"""The end-to-end slice against the real stack: WebHDFS, registry + Kafka, Spark + metastore, Trino."""

from __future__ import annotations

import time
import uuid

from dataplat import demo
from dataplat.runtime import Stack
from dataplat.settings import Settings


def test_webhdfs_round_trip(stack: Stack, settings: Settings) -> None:
    assert "wrote and read" in demo.webhdfs_round_trip(settings)


def test_avro_message_round_trip(stack: Stack, settings: Settings) -> None:
    assert "decoded back" in demo.avro_round_trip(settings)


def test_spark_table_is_read_by_trino(stack: Stack, settings: Settings) -> None:
    table = f"smoke_{uuid.uuid4().hex[:8]}"
    assert f"wrote 42 rows to dataplat_demo.{table}" in demo.spark_table(settings, table)
    assert "Trino read 42 rows" in demo.trino_read(settings, table)


def test_every_service_is_healthy(stack: Stack) -> None:
    """Every service is (or within a minute becomes) healthy: nothing crash-loops or hangs."""
    deadline = time.monotonic() + 60
    while True:
        unhealthy = {s.name: s.readiness.reason for s in stack.status() if not s.readiness.ok}
        if not unhealthy or time.monotonic() > deadline:
            break
        time.sleep(5)
    assert unhealthy == {}
