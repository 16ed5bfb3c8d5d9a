"""The ingest API against the real Kafka and schema registry.

Uses the session fixtures ``settings`` and ``ingest_url``. For a run against an API started by
hand, set ``INGEST_IT_URL`` (and ``DATAPLAT_EXTERNAL__REGISTRY_URL`` for another registry). The
Kafka outage test stops and restarts Kafka with ``dataplat down/up kafka``: it runs only with
``INGEST_IT_KAFKA_OUTAGE=1``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from dataplat.paths import paths_for
from dataplat.secrets import get_secret
from dataplat.settings import REPO_ROOT, Settings

SCHEMA = (REPO_ROOT / "schemas" / "appclickstream.avsc").read_text()
DATAPLAT = str(Path(sys.executable).parent / "dataplat")

if os.environ.get("INGEST_IT_URL"):  # temporary: an ingest API started by hand

    @pytest.fixture(scope="session")
    def ingest_url() -> str:
        return os.environ["INGEST_IT_URL"]


def _event(marker: str, i: int, **overrides: Any) -> dict[str, Any]:
    return {
        "username": f"{marker}-{i}",
        "page": "/it",
        "event_name": "click",
        "event_time": "2026-11-24T10:00:00Z",
        **overrides,
    }


@pytest.fixture(scope="module")
def registry(settings: Settings) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": settings.registry_url})


@pytest.fixture
def topic(registry: SchemaRegistryClient) -> Iterator[str]:
    """A fresh topic whose subject holds the clickstream schema."""
    name = f"it-ingest-{uuid.uuid4().hex[:10]}"
    registry.register_schema(f"{name}-value", Schema(SCHEMA, "AVRO"))
    yield name
    for permanent in (False, True):
        registry.delete_subject(f"{name}-value", permanent=permanent)


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


def test_unknown_topic_is_404(api: httpx.Client) -> None:
    response = api.post(f"/topics/it-no-schema-{uuid.uuid4().hex[:6]}", json=_event("x", 0))
    assert response.status_code == 404


@pytest.mark.skipif(
    os.environ.get("INGEST_IT_KAFKA_OUTAGE") != "1",
    reason="stops Kafka: set INGEST_IT_KAFKA_OUTAGE=1 when nobody else uses it",
)
def test_kafka_outage_is_503_and_nothing_is_lost(
    api: httpx.Client, settings: Settings, registry: SchemaRegistryClient, topic: str
) -> None:
    marker = uuid.uuid4().hex[:8]
    assert api.post(f"/topics/{topic}", json=_event(marker, 0)).status_code == 200  # producer is warm
    subprocess.run([DATAPLAT, "down", "kafka"], check=True, timeout=120)
    pending, answers = list(range(1, 21)), Counter[int]()
    try:
        for i in pending:
            started = time.monotonic()
            response = api.post(f"/topics/{topic}", json=_event(marker, i))
            answers[response.status_code] += 1
            assert response.status_code == 503, response.text
            assert int(response.headers["retry-after"]) > 0
            assert time.monotonic() - started < 20  # bounded by the delivery timeout
    finally:
        subprocess.run([DATAPLAT, "up", "kafka"], check=True, timeout=300)
    deadline = time.monotonic() + 120
    while api.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, "ingest API not ready after Kafka came back"
        time.sleep(1)
    for i in pending:  # the client retries what got 503
        response = api.post(f"/topics/{topic}", json=_event(marker, i))
        assert response.status_code == 200, response.text
    names = Counter(value["username"] for _, _, value in _read_all(settings, registry, topic, expected=21))
    assert names == Counter({f"{marker}-{i}": 1 for i in range(21)})
