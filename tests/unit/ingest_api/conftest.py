"""Fixtures: the real app and service with a fake Kafka side and an in-memory (mock://) registry."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from fastapi.testclient import TestClient
from fastavro import parse_schema, schemaless_reader

from ingest_api.config import IngestSettings, get_ingest_settings
from ingest_api.errors import KafkaUnavailable
from ingest_api.main import create_app
from ingest_api.producer import Delivery
from ingest_api.registry import SchemaSource
from ingest_api.service import IngestService

SCHEMA = (Path(__file__).resolve().parents[3] / "schemas" / "appclickstream.avsc").read_text()
TOPIC = "appclickstream"


def decode(value: bytes) -> dict[str, Any]:
    """A written record (Confluent wire format) back to a dict, with the test schema."""
    assert value[:1] == b"\x00"
    return schemaless_reader(io.BytesIO(value[5:]), parse_schema(json.loads(SCHEMA)))  # type: ignore[return-value]


def event(**overrides: Any) -> dict[str, Any]:
    base = {"username": "alice", "page": "/cart", "event_name": "click", "event_time": 1_700_000_000_000}
    return {**base, **overrides}


class FakeProducer:
    """Stands in for :class:`ingest_api.producer.EventProducer`: records sends, settles like the poller."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes | None]] = []
        self.dlq: list[tuple[str, dict[str, Any]]] = []
        self.down = False
        self.fail_delivery: str | None = None
        self.started = self.closed = False
        self.offsets: dict[int, int] = {}

    def start(self) -> None:
        self.started = True

    def close(self, timeout_s: float) -> int:
        self.closed = True
        return 0

    def ensure_available(self) -> None:
        if self.down:
            raise KafkaUnavailable("kafka unreachable (all brokers down)", retry_after=7)

    @property
    def known_down(self) -> bool:
        return self.down

    def check_cluster(self, timeout_s: float = 2.0) -> None:
        self.ensure_available()

    def send(
        self, topic: str, value: bytes, loop: asyncio.AbstractEventLoop, key: bytes | None = None
    ) -> asyncio.Future[Delivery]:
        future: asyncio.Future[Delivery] = asyncio.Future(loop=loop)
        self.sent.append((topic, value, key))
        if self.fail_delivery:
            delivery = Delivery(error=self.fail_delivery)
        else:
            partition = len(self.sent) % 3
            self.offsets[partition] = self.offsets.get(partition, -1) + 1
            delivery = Delivery(partition, self.offsets[partition])
        loop.call_soon_threadsafe(future.set_result, delivery)
        return future

    def send_dlq(self, topic: str, document: dict[str, Any], source_topic: str) -> None:
        self.dlq.append((topic, document))


@pytest.fixture
def registry() -> SchemaRegistryClient:
    client = SchemaRegistryClient.new_client({"url": "mock://ingest-tests"})
    client.register_schema(f"{TOPIC}-value", Schema(SCHEMA, "AVRO"))
    yield client
    client.clear_caches()
    client.delete_subject(f"{TOPIC}-value", permanent=True)


@pytest.fixture
def settings() -> IngestSettings:
    return IngestSettings(
        kafka_bootstrap="unused:9",
        registry_url="mock://ingest-tests",
        bind_host="127.0.0.1",
        max_body_bytes=4096,
        max_batch_records=10,
    )


@pytest.fixture
def producer() -> FakeProducer:
    return FakeProducer()


@pytest.fixture
def client(
    settings: IngestSettings, registry: SchemaRegistryClient, producer: FakeProducer
) -> Iterator[TestClient]:
    def factory(s: IngestSettings) -> IngestService:
        return IngestService(s, SchemaSource(registry), producer)  # type: ignore[arg-type]

    app = create_app(service_factory=factory)
    app.dependency_overrides[get_ingest_settings] = lambda: settings
    with TestClient(app) as test_client:
        yield test_client
