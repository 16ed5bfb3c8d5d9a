"""The clickstream app against the real stack: Kafka -> Spark -> HDFS/metastore -> Trino.

Every test uses its own usernames (and the far-past dates its own day), so traffic others put
on the topic does not change the expected numbers.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import random
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from dataplat.compaction import compact_clickstream
from dataplat.load.bench.streaming import ClickProducer, count_for, event, trino_cursor, wait_for_count
from dataplat.runtime import Stack
from dataplat.settings import Settings

FRESH_S = 60.0  # generous: the first batch after a (re)start replays whatever the topic holds


@pytest.fixture(scope="module")
def streaming(stack: Stack) -> Iterator[Stack]:
    stack.up(["streaming"])
    yield stack


@pytest.fixture(scope="module")
def producer(streaming: Stack, settings: Settings) -> ClickProducer:
    return ClickProducer(settings)


@pytest.fixture(scope="module")
def cursor(streaming: Stack, settings: Settings) -> Any:
    return trino_cursor(settings)


def run_id() -> str:
    return uuid.uuid4().hex[:10]


def window_of(ms: int) -> str:
    start = dt.datetime.fromtimestamp(ms // 5000 * 5, dt.UTC)
    return start.strftime("%Y-%m-%d %H:%M:%S")


def test_counts_per_group_and_window_are_exact(producer: ClickProducer, cursor: Any) -> None:
    run = run_id()
    now = int(time.time() * 1000)
    events = [
        event(
            f"exact-{run}-{i % 5}",
            page=f"/p{i % 4}",
            name=("click", "view")[i % 2],
            at_ms=now - random.randint(0, 20_000),
        )
        for i in range(600)
    ]
    producer.send(events)
    producer.flush()
    wait_for_count(cursor, f"exact-{run}-%", len(events), FRESH_S)
    expected = Counter(
        (e["username"], e["page"], e["event_name"], window_of(e["event_time"])) for e in events
    )
    cursor.execute(
        "SELECT username, page, event_name, format_datetime(window_start, 'yyyy-MM-dd HH:mm:ss'), count,"
        " date_diff('second', window_start, window_end), start_date, start_time"
        " FROM hive.clickstream.clickstream_counts WHERE username LIKE ?",
        [f"exact-{run}-%"],
    )
    rows = cursor.fetchall()
    assert {(r[0], r[1], r[2], r[3]): r[4] for r in rows} == dict(expected)
    assert all(r[5] == 5 and f"{r[6]} {r[7]}" == r[3] for r in rows)


def test_sigkill_and_restart_neither_loses_nor_double_counts(
    streaming: Stack, producer: ClickProducer, cursor: Any
) -> None:
    run = run_id()
    sent = 0
    stop = threading.Event()

    def produce() -> None:
        nonlocal sent
        while not stop.is_set():
            sent += producer.send(event(f"kill-{run}-{i % 7}", page="/kill") for i in range(50))
            producer.flush()
            time.sleep(0.1)

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    time.sleep(8)  # let a few micro-batches commit first
    [status] = [s for s in streaming.status() if s.name == "streaming"]
    os.killpg(os.getpgid(status.pid), signal.SIGKILL)  # driver JVM and its Python together
    time.sleep(6)
    stop.set()
    thread.join()
    streaming.up(["streaming"])  # supervisord restarts it; wait until it is healthy again
    wait_for_count(cursor, f"kill-{run}-%", sent, 240.0)
    restarted = next(s for s in streaming.status() if s.name == "streaming")
    assert restarted.pid != status.pid
    # a few more micro-batches: a replayed batch must not add its rows a second time
    marker = f"kill-{run}-marker"
    producer.send([event(marker)])
    producer.flush()
    wait_for_count(cursor, marker, 1, FRESH_S)
    assert count_for(cursor, f"kill-{run}-%") == sent + 1


def test_late_events_are_counted_into_their_old_windows(producer: ClickProducer, cursor: Any) -> None:
    run = run_id()
    day = dt.date(2019, 1, 1) + dt.timedelta(days=random.randint(0, 364))
    at = int(dt.datetime.combine(day, dt.time(12, 0, 3), dt.UTC).timestamp() * 1000)
    producer.send([event(f"late-{run}", at_ms=at) for _ in range(3)])
    producer.flush()
    # a new partition: registered by the app, no sync_partition_metadata
    wait_for_count(cursor, f"late-{run}", 3, FRESH_S, start_date=day.isoformat())
    cursor.execute(
        "SELECT start_time, count FROM hive.clickstream.clickstream_counts WHERE username = ?",
        [f"late-{run}"],
    )
    assert cursor.fetchall() == [["12:00:00", 3]]


def test_undecodable_messages_go_to_quarantine_and_the_app_keeps_going(
    producer: ClickProducer, cursor: Any
) -> None:
    run = run_id()
    bad_header = f"not avro {run}".encode()
    bad_body = b"\x00" + producer.schema_id.to_bytes(4, "big") + b"\xff" * 12 + run.encode()
    unknown_id = b"\x00" + (2**31 - 7).to_bytes(4, "big") + run.encode()
    for raw in (bad_header, bad_body, unknown_id):
        producer.send_raw(raw)
    producer.send([event(f"after-bad-{run}")])
    producer.flush()
    wait_for_count(cursor, f"after-bad-{run}", 1, FRESH_S)
    reasons = ((bad_header, "bad_header"), (bad_body, "undecodable"), (unknown_id, "unknown_schema_id"))
    wanted = {base64.b64encode(raw).decode(): reason for raw, reason in reasons}
    # written before the batch's counts (same micro-batch or an earlier one)
    cursor.execute(
        "SELECT raw_base64, reason, topic, kafka_offset FROM hive.clickstream.quarantine"
        " WHERE raw_base64 IN (?, ?, ?)",
        list(wanted),
    )
    rows = cursor.fetchall()
    assert {r[0]: r[1] for r in rows} == wanted
    assert all(r[2] == producer.topic and r[3] >= 0 for r in rows)


def test_compaction_keeps_every_query_result(
    producer: ClickProducer, cursor: Any, settings: Settings
) -> None:
    run = run_id()
    day = dt.date(2018, 1, 1) + dt.timedelta(days=random.randint(0, 364))
    base = int(dt.datetime.combine(day, dt.time(8, 0, 0), dt.UTC).timestamp() * 1000)
    total = 0
    for part in range(3):  # three micro-batches at least: three increment files
        producer.send([event(f"compact-{run}-{i % 2}", at_ms=base + i * 1000) for i in range(10 + part)])
        producer.flush()
        total += 10 + part
        wait_for_count(cursor, f"compact-{run}-%", total, FRESH_S, start_date=day.isoformat())
    query = (
        "SELECT username, start_time, count FROM hive.clickstream.clickstream_counts"
        " WHERE start_date = ? ORDER BY 1, 2"
    )
    cursor.execute(query, [day.isoformat()])
    before = cursor.fetchall()
    summary = compact_clickstream(settings, day)
    assert summary["compacted"] and summary["files_before"] >= 3
    cursor.execute(query, [day.isoformat()])
    assert cursor.fetchall() == before
    cursor.execute(
        'SELECT count(DISTINCT "$path") FROM hive.clickstream.clickstream_increments WHERE start_date = ?',
        [day.isoformat()],
    )
    assert cursor.fetchone()[0] == 1
    producer.send([event(f"compact-{run}-0", at_ms=base)])  # increments after the compaction add up
    producer.flush()
    wait_for_count(cursor, f"compact-{run}-%", total + 1, FRESH_S, start_date=day.isoformat())
