"""A Kafka broker killed (SIGKILL) and restarted during a generator run loses no accepted event.

The generator (``dataplat.load.generator``, in-process) posts through an ingest API process of this
test's own whose delivery timeout (60 s) outlasts the broker's restart, with a unique id per event
(``trace_field``) so each answer can be matched with what Kafka holds. The stack's supervisord
restarts a broker that died unexpectedly; ``stack.up`` makes sure, and brings the whole stack back
to health at the end (the stack is shared).
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path

from confluent_kafka.schema_registry import SchemaRegistryClient
from rich.console import Console

from dataplat.load.generator import Options, Summary, generate
from dataplat.runtime import Stack
from dataplat.settings import Settings
from tests.integration.test_ingest_api import _end_offsets, _read_all, _wait_ready, ingest_process

EVENTS = 4000
RATE = 100.0  # events/s: a 40 s run
KILL_AFTER = 600  # records in Kafka before the broker is killed
DELIVERY_TIMEOUT_MS = 60_000


def _start_generator(options: Options) -> tuple[threading.Thread, list[Summary]]:
    """Run the generator on a thread of its own (its own event loop); the summary lands in the list."""
    done: list[Summary] = []

    def run() -> None:
        done.append(asyncio.run(generate(options, Console(file=io.StringIO()))))

    thread = threading.Thread(target=run, name="generator", daemon=True)
    thread.start()
    return thread, done


def _wait_for_records(settings: Settings, topic: str, count: int, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    while (written := _end_offsets(settings, topic)) < count:
        assert time.monotonic() < deadline, f"only {written} records after {timeout_s:.0f} s"
        time.sleep(0.5)
    return written


def _kill_broker(stack: Stack) -> int:
    """SIGKILL the broker's JVM (no clean shutdown, no flush); returns its pid."""
    info = stack.supervisor.info("kafka")
    assert info.state == "RUNNING" and info.pid > 0, info
    os.kill(info.pid, signal.SIGKILL)
    return info.pid


def test_broker_sigkill_during_a_generator_run_loses_no_accepted_event(
    stack: Stack, settings: Settings, registry: SchemaRegistryClient, topic: str, tmp_path: Path
) -> None:
    log = tmp_path / "ingest-api.log"
    try:
        with ingest_process(log, INGEST_DELIVERY_TIMEOUT_MS=str(DELIVERY_TIMEOUT_MS)) as api:
            options = Options(
                topic=topic,
                schema="appclickstream",
                url=str(api.base_url),
                count=EVENTS,
                rate=RATE,
                concurrency=8,
                trace_field="username",
                seed=7,
            )
            generator, summaries = _start_generator(options)
            before_kill = _wait_for_records(settings, topic, KILL_AFTER, timeout_s=60)
            killed = _kill_broker(stack)
            killed_at = time.monotonic()
            stack.up(["kafka"])  # waits for the restart (supervisord's autorestart, else starts it)
            back_after_s = time.monotonic() - killed_at
            restarted = stack.supervisor.info("kafka")
            assert restarted.pid != killed, "the broker was not restarted"
            _wait_ready(api, None, timeout_s=120)
            assert generator.is_alive(), "the generator finished before the broker was back"
            back_at = _end_offsets(settings, topic)
            generator.join(timeout=EVENTS / RATE + 120)
            assert not generator.is_alive(), "the generator did not finish"
    finally:
        stack.up()  # the shared stack healthy again, whatever happened above
    [summary] = summaries
    outcomes = Counter(summary.traced.values())
    accepted = {trace_id for trace_id, outcome in summary.traced.items() if outcome == "accepted"}
    failed = {trace_id for trace_id, outcome in summary.traced.items() if outcome == "failed"}
    print(
        f"broker pid {killed} killed with {before_kill} records written, back in {back_after_s:.1f} s "
        f"(pid {restarted.pid}, {back_at} records then); generator: {summary.accepted} accepted, "
        f"{summary.failed} failed, {summary.rejected} rejected, HTTP {dict(sorted(summary.statuses.items()))}"
    )
    assert len(summary.traced) == EVENTS and outcomes["rejected"] == 0
    assert outcomes["accepted"] == summary.accepted and outcomes["failed"] == summary.failed

    records = _read_all(settings, registry, topic, expected=len(accepted))
    in_kafka = Counter(value["username"] for _, _, value in records)
    landed_failed = failed & in_kafka.keys()
    print(f"{len(records)} records in Kafka: {len(landed_failed)} of the {len(failed)} failed events landed")
    assert not {name for name, n in in_kafka.items() if n > 1}, "an event is in Kafka more than once"
    assert not accepted - in_kafka.keys(), f"{len(accepted - in_kafka.keys())} accepted events are lost"
    assert not in_kafka.keys() - accepted - failed, "Kafka holds events the generator never sent"
    assert len(records) > back_at, "no event was written after the broker came back"
