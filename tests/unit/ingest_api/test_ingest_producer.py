"""The real producer against a port where nothing listens: futures settle, never hang, never succeed."""

from __future__ import annotations

import asyncio

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.serialization import MessageField, SerializationContext

from dataplat.ports import free_port
from ingest_api.errors import KafkaUnavailable
from ingest_api.producer import EventProducer
from ingest_api.registry import SchemaSource

from .conftest import TOPIC, decode, event


@pytest.fixture
def dead_producer() -> EventProducer:
    config = {
        "bootstrap.servers": f"127.0.0.1:{free_port()}",
        "acks": "all",
        "enable.idempotence": True,
        "message.timeout.ms": 300,
        "reconnect.backoff.max.ms": 100,
    }
    producer = EventProducer(config, retry_after=3)
    producer.start()
    yield producer
    producer.close(timeout_s=1)


def test_encoding_uses_the_confluent_wire_format(registry: SchemaRegistryClient) -> None:
    schema = SchemaSource(registry).latest(TOPIC)
    value, errors = schema.validator.check(event())
    assert errors == []
    payload = schema.serializer(value, SerializationContext(TOPIC, MessageField.VALUE))
    assert schema.schema_id == registry.get_latest_version(f"{TOPIC}-value").schema_id
    assert payload[0] == 0 and int.from_bytes(payload[1:5], "big") == schema.schema_id
    assert decode(payload)["username"] == "alice"


def test_schema_is_served_from_the_cache_while_fresh(registry: SchemaRegistryClient) -> None:
    source = SchemaSource(registry, ttl_s=60)
    assert source.cached(TOPIC) is None
    entry = source.latest(TOPIC)
    assert source.cached(TOPIC) is entry
    assert SchemaSource(registry, ttl_s=0).cached(TOPIC) is None


def test_undeliverable_record_settles_its_future_with_an_error(dead_producer: EventProducer) -> None:
    async def send_and_wait():
        future = dead_producer.send(TOPIC, b"\x00\x00\x00\x00\x01", asyncio.get_running_loop())
        return await asyncio.wait_for(future, timeout=10)

    delivery = asyncio.run(send_and_wait())
    assert not delivery.ok and delivery.retriable
    assert "timed out" in (delivery.error or "").lower()


def test_reports_are_served_on_the_event_loop_thread(dead_producer: EventProducer) -> None:
    """No poll thread: the pump task runs the callbacks, so futures settle without a hand-off."""
    import threading

    async def send_and_wait():
        loop = asyncio.get_running_loop()
        dead_producer.start()
        settled_on: list[int] = []
        future = dead_producer.send(TOPIC, b"\x00\x00\x00\x00\x01", loop)
        future.add_done_callback(lambda _: settled_on.append(threading.get_ident()))
        await asyncio.wait_for(future, timeout=10)
        await asyncio.sleep(0)
        return settled_on

    assert asyncio.run(send_and_wait()) == [threading.get_ident()]


def test_cluster_check_fails_fast_when_nothing_listens(dead_producer: EventProducer) -> None:
    with pytest.raises(KafkaUnavailable) as caught:
        dead_producer.check_cluster(timeout_s=0.5)
    assert caught.value.retry_after == 3
