"""The real producer against a port where nothing listens: futures settle, never hang, never succeed."""

from __future__ import annotations

import asyncio
import socket

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from ingest_api.errors import KafkaUnavailable
from ingest_api.producer import EventProducer

from .conftest import TOPIC, event


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def dead_producer(registry: SchemaRegistryClient) -> EventProducer:
    config = {
        "bootstrap.servers": f"127.0.0.1:{_free_port()}",
        "acks": "all",
        "enable.idempotence": True,
        "message.timeout.ms": 300,
        "reconnect.backoff.max.ms": 100,
    }
    producer = EventProducer(config, registry, retry_after=3)
    producer.start()
    yield producer
    producer.close(timeout_s=1)


def test_encoding_uses_the_confluent_wire_format(
    dead_producer: EventProducer, registry: SchemaRegistryClient
) -> None:
    payload = dead_producer.encode(TOPIC, event())
    schema_id = registry.get_latest_version(f"{TOPIC}-value").schema_id
    assert payload[0] == 0 and int.from_bytes(payload[1:5], "big") == schema_id


def test_undeliverable_record_settles_its_future_with_an_error(dead_producer: EventProducer) -> None:
    async def send_and_wait():
        future = dead_producer.send(TOPIC, dead_producer.encode(TOPIC, event()), asyncio.get_running_loop())
        return await asyncio.wait_for(future, timeout=10)

    delivery = asyncio.run(send_and_wait())
    assert not delivery.ok and delivery.retriable
    assert "timed out" in (delivery.error or "").lower()


def test_cluster_check_fails_fast_when_nothing_listens(dead_producer: EventProducer) -> None:
    with pytest.raises(KafkaUnavailable) as caught:
        dead_producer.check_cluster(timeout_s=0.5)
    assert caught.value.retry_after == 3
