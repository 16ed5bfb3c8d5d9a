"""The ingest API against the real Kafka and schema registry.

Uses the session fixtures ``stack``, ``settings`` and ``ingest_url``. The Kafka outage test stops
and restarts Kafka through the stack; stopping Kafka also stops its dependents (the stack's own
ingest API among them), so that test drives a private ingest API process of its own, and brings
the whole stack back up afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from dataplat.paths import paths_for
from dataplat.ports import free_port
from dataplat.runtime import Stack
from dataplat.secrets import get_secret
from dataplat.settings import REPO_ROOT, Settings, get_settings

SCHEMA = (REPO_ROOT / "schemas" / "appclickstream.avsc").read_text()


def _event(marker: str, i: int, **overrides: Any) -> dict[str, Any]:
    return {
        "username": f"{marker}-{i}",
        "page": "/it",
        "event_name": "click",
        "event_time": "2026-11-24T10:00:00Z",
        **overrides,
    }


@pytest.fixture(scope="module")
def api(settings: Settings, ingest_url: str) -> Iterator[httpx.Client]:
    key = get_secret(paths_for(settings).secrets_file, "INGEST_API_KEY")
    with httpx.Client(base_url=ingest_url, headers={"X-API-Key": key}, timeout=30) as client:
        yield client


def _read_all(
    settings: Settings, registry: SchemaRegistryClient, topic: str, expected: int, settle_s: float = 3.0
) -> list[tuple[int, int, dict[str, Any]]]:
    """Every record of ``topic`` (partition, offset, decoded value), read until quiet."""
    consumer = Consumer(
        settings.kafka_client_config(
            **{
                "group.id": f"it-{uuid.uuid4().hex}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
            }
        )
    )
    decode = AvroDeserializer(registry)
    consumer.subscribe([topic])
    records: list[tuple[int, int, dict[str, Any]]] = []
    deadline = time.monotonic() + 30
    quiet_since = time.monotonic()
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                if len(records) >= expected and time.monotonic() - quiet_since > settle_s:
                    break
                continue
            if message.error():
                continue
            quiet_since = time.monotonic()
            value = decode(message.value(), SerializationContext(topic, MessageField.VALUE))
            records.append((message.partition(), message.offset(), value))
    finally:
        consumer.close()
    return records


def _end_offsets(settings: Settings, topic: str) -> int:
    consumer = Consumer(settings.kafka_client_config(**{"group.id": f"it-{uuid.uuid4().hex}"}))
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return 0
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in metadata.partitions
        )
    finally:
        consumer.close()


def test_ready(api: httpx.Client) -> None:
    assert api.get("/readyz").json() == {"ready": True, "kafka": "ok", "registry": "ok"}


def test_every_accepted_event_is_in_kafka_exactly_once(
    api: httpx.Client, settings: Settings, registry: SchemaRegistryClient, topic: str
) -> None:
    marker = uuid.uuid4().hex[:8]
    single = api.post(f"/topics/{topic}", json=_event(marker, 0, event_time=1_795_514_400_000))
    assert single.status_code == 200, single.text
    batch = [_event(marker, i) for i in range(1, 201)]
    batch[50] = {"username": 5, "page": "/it"}  # two invalid records: events 51 and 151
    batch[150] = _event(marker, 151, event_time="not a time")
    response = api.post(f"/topics/{topic}/batch", json=batch)
    assert response.status_code == 207, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"], body["failed"]) == (198, 2, 0)

    positions = {(single.json()["partition"], single.json()["offset"])}
    positions |= {(r["partition"], r["offset"]) for r in body["results"] if r["status"] == "accepted"}
    records = _read_all(settings, registry, topic, expected=199)
    assert len(records) == 199
    assert {(p, o) for p, o, _ in records} == positions
    names = Counter(value["username"] for _, _, value in records)
    assert set(names.values()) == {1}
    assert f"{marker}-51" not in names and f"{marker}-151" not in names
    event_times = {value["event_time"] for _, _, value in records}
    assert {t.timestamp() for t in event_times} == {1_795_514_400.0}  # decoded as timestamp-millis


def test_rejected_events_produce_nothing(api: httpx.Client, settings: Settings, topic: str) -> None:
    response = api.post(f"/topics/{topic}/batch", json=[{"page": 1}, {"username": "x"}])
    assert response.status_code == 422
    assert api.post(f"/topics/{topic}", json={"username": None}).status_code == 422
    assert _end_offsets(settings, topic) == 0


def test_metrics_sum_every_worker(api: httpx.Client, settings: Settings, topic: str) -> None:
    """The stack runs several uvicorn workers; any of them answers /metrics with all their counts."""
    assert settings.ingest_workers > 1
    headers = dict(api.headers)
    for i in range(40):  # a new connection per request: the kernel spreads them over the workers
        response = httpx.post(f"{api.base_url}/topics/{topic}", json=_event("m", i), headers=headers)
        assert response.status_code == 200, response.text
    line = f'ingest_records_accepted_total{{topic="{topic}"}} 40.0'
    for _ in range(6):
        assert line in httpx.get(f"{api.base_url}/metrics", headers=headers).text


def test_unknown_topic_is_404(api: httpx.Client) -> None:
    response = api.post(f"/topics/it-no-schema-{uuid.uuid4().hex[:6]}", json=_event("x", 0))
    assert response.status_code == 404


@contextmanager
def ingest_process(log_file: Path, **env: str) -> Iterator[httpx.Client]:
    """An ingest API process of the caller's own on loopback, ready; ``env``: ``INGEST_*`` overrides."""
    port = free_port()
    platform = get_settings()  # the stack's endpoints, as the runtime hands them to its own API
    env = {
        **os.environ,
        "INGEST_KAFKA_BOOTSTRAP": platform.kafka_bootstrap,
        "INGEST_KAFKA_PROPERTIES": json.dumps(platform.kafka_client.properties),
        "INGEST_REGISTRY_URL": platform.registry_url,
        "INGEST_BIND_HOST": "127.0.0.1",
        "INGEST_REQUIRE_API_KEY": "false",
        **env,
    }
    log = log_file.open("wb")
    argv = [sys.executable, "-m", "uvicorn", "ingest_api.main:app", "--host", "127.0.0.1"]
    process = subprocess.Popen(
        [*argv, "--port", str(port), "--timeout-graceful-shutdown", "20"],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        _wait_ready(client, process, timeout_s=60)
        yield client
    finally:
        client.close()
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


@pytest.fixture
def private_api(tmp_path: Path) -> Iterator[httpx.Client]:
    """An ingest API process of this test's own (the stack's stops with Kafka), on loopback."""
    with ingest_process(tmp_path / "ingest-api.log", INGEST_DELIVERY_TIMEOUT_MS="5000") as client:
        yield client


def _wait_ready(client: httpx.Client, process: subprocess.Popen[bytes] | None, timeout_s: float) -> None:
    """Until /readyz says Kafka and the registry answer (the API's own readiness contract)."""
    deadline = time.monotonic() + timeout_s
    while True:
        assert process is None or process.poll() is None, "the ingest API process exited"
        try:
            if client.get("/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"ingest API not ready within {timeout_s:.0f} s"
        time.sleep(0.5)


def test_kafka_outage_is_503_and_nothing_is_lost(
    stack: Stack,
    private_api: httpx.Client,
    settings: Settings,
    registry: SchemaRegistryClient,
    topic: str,
) -> None:
    """While Kafka is down every write is 503 with Retry-After, in bounded time; after it is back
    the retried events are written, and Kafka holds each event exactly once."""
    marker = uuid.uuid4().hex[:8]
    warm = private_api.post(f"/topics/{topic}", json=_event(marker, 0))
    assert warm.status_code == 200, warm.text  # producer connected, schema cached
    pending = list(range(1, 21))
    try:
        stack.down(["kafka"])  # also stops Kafka's dependents in the stack; ours keeps running
        for i in pending:
            started = time.monotonic()
            response = private_api.post(f"/topics/{topic}", json=_event(marker, i))
            assert response.status_code == 503, response.text
            assert int(response.headers["retry-after"]) > 0
            assert time.monotonic() - started < 15  # bounded by the delivery timeout (5 s here)
    finally:
        stack.up(["kafka"])
    try:
        _wait_ready(private_api, None, timeout_s=120)
        for i in pending:  # the client retries what got 503
            response = private_api.post(f"/topics/{topic}", json=_event(marker, i))
            assert response.status_code == 200, response.text
        records = _read_all(settings, registry, topic, expected=21)
        names = Counter(value["username"] for _, _, value in records)
        assert names == Counter({f"{marker}-{i}": 1 for i in range(21)})
    finally:
        stack.up()  # the dependents that down(["kafka"]) stopped (ingest-api, streaming, ...)
